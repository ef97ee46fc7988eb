"""The search command's library side: index hits -> the DESIGN.md JSON contract.

Imports only the index, the catalog and the standard library: `archiver search` must
answer fast, without loading a speech engine or yt-dlp.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from index.search import MARK_END, MARK_START, search as index_search

# Hosts whose pages open at a moment given in the query string.
QUERY_T_HOSTS = ("youtube.com", "youtu.be", "twitch.tv", "dailymotion.com")


def moment_url(webpage_url: str | None, media_path: Path | None, seconds: float | None) -> str:
    t = int(seconds or 0)
    if webpage_url:
        parts = urlsplit(webpage_url)
        host = parts.netloc.lower()
        if any(host == h or host.endswith("." + h) for h in QUERY_T_HOSTS):
            query = [(k, v) for k, v in parse_qsl(parts.query) if k != "t"] + [("t", f"{t}")]
            return urlunsplit(parts._replace(query=urlencode(query)))
        if host.endswith("vimeo.com"):
            return urlunsplit(parts._replace(fragment=f"t={t}s"))
    if media_path is not None:
        return f"{media_path.resolve().as_uri()}#t={t}"
    return webpage_url or ""


def plain(snippet: str) -> str:
    return snippet.replace(MARK_START, "").replace(MARK_END, "")


def search(archive, query: str, limit: int = 10, sounds_like: bool = False) -> dict[str, Any]:
    catalog = archive.catalog
    article_videos = {a["id"]: catalog.video_ids_of(a["id"]) for a in catalog.articles()} if "article:" in query else {}
    result = index_search(archive.layout.index_dir, query, limit, sounds_like=sounds_like, article_videos=article_videos)
    videos: dict[str, dict | None] = {}
    articles: dict[str, dict | None] = {}
    hits = []
    for hit in result.hits:
        video = videos.setdefault(hit.video_id, catalog.video(hit.video_id)) if hit.video_id else None
        article = articles.setdefault(hit.article_id, catalog.article(hit.article_id)) if hit.article_id else None
        media = archive.media_path(hit.video_id) if video else None
        if video:
            url = moment_url(video["webpage_url"], media, hit.start)
        else:
            url = article["source"] if article else ""
        hits.append({
            "source": hit.source, "text": hit.text, "snippet": hit.snippet,
            "start": hit.start, "end": hit.end,
            "video_id": hit.video_id or None, "video_title": video["title"] if video else None,
            "article_id": hit.article_id or None, "article_title": article["title"] if article else None,
            "score": hit.score, "url": url,
        })
    return {"query": query, "hits": hits, "total": result.total, "sounds_like": result.sounds_like,
            "suggestions": result.suggestions}
