"""A fetcher that a job can stop between feeds and page batches (``signals.pipeline``)."""

from __future__ import annotations

from collections.abc import Callable

from ..config import FetchSettings
from ..errors import Stopped
from ..models import FetchResult
from .http import FEED_ACCEPT, HTML_ACCEPT, Fetcher


class StoppableFetcher(Fetcher):
    """Refuses to start new feed fetches or page batches once ``should_stop`` says so; the
    fetches in flight finish and are stored normally (each feed in its own transaction)."""

    def __init__(self, settings: FetchSettings, should_stop: Callable[[], bool]) -> None:
        super().__init__(settings)
        self._should_stop = should_stop
        self._pages = 0

    def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        if self._should_stop() and not self._pages:
            raise Stopped("stopping: feed not fetched")
        return super().fetch(url, etag, last_modified, accept)

    def fetch_many(self, urls: list[str], accept: str = HTML_ACCEPT) -> dict[str, FetchResult]:
        if self._should_stop():
            raise Stopped("stopping: pages not fetched")
        self._pages += 1  # a page batch, once started, is finished
        try:
            return super().fetch_many(urls, accept)
        finally:
            self._pages -= 1
