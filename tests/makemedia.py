"""Short media for the reliability tests, made on the spot.

Narrations come from the generator in tests/support/narrate.py with espeak-ng voices
(under a second for a few sentences), so every clip carries exact sentence truth; the
texts are the articles of tests/support/articles.py cut into short pieces. Without
espeak-ng, the pieces are cut from the seed fixture's narration at its sentence times
instead. The odd inputs (a silent video, a video without sound, an audio-only file, a
corrupt MP4) come from ffmpeg.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from support import SEED, ffmpeg
from support import narrate as generator
from support.articles import ARTICLES

VOICES = ("espeak:en-us", "espeak:en-gb-x-rp", "espeak:en+m3", "espeak:en-us+f2")


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
    articles = [a for a in ARTICLES.values() if a.paragraphs]
    pools = [[s for p in a.paragraphs for s in generator.sentences(p)] for a in articles]
    out: list[Piece] = []
    offset = 0
    while len(out) < count:
        for n, pool in enumerate(pools):
            start = offset * sentences
            if start + sentences <= len(pool) and len(out) < count:
                article = articles[n]
                text = " ".join(pool[start:start + sentences])
                out.append(Piece(f"{article.name}-{offset}", f"{article.title} (part {offset + 1})", [text]))
        offset += 1
        if offset * sentences > max(len(p) for p in pools):
            raise ValueError(f"not enough text for {count} pieces of {sentences} sentences")
    return out


def narrate(piece: Piece, out_dir: Path, voice: str = VOICES[0], speed: float = 1.1) -> Piece:
    """Read the piece aloud into out_dir (narration.mp4, truth.json)."""
    if not (out_dir / "truth.json").exists():
        generator.narrate("\n\n".join(piece.paragraphs), out_dir, voice=voice, speed=speed, lead_in=0.3)
    piece.directory = out_dir
    return piece


def narrated(count: int, root: Path, sentences: int = 2) -> list[Piece]:
    """`count` narrated pieces under root, each with its own narration (espeak-ng voices in
    turn; cuts of the seed fixture's narration when espeak-ng is not installed)."""
    if not shutil.which("espeak-ng"):
        return seed_cuts(count, root)
    # Two at a time: each narration is mostly espeak-ng and ffmpeg processes, one core each.
    voices = [VOICES[i % len(VOICES)] for i in range(count)]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda piece, voice: narrate(piece, root / piece.name, voice), pieces(count, sentences), voices))


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
        out.append(Piece(directory.name, f"{ARTICLES['seed'].title} (part {i + 1})",
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
