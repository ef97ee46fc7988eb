"""Structured data: schema.org VideoObject / AudioObject in JSON-LD (anywhere in the tree:
@graph, arrays, @list, NewsArticle.video) and microdata, through extruct; Open Graph
og:video / og:audio and Twitter cards' twitter:player / twitter:player:stream.

JSON-LD and microdata are read from the page without its chrome (a "more videos" rail
carries VideoObjects of other stories); the meta tags of the head describe the page's lead
video and are used only when nothing else on the page is found (see discover_html).
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

from ..media import is_media_path
from . import Found, Page
from .platforms import is_single_video

MEDIA_TYPES = {"videoobject", "audioobject", "clip", "episode", "podcastepisode"}
META_KEYS = ("og:video:secure_url", "og:video:url", "og:video", "og:audio:secure_url", "og:audio",
             "twitter:player:stream", "twitter:player")


def find(page: Page) -> Iterator[Found]:
    data = _extract(page)
    for item in _media_objects(data.get("json-ld", []) + data.get("microdata", [])):
        url = _best_url(item)
        if url:
            yield Found(url, "json-ld", _text(item.get("name")) or _text(item.get("headline")))
    for key, value in _meta(page):
        if not value.lower().endswith(".swf"):
            yield Found(value, "meta", preview=key.startswith("og:"))


def _extract(page: Page) -> dict[str, list]:
    import extruct

    try:
        data = extruct.extract(page.clean_html, base_url=page.base.url, syntaxes=["json-ld", "microdata"],
                               uniform=True, errors="ignore")
    except Exception:  # noqa: BLE001 (a malformed document yields what the other finders see)
        data = {}
    if not data.get("json-ld"):
        data["json-ld"] = list(_json_ld_by_hand(page))
    return data


CDATA = re.compile(r"^\s*(?:/\*\s*)?<!\[CDATA\[(?:\s*\*/)?|(?:/\*\s*)?\]\]>(?:\s*\*/)?\s*$")


def _json_ld_by_hand(page: Page) -> Iterator[Any]:
    """JSON-LD that extruct skipped as a whole: CDATA-wrapped, or with a stray comment."""
    for script in page.doc.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        text = CDATA.sub("", script.text.strip())
        try:
            yield json.loads(text, strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack
            continue


def _types(item: dict) -> set[str]:
    kind = item.get("@type") or item.get("type") or []
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1].lower() for k in kinds}


def _media_objects(tree: Any) -> Iterator[dict]:
    stack = [tree]
    while stack:
        node = stack.pop(0)
        if isinstance(node, list):
            stack[:0] = node
        elif isinstance(node, dict):
            if _types(node) & MEDIA_TYPES:
                yield node
            stack[:0] = [v for k, v in node.items() if isinstance(v, (dict, list)) and k != "@context"]


def _urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [u for v in value for u in _urls(v)]
    if isinstance(value, dict):
        return _urls(value.get("@id") or value.get("url"))
    return []


def _best_url(item: dict) -> str | None:
    """One address per object: its media file, else a platform's video page, else any."""
    props = {k.lower(): v for k, v in item.items()}
    candidates = _urls(props.get("contenturl")) + _urls(props.get("embedurl"))
    candidates = [c.strip() for c in candidates if c and c.strip()]
    for wanted in (is_media_path, is_single_video, lambda _: True):
        for url in candidates:
            if wanted(url):
                return url
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return " ".join(value.split())[:300] if isinstance(value, str) and value.strip() else None


def _meta(page: Page) -> Iterator[tuple[str, str]]:
    seen = set()
    for element in page.doc.iter("meta"):
        key = (element.get("property") or element.get("name") or "").strip().lower()
        value = (element.get("content") or element.get("value") or "").strip()
        if key in META_KEYS and value and value not in seen:
            seen.add(value)
            yield key, value
