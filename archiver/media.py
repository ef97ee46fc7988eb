"""Media files: find an ffmpeg, read durations, decode audio to 16 kHz mono for the engine.

The system ffmpeg is used when present; otherwise imageio-ffmpeg's bundled binary.
imageio-ffmpeg ships no ffprobe, so durations and streams come from PyAV.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path

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


def load_audio(path: Path) -> np.ndarray:
    """Decode the first audio stream to 16 kHz mono float32 with ffmpeg (ffmpeg-python)."""
    import ffmpeg

    try:
        out, _ = (
            ffmpeg.input(str(path))
            .output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=SAMPLE_RATE)
            .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as e:
        detail = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise ArchiverError(f"ffmpeg cannot decode {path.name}: {detail[-1] if detail else 'unknown error'}") from e
    return np.frombuffer(out, np.float32).copy()


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
