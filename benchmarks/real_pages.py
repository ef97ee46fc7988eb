"""Discovery on real news pages: videos found against the videos each page really holds.

The pages are saved copies from public test suites of article extractors
(tests/fixtures/real/SOURCES.md), parsed with their original URLs and no network; the
truth (tests/fixtures/real/truth.json) was labelled by hand from the HTML. Discovery was
tuned on the `tune` split only; the `held-out` figures are on pages it was not tuned on.
The baseline is the rule discovery replaced (every <a>, <iframe> and og:video on a host
yt-dlp has an extractor for), measured in the same run.

Targets: at least 90% of the real videos found; at most one non-video taken as a video
per ten pages. Exit code 1 when a target is missed.

    .venv/bin/python benchmarks/real_pages.py [--verbose]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.real_pages import Score, discovered, pages, read, score  # noqa: E402 (the corpus, shared with the tests)

RECALL_TARGET = 0.90
FALSE_PER_TEN_PAGES = 1.0


def baseline(page: dict, html: str) -> list[str]:
    """The rule before archiver/discover: <video>/<source>, any <a> to a media file or a
    yt-dlp host, <iframe> on a yt-dlp host, og:video / twitter:player:stream."""
    from urllib.parse import urljoin

    import lxml.html

    from archiver.download import has_specific_extractor
    from archiver.media import is_media_path

    try:
        doc = lxml.html.fromstring(html)
    except Exception:  # noqa: BLE001
        return []
    found = []

    def add(href, check=None):
        if href and not href.startswith(("#", "javascript:", "data:", "mailto:")):
            url = urljoin(page["url"], href.strip())
            if url.startswith("http") and (check is None or check(url)) and url not in found:
                found.append(url)

    for el in doc.iter("video", "audio"):
        add(el.get("src"))
        for source in el.iter("source"):
            add(source.get("src"))
    for el in doc.iter("a"):
        add(el.get("href"), lambda u: is_media_path(u) or has_specific_extractor(u))
    for el in doc.iter("iframe", "embed"):
        add(el.get("src"), has_specific_extractor)
    for el in doc.iter("meta"):
        if (el.get("property") or el.get("name") or "").lower() in ("og:video", "og:video:url",
                                                                     "og:video:secure_url", "twitter:player:stream"):
            add(el.get("content"))
    return found


def measure(method: Callable[[dict, str], list[str]], verbose: bool, label: str) -> dict[str, Score]:
    totals = {"all": Score(), "tune": Score(), "held-out": Score()}
    for page in pages():
        html = read(page["name"])
        s = score(page, method(page, html))
        totals["all"].add(s)
        totals[page["split"]].add(s)
        if verbose:
            mark = "ok  " if not s.false and not s.missed else "FAIL"
            print(f"  {mark} {label:<9} {page['name']:<26} {page['split']:<8} found {s.found}/{s.real}  "
                  f"false {len(s.false)}  duplicates {s.duplicates}")
    return totals


def run(verbose: bool = True) -> bool:
    """Print the figures; True when the targets are met (on every page of the corpus)."""
    started = time.perf_counter()
    ours = measure(discovered, verbose, "discover")
    seconds = time.perf_counter() - started
    before = measure(baseline, False, "baseline")
    print(f"real pages: discovery on {ours['all'].pages} saved news pages, no network ({seconds:.1f} s under load)")
    for split in ("all", "tune", "held-out"):
        print(ours[split].line(f"discover {split}"))
    print(before["all"].line("baseline all"))
    if ours["all"].false:
        print("taken as videos, but not videos:")
        for item in ours["all"].false:
            print(f"  {item}")
    if ours["all"].missed:
        print("real videos missed:")
        for item in ours["all"].missed:
            print(f"  {item}")
    ok = ours["all"].recall >= RECALL_TARGET and ours["all"].false_per_ten <= FALSE_PER_TEN_PAGES
    print(f"targets (recall >= {RECALL_TARGET:.0%}, <= {FALSE_PER_TEN_PAGES:g} false per 10 pages): "
          f"{'met' if ok else 'MISSED'}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if run(verbose="--verbose" in sys.argv or "-v" in sys.argv) else 1)
