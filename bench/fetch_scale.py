"""Fetch at scale (issue 8, item 6): one `signals fetch` cycle over 5,000 feeds served on 127.0.0.1.

Each feed is a small RSS 2.0 document of --items-per-feed real Le Monde items of 2022 (title,
link, description, date; ../shared/data), every item in one feed only. The feeds are spread over
--hosts loopback addresses (127.0.0.2, 127.0.0.3, ...: one HTTP server each), in contiguous
blocks of source ids, as a big publisher's feeds are; each response waits --latency-ms, as a real
server does. Sources have ``fetch_pages: false`` (the feed cycle only: pages are `fetch_many`,
already limited per host), ``fetch.allow_networks: [127.0.0.0/8]``.

For each repeat, on a fresh SQLite database:

  signals    `python -m signals fetch` as a child process (what cron starts): fetch, parse and
             store every feed, one transaction per feed
  bare       the same URLs GET with httpx and the same thread count, nothing parsed or stored
             (the floor for this server and latency)

Each server records the most requests it had in flight at once: politeness holds when no host
saw more than ``per_host_concurrency``. Medians over --repeats; feeds/s and the ratio
signals ÷ bare. Usage:
    .venv/bin/python bench/fetch_scale.py --feeds 5000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import LEMONDE_ITEMS, REPO, load_items  # noqa: E402


class Host:
    """One loopback HTTP server: feed path → body, and the most requests it had in flight."""

    def __init__(self, ip: str, feeds: dict[str, bytes], latency: float) -> None:
        self.ip, self.feeds, self.latency = ip, feeds, latency
        self.in_flight = self.max_in_flight = self.requests = 0
        self._lock = threading.Lock()
        self.port = 0

    def reset(self) -> None:
        with self._lock:
            self.in_flight = self.max_in_flight = self.requests = 0

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.requests += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _handler(host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            host.enter()
            try:
                time.sleep(host.latency)
                body = host.feeds.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")
            finally:
                host.leave()

        def log_message(self, format: str, *args: object) -> None:  # noqa: ARG002 - http.server API
            return

    return Handler


@contextmanager
def serving(hosts: list[Host]) -> Iterator[None]:
    with ExitStack() as stack:
        for h in hosts:
            httpd = ThreadingHTTPServer((h.ip, 0), _handler(h))
            httpd.daemon_threads = True
            h.port = httpd.server_address[1]
            th = threading.Thread(target=httpd.serve_forever, daemon=True)
            th.start()
            stack.callback(th.join, 5)
            stack.callback(httpd.server_close)
            stack.callback(httpd.shutdown)
        yield


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    parts = [
        f"<?xml version='1.0' encoding='utf-8'?>\n<rss version='2.0'><channel><title>{escape(title)}</title>"
        "<link>https://www.lemonde.fr/</link><description>bench</description>"
    ]
    for it in items:
        date = format_datetime(datetime.fromisoformat(it["published"]))
        parts.append(
            f"<item><title>{escape(it['title'])}</title><link>{escape(it['url'])}</link>"
            f"<guid>{escape(it['url'])}</guid><pubDate>{date}</pubDate>"
            f"<description>{escape(it['text'])}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def build(
    n_feeds: int, n_hosts: int, per_feed: int, latency: float
) -> tuple[list[Host], list[tuple[str, int]]]:
    """Hosts with their feeds, and (source id, host index) in source-id order."""
    items = load_items(LEMONDE_ITEMS, n_feeds * per_feed)
    if len(items) < n_feeds * per_feed:
        sys.exit(f"only {len(items)} items for {n_feeds} feeds of {per_feed}")
    hosts = [Host(f"127.0.0.{2 + k}", {}, latency) for k in range(n_hosts)]
    block = -(-n_feeds // n_hosts)
    sources = []
    for i in range(n_feeds):
        k = i // block
        hosts[k].feeds[f"/feeds/{i}.xml"] = rss(
            f"Bench {i}", items[i * per_feed : (i + 1) * per_feed]
        )
        sources.append((f"bench-{i:05d}", k))
    return hosts, sources


def signals_fetch(
    tmp: Path, sources: Path, r: int, profile: Path | None = None
) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SIGNALS_CACHE_DIR": str(tmp / "cache")}
    prof = ["-m", "cProfile", "-o", str(profile)] if profile else []
    args = [
        sys.executable,
        *prof,
        "-m",
        "signals",
        "--db",
        f"sqlite:///{tmp / f'f{r}.db'}",
        "--sources",
        str(sources),
        "fetch",
    ]
    t0 = time.perf_counter()
    res = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"signals fetch failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return wall, res.stdout.strip()


def bare_fetch(urls: list[str], threads: int) -> float:
    t0 = time.perf_counter()
    with httpx.Client(
        limits=httpx.Limits(max_connections=threads * 2, max_keepalive_connections=threads)
    ) as client:

        def get(u: str) -> int:
            return len(client.get(u).content)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            sizes = list(pool.map(get, urls))
    assert all(sizes)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--feeds", type=int, default=5000)
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--items-per-feed", type=int, default=6)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=8, help="fetch.concurrency (the default: 8)")
    ap.add_argument(
        "--per-host", type=int, default=2, help="fetch.per_host_concurrency (the default: 2)"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--profile", type=Path, help="cProfile the first `signals fetch` into this file"
    )
    args = ap.parse_args()
    if not LEMONDE_ITEMS.exists():
        sys.exit(f"items not found: {LEMONDE_ITEMS}")
    hosts, feeds = build(args.feeds, args.hosts, args.items_per_feed, args.latency_ms / 1000)
    walls: dict[str, list[float]] = {"signals": [], "bare": []}
    peaks: list[int] = []
    out = ""
    with tempfile.TemporaryDirectory(prefix="signals-bench-fetch-") as tmp_s, serving(hosts):
        tmp = Path(tmp_s)
        urls = [
            f"http://{hosts[k].ip}:{hosts[k].port}/feeds/{i}.xml" for i, (_, k) in enumerate(feeds)
        ]
        sources = tmp / "sources.yaml"
        lines = [
            "defaults: {interval_minutes: 60, fetch_pages: false, language: fr}",
            f"fetch: {{allow_networks: ['127.0.0.0/8'], concurrency: {args.concurrency}, "
            f"per_host_concurrency: {args.per_host}}}",
            "sources:",
        ]
        lines += [
            f"  - {{id: {sid}, name: '{sid}', url: '{u}'}}"
            for (sid, _), u in zip(feeds, urls, strict=True)
        ]
        sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for r in range(args.repeats):
            for h in hosts:
                h.reset()
            wall, out = signals_fetch(tmp, sources, r, args.profile if r == 0 else None)
            walls["signals"].append(wall)
            peaks.append(max(h.max_in_flight for h in hosts))
            served = sum(h.requests for h in hosts)
            for h in hosts:
                h.reset()
            walls["bare"].append(bare_fetch(urls, args.concurrency))
            bare_peak = max(h.max_in_flight for h in hosts)
            print(
                f"repeat {r + 1}/{args.repeats}: signals {wall:.2f} s ({served} requests, at most "
                f"{peaks[-1]} in flight per host), bare {walls['bare'][-1]:.2f} s (at most {bare_peak} per host)",
                file=sys.stderr,
            )
    med = {k: statistics.median(v) for k, v in walls.items()}
    n = args.feeds
    print(
        f"{n} feeds of {args.items_per_feed} real Le Monde items on {args.hosts} hosts (127.0.0.2-"
        f"{2 + args.hosts - 1}), latency {args.latency_ms:.0f} ms, concurrency {args.concurrency}, "
        f"per host {args.per_host}, fetch_pages false; repeats {args.repeats}"
    )
    print(
        f"  signals fetch: {med['signals']:.2f} s = {n / med['signals']:.0f} feeds/s "
        f"(runs: {', '.join(f'{x:.2f}' for x in walls['signals'])}); last run: {out.splitlines()[-1] if out else ''}"
    )
    print(f"  bare httpx GET: {med['bare']:.2f} s = {n / med['bare']:.0f} feeds/s")
    print(f"  signals ÷ bare (feeds/s) = {med['bare'] / med['signals']:.2f}")
    worst = max(peaks)
    print(
        f"  politeness: at most {worst} requests in flight on one host (per_host_concurrency {args.per_host}: "
        f"{'kept' if worst <= args.per_host else 'NOT kept'})"
    )


if __name__ == "__main__":
    main()
