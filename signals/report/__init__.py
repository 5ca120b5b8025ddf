"""The weekly digest: its data (:mod:`.model`, filled in by the pipeline from the store) and
its renderings (:mod:`.render`: Markdown, HTML, JSON, the index page and the Atom feed).

Everything that came from a feed is untrusted: templates autoescape, Markdown is escaped by
hand, and only http/https URLs ever become links."""

from signals.report.model import Digest, DigestArticle, DigestRupture, ItemActivity
from signals.report.render import (
    digest_from_json,
    digest_to_dict,
    render_html,
    render_json,
    render_markdown,
    safe_url,
    write_digest,
)

__all__ = [
    "Digest",
    "DigestArticle",
    "DigestRupture",
    "ItemActivity",
    "digest_from_json",
    "digest_to_dict",
    "render_html",
    "render_json",
    "render_markdown",
    "safe_url",
    "write_digest",
]
