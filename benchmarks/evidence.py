"""What evidence capture costs: `archiver add` of the seed page from a loopback server, with
`[evidence] capture = true` and `= false`, in the same run.

Each repetition adds the page to a fresh archive (download, transcription, alignment and
index included: the whole command a user runs), alternating on and off so that the load
of a shared machine falls on both alike. Prints every wall time and the medians; exits 1
when capture adds more than 5% to the median (--target).

    .venv/bin/python benchmarks/evidence.py [--reps 3] [--target 5]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import SEED, LoopbackServer, news_page, run_cli, seed_paragraphs  # noqa: E402


def one_add(work: Path, url: str, capture: bool, n: int) -> float:
    config = work / f"capture-{capture}.toml"
    config.write_text(f"[evidence]\ncapture = {'true' if capture else 'false'}\n")
    archive = work / f"archive-{capture}-{n}"
    started = time.perf_counter()
    result = run_cli("--config", str(config), "add", url, "--json", archive=archive)
    seconds = time.perf_counter() - started
    report = json.loads(result.stdout)
    if result.returncode or report["errors"]:
        raise SystemExit(f"add failed: {report['errors'] or result.stderr}")
    wacz = list(archive.glob("articles/*/page.wacz"))
    if bool(wacz) != capture:
        raise SystemExit(f"capture={capture} but page.wacz {'missing' if capture else 'written'}")
    shutil.rmtree(archive)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each mode (default 3)")
    parser.add_argument("--target", type=float, default=5.0, help="maximum overhead in percent (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        work = Path(tmp)
        site = work / "site"
        site.mkdir()
        shutil.copy(SEED / "narration.mp4", site / "report.mp4")
        (site / "page.html").write_text(news_page("ISIS Threat Revives in Eastern Syria", seed_paragraphs(),
                                                  '<video controls src="report.mp4"></video>'), encoding="utf-8")
        server = LoopbackServer(site)
        try:
            url = server.url("page.html")
            one_add(work, url, True, -1)  # warm-up: page cache, model file, Python's bytecode
            times: dict[bool, list[float]] = {True: [], False: []}
            for n in range(args.reps):
                for capture in ((False, True) if n % 2 else (True, False)):
                    times[capture].append(one_add(work, url, capture, n))
                    print(f"rep {n + 1} capture {'on ' if capture else 'off'} {times[capture][-1]:7.2f} s", flush=True)
        finally:
            server.close()
    on, off = statistics.median(times[True]), statistics.median(times[False])
    overhead = 100 * (on - off) / off
    print(f"add of the seed page: capture off median {off:.2f} s, on median {on:.2f} s, "
          f"overhead {overhead:+.1f}% (target <= {args.target:.0f}%)")
    return 0 if overhead <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
