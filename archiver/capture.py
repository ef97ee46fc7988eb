"""The page as a web archive: WARC records (warcio) packaged as WACZ 1.1.1.

One `page.wacz` per article, beside its source file (and one `video.wacz` in media/<id>/ for
a video given on its own, which is then its own page):

    archive/data.warc        warcinfo; request + response for every hop of the page's HTTP
                             exchange (a local file: one `resource` record of its bytes);
                             per archived video a `response` record when the download was
                             one plain 200 answer whose bytes are the file, else a `resource`
                             record under its source URL; yt-dlp's info.json as `metadata`
    indexes/index.cdx        CDXJ (cdxj-indexer, Webrecorder's), sorted
    pages/pages.jsonl        the article page
    datapackage.json         every file with its sha256 and size (Frictionless data package)
    datapackage-digest.json  sha256 of datapackage.json

The WARC is stored uncompressed (and the zip entries stored, as the spec asks for the WARC):
media are already compressed, and an uncompressed WARC is written at disk speed.
What a record holds is what we received, with two exceptions the WARC says nothing about
but the README does: http.client removes chunked transfer framing, and yt-dlp gives us the
file it assembled, not the bytes of each range request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import mimetypes
import socket
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .fetch import Exchange, PageFetch
from .store.files import TEMP_PREFIX, atomic_open, sha256_file
from .provenance import software

WACZ_VERSION = "1.1.1"
WARC_NAME = "data.warc"
PAGE_WACZ = "page.wacz"
VIDEO_WACZ = "video.wacz"  # media/<id>/: a video given on its own


@dataclass
class VideoCapture:
    """One archived video of the article, as the WARC should record it."""

    url: str  # the link as the article gave it (or the local path)
    media: Path  # the archive's copy: the evidentiary bytes
    sha256: str  # as recorded at download
    info_json: Path | None
    http: dict[str, Any] | None = None  # the media response yt-dlp got: url, status, headers, request_headers


def file_uri(path: str | Path) -> str:
    return Path(path).resolve().as_uri()


def video_uri(url: str) -> str:
    """The URI a video's record is filed under: its URL, or a local file's file: URI."""
    return url if "://" in url else file_uri(url)


def _warc_date(iso: str) -> str:
    """'2026-12-01T08:43:39.335Z' -> '2026-12-01T08:43:39Z' (WARC/1.0 dates have whole seconds)."""
    moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _write_exchange(writer, exchange: Exchange) -> None:
    from warcio.statusandheaders import StatusAndHeaders

    date = _warc_date(exchange.started_at)
    response_headers = StatusAndHeaders(f"{exchange.status} {exchange.reason}", exchange.headers,
                                        protocol=exchange.http_version)
    extra = {"WARC-Date": date}
    if exchange.peer:
        extra["WARC-IP-Address"] = exchange.peer
    response = writer.create_warc_record(exchange.url, "response", payload=io.BytesIO(exchange.body),
                                         length=len(exchange.body), http_headers=response_headers,
                                         warc_headers_dict=extra)
    request_headers = StatusAndHeaders(f"{exchange.method} {_target(exchange.url)} {exchange.http_version}",
                                       exchange.request_headers, is_http_request=True)
    request = writer.create_warc_record(exchange.url, "request", http_headers=request_headers,
                                        warc_headers_dict={"WARC-Date": date})
    writer.write_request_response_pair(request, response)


def _media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def plain_http(video: VideoCapture) -> bool:
    """A response record tells a replay tool 'this is what the server sent': only when it was."""
    http = video.http or {}
    size = video.media.stat().st_size
    headers = {k.lower(): v for k, v in http.get("headers") or []}
    return (http.get("status") == 200 and headers.get("content-length") == str(size)
            and headers.get("content-encoding", "identity") in ("identity", "")
            and "transfer-encoding" not in headers)


def _write_video(writer, video: VideoCapture, date: str) -> None:
    from warcio.statusandheaders import StatusAndHeaders

    size = video.media.stat().st_size
    uri = video_uri(video.url)
    if video.http and video.http.get("at"):
        date = _warc_date(video.http["at"])  # when the media was downloaded, not when the page was
    with open(video.media, "rb") as media:
        if plain_http(video):
            http = video.http
            response = writer.create_warc_record(
                http.get("url") or uri, "response", payload=media, length=size,
                http_headers=StatusAndHeaders(f"200 {http.get('reason') or 'OK'}", http["headers"], protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": date})
            request_headers = http.get("request_headers") or []
            request = writer.create_warc_record(
                http.get("url") or uri, "request",
                http_headers=StatusAndHeaders(f"GET {_target(http.get('url') or uri)} HTTP/1.1", request_headers,
                                              is_http_request=True),
                warc_headers_dict={"WARC-Date": date})
            writer.write_request_response_pair(request, response)
            record_id = response.rec_headers.get_header("WARC-Record-ID")
        else:
            record = writer.create_warc_record(uri, "resource", payload=media, length=size,
                                               warc_content_type=_media_type(video.media),
                                               warc_headers_dict={"WARC-Date": date})
            writer.write_record(record)
            record_id = record.rec_headers.get_header("WARC-Record-ID")
    if video.info_json and video.info_json.exists():
        data = video.info_json.read_bytes()
        meta = writer.create_warc_record(f"urn:yt-dlp-info:{uri}", "metadata", payload=io.BytesIO(data),
                                         length=len(data), warc_content_type="application/json",
                                         warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": record_id,
                                                            "WARC-Refers-To": record_id})
        writer.write_record(meta)


def write_warc(out, article_id: str, page: PageFetch | None, local_source: Path | None, local_bytes: bytes | None,
               videos: list[VideoCapture]) -> str:
    """Every record of one article into the binary stream `out`; returns the page's URL."""
    from warcio.warcwriter import WARCWriter

    writer = WARCWriter(out, gzip=False)
    writer.write_record(writer.create_warcinfo_record(WARC_NAME, {
        "software": "; ".join(f"{k} {v}" for k, v in software("transcript-archiver", "warcio").items()),
        "hostname": socket.gethostname(), "format": "WARC File Format 1.0",
        "isPartOf": f"transcript-archiver article {article_id}"}))
    if page is not None:
        for exchange in page.exchanges:
            _write_exchange(writer, exchange)
        page_url, date = page.url, _warc_date(page.final.started_at)
    elif local_source is None:  # a video given on its own: it is the page
        page_url, date = video_uri(videos[0].url), _now_iso()
    else:
        page_url, date = file_uri(local_source), _now_iso()
        kind = _media_type(local_source) if local_source.suffix.lower() not in (".md", ".markdown") else "text/markdown"
        writer.write_record(writer.create_warc_record(page_url, "resource", payload=io.BytesIO(local_bytes),
                                                      length=len(local_bytes), warc_content_type=kind,
                                                      warc_headers_dict={"WARC-Date": date}))
    for video in videos:
        _write_video(writer, video, date)
    return page_url


def _cdxj(warc: Path) -> bytes:
    with warnings.catch_warnings():  # pyamf (imported by cdxj-indexer) warns about pkg_resources on the user's terminal
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        from cdxj_indexer.main import CDXJIndexer

    out = io.StringIO()
    CDXJIndexer(out, [str(warc)], sort=True, filename=WARC_NAME).process_all()
    return out.getvalue().encode("utf-8")


def _resource(path: str, data: bytes) -> dict[str, Any]:
    return {"name": Path(path).name.lower(), "path": path, "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
            "bytes": len(data)}


def write_wacz(target: Path, article_id: str, title: str, page: PageFetch | None, *,
               local_source: Path | None = None, local_bytes: bytes | None = None,
               videos: list[VideoCapture] = ()) -> str:
    """Write target (a .wacz) atomically; returns its sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(prefix=TEMP_PREFIX, suffix=".warc", dir=target.parent) as out:
        page_url = write_warc(out, article_id, page, local_source, local_bytes, list(videos))
        out.flush()
        warc = Path(out.name)
        index = _cdxj(warc)
        ts = _warc_date(page.final.started_at) if page is not None else _now_iso()
        pages = (json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}) + "\n"
                 + json.dumps({"id": article_id, "url": page_url, "ts": ts, "title": title}, ensure_ascii=False)
                 + "\n").encode("utf-8")
        warc_sha, warc_size = sha256_file(warc), warc.stat().st_size
        resources = [{"name": WARC_NAME, "path": f"archive/{WARC_NAME}", "hash": f"sha256:{warc_sha}",
                      "bytes": warc_size},
                     _resource("indexes/index.cdx", index), _resource("pages/pages.jsonl", pages)]
        package = {"profile": "data-package", "wacz_version": WACZ_VERSION, "title": title,
                   "mainPageURL": page_url, "mainPageDate": ts, "created": _now_iso(),
                   "software": ", ".join(f"{k} {v}" for k, v in software("transcript-archiver", "warcio").items()),
                   "resources": resources}
        package_bytes = json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")
        digest = json.dumps({"path": "datapackage.json",
                             "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}, indent=2).encode()
        with atomic_open(target) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as z:
            z.write(warc, f"archive/{WARC_NAME}")
            z.writestr("indexes/index.cdx", index)
            z.writestr("pages/pages.jsonl", pages)
            z.writestr("datapackage.json", package_bytes)
            z.writestr("datapackage-digest.json", digest)
    return sha256_file(target)
