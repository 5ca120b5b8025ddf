"""P4 (issue 8): an idle `signals run` against a first run on one day of Le Monde, side by side.

One day of the real Le Monde RSS snapshots of 2022 (16 feeds, ../shared/data) is served on
127.0.0.1. For each repeat, as separate `python -m signals` processes (what cron starts):

  first       `run` on a fresh database with an empty ruleset cache: fetch the 16 feeds,
              compile scenarios.yaml, analyse and match every item, store
  idle        `run` again at the same --now: nothing due, nothing pending (cache warm)
  idle-cold   the same idle run with an empty cache dir (no compiled ruleset, no idle token:
              the full path): what the cache saves

Wall-clock medians over repeats (CPU user+sys of the child in brackets), and the ratio
idle ÷ first (target ≤ 2 %). Usage:
    .venv/bin/python bench/startup.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from signals.devserver import Response, serve  # noqa: E402

ARCHIVE = (
    Path(os.environ.get("SIGNALS_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "feeds"
    / "lemonde-rss-2022"
    / "lemonde_rss_2022_snapshots.tar.xz"
)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
TARGET = 0.02


def extract_day(archive: Path, day: date) -> dict[str, bytes]:
    """feed code → the day's last snapshot (as the replay test serves them)."""
    prefix = f"Corpus/{day.year}/{MONTHS[day.month - 1]}/{day.day:02d}/"
    feeds: dict[str, tuple[str, bytes]] = {}
    with tarfile.open(archive) as tar:
        for m in tar:
            if m.isfile() and m.name.startswith(prefix) and m.name.endswith(".xml"):
                fh = tar.extractfile(m)
                assert fh is not None
                code = Path(m.name).stem.replace(",", "_")
                if code not in feeds or m.name > feeds[code][0]:
                    feeds[code] = (m.name, fh.read())
    return {code: body for code, (_, body) in feeds.items() if body}


def timed(args: list[str], cache_dir: Path) -> tuple[float, float, str]:
    """Wall seconds, child CPU seconds and stdout of one `python -m signals` run."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SIGNALS_CACHE_DIR": str(cache_dir)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "signals", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        sys.exit(f"signals {' '.join(args)} failed ({res.returncode}):\n{res.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, res.stdout


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--day", type=date.fromisoformat, default=date(2022, 3, 7))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--idle-runs", type=int, default=3, help="Idle runs per repeat.")
    args = ap.parse_args()
    if not ARCHIVE.exists():
        sys.exit(f"snapshots not found: {ARCHIVE}")
    with tempfile.TemporaryDirectory(prefix="signals-bench-startup-") as tmp_s:
        tmp = Path(tmp_s)
        feeds = extract_day(ARCHIVE, args.day)

        def router(path: str, _headers: dict[str, str]) -> Response:
            body = feeds.get(path.removeprefix("/feeds/").removesuffix(".xml"))
            if body is None:
                return Response(404, b"no snapshot")
            return Response(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})

        now = f"{args.day.isoformat()}T20:00:00+00:00"
        samples: dict[str, list[tuple[float, float]]] = {"first": [], "idle": [], "idle-cold": []}
        with serve(router) as srv:
            sources = tmp / "sources.yaml"
            lines = [
                "defaults: {interval_minutes: 60, fetch_pages: false, language: fr}",
                'fetch: {allow_networks: ["127.0.0.0/8"]}',
                "sources:",
            ]
            lines += [
                f"  - {{id: lemonde-{c.replace('_', '-').lower()}, name: 'Le Monde {c}', "
                f"url: '{srv.base_url}/feeds/{c}.xml'}}"
                for c in sorted(feeds)
            ]
            sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
            first_out = ""
            for r in range(args.repeats):
                db = f"sqlite:///{tmp / f'r{r}.db'}"
                base = [
                    "--db",
                    db,
                    "--sources",
                    str(sources),
                    "--reports",
                    str(tmp / "reports"),
                    "--now",
                    now,
                    "run",
                ]
                cache = tmp / f"cache{r}"
                wall, cpu, first_out = timed(base, cache)
                samples["first"].append((wall, cpu))
                for _ in range(args.idle_runs):
                    wall, cpu, out = timed(base, cache)
                    assert "fetch: 0 due" in out and "process: 0 analysed" in out, out
                    samples["idle"].append((wall, cpu))
                wall, cpu, out = timed(base, tmp / f"cold{r}")
                assert "fetch: 0 due" in out and "process: 0 analysed" in out, out
                samples["idle-cold"].append((wall, cpu))
                print(
                    f"repeat {r + 1}/{args.repeats}: first {samples['first'][-1][0]:.2f} s, "
                    f"idle {statistics.median(w for w, _ in samples['idle'][-args.idle_runs :]):.2f} s, "
                    f"idle-cold {wall:.2f} s",
                    file=sys.stderr,
                )
    print(
        f"day {args.day}: {len(feeds)} Le Monde feeds served on 127.0.0.1; first run: "
        + " / ".join(line.split(";")[0] for line in first_out.strip().splitlines())
    )
    print(f"{'run':10} {'wall (median)':>14} {'cpu (median)':>13}  samples")
    med = {}
    for name, xs in samples.items():
        med[name] = statistics.median(w for w, _ in xs)
        print(
            f"{name:10} {med[name]:>12.2f} s {statistics.median(c for _, c in xs):>11.2f} s  {len(xs)}"
        )
    ratio = med["idle"] / med["first"]
    print(
        f"P4 idle ÷ first run: {ratio:.1%} (target ≤ {TARGET:.0%}: {'met' if ratio <= TARGET else 'NOT met'}); "
        f"idle ≤ 1.5 s: {'met' if med['idle'] <= 1.5 else 'NOT met'}; "
        f"the cache saves {med['idle-cold'] - med['idle']:.2f} s per start"
    )


if __name__ == "__main__":
    main()
