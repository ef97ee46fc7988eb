"""The embeds yt-dlp knows: every extractor's `_EMBED_REGEX` / `extract_from_webpage`
(YouTube, Vimeo, Dailymotion, Brightcove players given only by data-account /
data-video-id / data-player, JW Player, Twitter/X, Facebook, SoundCloud, ...), run on the
page without its chrome, and inline JW Player set-ups. download.py makes the calls, with a
YoutubeDL whose every request fails: no embed detection reaches the network.
"""
from __future__ import annotations

from typing import Iterator

from . import Found, Page


def find(page: Page) -> Iterator[Found]:
    from ..download import embedded_video_urls, jwplayer_media

    html = page.clean_html
    for url in embedded_video_urls(page.base.url or "", html):
        yield Found(url, "embed")
    if "jwplayer(" in html:
        for url, title in jwplayer_media(html):
            yield Found(url, "embed", title)
