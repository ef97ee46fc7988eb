"""<a href> inside the article's main content, to a media file or to one video on a video
platform (platforms.py) — never to any page of a site that yt-dlp happens to know."""
from __future__ import annotations

from typing import Iterator

from ..media import is_media_path
from . import Found, Page
from .platforms import is_single_video


def find(page: Page) -> Iterator[Found]:
    if page.main is None:
        return
    for element in page.main.iter("a"):
        url = page.base.resolve(element.get("href"))
        if url and (is_media_path(url) or is_single_video(url)):
            yield Found(element.get("href"), "link")
