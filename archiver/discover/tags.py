"""<video src>, <audio src> and their <source> children (lazy src already moved into src)."""
from __future__ import annotations

from typing import Iterator

from . import Found, Page


def find(page: Page) -> Iterator[Found]:
    for element in page.doc.iter("video", "audio"):
        title = element.get("title") or element.get("aria-label")
        if element.get("src"):
            yield Found(element.get("src"), "video", title)
        for source in element.iter("source"):
            if source.get("src") and not (source.get("type") or "").startswith("image/"):
                yield Found(source.get("src"), "source", title)
