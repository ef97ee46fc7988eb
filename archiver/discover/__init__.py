"""The discovery stage: which videos (and audio) an article carries.

One module per way a page shows a video, each with a `find(page)` that yields `Found`
items, as yt-dlp has one extractor per site:

    tags        <video>, <audio>, <source>
    structured  JSON-LD / microdata VideoObject and AudioObject (extruct); og:video, twitter:player
    embeds      the embeds yt-dlp's extractors know (YouTube, Vimeo, Brightcove, JW Player, ...)
    players     a site's own player: iframes, lazy iframes, data attributes, scripted embeds
    links       <a href> in the article's main content, to a media file or one platform video
    markdown    links of Markdown and text articles, by the same rule

`discover_html` / `discover_links` run them, resolve what they found under the rules of
`urls.py` (never blob:, data:, javascript:; never a local file named by a fetched page),
drop placeholders, and merge what is one video into one `VideoLink`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..media import is_media_path
from ..models import VideoLink
from .urls import Base

# Query parameters that say who sent a visitor, never which video it is.
TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|mc_[ce]id|igshid|si|feature|ref|ref_src|ref_url|"
                      r"source|autoplay|auto_play|mute|muted|playsinline|enablejsapi|origin|rel|showinfo|"
                      r"controls|modestbranding|wmode|fs|share|embeds_referring_euri|embeds_euri)$", re.I)


@dataclass
class Found:
    """One place where a page names a video, before resolution and merging."""

    href: str
    found_by: str
    title: str | None = None
    preview: bool = False  # a teaser clip of the video (og:video), never preferred to the full one


@dataclass
class Page:
    """An HTML document as the finders see it."""

    html: str
    base: Base
    _doc: object = field(default=None, repr=False)

    @property
    def doc(self):
        """The parsed document with the page chrome (nav, footers, related rails) removed."""
        if self._doc is None:
            from .content import clean_document

            self._doc = clean_document(self.html)
        return self._doc

    @functools.cached_property
    def main(self):
        """The element that holds the article's own text (links count only there)."""
        from .content import main_content

        return main_content(self.doc)

    @functools.cached_property
    def clean_html(self) -> str:
        import lxml.html

        return lxml.html.tostring(self.doc, encoding="unicode") if self.doc is not None else ""


def finders():
    from . import embeds, links, players, structured, tags

    return (tags, structured, embeds, players, links)


def discover_html(html: str, base: Base) -> list[VideoLink]:
    from ..text import xml_compatible

    page = Page(xml_compatible(html), base)
    if page.doc is None:
        return []
    found: list[Found] = []
    for finder in finders():
        found.extend(finder.find(page))
    body = [f for f in found if f.found_by != "meta"]
    return merge(body or found, base)  # meta describes the lead video: used when nothing else is found


def discover_links(links: Iterable[tuple[str, str]], base: Base) -> list[VideoLink]:
    """Video links among the (href, text) links of a Markdown or text article."""
    from . import markdown

    return merge(markdown.find(links), base)


# ---------------------------------------------------------------- one video once


def video_identity(url: str) -> str:
    """What makes two URLs the same video: a platform id, else the URL without its
    scheme, `www.`, tracking parameters and anchors."""
    from .platforms import video_key

    key = video_key(url)
    if key:
        return key
    parts = urlsplit(url)
    if not parts.scheme:  # a local file
        return url
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k)])
    fragment = parts.fragment if len(parts.fragment) >= 12 and not is_media_path(parts.path) else ""  # a player's state
    host = (parts.hostname or "").lower().removeprefix("www.")
    return urlunsplit(("", host, parts.path.rstrip("/") or "/", query, fragment))


RANK = {"video": 0, "source": 0, "json-ld": 1, "embed": 2, "link": 3, "meta": 4}


def merge(found: Iterable[Found], base: Base) -> list[VideoLink]:
    """Resolve, drop what is not a video, and keep one VideoLink per video in page order;
    its URL is the best way found to reach it (a full media file over a preview clip)."""
    chosen: dict[str, tuple[tuple, VideoLink]] = {}
    page_identity = video_identity(base.url) if base.url else None
    for item in found:
        url = base.resolve(item.href)
        if not url or _placeholder(url):
            continue
        identity = video_identity(url)
        if identity == page_identity and not is_media_path(url):
            continue  # <video src=""> and friends resolve to the page itself
        rank = (item.preview, not is_media_path(url), RANK.get(item.found_by, 5))
        known = chosen.get(identity)
        if known is None:
            chosen[identity] = (rank, VideoLink(url, item.found_by, item.title))
        else:
            best_rank, link = known
            title = link.title or item.title
            if rank < best_rank:
                link.url, link.found_by = url, item.found_by
                chosen[identity] = (rank, link)
            link.title = title
    return [link for _, link in chosen.values()]


PLAYER_WITHOUT_VIDEO = re.compile(
    r"^https?://(?:www\.)?(?:youtube(?:-nocookie)?\.com/embed/?(?:[?#]|$)|player\.vimeo\.com/video/?(?:[?#]|$)"
    r"|dailymotion\.com/embed/video/?(?:[?#]|$)|players\.brightcove\.net/(?!.*[?&]videoId=[\w:-]+))", re.I)


def _placeholder(url: str) -> bool:
    """A player with no video in it: 'youtube.com/embed/', a Brightcove player without videoId."""
    return bool(PLAYER_WITHOUT_VIDEO.match(url))


def base_for(html: str | None, *, url: str | None = None, folder: Path | None = None,
             base_url: str | None = None) -> Base:
    """What a document's relative links resolve against: `base_url` (--base-url) when given;
    a fetched page's own address; a saved page's canonical / og:url; a <base href> on top."""
    from .urls import is_web

    if base_url:
        return Base(url=base_url)
    web = url if url and is_web(url) else None
    if html and "<" in html:
        head = html[:200_000]
        if web is None:
            for pattern in (r"<link\b[^>]*\brel=[\"']?canonical[\"']?[^>]*>", r"<meta\b[^>]*\bproperty=[\"']?og:url[\"']?[^>]*>"):
                tag = re.search(pattern, head, re.I)
                value = tag and re.search(r"\b(?:href|content)=[\"']([^\"']+)", tag.group(0), re.I)
                if value and is_web(value.group(1).strip()):
                    web = value.group(1).strip()
                    break
        tag = re.search(r"<base\b[^>]*\bhref=[\"']([^\"']+)", head, re.I)
        if tag:
            from urllib.parse import urljoin

            try:
                joined = urljoin(web or "", tag.group(1).strip())
            except ValueError:  # "http://[::1": urllib cannot read it
                joined = ""
            web = joined if is_web(joined) else web
    return Base(url=web, folder=None if web else folder)
