"""The chain of custody: `provenance.json` beside every article and every video.

Each file is a list of steps, appended as the archive works (never rewritten): what was done
(fetch, read, parse, capture, download, copy, decode, transcribe, align), when (UTC), on
which machine (host name; a transcription done on a cluster worker carries the worker's),
by which software (transcript-archiver, yt-dlp, ffmpeg, the engine and their versions),
from which input (its sha256) to which output (path, sha256, size). The downloaded bytes
are the evidentiary copy: their sha256 is recorded at download and every derived file
(decoded audio, transcript, alignment, subtitles) names its parent's hash.
"""
from __future__ import annotations

import functools
import socket
import subprocess
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .fetch import PageFetch, utc_now
from .store.files import atomic_write_json, read_json, sha256_file

FILE = "provenance.json"
FORMAT = "transcript-archiver-provenance"


@functools.cache
def _version(name: str) -> str | None:
    if name == "ffmpeg":
        return ffmpeg_version()
    if name == "python":
        import platform

        return platform.python_version()
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def software(*names: str) -> dict[str, str]:
    """{name: version} of the packages (and "ffmpeg", "python") that are installed."""
    return {name: v for name in names if (v := _version(name))}


@functools.cache
def ffmpeg_version() -> str | None:
    from .media import ffmpeg_exe

    try:
        out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.splitlines()[0] if out else ""
    return first.split(" version ", 1)[1].split(" ", 1)[0] if " version " in first else first or None


def host() -> str:
    return socket.gethostname()


def step(name: str, **fields: Any) -> dict[str, Any]:
    return {"step": name, "at": utc_now(), "host": host(), **{k: v for k, v in fields.items() if v is not None}}


def file_entry(path: Path, name: str | None = None, sha256: str | None = None) -> dict[str, Any]:
    return {"path": name or path.name, "sha256": sha256 or sha256_file(path), "bytes": path.stat().st_size}


def bytes_entry(name: str, sha256: str, size: int) -> dict[str, Any]:
    return {"path": name, "sha256": sha256, "bytes": size}


def http_record(page: PageFetch) -> dict[str, Any]:
    """Every hop of a page fetch: what we asked, what came back, from which address."""
    import hashlib

    return {
        "requested_url": page.url, "final_url": page.final_url, "status": page.final.status,
        "started_at": page.started_at, "finished_at": page.finished_at,
        "exchanges": [{"url": e.url, "method": e.method, "request_headers": e.request_headers,
                       "status": e.status, "reason": e.reason, "http_version": e.http_version,
                       "headers": e.headers, "peer": e.peer, "started_at": e.started_at,
                       "body_sha256": hashlib.sha256(e.body).hexdigest(), "body_bytes": len(e.body)}
                      for e in page.exchanges],
    }


def append(path: Path, subject: dict[str, Any], *steps: dict[str, Any]) -> None:
    """Add steps to the provenance file at path (created with `subject` the first time)."""
    with _APPENDING:  # the capture thread and a transcription may add to one video's file at once
        data = read_json(path) if path.exists() else {"format": FORMAT, "version": 1, **subject, "steps": []}
        data["steps"].extend(steps)
        atomic_write_json(path, data)


_APPENDING = threading.Lock()  # one writer process per archive (Archive.writing); this orders its threads


def last_step(path: Path, name: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return next((s for s in reversed(read_json(path).get("steps", [])) if s.get("step") == name), None)


# ---------------------------------------------------------------- the steps of the pipeline


def download_step(fetched, sha256: str) -> dict[str, Any]:
    """yt-dlp's download (or the copy of a local file) into media/<id>/: the evidentiary bytes."""
    media = fetched.directory / fetched.media_file
    outputs = [file_entry(media, sha256=sha256)]
    info = fetched.directory / "info.json"
    if info.exists():
        outputs.append(file_entry(info))
    if fetched.extractor == "file":
        stat = Path(fetched.url).stat() if Path(fetched.url).exists() else None
        return step("copy", source_path=fetched.url, software=software("transcript-archiver", "python"),
                    source_modified_at=_utc(stat.st_mtime) if stat else None, outputs=outputs)
    return step("download", url=fetched.url, webpage_url=fetched.webpage_url, extractor=fetched.extractor,
                final_url=fetched.http[-1]["url"] if fetched.http else None,
                status=fetched.http[-1]["status"] if fetched.http else None, http=fetched.http,
                software=software("transcript-archiver", "yt-dlp", "ffmpeg", "python"), outputs=outputs)


def transcript_steps(transcript, media_sha256: str, path: Path) -> list[dict[str, Any]]:
    """decode (ffmpeg, in memory) and transcribe: each with its parent's hash."""
    made = transcript.provenance or {}
    decode = step("decode", parent_sha256=media_sha256, software=software("ffmpeg", "ffmpeg-python"),
                  options=made.get("audio"), output={"sha256": made.get("audio_sha256"), "kept": False})
    transcribe = step("transcribe", parent_sha256=made.get("audio_sha256"), media_sha256=media_sha256,
                      engine=transcript.engine, model=transcript.model, weights=made.get("weights"),
                      options=transcript.options, software=made.get("software"),
                      started_at=made.get("started_at"), finished_at=made.get("finished_at"),
                      output=file_entry(path, f"transcripts/{transcript.video_id}/{path.name}"))
    transcribe["host"] = made.get("host") or transcribe["host"]  # the machine (or cluster worker) that ran it
    return [decode, transcribe]


def source_steps(page: PageFetch | None, source: str, original: Path, article_json: Path) -> list[dict[str, Any]]:
    """fetch (a URL) or read (a local file), then parse: the original and the article made from it."""
    kept = file_entry(original)
    if page is not None:
        first = step("fetch", url=source, http=http_record(page), software=software("transcript-archiver", "python"),
                     output=kept)
    else:
        path = Path(source).expanduser().resolve()
        first = step("read", source_path=str(path), source_modified_at=_utc(path.stat().st_mtime), output=kept)
    parse = step("parse", parent_sha256=kept["sha256"], output=file_entry(article_json),
                 software=software("transcript-archiver", "trafilatura", "markdown-it-py", "lxml"))
    return [first, parse]


def align_step(article_json: Path, transcript_path: Path | None, alignment: Path, options: dict) -> dict[str, Any]:
    parents = [file_entry(article_json)["sha256"]] + ([sha256_file(transcript_path)] if transcript_path else [])
    return step("align", parent_sha256=parents, options=options, software=software("transcript-archiver", "rapidfuzz"),
                output=file_entry(alignment, f"alignments/{alignment.parent.name}/{alignment.name}"))


def _utc(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
