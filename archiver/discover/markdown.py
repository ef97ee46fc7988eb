"""Links of Markdown and plain-text articles (their body only: article.py cuts the
boilerplate), by the rule of links.py: a media file or one video on a video platform."""
from __future__ import annotations

from typing import Iterable, Iterator

from ..media import is_media_path
from . import Found
from .platforms import is_single_video


def find(links: Iterable[tuple[str, str]]) -> Iterator[Found]:
    for href, _text in links:
        target = href.split("#", 1)[0]
        if target and (is_media_path(target) or is_single_video(target)):
            yield Found(href, "link")
