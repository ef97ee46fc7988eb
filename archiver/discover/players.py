"""A site's own players, which no yt-dlp embed pattern names:

- an <iframe>/<embed>/<object> (lazy ones included) whose address is a media file, one
  video on a known platform, or a page a specific yt-dlp extractor reads (a site's embed
  player such as cbsnews.com/embed/video/...);
- inside the article, an attribute whose whole value is a media file URL (a player's
  data-asset-source, a hidden input with the file name);
- inside the article, a platform video URL written by a script (renderExternalContent(...));
- a Brightcove player tag given only by data-account / data-video-id / data-player;
- a player element (data-video-id) whose fallback <a href> is a video page yt-dlp reads;
- in a page's state JSON, a source object that pairs a media file URL with a video/* type
  ({"url": ".../clip.mp4", "content_type": "video/mp4"}: what a player is handed);
- on a page that loads the JW Player library, the media id its settings give the player
  ("video_id": "7t1QFy6c"), which yt-dlp's JWPlatform extractor reads.
"""
from __future__ import annotations

import re
from typing import Iterator

from ..media import is_media_path
from . import Found, Page
from .platforms import is_single_video
from .urls import is_web

SCRIPT_URL = re.compile(r"https?://[^\s\"'<>\\()]+")  # in JSON or JavaScript, after unescaping \\/
PLAYER_PATH = re.compile(r"embed|player|video|media|/v/|clip", re.I)  # a site's player, not a widget
NOT_PLAYERS = {"a", "img", "link", "picture", "image", "meta", "script", "style"}
# A source object: its URL and its video/* type, in either order, within one {...}.
_URL = r'"(?:url|src|file)"\s*:\s*"(?P<url>https?://[^"]+)"'
_TYPE = r'"(?:content_?type|type|mime_?type)"\s*:\s*"video/[\w.+-]+"'
VIDEO_SOURCE = re.compile(r"\{[^{}]*?(?:%s[^{}]*?%s|%s[^{}]*?%s)" % (_URL, _TYPE, _TYPE, _URL.replace("url>", "url2>")))
JW_LIBRARY = re.compile(r"//(?:cdn\.jwplayer\.com/libraries|[\w.-]*jwpcdn\.com/player)/", re.I)
JW_MEDIA_ID = re.compile(r'"(?:video_?id|media_?id|jw_?(?:video|media)_?id)"\s*:\s*"([A-Za-z0-9]{8})"', re.I)


def find(page: Page) -> Iterator[Found]:
    from ..download import has_specific_extractor

    for element in page.doc.iter("iframe", "embed", "object"):
        src = element.get("src") or element.get("data")
        url = page.base.resolve(src)
        if url and is_web(url) and (is_media_path(url) or is_single_video(url)
                                    or (PLAYER_PATH.search(url) and has_specific_extractor(url))):
            yield Found(url, "embed", element.get("title"))
    for player in page.doc.xpath("//*[@data-account and @data-video-id]"):  # a Brightcove player tag
        account, video = player.get("data-account").strip(), player.get("data-video-id").strip()
        if account.isdigit() and re.fullmatch(r"(?:ref:)?[\w-]+", video):
            yield Found(f"https://players.brightcove.net/{account}/{player.get('data-player') or 'default'}_"
                        f"{player.get('data-embed') or 'default'}/index.html?videoId={video}", "embed")
    for player in page.doc.xpath("//*[@data-video-id]"):
        for a in player.iter("a"):
            url = page.base.resolve(a.get("href"))
            if url and is_web(url) and has_specific_extractor(url):
                yield Found(url, "embed")
    yield from _scripted_sources(page)
    main = page.main
    if main is None:
        return
    for element in main.iter():
        if not isinstance(element.tag, str) or element.tag in NOT_PLAYERS:
            continue
        for name, value in element.attrib.items():
            value = value.strip()
            if name not in ("src", "data") and value.startswith(("http://", "https://", "//")) \
                    and " " not in value and is_media_path(value):
                yield Found(value, "embed")
            elif name.startswith("data-") and value.startswith("{"):  # a player's JSON config
                for url in SCRIPT_URL.findall(value.replace("\\/", "/")):
                    if is_single_video(url):
                        yield Found(url, "embed")
    for script in main.iter("script"):
        for url in SCRIPT_URL.findall((script.text or "").replace("\\/", "/")):
            if is_single_video(url):
                yield Found(url, "embed")


def _scripted_sources(page: Page) -> Iterator[Found]:
    """What the page's scripts hand a player: a typed media source, or a JW Player media id."""
    scripts = [(script.text or "").replace("\\/", "/") for script in page.doc.iter("script")]
    for text in scripts:
        for match in VIDEO_SOURCE.finditer(text):
            url = match.group("url") or match.group("url2")
            if is_media_path(url):
                yield Found(url, "embed")
    if JW_LIBRARY.search(page.html):
        for text in scripts:
            for media_id in JW_MEDIA_ID.findall(text):
                yield Found(f"https://cdn.jwplayer.com/v2/media/{media_id}", "embed")
