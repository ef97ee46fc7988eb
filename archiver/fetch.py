"""Fetching an article page over HTTP, keeping every byte of the exchange.

`fetch_page(url)` returns a `PageFetch`: each hop of the exchange (request line and headers
as sent, status line, headers and raw body as received, redirects included), the decoded
body, and UTC times. The WARC capture (archiver/capture.py) and the chain of custody
(archiver/provenance.py) are written from it, so what we archive is what the server sent.

http.client rather than urllib: urllib follows redirects out of sight, adds headers we do
not see, and `response.read(n)` returns whatever arrived when a server closes early. Here a
body shorter than its Content-Length (or a broken chunked body) is a `ShortBody` failure
that is retried and then reported, and a page over the size limit is a clear error.
"""
from __future__ import annotations

import datetime as dt
import http.client
import ssl
import urllib.request
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from .errors import ArchiverError

USER_AGENT = "transcript-archiver/0.1 (+https://github.com/transcript-archiver)"
MAX_PAGE_BYTES = 50 << 20
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)


class ShortBody(Exception):
    """The server closed the connection before the whole body arrived."""


class HTTPStatusError(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(f"HTTP {status} {reason}")
        self.status, self.reason = status, reason


@dataclass
class Exchange:
    """One request and its response, as they went over the wire (headers in their order)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    http_version: str  # "HTTP/1.1"
    headers: list[tuple[str, str]]
    body: bytes  # as received (still compressed when the server compressed it); b"" for media
    started_at: str
    peer: str | None = None  # the IP address we talked to

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class PageFetch:
    url: str  # as requested
    exchanges: list[Exchange] = field(default_factory=list)  # redirects first, the final response last
    body: bytes = b""  # the final body, decoded when the server compressed it
    finished_at: str = ""

    @property
    def final(self) -> Exchange:
        return self.exchanges[-1]

    @property
    def final_url(self) -> str:
        return self.final.url

    @property
    def content_type(self) -> str:
        return (self.final.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def started_at(self) -> str:
        return self.exchanges[0].started_at


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection for url (through the environment's proxy when one applies) and the request target."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArchiverError(f"{url}: not an http(s) address")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname):
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        conn = http.client.HTTPConnection(proxy_parts.hostname, proxy_parts.port or 80, timeout=timeout)
        if parts.scheme == "http":
            return conn, url.split("#")[0]  # a plain proxy takes the absolute URL
        conn = http.client.HTTPSConnection(proxy_parts.hostname, proxy_parts.port or 80, timeout=timeout,
                                           context=ssl.create_default_context())
        conn.set_tunnel(parts.hostname, parts.port or 443)
        return conn, target
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=ssl.create_default_context()), target
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), target


def _read_body(response: http.client.HTTPResponse, url: str, limit: int) -> bytes:
    length = response.getheader("Content-Length")
    expected = int(length) if length and length.strip().isdigit() else None
    if expected is not None and expected > limit:
        raise ArchiverError(f"{url}: the page is {expected >> 20} MiB, over the {limit >> 20} MiB limit for "
                            "an article page; is it an article?")
    chunks, size = [], 0
    try:
        while chunk := response.read(1 << 16):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ArchiverError(f"{url}: the page is over the {limit >> 20} MiB limit for an article page; "
                                    "is it an article?")
    except http.client.IncompleteRead as e:  # a broken chunked body
        raise ShortBody(f"the chunked body broke off after {size + len(e.partial)} bytes") from e
    if expected is not None and size != expected:
        raise ShortBody(f"the server sent {size} of {expected} bytes")
    return b"".join(chunks)


def request_once(url: str, timeout: float, limit: int) -> Exchange:
    conn, target = _connection(url, timeout)
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    headers = [("Host", host), ("User-Agent", USER_AGENT),
               ("Accept", "text/html,application/xhtml+xml,text/markdown,text/plain;q=0.9,*/*;q=0.8"),
               ("Accept-Encoding", "gzip, deflate"), ("Connection", "close")]
    started = utc_now()
    try:
        conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        peer = _peer(conn)  # before the response: http.client drops the socket of a closing connection
        response = conn.getresponse()
        kind = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        media = kind.startswith(("video/", "audio/"))  # the caller archives it as a video: not read here
        body = b"" if media or response.status in REDIRECTS else _read_body(response, url, limit)
        version = "HTTP/1.0" if response.version == 10 else "HTTP/1.1"
        return Exchange(url, "GET", headers, response.status, response.reason, version,
                        list(response.getheaders()), body, started, peer)
    finally:
        conn.close()


def _peer(conn: http.client.HTTPConnection) -> str | None:
    try:
        return conn.sock.getpeername()[0] if conn.sock else None
    except OSError:
        return None


def _decoded(exchange: Exchange) -> bytes:
    encoding = (exchange.header("Content-Encoding") or "identity").strip().lower()
    if encoding in ("identity", ""):
        return exchange.body
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
            return zlib.decompress(exchange.body, wbits)
        except zlib.error as e:
            raise ShortBody(f"the {encoding} body does not decompress ({e})") from e
    raise ArchiverError(f"{exchange.url}: the server sent the page in an encoding we cannot read ({encoding})")


def fetch_once(url: str, timeout: float = 30, limit: int = MAX_PAGE_BYTES) -> PageFetch:
    """GET url, following redirects; every hop is kept. Raises on a status >= 400."""
    page = PageFetch(url)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        exchange = request_once(current, timeout, limit)
        page.exchanges.append(exchange)
        location = exchange.header("Location")
        if exchange.status in REDIRECTS and location:
            current = urljoin(current, location.strip())
            continue
        if exchange.status >= 400:
            raise HTTPStatusError(exchange.status, exchange.reason)
        page.body = _decoded(exchange)
        page.finished_at = utc_now()
        return page
    raise ArchiverError(f"{url}: more than {MAX_REDIRECTS} redirects; check the address")


def _transient(e: BaseException) -> bool:
    if isinstance(e, HTTPStatusError):
        return e.status == 429 or e.status >= 500
    return isinstance(e, (ShortBody, OSError, http.client.HTTPException))


def fetch_page(url: str, timeout: float = 30, retries: int = 3, limit: int = MAX_PAGE_BYTES) -> PageFetch:
    """fetch_once with retries (backoff) on connection errors, timeouts, cut bodies, 429 and 5xx;
    each failure that remains becomes one ArchiverError line."""
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    attempt = retry(retry=retry_if_exception(_transient), stop=stop_after_attempt(max(1, retries)),
                    wait=wait_exponential(multiplier=0.2, max=5), reraise=True)(fetch_once)
    try:
        return attempt(url, timeout, limit)
    except HTTPStatusError as e:
        raise ArchiverError(f"{url}: HTTP {e.status} {e.reason}; check the address") from e
    except ShortBody as e:
        raise ArchiverError(f"{url}: incomplete page ({e}, {retries} attempts); "
                            "`archiver retry` tries again later") from e
    except TimeoutError as e:
        raise ArchiverError(f"{url}: timed out; try again later") from e
    except (OSError, http.client.HTTPException) as e:
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise ArchiverError(f"{url}: cannot connect ({reason}); check the address and the network") from e
