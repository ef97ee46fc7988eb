"""The search command's library side: index hits -> the DESIGN.md JSON contract.

Imports only the index (the backend the config names), the catalog, the configuration and
the standard library:
`archiver search` must answer fast, without loading a speech engine, yt-dlp, numpy or
the article parser. That is why it opens the archive with `open_readonly` below rather
than pipeline.Archive (whose module imports the media and transcription stages).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import ArchiverError
from .store.catalog import Catalog
from .store.files import Layout, read_json

MARK_START, MARK_END = "\x02", "\x03"  # around matched words in index snippets (index.search)


@dataclass
class SearchArchive:
    """What searching needs of an archive: where things are and the catalog."""

    layout: Layout
    catalog: Catalog
    config: dict[str, Any]

    def media_path(self, video_id: str) -> Path | None:
        row = self.catalog.video(video_id)
        if not row or not row["media_file"]:
            return None
        return self.layout.media_dir(video_id) / row["media_file"]

    def transcript(self, video_id: str):
        from .models import Transcript

        row = self.catalog.video(video_id)
        if not row or not row["engine"]:
            return None
        path = self.layout.transcript_json(video_id, row["engine"], row["model"])
        return Transcript.from_dict(read_json(path)) if path.exists() else None


def open_readonly(root: str | Path | None, config: dict[str, Any]) -> SearchArchive:
    layout = Layout(root or config["archive"]["path"])
    return SearchArchive(layout, Catalog(layout.catalog, readonly=True), config)


# ---------------------------------------------------------------- links to the moment


def _clock(t: int) -> str:
    h, rest = divmod(t, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s"


# Hosts whose pages open at a moment given in the address: how each spells it.
MOMENT_PARAMS = {
    "youtube.com": lambda t: ("query", "t", f"{t}"), "youtu.be": lambda t: ("query", "t", f"{t}"),
    "twitch.tv": lambda t: ("query", "t", _clock(t)), "dailymotion.com": lambda t: ("query", "start", f"{t}"),
    "vimeo.com": lambda t: ("fragment", "t", f"{t}s"), "facebook.com": lambda t: ("query", "t", f"{t}"),
    "rumble.com": lambda t: ("query", "start", f"{t}"), "archive.org": lambda t: ("fragment", "t", f"{t}"),
}


def moment_url(webpage_url: str | None, media_path: Path | None, seconds: float | None) -> str:
    """An address that opens the video at `seconds`: the host's own page for hosts that take
    a time in the address, else the archived media file (file://...#t=, a W3C media fragment
    that browsers and players honour)."""
    t = int(seconds or 0)
    if webpage_url:
        parts = urlsplit(webpage_url)
        host = parts.netloc.lower().split(":")[0]
        for known, spell in MOMENT_PARAMS.items():
            if host == known or host.endswith("." + known):
                where, name, value = spell(t)
                if where == "fragment":
                    return urlunsplit(parts._replace(fragment=f"{name}={value}"))
                query = [(k, v) for k, v in parse_qsl(parts.query) if k != name] + [(name, value)]
                return urlunsplit(parts._replace(query=urlencode(query)))
    if media_path is not None:
        return f"{media_path.resolve().as_uri()}#t={t}"
    if webpage_url and re.search(r"\.(mp4|webm|mkv|mov|m4a|mp3|ogg|opus|wav)$", urlsplit(webpage_url).path, re.I):
        return f"{webpage_url.split('#')[0]}#t={t}"
    return webpage_url or ""


def _source_url(source: str | None) -> str:
    if not source:
        return ""
    if "://" in source:
        return source
    path = Path(source)
    return path.resolve().as_uri() if path.exists() else source


# ---------------------------------------------------------------- searching


def plain(snippet: str) -> str:
    return snippet.replace(MARK_START, "").replace(MARK_END, "")


def highlights(snippet: str) -> tuple[str, list[list[int]]]:
    """(plain snippet, [[start, end], ...] character spans of the matched words in it)."""
    spans, out, pos = [], [], 0
    for part in re.split(f"([{MARK_START}{MARK_END}])", snippet):
        if part == MARK_START:
            spans.append([pos, pos])
        elif part == MARK_END:
            spans[-1][1] = pos
        else:
            out.append(part)
            pos += len(part)
    return "".join(out), spans


def _dated_videos(catalog: Catalog, first: date | None, last: date | None) -> list[str]:
    """Videos of the articles dated within first..last: their passages carry no date of their own."""
    out: list[str] = []
    for a in catalog.articles():
        when = (a.get("date") or "")[:10]
        if len(when) < 4:
            continue
        when = when if len(when) == 10 else (when + "-01-01")[:10]
        if (first is None or when >= first.isoformat()) and (last is None or when <= last.isoformat()):
            out += [v for v in catalog.video_ids_of(a["id"]) if v and v not in out]
    return out


def search(archive: SearchArchive, query: str, limit: int = 10, sounds_like: bool = False) -> dict[str, Any]:
    from index.backends import open_backend
    from index.search import BadQuery, OutdatedIndex, date_bounds, split_filters

    from .text import decodable

    query = decodable(query)  # argv holds lone surrogates for bytes that are not UTF-8 (surrogateescape)
    catalog = archive.catalog
    _, filters = split_filters(query)
    try:
        article_videos = {a: catalog.video_ids_of(a) for a in filters.get("article", [])}
        dated = None
        if "after" in filters or "before" in filters:
            dated = _dated_videos(catalog, *date_bounds(filters))
        result = open_backend(archive.config, archive.layout.index_dir).search(
            query, limit, sounds_like=sounds_like, article_videos=article_videos, dated_videos=dated)
    except BadQuery as e:
        raise ArchiverError(f"bad query: {e}") from None
    except OutdatedIndex as e:
        raise ArchiverError(f"{e}; run `archiver reindex` to rebuild it") from None
    videos: dict[str, dict | None] = {}
    articles: dict[str, dict | None] = {}
    hits = []
    for hit in result.hits:
        video = videos.setdefault(hit.video_id, catalog.video(hit.video_id)) if hit.video_id else None
        article = articles.setdefault(hit.article_id, catalog.article(hit.article_id)) if hit.article_id else None
        if video:
            url = moment_url(video["webpage_url"], archive.media_path(hit.video_id), hit.start)
        else:
            url = _source_url(article["source"]) if article else ""
        snippet, spans = highlights(hit.snippet)
        hits.append({
            "source": hit.source, "text": hit.text, "snippet": snippet, "highlights": spans,
            "start": hit.start, "end": hit.end,
            "video_id": hit.video_id or None, "video_title": video["title"] if video else None,
            "article_id": hit.article_id or None, "article_title": article["title"] if article else None,
            "score": hit.score, "url": url,
        })
    return {"query": query, "hits": hits, "total": result.total, "total_exact": result.total_exact,
            "sounds_like": result.sounds_like, "suggestions": result.suggestions}


def marked(hit: dict[str, Any], start: str, end: str) -> str:
    """The hit's snippet with its matched words between `start` and `end`."""
    text, out, pos = hit["snippet"], [], 0
    for a, b in hit["highlights"]:
        out += [text[pos:a], start, text[a:b], end]
        pos = b
    out.append(text[pos:])
    return "".join(out)
