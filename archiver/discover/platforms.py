"""Video platforms and the URL shapes that mean one video on them.

A link counts as a video only when it points at a media file or matches one of these
shapes: a channel, a section front or a search page of the same host is not a video,
whatever yt-dlp's extractors would accept. `video_key` gives the identity used to merge
the same video found several ways (embed, watch page, short link).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# (platform, host pattern, path pattern with a named group `id`, or a query parameter name)
_SHAPES: list[tuple[str, str, str]] = [
    ("youtube", r"(?:www\.|m\.|music\.)?youtube(?:-nocookie)?\.com", r"/(?:embed|shorts|live|v|e)/(?P<id>[\w-]{11})"),
    ("youtube", r"(?:www\.|m\.|music\.)?youtube\.com", r"/watch\b.*[?&]v=(?P<id>[\w-]{11})|/watch\?v=(?P<id2>[\w-]{11})"),
    ("youtube", r"youtu\.be", r"/(?P<id>[\w-]{11})"),
    ("vimeo", r"(?:www\.|player\.)?vimeo\.com", r"/(?:video/|channels/[\w-]+/|groups/[\w-]+/videos/|album/\d+/video/)?(?P<id>\d{5,})(?:$|[/?#])"),
    ("dailymotion", r"(?:www\.|geo\.)?dailymotion\.com", r"/(?:embed/)?video/(?P<id>x[0-9a-z]+)"),
    ("dailymotion", r"dai\.ly", r"/(?P<id>x[0-9a-z]+)"),
    ("twitch", r"(?:www\.|m\.)?twitch\.tv", r"/(?:videos/(?P<id>\d+)|[\w-]+/clip/(?P<id2>[\w-]+))"),
    ("twitch", r"clips\.twitch\.tv", r"/(?!embed)(?P<id>[\w-]{6,})"),
    ("rumble", r"(?:www\.)?rumble\.com", r"/(?:embed/)?(?P<id>v[0-9a-z]{4,})"),
    ("twitter", r"(?:www\.|mobile\.)?(?:twitter|x)\.com", r"/[\w]+/status/(?P<id>\d+)/video/"),
    ("twitter", r"video\.twimg\.com", r"/.+/(?P<id>\d+)/"),
    ("facebook", r"(?:www\.|m\.|web\.)?facebook\.com", r"/(?:[\w.-]+/videos/(?:[\w.-]+/)?|watch/?\?v=|reel/|video\.php\?v=)(?P<id>\d+)"),
    ("facebook", r"fb\.watch", r"/(?P<id>[\w-]+)"),
    ("tiktok", r"(?:www\.|m\.)?tiktok\.com", r"/(?:@[\w.-]+/video/|embed/(?:v2/)?|v/)(?P<id>\d+)"),
    ("instagram", r"(?:www\.)?instagram\.com", r"/(?:[\w.]+/)?(?:reel|reels|tv)/(?P<id>[\w-]+)"),
    ("archive.org", r"(?:www\.)?archive\.org", r"/(?:details|embed)/(?P<id>[^/?#]+)"),
    ("bitchute", r"(?:www\.)?bitchute\.com", r"/(?:video|embed)/(?P<id>[\w-]+)"),
    ("odysee", r"odysee\.com", r"/(?:\$/embed/)?(?P<id>@[^/]+/[^/?#]+)"),
    ("streamable", r"streamable\.com", r"/(?:e/|o/)?(?P<id>[0-9a-z]{5,})(?:$|[/?#])"),
    ("brightcove", r"players\.brightcove\.net", r"/(?P<account>\d+)/[\w-]+/index\.html\?.*\bvideoId=(?P<id>(?:ref:)?[\w-]+)"),
    ("jwplayer", r"(?:cdn\.jwplayer\.com|content\.jwplatform\.com)", r"/(?:videos|manifests|previews|players|v2/media)/(?P<id>[0-9a-zA-Z]{8})(?:-[0-9a-zA-Z]{8})?"),
    ("acast", r"(?:embed|shows|play)\.acast\.com", r"/(?:s/)?(?P<id>[\w-]+/(?:episodes/)?[\w-]+)"),
    ("soundcloud", r"(?:www\.|m\.)?soundcloud\.com", r"/(?P<id>(?!discover|search|charts|stream|upload)[\w-]+/(?!sets/|tracks$|albums$|likes$)[\w-]+)/?(?:$|\?)"),
    ("soundcloud", r"w\.soundcloud\.com", r"/player/?\?(?:.*&)?url=[^&]*?/tracks/(?P<id>\d+)"),
    ("ted", r"(?:www\.|embed\.)?ted\.com", r"/talks/(?P<id>[\w-]+)"),
    ("bbc", r"(?:www\.)?bbc\.(?:com|co\.uk)", r"/(?:news|sport)/(?:av/embed/(?P<id>p[0-9a-z]{7})|av/[\w-]+-(?P<id2>\d{6,}))"),
    ("wistia", r"(?:fast\.)?wistia\.(?:net|com)", r"/embed/(?:iframe|medias)/(?P<id>[0-9a-z]{10})"),
    ("kaltura", r"(?:www\.|cdnapisec\.)?kaltura\.com", r"/p/\d+/.*entry_id[=/](?P<id>[0-9a-z_]+)"),
    ("loom", r"(?:www\.)?loom\.com", r"/(?:share|embed)/(?P<id>[0-9a-f]{32})"),
]
# players that take the video's own address as a parameter: (path end, parameter)
_WRAPPERS = {"w.soundcloud.com": ("/player", "url"), "facebook.com": ("/plugins/video.php", "href")}
_COMPILED = [(name, re.compile(rf"^{host}$", re.I), re.compile(path, re.I)) for name, host, path in _SHAPES]


def video_key(url: str) -> str | None:
    """'youtube:dQw4w9WgXcQ' when the URL is one video on a known platform, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1": not a URL urllib can read, so no video of ours
        return None
    host = (parts.hostname or "").lower()
    wrapped = _WRAPPERS.get(host.removeprefix("www."))
    if wrapped and parts.path.rstrip("/").endswith(wrapped[0]):
        inner = parse_qs(parts.query).get(wrapped[1])
        return video_key(inner[0]) if inner and inner[0] != url else None
    where = parts.path + (f"?{parts.query}" if parts.query else "")
    for name, host_re, path_re in _COMPILED:
        if host_re.match(host):
            match = path_re.search(where) if name != "twitch" or "clips" not in host else path_re.match(where)
            if match:
                groups = {k: v for k, v in match.groupdict().items() if v}
                ident = groups.get("id") or groups.get("id2")
                if name == "brightcove":
                    return f"brightcove:{groups['account']}:{ident}"
                return f"{name}:{ident}"
    if host == "clips.twitch.tv" and parts.path.startswith("/embed"):
        clip = parse_qs(parts.query).get("clip")
        return f"twitch:{clip[0]}" if clip else None
    return None


def is_single_video(url: str) -> bool:
    return video_key(url) is not None
