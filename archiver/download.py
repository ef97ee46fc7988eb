"""The download stage: yt-dlp fetches a video URL (or we copy a local file) into media/<video_id>/.

The only module that imports yt_dlp. video_id comes from yt-dlp's extractor and id, sanitized
(plus a hash of the URL for the generic extractor, whose ids are just file names); never from
a title. Downloads go to a temp directory that is renamed into place when complete, so a
killed run never leaves a media directory that a later run trusts; yt-dlp resumes its .part
file from the same temp directory on the next run.
"""
from __future__ import annotations

import functools
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .article import now
from .errors import ArchiverError
from .media import ffmpeg_exe, probe
from .store.files import TEMP_PREFIX, atomic_write_json, sha256_file, short_hash, slugify


@dataclass
class DownloadedMedia:
    """One video's media downloaded (or copied) into a temp media directory, not yet committed."""

    video_id: str
    url: str
    title: str
    directory: Path  # a finished media directory (temp until the caller commits it)
    media_file: str
    extractor: str
    webpage_url: str | None
    duration: float
    # the HTTP responses yt-dlp got while downloading (url, status, reason, headers, request_headers),
    # for the chain of custody and the WARC capture; empty for a local copy
    http: list[dict[str, Any]] = field(default_factory=list)


@functools.cache
def _specific_extractors() -> tuple:
    from yt_dlp.extractor import gen_extractor_classes

    return tuple(ie for ie in gen_extractor_classes() if ie.IE_NAME.lower() != "generic")


@functools.cache
def has_specific_extractor(url: str) -> bool:
    """True when a yt-dlp extractor other than Generic claims the URL (a video host)."""
    if not url.startswith(("http://", "https://")):
        return False
    return any(ie.suitable(url) and ie.working() for ie in _specific_extractors())


def _recording_ydl(options: dict[str, Any], exchanges: list[dict[str, Any]]):
    """A YoutubeDL that notes every HTTP response it gets (status, headers, final URL): yt-dlp
    keeps none of them, and they are the media's chain of custody."""
    from yt_dlp import YoutubeDL
    from yt_dlp.networking import Request

    class RecordingYoutubeDL(YoutubeDL):
        def urlopen(self, req):
            request = Request(req) if isinstance(req, str) else req
            response = super().urlopen(request)
            sent = {**self.params.get("http_headers", {}), **dict(getattr(request, "headers", {}) or {})}
            exchanges.append({"url": response.url, "method": getattr(request, "method", None) or "GET",
                              "status": response.status, "reason": response.reason,
                              "headers": list(response.headers.items()), "request_headers": list(sent.items()),
                              "at": now()})
            return response

    return RecordingYoutubeDL(options)


class _QuietLogger:
    """yt-dlp talks to stdout; we keep its messages to report the last error."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        self.errors.append(msg)


def _options(retries: int, timeout: float, max_filesize_mb: int, **extra: Any) -> dict[str, Any]:
    return {
        "quiet": True, "no_warnings": True, "noprogress": True, "logger": _QuietLogger(),
        "retries": retries, "fragment_retries": retries, "extractor_retries": retries,
        "retry_sleep_functions": {"http": lambda n: min(0.5 * 2 ** n, 10), "fragment": lambda n: min(0.5 * 2 ** n, 10)},
        "socket_timeout": timeout, "continuedl": True, "noplaylist": True,
        "max_filesize": max_filesize_mb << 20,
        # a single file that a browser plays offline, when the host offers the choice
        "format": "best[ext=mp4][height<=720]/best[height<=720]/bestvideo[height<=720]+bestaudio/best",
        "merge_output_format": "mp4",
        "ffmpeg_location": ffmpeg_exe(),
        "writeinfojson": False, "writesubtitles": False, "restrictfilenames": True,
        **extra,
    }


def _one_line(e: Exception, url: str) -> str:
    msg = str(e).replace("ERROR: ", "").strip().splitlines()[0] if str(e).strip() else type(e).__name__
    msg = msg.split("; please report this issue")[0]
    if "Unsupported URL" in msg:
        return f"{url}: not a video yt-dlp can download (unsupported URL)"
    if "Did not get any data blocks" in msg:
        return f"{url}: the server sent an empty file (0 bytes)"
    if "more expected" in msg:  # "Got error: 30453 bytes read, 30454 more expected. Giving up after 5 retries"
        return f"{url}: download failed: the server kept cutting the connection midway; `archiver retry` resumes it"
    return f"{url}: download failed: {msg[:300]}"


def _cause(e: BaseException) -> BaseException:
    """The network error under yt-dlp's DownloadError / ExtractorError wrappers."""
    from yt_dlp.utils import DownloadError, ExtractorError

    for _ in range(4):
        if isinstance(e, DownloadError) and e.exc_info and e.exc_info[1] is not None:
            e = e.exc_info[1]
        elif isinstance(e, ExtractorError) and isinstance(e.cause, BaseException):
            e = e.cause
        else:
            break
    return e


def _transient(e: BaseException) -> bool:
    """Worth another try after a pause: a connection error, a timeout, HTTP 429 or 5xx."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    cause = _cause(e)
    if isinstance(cause, HTTPError):
        return cause.status == 429 or cause.status >= 500
    return isinstance(cause, (TransportError, TimeoutError, ConnectionError))


def _rate_limited(e: BaseException) -> bool:
    """HTTP 429: yt-dlp's downloader retries 5xx and dropped connections itself, but not this."""
    from yt_dlp.networking.exceptions import HTTPError

    cause = _cause(e)
    return isinstance(cause, HTTPError) and cause.status == 429


def _with_retries(should_retry: Callable[[BaseException], bool], attempts: int, call: Callable[[], Any]) -> Any:
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    return retry(retry=retry_if_exception(should_retry), stop=stop_after_attempt(max(1, attempts)),
                 wait=wait_exponential(multiplier=0.5, max=10), reraise=True)(call)()


def video_id_for(info: dict[str, Any], url: str) -> str:
    extractor = slugify(info.get("extractor_key") or info.get("extractor") or "video", 20)
    raw_id = slugify(str(info.get("id") or "x"), 60)
    if extractor == "generic":  # its ids are file names: two sites' "video.mp4" must not collide
        raw_id = f"{slugify(str(info.get('id') or 'x'), 40)}-{short_hash(url)}"
    return f"{extractor}-{raw_id}"


def local_video_id(path: Path, sha256: str) -> str:
    return f"file-{slugify(path.stem, 40)}-{sha256[:8]}"


def probe_url(url: str, retries: int = 3, timeout: float = 30) -> tuple[str, dict[str, Any]]:
    """Ask yt-dlp what a URL is, without downloading: (video_id, info)."""
    from yt_dlp import YoutubeDL
    from yt_dlp.utils import DownloadError, ExtractorError

    def extract() -> dict[str, Any] | None:
        with YoutubeDL(_options(retries, timeout, 4096)) as ydl:
            return ydl.extract_info(url, download=False)

    try:  # yt-dlp retries the download itself, not this first request (tenacity does)
        info = _with_retries(_transient, retries, extract)
    except (DownloadError, ExtractorError) as e:
        raise ArchiverError(_one_line(e, url)) from e
    if info is None or info.get("_type") == "playlist":
        raise ArchiverError(f"{url}: a playlist or a page with several videos; link the videos themselves")
    return video_id_for(info, url), info


def download_url(url: str, media_root: Path, video_id: str, info: dict[str, Any], *, retries: int = 5,
                 timeout: float = 30, max_filesize_mb: int = 4096,
                 on_progress: Callable[[int, int | None], None] | None = None) -> DownloadedMedia:
    """Download into media/.tmp-<video_id>/ (resumable) and return it, complete but not yet renamed."""
    from yt_dlp.utils import DownloadError, ExtractorError

    work = media_root / f"{TEMP_PREFIX}{video_id}"
    work.mkdir(parents=True, exist_ok=True)

    def hook(status: dict[str, Any]) -> None:
        if on_progress and status.get("status") in ("downloading", "finished"):
            on_progress(status.get("downloaded_bytes") or 0, status.get("total_bytes") or status.get("total_bytes_estimate"))

    options = _options(retries, timeout, max_filesize_mb, outtmpl=str(work / "media.%(ext)s"), progress_hooks=[hook])
    logger = options["logger"]

    exchanges: list[dict[str, Any]] = []

    def fetch() -> dict[str, Any] | None:  # resumes the .part file of an earlier attempt or run
        exchanges.clear()  # only the attempt that succeeded counts
        with _recording_ydl(options, exchanges) as ydl:
            return ydl.process_ie_result(dict(info), download=True)

    try:
        result = _with_retries(_rate_limited, retries, fetch)
    except (DownloadError, ExtractorError, OSError) as e:
        _unless_resumable(work)
        raise ArchiverError(_one_line(e, url)) from e
    files = [p for p in work.iterdir() if p.name.startswith("media.") and not p.name.endswith((".part", ".ytdl"))
             and p.is_file()]
    if not files:
        _unless_resumable(work)
        reason = logger.errors[-1] if logger.errors else "no file was written (too large, or not a video)"
        raise ArchiverError(_one_line(Exception(reason), url))
    media = max(files, key=lambda p: p.stat().st_size)
    if media.stat().st_size == 0:
        shutil.rmtree(work, ignore_errors=True)
        raise ArchiverError(f"{url}: the server sent an empty file (0 bytes)")
    try:
        duration, _ = probe(media, label=url)  # a video without sound is kept: an empty transcript
    except ArchiverError:
        shutil.rmtree(work, ignore_errors=True)  # complete but not media: nothing to resume
        raise
    info_json = {k: v for k, v in (result or info).items() if not k.startswith("_") and k not in ("requested_formats",)}
    atomic_write_json(work / "info.json", json.loads(json.dumps(info_json, default=str)))
    return DownloadedMedia(video_id, url, str(info.get("title") or media.name), work, media.name,
                   str(info.get("extractor_key") or "Generic"), info.get("webpage_url"),
                   float(info.get("duration") or duration), [e for e in exchanges if 200 <= e["status"] < 300])


def _unless_resumable(work: Path) -> None:
    """After a failed download, keep the temp directory only when a partial file is there to resume."""
    if not any(p.name.endswith(".part") and p.stat().st_size > 0 for p in work.iterdir()):
        shutil.rmtree(work, ignore_errors=True)


def copy_local(path: Path, media_root: Path) -> tuple[DownloadedMedia, str]:
    """A local media file: copied into a temp media directory -> (DownloadedMedia, sha256)."""
    if not path.is_file():
        raise ArchiverError(f"{path}: no such file; check the path")
    if path.stat().st_size == 0:
        raise ArchiverError(f"{path}: the file is empty (0 bytes)")
    duration, _ = probe(path, label=str(path))
    sha256 = sha256_file(path)
    video_id = local_video_id(path, sha256)
    work = media_root / f"{TEMP_PREFIX}{video_id}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    name = f"media{path.suffix.lower()}" if path.suffix else "media"
    shutil.copyfile(path, work / name)
    atomic_write_json(work / "info.json", {"id": video_id, "title": path.stem, "extractor": "file",
                                           "original_path": str(path.resolve()), "filesize": path.stat().st_size,
                                           "duration": duration, "epoch": now()})
    return DownloadedMedia(video_id, str(path.resolve()), path.stem, work, name, "file", None, duration), sha256


# ---------------------------------------------------------------- embeds in a page, offline


class _NetworkForbidden(Exception):
    pass


@functools.cache
def _offline_ydl():
    """A YoutubeDL whose every request fails: embed detection must never touch the network
    (some extractors' embed code fetches a page or a player config to look further)."""
    from yt_dlp import YoutubeDL

    class Offline(YoutubeDL):
        def urlopen(self, req):
            raise _NetworkForbidden(getattr(req, "url", str(req)))

    return Offline({"quiet": True, "no_warnings": True, "logger": _QuietLogger(), "noplaylist": True})


# HTML5MediaEmbed reads <video>/<audio> (discover/tags.py does, with our scheme rules); the
# others here wrap a whole page or quoted HTML, not an embed.
_NOT_EMBEDS = {"Generic", "HTML5MediaEmbed", "QuotedHTML", "ElementorEmbed"}


@functools.cache
def _embed_extractors() -> tuple:
    """The extractors that can find an embed in a page: about 170 of yt-dlp's 1,750, those with
    an _EMBED_REGEX or embed code of their own. Telling which imports every extractor's module
    (two seconds of each `add`), so their names are kept in the user cache, under a key of the
    yt-dlp version and the extractors it has (a plugin or an update makes a new list)."""
    import hashlib
    import yt_dlp.version

    from .store.files import atomic_write_json, read_json
    from .transcribe.models import cache_dir

    candidates = [ie for ie in _specific_extractors() if ie.ie_key() not in _NOT_EMBEDS]
    names = [ie.ie_key() for ie in candidates]
    key = hashlib.sha256(" ".join([yt_dlp.version.__version__, *names]).encode()).hexdigest()[:16]
    kept = cache_dir() / "yt-dlp" / f"embed-extractors-{key}.json"
    try:
        finders = set(read_json(kept))
    except (OSError, ValueError, TypeError):
        finders = {ie.ie_key() for ie in candidates if _finds_embeds(ie)}
        try:
            atomic_write_json(kept, sorted(finders))
        except OSError:  # a read-only home: the list is made again by the next process
            pass
    return tuple(ie for ie in candidates if ie.ie_key() in finders)


def _finds_embeds(ie) -> bool:
    from yt_dlp.extractor.common import InfoExtractor

    def code(cls, name: str):
        method = getattr(cls, name)
        return getattr(method, "__func__", method).__code__

    real = getattr(ie, "real_class", ie)  # a lazy extractor's class: this imports its module
    return bool(real._EMBED_REGEX) or any(
        code(real, name) is not code(InfoExtractor, name)
        for name in ("extract_from_webpage", "_extract_from_webpage", "_extract_embed_urls"))


def embedded_video_urls(page_url: str, html: str) -> list[str]:
    """The players yt-dlp's extractors recognise in a page (YouTube, Vimeo, Dailymotion,
    Brightcove, JW Player, Twitter, Facebook, ...), as URLs, without any request."""
    from yt_dlp.utils import unsmuggle_url

    ydl, urls = _offline_ydl(), []
    for ie in _embed_extractors():
        try:
            for info in ie.extract_from_webpage(ydl, page_url, html):
                url = info.get("url") if isinstance(info, dict) else None
                if isinstance(url, str):
                    urls.append(unsmuggle_url(url)[0].split('"')[0].split("'")[0].strip())
        except Exception:  # noqa: BLE001 (one extractor's odd regex or a forbidden request: skip it)
            continue
    return urls


def jwplayer_media(html: str) -> list[tuple[str, str | None]]:
    """The files of a JW Player set up inline (`jwplayer("id").setup({...})`): (url, title)."""
    from yt_dlp.extractor.common import InfoExtractor
    from yt_dlp.utils import js_to_json

    ie = InfoExtractor(_offline_ydl())
    out = []
    for match in _JW_SETUP.finditer(html):
        try:
            data = ie._find_jwplayer_data(match.group(0), None, transform_source=js_to_json)
        except Exception:  # noqa: BLE001
            data = None
        playlist = (data or {}).get("playlist") if isinstance(data, dict) else None
        items = playlist if isinstance(playlist, list) else [data] if isinstance(data, dict) else []
        for item in items:
            if not isinstance(item, dict):
                continue
            sources = item.get("sources") if isinstance(item.get("sources"), list) else []
            files = [item.get("file")] + [s.get("file") for s in sources if isinstance(s, dict)]
            file = next((f for f in files if isinstance(f, str) and f.strip()), None)
            if file:
                out.append((file.strip(), item.get("title") if isinstance(item.get("title"), str) else None))
    return out


import re as _re  # noqa: E402

_JW_SETUP = _re.compile(r"jwplayer\((?P<q>['\"])[^'\" ]+(?P=q)\)\s*\.setup\s*\(.*?\}\s*\)\s*;", _re.S)
