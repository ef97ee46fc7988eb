"""Media files: find an ffmpeg, read durations, decode audio to 16 kHz mono for the engine
(every channel kept, loudness-normalized, then mixed).

The system ffmpeg is used when present; otherwise imageio-ffmpeg's bundled binary.
imageio-ffmpeg ships no ffprobe, so durations and streams come from PyAV.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import ArchiverError

SAMPLE_RATE = 16000

MEDIA_EXTENSIONS = {
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".flv", ".mpg", ".mpeg", ".ts", ".3gp", ".ogv",
    ".mp3", ".m4a", ".aac", ".wav", ".ogg", ".oga", ".opus", ".flac", ".wma", ".m3u8", ".mpd",
}


def is_media_path(path_or_url: str) -> bool:
    suffix = Path(path_or_url.split("?", 1)[0].split("#", 1)[0]).suffix.lower()
    return suffix in MEDIA_EXTENSIONS


@functools.cache
def ffmpeg_exe() -> str:
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        raise ArchiverError("no ffmpeg found: install ffmpeg or the Python package imageio-ffmpeg") from e


def probe(path: Path, label: str | None = None) -> tuple[float, bool]:
    """(duration in seconds, has an audio stream), read with PyAV; errors name `label` (the
    URL or path the user gave) rather than the file we keep."""
    import av

    try:
        with av.open(str(path)) as container:
            has_audio = any(s.type == "audio" for s in container.streams)
            if container.duration is not None:
                duration = container.duration / 1_000_000
            else:
                duration = max((float(s.duration * s.time_base) for s in container.streams if s.duration), default=0.0)
            if not any(s.type in ("audio", "video") for s in container.streams):
                raise ValueError("no audio or video stream")  # e.g. an MP4 header over noise
    except (av.error.FFmpegError, OSError, ValueError) as e:
        reason = getattr(e, "strerror", None) or _first_line(e)  # without the path of our copy
        raise ArchiverError(f"{label or path.name}: not a readable media file ({reason}); "
                            "is it a video or audio file?") from e
    return duration, has_audio


def load_audio(path: Path, loudness: bool = True, carries_speech: Callable[[np.ndarray], bool] | None = None) -> np.ndarray:
    """Decode the first audio stream to 16 kHz mono float32 for the engine.

    With `loudness`, each channel is first brought to the loudness of the loudest (EBU R128 /
    ITU-R BS.1770 integrated loudness), so a speaker alone on a quieter channel is not halved
    away by the downmix; `carries_speech` (a VAD) tells a speaker's channel from one of hiss.
    The mix keeps the recording's own level: Whisper's features are scaled to their own
    maximum, and the VAD lifts its own copy (transcribe.vad). Without `loudness`, ffmpeg's
    plain downmix (the channels averaged).
    """
    channels = decode_channels(path)
    return balanced_mix(channels, carries_speech) if loudness else channels.mean(axis=1)


def decode_channels(path: Path) -> np.ndarray:
    """Every channel of the first audio stream at 16 kHz, float32, shape (samples, channels)."""
    import ffmpeg

    try:
        out, _ = (
            ffmpeg.input(str(path))
            .output("pipe:", format="f32le", acodec="pcm_f32le", ar=SAMPLE_RATE)
            .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as e:
        detail = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise ArchiverError(f"ffmpeg cannot decode {path.name}: {detail[-1] if detail else 'unknown error'}") from e
    return np.frombuffer(out, np.float32).reshape(-1, _channel_count(path)).copy()


def _channel_count(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == "audio")
        return stream.codec_context.channels or 1


def loudness_of(samples: np.ndarray) -> float:
    """Integrated loudness in LUFS (pyloudnorm's BS.1770 meter); -inf for silence or under 0.4 s."""
    import pyloudnorm

    if len(samples) < SAMPLE_RATE * 0.4:
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(samples.astype(np.float64)))


def balanced_mix(channels: np.ndarray, carries_speech: Callable[[np.ndarray], bool] | None = None) -> np.ndarray:
    """One channel from any number, each channel that carries sound at the loudest one's level.

    Two speakers recorded one per channel at different levels (even 50 dB apart) come out
    equally loud; a channel in which `carries_speech` hears nobody (hiss, silence) is left out
    rather than lifted; a channel in opposite phase to the first is flipped before the sum, so
    an out-of-phase pair adds up instead of cancelling. A mono file comes back as it is.
    """
    if channels.shape[1] == 1:
        return channels[:, 0].copy()
    every = channels[::16].astype(np.float64)  # a sample of the samples is enough to compare the channels
    same = [_correlation(every[:, 0], every[:, c]) for c in range(1, channels.shape[1])]
    if all(abs(r) >= SAME_SOUND for r in same):  # most stereo: one sound on every channel, no VAD needed
        return np.mean([channels[:, 0]] + [channels[:, c + 1] * np.sign(r) for c, r in enumerate(same)],
                       axis=0).astype(np.float32)
    levels = [loudness_of(channels[:, c]) for c in range(channels.shape[1])]
    loudest = max(levels)
    if not np.isfinite(loudest):  # silence, or too short to measure: nothing to lift
        return channels.mean(axis=1)
    lifted = [channels[:, c] * gain_to(level, loudest) for c, level in enumerate(levels) if np.isfinite(level)]
    kept = [ch for ch in lifted if carries_speech is None or len(lifted) == 1 or carries_speech(ch)] or lifted
    mix = sum((ch if np.dot(ch, kept[0]) >= 0 else -ch) for ch in kept) / len(kept)
    return np.clip(mix, -1.0, 1.0).astype(np.float32)


SAME_SOUND = 0.98  # correlation above which two channels carry one sound (mono as stereo, a phase flip)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return float(np.dot(a, b)) / norm if norm else 1.0


def gain_to(level: float, target: float, max_gain_db: float = 50.0) -> float:
    """The factor that brings audio at `level` LUFS to `target` (at most `max_gain_db` up; 1 for silence)."""
    if not np.isfinite(level):
        return 1.0
    return 10 ** (min(target - level, max_gain_db) / 20)


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
