"""Which addresses a page may name, resolved to absolute URLs.

The rule that keeps a page from reading local files: a fetched page names only http(s)
URLs. `file:` URLs and local paths come only from what the user typed (a source argument,
`--video`), never from page content. A saved page the user gives (a local .html/.md) is
resolved against its web address (`--base-url`, else its canonical / og:url); without one,
a relative link may name a media file in the page's own folder (a browser's "save page,
complete" keeps media in `page_files/` beside it), and nothing above or outside that folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ..media import is_media_path

# what lazy players and CMS templates leave where a URL should be
PLACEHOLDERS = {"", "#", "0", "null", "none", "undefined", "false", "about:blank", "//", "/"}


@dataclass(frozen=True)
class Base:
    """What relative links of one document resolve against."""

    url: str | None = None  # an http(s) address: the page's own, --base-url, canonical or og:url
    folder: Path | None = None  # a saved page's folder, used only when url is None

    def resolve(self, href: str | None) -> str | None:
        """An absolute http(s) URL, or a media file inside `folder`; None for anything else
        (urllib refuses some that a page can hold: "http://[::1", an IPv6 host left open)."""
        try:
            url = self._resolve((href or "").strip())
            if url:
                urlsplit(url)  # what every later step does with it
        except ValueError:
            return None
        return url

    def _resolve(self, href: str) -> str | None:
        if href.lower() in PLACEHOLDERS or href.startswith("#"):
            return None
        parts = urlsplit(href)
        scheme = parts.scheme.lower()
        if scheme in ("http", "https"):
            return href if parts.netloc else None
        if scheme or href.startswith("\\"):
            return None  # blob:, data:, javascript:, file:, mailto:, C:\..., \\server\share
        if href.startswith("//"):
            return f"{urlsplit(self.url).scheme if self.url else 'https'}:{href}"
        if self.url:
            return urljoin(self.url, href)
        return self._beside(parts.path)

    def _beside(self, relative: str) -> str | None:
        if self.folder is None or not relative or relative.startswith("/") or not is_media_path(relative):
            return None
        from urllib.parse import unquote

        target = (self.folder / unquote(relative)).resolve()
        return str(target) if target.is_relative_to(self.folder.resolve()) and target.is_file() else None


def is_web(url: str) -> bool:
    """An http(s) URL with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
