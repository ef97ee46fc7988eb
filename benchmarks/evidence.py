"""What evidence capture costs: `archiver add` of the seed page from a loopback server, with
`[evidence] capture = true` and `= false`, in the same run.

Each repetition adds the page to a fresh archive (download, transcription, alignment and
index included: the whole command a user runs) once with capture and once without, in
alternating order, so that the load of a shared machine falls on both alike. Prints every
wall time (and the CPU time of the command), the medians, and the median of each
repetition's own overhead (on against off in the same repetition), which a load that
changes between repetitions moves far less than the medians. Then one more add, in this
process, says how long the capture thread worked and how long the add waited for it.
Exits 1 when the paired overhead is over 5% (--target).

    .venv/bin/python benchmarks/evidence.py [--reps 5] [--target 5]
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import SEED, LoopbackServer, news_page, run_cli, seed_paragraphs  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_add(work: Path, url: str, capture: bool, n: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `archiver add` into a fresh archive."""
    config = work / f"capture-{capture}.toml"
    config.write_text(f"[evidence]\ncapture = {'true' if capture else 'false'}\n")
    archive = work / f"archive-{capture}-{n}"
    started, cpu = time.perf_counter(), _children_cpu()
    result = run_cli("--config", str(config), "add", url, "--json", archive=archive)
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    report = json.loads(result.stdout)
    if result.returncode or report["errors"]:
        raise SystemExit(f"add failed: {report['errors'] or result.stderr}")
    wacz = list(archive.glob("articles/*/page.wacz"))
    if bool(wacz) != capture:
        raise SystemExit(f"capture={capture} but page.wacz {'missing' if capture else 'written'}")
    shutil.rmtree(archive)
    return seconds, cpu


def capture_wait(work: Path, url: str) -> tuple[float, float, float]:
    """One add with capture, in this process, its two capture functions timed: (seconds the
    capture thread worked, seconds the add waited for it, seconds of the whole add). The load
    of a shared machine moves the wall times of whole adds by far more than capture costs;
    this says how much of the capture lies on the add's path at all."""
    import contextlib
    import io

    from archiver import pipeline
    from archiver.cli import main as cli

    spent = {"capture_article": 0.0, "_join_capture": 0.0}

    def timed(func):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[func.__name__] += time.perf_counter() - started
        return run

    for name in spent:
        setattr(pipeline, name, timed(getattr(pipeline, name)))
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):  # the CLI exits with its code
        cli(["--archive", str(work / "archive-in-process"), "add", url, "--json"], standalone_mode=False)
    if not list((work / "archive-in-process").glob("articles/*/page.wacz")):
        raise SystemExit("the in-process add wrote no page.wacz")
    return spent["capture_article"], spent["_join_capture"], time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each mode (default 5)")
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
            wall: dict[bool, list[float]] = {True: [], False: []}
            cpu: dict[bool, list[float]] = {True: [], False: []}
            for n in range(args.reps):
                for capture in ((False, True) if n % 2 else (True, False)):
                    seconds, cpu_seconds = one_add(work, url, capture, n)
                    wall[capture].append(seconds)
                    cpu[capture].append(cpu_seconds)
                    print(f"rep {n + 1} capture {'on ' if capture else 'off'} {seconds:7.2f} s wall "
                          f"{cpu_seconds:7.2f} s CPU", flush=True)
            worked, waited, whole = capture_wait(work, url)
        finally:
            server.close()
    on, off = statistics.median(wall[True]), statistics.median(wall[False])
    paired = statistics.median(100 * (a - b) / b for a, b in zip(wall[True], wall[False]))
    cpu_on, cpu_off = statistics.median(cpu[True]), statistics.median(cpu[False])
    print(f"add of the seed page: capture off median {off:.2f} s, on median {on:.2f} s, "
          f"overhead of the medians {100 * (on - off) / off:+.1f}%")
    print(f"CPU of the add: capture off median {cpu_off:.2f} s, on median {cpu_on:.2f} s, "
          f"overhead {100 * (cpu_on - cpu_off) / cpu_off:+.1f}%")
    print(f"one add in this process: the capture thread worked {worked:.2f} s beside the transcription, "
          f"the add waited {waited:.2f} s for it ({100 * waited / whole:.1f}% of its {whole:.1f} s)")
    print(f"capture overhead, median of {args.reps} paired repetitions: {paired:+.1f}% (target <= {args.target:.0f}%)")
    return 0 if paired <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
