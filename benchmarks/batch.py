#!/usr/bin/env python3
"""A 20-article batch on loopback: does the pipeline keep the CPU on transcription?

Cuts the narrations of benchmarks/narrations.py (and the seed fixture) in two at the
paragraph gap nearest their middle, which gives 20 distinct videos of 45-95 s with an
article page each; serves pages and videos from a local HTTP server on 127.0.0.1; runs

    archiver --archive TMP add --from-file LIST --jobs 2 --json

as a subprocess while sampling /proc/stat (each core) and the process's own CPU time, and
prints:

  the wall time of the batch against the sum of its transcription times, each measured
  alone after the batch (every video transcribed again, one after the other in this
  process, the model loaded beforehand); the overhead, target at most 15%, and where the
  time without transcription goes (before the first, between, after the last);
  how busy each core was while the batch transcribed, target at least 80% each, and the
  cores the batch process itself used (other processes on the machine show up too, and
  a note says how much).

On a machine that other work shares, every figure moves with their load.

    .venv/bin/python benchmarks/batch.py [--articles 20] [--jobs 2] [--keep DIR]

Exits non-zero when a target is missed.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]

import narrations  # noqa: E402
from support import SEED as SEED_DIR  # noqa: E402

from archiver.media import ffmpeg_exe  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache" / "batch"
ARCHIVER = Path(sys.executable).parent / "archiver"
TARGET_OVERHEAD = 0.15  # wall time at most 15% over the transcription alone
TARGET_BUSY = 0.80  # each core at least 80% busy while the batch transcribes


@dataclass
class Half:
    name: str
    article: narrations.Article  # with only the paragraphs this half speaks
    media: Path


# ---------------------------------------------------------------- inputs


def sources() -> list[tuple[str, str, Path]]:
    """(name, article key, case directory) of every narration there is: the cases and the seed fixture."""
    return [(c.name, c.article, narrations.build(c)) for c in narrations.CASES] + [("seed-fixture", "seed", SEED_DIR)]


def cut_point(truth: dict) -> float:
    """The middle of the silence between two paragraphs nearest the middle of the narration."""
    spoken = sorted(truth["sentences"], key=lambda s: s["start"])
    gaps = [(a["end"] + b["start"]) / 2 for a, b in zip(spoken, spoken[1:])
            if a["paragraph"] != b["paragraph"] or not (a["in_article"] and b["in_article"])]
    return min(gaps, key=lambda t: abs(t - truth["duration"] / 2))


def halves(name: str, key: str, case_dir: Path) -> list[Half]:
    truth = json.loads((case_dir / "truth.json").read_text(encoding="utf-8"))
    cut = cut_point(truth)
    article = narrations.ARTICLES[key]
    out = []
    for part, (start, end) in enumerate(((0.0, cut), (cut, truth["duration"]))):
        said = sorted({s["paragraph"] for s in truth["sentences"] if s["in_article"] and start <= s["start"] < end})
        digest = hashlib.sha256(f"{case_dir.name}|{start:.3f}|{end:.3f}".encode()).hexdigest()[:10]
        media = CACHE / f"{name}-{part + 1}-{digest}.mp4"
        if not media.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            tmp = media.with_name(f".tmp-{media.name}")
            subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(case_dir / "narration.mp4"),
                            "-ss", f"{start:.3f}", "-to", f"{end:.3f}", "-vn", "-c:a", "aac", "-b:a", "64k",
                            "-f", "mp4", str(tmp)], check=True, stdin=subprocess.DEVNULL)
            os.replace(tmp, media)
        paragraphs = tuple(article.paragraphs[p] for p in said)
        out.append(Half(f"{name}-{part + 1}", replace(article, title=f"{article.title} (part {part + 1} of 2)",
                                                      paragraphs=paragraphs), media))
    return out


def build_site(root: Path, parts: list[Half]) -> None:
    (root / "v").mkdir(parents=True, exist_ok=True)
    for half in parts:
        shutil.copy(half.media, root / "v" / f"{half.name}.mp4")
        page = narrations.html_page(half.article).replace(narrations.VIDEO_URL, f"v/{half.name}.mp4")
        (root / f"{half.name}.html").write_text(page, encoding="utf-8")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # yt-dlp reads the start of a video to probe it and hangs up: a broken pipe here


# ---------------------------------------------------------------- measuring


def cpu_times() -> list[tuple[float, float]]:
    """(busy, total) jiffies of each core, from /proc/stat."""
    out = []
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                values = [float(v) for v in line.split()[1:]]
                idle = values[3] + values[4]  # idle + iowait
                out.append((sum(values) - idle, sum(values)))
    return out


def process_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and its waited-for children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(float(v) for v in fields[11:15]) / ticks


class Sampler(threading.Thread):
    """Samples every core and the batch process a few times a second."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, list[tuple[float, float]], float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.time(), cpu_times(), process_seconds(self.pid)))
            self.stop.wait(self.every)

    def during(self, intervals: list[tuple[float, float]]) -> tuple[list[float], float]:
        """Busy share of each core, and cores used by the batch, over the sample steps inside intervals."""
        busy: list[float] = []
        total: list[float] = []
        own = span = 0.0
        for (t0, c0, p0), (t1, c1, p1) in zip(self.samples, self.samples[1:]):
            if not any(a <= t0 and t1 <= b for a, b in intervals):
                continue
            if not busy:
                busy, total = [0.0] * len(c0), [0.0] * len(c0)
            for i, ((b0, a0), (b1, a1)) in enumerate(zip(c0, c1)):
                busy[i] += b1 - b0
                total[i] += a1 - a0
            if p1 == p1 and p0 == p0:  # not NaN (the process had gone)
                own += p1 - p0
                span += t1 - t0
        return [b / t if t else 0.0 for b, t in zip(busy, total)], (own / span if span else 0.0)


def transcribe_alone(media: list[Path]) -> tuple[dict[str, float], float]:
    """Transcription time of each file alone (Transcript.seconds, the model loaded beforehand),
    and the cores this process used while transcribing."""
    from archiver import config as config_mod
    from archiver.media import load_audio
    from archiver.transcribe import TranscribeOptions, transcribe

    options = TranscribeOptions.from_config(config_mod.load()["transcribe"])
    transcribe(load_audio(media[0])[:16000 * 5], "warm-up", "0", options)  # loads the model
    seconds, cpu = {}, 0.0
    for path in media:
        audio = load_audio(path)
        before = time.process_time()
        seconds[path.name] = transcribe(audio, path.stem, "0", options).seconds
        cpu += time.process_time() - before
    return seconds, cpu / sum(seconds.values())


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep the archive in this directory (it must not exist)")
    args = parser.parse_args()

    parts = [h for name, key, case_dir in sources() for h in halves(name, key, case_dir)][:args.articles]
    if len(parts) < args.articles:
        raise SystemExit(f"only {len(parts)} videos available for {args.articles} articles")
    work = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    site = work / "site"
    build_site(site, parts)
    server = QuietServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    listing = work / "list.txt"
    listing.write_text("\n".join(f"{base}/{h.name}.html" for h in parts) + "\n", encoding="utf-8")
    archive = args.keep or work / "archive"

    speech = sum(_duration(h.media) for h in parts)
    print(f"batch: {len(parts)} articles, {len(parts)} videos ({speech:.0f} s of speech, "
          f"{speech / len(parts):.0f} s each), --jobs {args.jobs}, {os.cpu_count()} cores", flush=True)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    started = time.time()
    process = subprocess.Popen([str(ARCHIVER), "--archive", str(archive), "add", "--from-file", str(listing),
                                "--jobs", str(args.jobs), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True)
    sampler = Sampler(process.pid)
    sampler.start()
    out, err = process.communicate()
    wall = time.time() - started
    sampler.stop.set()
    sampler.join()
    server.shutdown()
    if process.returncode != 0:
        print(err, file=sys.stderr)
        raise SystemExit(f"the batch failed (exit {process.returncode})")
    report = json.loads(out)
    failed = [a for a in report["articles"] if a["status"] != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} articles failed: {failed[0]['error']}")

    files = list((archive / "transcripts").rglob("*.json"))
    transcripts = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    in_batch = sum(t["seconds"] for t in transcripts)
    # each transcription ran for `seconds` up to the moment its file was written
    intervals = sorted((p.stat().st_mtime - t["seconds"], p.stat().st_mtime) for p, t in zip(files, transcripts))
    busy, own = sampler.during(intervals)

    # the baseline: each file transcribed again alone, one after the other, after the batch
    # (the batch runs two at a time, so its own Transcript.seconds are not "alone")
    alone, alone_cores = transcribe_alone([h.media for h in parts])
    alone_sum = sum(alone.values())
    overhead = wall / alone_sum - 1
    first_start = intervals[0][0] - started
    gaps = sum(max(0.0, b0 - a1) for (_, a1), (b0, _) in zip(intervals, intervals[1:]))
    print(f"wall time                       {wall:7.1f} s")
    print(f"transcription alone, sum        {alone_sum:7.1f} s   each of the {len(alone)} files once more, one at a "
          f"time after the batch ({alone_cores:.2f} cores); {in_batch:.1f} s of engine time inside the batch")
    print(f"overhead                        {100 * overhead:6.1f} %   of the transcription time "
          f"(target <= {100 * TARGET_OVERHEAD:.0f}%)  {'ok' if overhead <= TARGET_OVERHEAD else 'MISSED'}")
    tail = started + wall - intervals[-1][1]
    idle = first_start + gaps + tail
    print(f"no transcription running        {idle:7.1f} s   {100 * idle / wall:4.1f}% of the wall time:")
    print(f"  before the first transcription {first_start:6.1f} s   (start-up, first page and video)")
    print(f"  between transcriptions         {gaps:6.1f} s   (alignment and indexing of each article)")
    print(f"  after the last transcription   {tail:6.1f} s   (last alignment, index, exit)")
    cores = ", ".join(f"cpu{i} {100 * b:.0f}%" for i, b in enumerate(busy))
    busy_ok = bool(busy) and min(busy) >= TARGET_BUSY
    print(f"CPU while the batch transcribed {cores} busy (/proc/stat; target >= {100 * TARGET_BUSY:.0f}% each)  "
          f"{'ok' if busy_ok else 'MISSED'}")
    print(f"  the batch process used         {own:5.2f} cores")
    others = sum(busy) - own
    if others > 0.2:
        print(f"  note: other processes used about {others:.1f} cores meanwhile (load average {load}); "
              "the times above are slower than on an idle machine")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if overhead <= TARGET_OVERHEAD and busy_ok else 1


def _duration(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return container.duration / 1_000_000


if __name__ == "__main__":
    sys.exit(main())
