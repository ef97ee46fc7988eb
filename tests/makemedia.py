"""Short media for the reliability tests and the batch benchmark, made on the spot.

Narrations come from ../shared/tools/make_narration.py with the espeak-ng voice (under a
second for a few sentences), so every clip carries exact sentence truth; the texts are
the articles of benchmarks/narrations.py cut into short pieces. Without espeak-ng, the
pieces are cut from the seed fixture's narration at its sentence times instead. The odd
inputs (a silent video, a video without sound, an audio-only file, a corrupt MP4) come
from ffmpeg.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import narrations  # noqa: E402

VOICES = ("espeak:en-us", "espeak:en-gb-x-rp", "espeak:en+m3", "espeak:en-us+f2")
SEED = ROOT.parent / "shared" / "fixtures" / "seed-article"


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True,
                   stdin=subprocess.DEVNULL)


@dataclass
class Piece:
    """A short article: its title, paragraphs, and where its narration lives."""

    name: str
    title: str
    paragraphs: list[str]
    directory: Path | None = None

    @property
    def narration(self) -> Path:
        return self.directory / "narration.mp4"

    @property
    def truth(self) -> dict:
        return json.loads((self.directory / "truth.json").read_text(encoding="utf-8"))


def pieces(count: int, sentences: int = 2) -> list[Piece]:
    """`count` short articles: runs of `sentences` sentences from the narrations' articles,
    one paragraph each, no two alike."""
    split = narrations.split_sentences()
    pools = [[s for p in a.paragraphs for s in split(p)] for a in narrations.ARTICLES.values() if a.paragraphs]
    out: list[Piece] = []
    offset = 0
    while len(out) < count:
        for n, pool in enumerate(pools):
            start = offset * sentences
            if start + sentences <= len(pool) and len(out) < count:
                article = list(narrations.ARTICLES.values())[n]
                text = " ".join(pool[start:start + sentences])
                out.append(Piece(f"{article.name}-{offset}", f"{article.title} (part {offset + 1})", [text]))
        offset += 1
        if offset * sentences > max(len(p) for p in pools):
            raise ValueError(f"not enough text for {count} pieces of {sentences} sentences")
    return out


def narrate(piece: Piece, out_dir: Path, voice: str = VOICES[0], speed: float = 1.1) -> Piece:
    """Read the piece aloud into out_dir (narration.mp4, truth.json, article.txt)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / "narration.mp4").exists():
        text = out_dir / "article.txt"
        text.write_text("\n\n".join(piece.paragraphs) + "\n", encoding="utf-8")
        with tempfile.TemporaryDirectory() as bindir:
            subprocess.run([sys.executable, str(narrations.MAKE_NARRATION), str(text), str(out_dir),
                            "--voice", voice, "--speed", str(speed), "--lead-in", "0.3"],
                           check=True, env=narrations.ffmpeg_path_env(Path(bindir)), stdout=subprocess.DEVNULL)
    piece.directory = out_dir
    return piece


def narrated(count: int, root: Path, sentences: int = 2) -> list[Piece]:
    """`count` narrated pieces under root, each with its own narration (espeak-ng voices in
    turn; cuts of the seed fixture's narration when espeak-ng is not installed)."""
    if not shutil.which("espeak-ng"):
        return seed_cuts(count, root)
    return [narrate(p, root / p.name, VOICES[i % len(VOICES)]) for i, p in enumerate(pieces(count, sentences))]


def seed_cuts(count: int, root: Path) -> list[Piece]:
    """`count` pieces of one or two sentences cut from the seed narration, with shifted truth."""
    truth = json.loads((SEED / "truth.json").read_text(encoding="utf-8"))
    spoken = [s for s in truth["sentences"] if s["in_article"]]
    if count > len(spoken):
        raise ValueError(f"the seed narration has {len(spoken)} sentences, not {count}")
    bounds = [round(i * len(spoken) / count) for i in range(count + 1)]
    out = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        group = spoken[a:b]
        start, end = max(0.0, group[0]["start"] - 0.3), group[-1]["end"] + 0.3
        directory = root / f"seed-cut-{i}"
        directory.mkdir(parents=True, exist_ok=True)
        ffmpeg("-i", str(SEED / "narration.mp4"), "-ss", f"{start:.3f}", "-to", f"{end:.3f}", "-vn", "-c:a", "aac",
               str(directory / "narration.mp4"))
        shifted = [{**s, "start": round(s["start"] - start, 3), "end": round(s["end"] - start, 3)} for s in group]
        (directory / "truth.json").write_text(json.dumps({"duration": round(end - start, 3), "sentences": shifted}),
                                              encoding="utf-8")
        out.append(Piece(directory.name, f"{narrations.SEED.title} (part {i + 1})",
                         [" ".join(s["text"] for s in group)], directory))
    return out


def keyword(piece: Piece) -> str:
    """A word that only this piece is likely to say: its longest."""
    return max(re.findall(r"[A-Za-z]{4,}", " ".join(piece.paragraphs)), key=len)


def with_picture(audio: Path, out: Path, kbps: int | None = None) -> Path:
    """A real video: a moving test pattern over the audio of `audio` (at `kbps`, for a bigger file)."""
    rate = ["-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k"] if kbps else []
    size = "320x240:rate=25" if kbps else "160x120:rate=10"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}", "-i", str(audio), "-shortest",
           "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *rate,
           "-c:a", "copy", str(out))
    return out


def silent_video(out: Path, seconds: float = 6, audio_track: bool = True) -> Path:
    """A video whose sound is digital silence (or that has no audio stream at all)."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:duration={seconds}"]
    if audio_track:
        args += ["-f", "lavfi", "-i", f"anullsrc=r=44100:cl=mono:d={seconds}", "-c:a", "aac", "-shortest"]
    ffmpeg(*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))
    return out


def audio_only(source: Path, out: Path) -> Path:
    """The sound of `source` alone, in the container out's suffix asks for (.mp3, .m4a, ...)."""
    codec = {".mp3": ["-c:a", "libmp3lame"], ".m4a": ["-c:a", "aac"], ".ogg": ["-c:a", "libvorbis"]}
    ffmpeg("-i", str(source), "-vn", *codec.get(out.suffix, []), str(out))
    return out


def corrupt_mp4(source: Path, out: Path) -> Path:
    """An .mp4 that looks like one for 64 bytes and is noise after."""
    head = source.read_bytes()[:64]
    out.write_bytes(head + os.urandom(50_000))
    return out


def truncated(source: Path, out: Path, fraction: float = 0.5) -> Path:
    """The first part of a file, as a cut-off download leaves it."""
    data = source.read_bytes()
    out.write_bytes(data[:int(len(data) * fraction)])
    return out
