"""Conversations made by joining real recordings of different people, with who speaks when.

Shared by tests/test_speakers.py and benchmarks/quote.py (as `support.joins`). A reading is cut at its own
pauses into phrases (runs of at least `min_pause` of 10 ms frames in the quietest third of
the reading's range of levels, between its noise floor and its speech); turns of one or more phrases of each person are laid end to end with
short pauses, and the sample offsets where each turn starts and ends are the truth (exact
to the sample, since the audio is ours to lay out). Nothing is synthesized here.
"""
from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000


def decode(path: Path) -> np.ndarray:
    """Any media file as mono float32 at 16 kHz (the archiver's own ffmpeg)."""
    from archiver.media import ffmpeg_exe

    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(RATE),
                          "pipe:"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.float32).copy()


def phrases(samples: np.ndarray, min_pause: float = 0.3, min_phrase: float = 0.8) -> list[np.ndarray]:
    """The reading cut at its pauses; phrases shorter than `min_phrase` join the next one."""
    frame = RATE // 100
    n = len(samples) // frame
    db = 10 * np.log10((samples[: n * frame].reshape(n, frame) ** 2).mean(axis=1) + 1e-12)
    floor, speech = np.percentile(db, 10), np.percentile(db, 90)
    loud = db > floor + (speech - floor) / 3
    pieces, start, quiet = [], None, 0
    for i, is_loud in enumerate(loud):
        if is_loud:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * 10 >= min_pause * 1000:
                pieces.append((start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        pieces.append((start, n - quiet))
    merged: list[list[int]] = []
    for a, b in pieces:
        if merged and (merged[-1][1] - merged[-1][0]) * 10 < min_phrase * 1000:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [samples[a * frame: b * frame] for a, b in _shorter(merged, db) if (b - a) * 10 >= 300]


def _shorter(spans: list[list[int]], db: np.ndarray, longest: int = 800) -> list[list[int]]:
    """Spans of 10 ms frames cut at their quietest 300 ms until none is longer than `longest`
    (a reader who never pauses for long still breathes)."""
    out = []
    for a, b in spans:
        if b - a <= longest:
            out.append([a, b])
            continue
        level = np.convolve(db[a:b], np.ones(30) / 30, "same")
        cut = a + 200 + int(np.argmin(level[200:-200]))
        out += _shorter([[a, cut], [cut, b]], db, longest)
    return out


@dataclass
class Voice:
    name: str  # the truth's label for this person
    phrases: list[np.ndarray]

    @classmethod
    def of(cls, name: str, *paths: Path, min_pause: float = 0.3) -> Voice:
        return cls(name, [p for path in paths for p in phrases(decode(path), min_pause)])


@dataclass
class Conversation:
    audio: np.ndarray
    turns: list[dict]  # {"speaker", "start", "end"} in seconds

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(t["speaker"] for t in self.turns))

    def speaker_at(self, t: float) -> str:
        """Who speaks at `t` (the nearest turn in a pause)."""
        return min(self.turns, key=lambda turn: 0 if turn["start"] <= t <= turn["end"]
                   else min(abs(t - turn["start"]), abs(t - turn["end"])))["speaker"]

    def write(self, path: Path) -> Path:
        """16-bit mono WAV."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes((np.clip(self.audio, -1, 1) * 32767).astype("<i2").tobytes())
        return path


def converse(voices: list[Voice], turns: list[tuple[int, int]], pause: tuple[float, float] = (0.3, 0.9),
             seed: int = 0) -> Conversation:
    """`turns`: (voice index, phrases in the turn), in order; each voice reads its phrases in
    order (starting over when it runs out). Pauses between turns are drawn from `pause`."""
    rng = np.random.default_rng(seed)
    position = {i: 0 for i in range(len(voices))}
    pieces = [np.zeros(int(0.5 * RATE), np.float32)]
    at = len(pieces[0])
    truth = []
    for who, count in turns:
        voice = voices[who]
        chunk = []
        for _ in range(count):
            chunk.append(voice.phrases[position[who] % len(voice.phrases)])
            chunk.append(np.zeros(int(0.25 * RATE), np.float32))  # the reader's own breath between phrases
            position[who] += 1
        samples = np.concatenate(chunk[:-1])
        truth.append({"speaker": voice.name, "start": round(at / RATE, 3), "end": round((at + len(samples)) / RATE, 3)})
        gap = np.zeros(int(rng.uniform(*pause) * RATE), np.float32)
        pieces += [samples, gap]
        at += len(samples) + len(gap)
    return Conversation(np.concatenate(pieces), truth)
