"""The article stage: a source (URL, .html/.htm, .md, .txt) -> Article with paragraphs,
sentences (with character offsets) and the video links it carries.

HTML text and metadata come from trafilatura; the video links are found in the raw HTML
(yt-dlp's generic extractor finds a <video src> but not a plain <a href="x.mp4">, so we
resolve the candidates here and hand each one to the download stage).
Markdown is parsed with markdown-it-py. Which blocks are the article's, its sentences and its
language are decided in text.py.
"""
from __future__ import annotations

import datetime as dt
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

from .errors import ArchiverError
from .media import is_media_path
from .models import Article, Sentence, VideoLink
from .store.files import short_hash, slugify
from .text import TERMINAL, Block, article_language, declared_language, html_blocks, main_paragraphs, sentence_spans

ARTICLE_SUFFIXES = {".html", ".htm", ".xhtml", ".md", ".markdown", ".txt"}
USER_AGENT = "transcript-archiver/0.1 (+https://github.com/transcript-archiver)"



# ---------------------------------------------------------------- fetching


def fetch(url: str, timeout: float = 30, retries: int = 3) -> tuple[bytes, str, str]:
    """GET url -> (body, content type, final url), retrying connection errors, 429 and 5xx."""
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    def transient(e: BaseException) -> bool:
        if isinstance(e, urllib.error.HTTPError):
            return e.code == 429 or e.code >= 500
        return isinstance(e, (urllib.error.URLError, TimeoutError, ConnectionError))

    @retry(retry=retry_if_exception(transient), stop=stop_after_attempt(max(1, retries)),
           wait=wait_exponential(multiplier=0.2, max=5), reraise=True)
    def get() -> tuple[bytes, str, str]:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            kind = response.headers.get_content_type()
            if kind.startswith(("video/", "audio/")):
                return b"", kind, response.geturl()  # the caller archives it as a video
            return response.read(50 << 20), kind, response.geturl()

    try:
        return get()
    except urllib.error.HTTPError as e:
        raise ArchiverError(f"{url}: HTTP {e.code} {e.reason}; check the address") from e
    except urllib.error.URLError as e:
        raise ArchiverError(f"{url}: cannot connect ({e.reason}); check the address and the network") from e
    except (TimeoutError, ConnectionError) as e:
        raise ArchiverError(f"{url}: {type(e).__name__} while reading; try again later") from e


# ---------------------------------------------------------------- ids and sentences


def article_id_for(source: str) -> str:
    """A readable, path-safe id: a slug of the URL path or file name plus a hash of the source."""
    path = urlsplit(source).path if "://" in source else source
    stem = Path(path.rstrip("/")).stem or urlsplit(source).netloc
    return f"{slugify(stem, 40)}-{short_hash(source)}"


def build_article(article_id: str, source: str, title: str, paragraphs: list[str],
                  links: list[VideoLink], language: str | None = None, **meta) -> Article:
    """Join the paragraphs into Article.text and split each into sentences in the article's language
    (detected from the text when not given)."""
    text = "\n\n".join(paragraphs)
    language = language or article_language(text)
    spans, sentences = [], []
    position = 0
    for p_index, paragraph in enumerate(paragraphs):
        spans.append((position, position + len(paragraph)))
        for start, end in sentence_spans(paragraph, language):
            sentences.append(Sentence(len(sentences), p_index, paragraph[start:end], position + start, position + end))
        position += len(paragraph) + 2
    return Article(id=article_id, source=source, title=title.strip() or "(untitled)", text=text,
                   paragraphs=spans, sentences=sentences, links=links, language=language, **meta)


# ---------------------------------------------------------------- Markdown and text


def markdown_blocks(source: str) -> tuple[str, list[Block]]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(source)
    title, blocks, heading = "", [], False
    for token in tokens:
        if token.type == "hr":
            blocks.append(Block("", separator=True))
        elif token.type == "heading_open":
            heading = True
        elif token.type == "heading_close":
            heading = False
        elif token.type == "inline":
            text, links, href, link_text = [], [], None, []
            for child in token.children or []:
                if child.type == "link_open":
                    href, link_text = child.attrs.get("href"), []
                elif child.type == "link_close":
                    links.append((str(href or ""), "".join(link_text)))
                    href = None
                elif child.type in ("text", "code_inline"):
                    text.append(child.content)
                    if href is not None:
                        link_text.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    text.append(" ")
                elif child.type == "image":
                    links.append((str(child.attrs.get("src", "")), child.content))
            block = Block("".join(text).strip(), links, heading)
            if heading and not title:
                title = block.text
            elif block.text or links:
                blocks.append(block)
    return title, blocks


def text_blocks(source: str) -> tuple[str, list[Block]]:
    """Paragraphs of a plain text: parted by blank lines, and by line breaks too unless the lines
    are one paragraph wrapped to a width (a copied page puts every menu item on a line of its own)."""
    url = re.compile(r"https?://[^\s<>\"')\]]+")
    blocks = []
    for chunk in re.split(r"\n\s*\n", source):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        for part in [" ".join(lines)] if _wrapped(lines) else lines:
            blocks.append(Block(" ".join(part.split()), [(u, u) for u in url.findall(part)]))
    title = ""
    if blocks and len(blocks[0].text.split()) <= 20 and not TERMINAL.search(blocks[0].text):
        title = blocks.pop(0).text
    return title, blocks


def _wrapped(lines: list[str]) -> bool:
    """Lines that fill a width (all but the last within 60% of the longest) are one wrapped paragraph."""
    if len(lines) < 2:
        return True
    width = max(len(line) for line in lines)
    return 40 <= width <= 120 and all(len(line) >= 0.6 * width for line in lines[:-1])


def markdown_links(blocks: list[Block], base: str | None, is_video_host: Callable[[str], bool]) -> list[VideoLink]:
    links = []
    for block in blocks:
        for href, _ in block.links:
            url = resolve(href, base)
            if url and (is_media_path(url) or is_video_host(url)):
                links.append(VideoLink(url, "markdown"))
    return links


# ---------------------------------------------------------------- HTML


def html_links(html: str, base: str | None, is_video_host: Callable[[str], bool]) -> list[VideoLink]:
    import lxml.html

    try:
        doc = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return []
    base_href = doc.xpath("string(//base/@href)")
    if base_href:
        base = resolve(base_href, base) or base
    found: list[VideoLink] = []

    def add(href: str | None, kind: str, check: Callable[[str], bool] | None = None) -> None:
        url = resolve(href, base)
        if url and (check is None or check(url)):
            found.append(VideoLink(url, kind))

    for el in doc.iter("video", "audio"):
        add(el.get("src"), "video")
        for source in el.iter("source"):
            add(source.get("src"), "source")
    for el in doc.iter("a"):
        add(el.get("href"), "a", lambda u: is_media_path(u) or is_video_host(u))
    for el in doc.iter("iframe", "embed"):
        add(el.get("src"), "iframe", is_video_host)
    for el in doc.iter("meta"):
        key = (el.get("property") or el.get("name") or "").lower()
        if key in ("og:video", "og:video:url", "og:video:secure_url", "twitter:player:stream"):
            add(el.get("content"), "meta")
    return found


def _same_text(a: str, b: str) -> bool:
    return bool(b) and re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()


def parse_html(html: str, article_id: str, source: str, base: str | None,
               is_video_host: Callable[[str], bool]) -> Article:
    import trafilatura

    meta = trafilatura.extract_metadata(html)
    title = (meta.title if meta else "") or ""
    # trafilatura's text starts with the <h1>; the title is not a paragraph the video speaks
    blocks = [b for b in html_blocks(html) if not _same_text(b.text, title)]
    language = article_language(" ".join(b.text for b in blocks), declared_language(html))
    return build_article(
        article_id, source, title, main_paragraphs(blocks, language, extracted=True).paragraphs,
        dedupe(html_links(html, base, is_video_host)), language,
        author=(meta.author if meta else None), date=(meta.date if meta else None),
    )


# ---------------------------------------------------------------- entry points


def resolve(href: str | None, base: str | None) -> str | None:
    """An absolute http(s) URL or an existing-looking local path; never javascript:, data:, mailto:."""
    if not href or href.startswith("#"):
        return None
    href = href.strip()
    scheme = urlsplit(href).scheme.lower()
    if scheme in ("http", "https"):
        return href
    if scheme == "file":
        return urlsplit(href).path
    if scheme:
        return None  # javascript:, data:, mailto:, ...
    if base is None:
        return None
    if "://" in base:
        return urljoin(base, href)
    return str((Path(base).parent / href).resolve())


def dedupe(links: list[VideoLink]) -> list[VideoLink]:
    seen, out = set(), []
    for link in links:
        if link.url not in seen:
            seen.add(link.url)
            out.append(link)
    return out


def parse_document(content: str, kind: str, article_id: str, source: str, base: str | None,
                   is_video_host: Callable[[str], bool]) -> Article:
    if kind == "html":
        return parse_html(content, article_id, source, base, is_video_host)
    title, blocks = markdown_blocks(content) if kind == "md" else text_blocks(content)
    language = article_language(" ".join(b.text for b in blocks))
    body = main_paragraphs(blocks, language)
    paragraphs = body.paragraphs
    return build_article(article_id, source, title or (paragraphs[0][:80] if paragraphs else ""), paragraphs,
                         dedupe(markdown_links(blocks[:body.end], base, is_video_host)), language,
                         date=_date_in(blocks[:body.start]))


def _date_in(blocks: list[Block]) -> str | None:
    """The first date in the page chrome before the body, e.g. 'Global Research, March 20, 2020'."""
    import dateparser.search

    for block in blocks[:8]:
        found = dateparser.search.search_dates(block.text, languages=["en"], settings={"STRICT_PARSING": True})
        if found:
            return found[0][1].date().isoformat()
    return None


def kind_of(name: str, content_type: str = "") -> str:
    suffix = Path(urlsplit(name).path).suffix.lower()
    if "html" in content_type or suffix in (".html", ".htm", ".xhtml"):
        return "html"
    if suffix in (".md", ".markdown") or "markdown" in content_type:
        return "md"
    if suffix == ".txt" or content_type == "text/plain":
        return "txt"
    return "html" if not content_type else ""


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def read_article(source: str, is_video_host: Callable[[str], bool], timeout: float = 30,
                 retries: int = 3) -> tuple[Article, bytes, str]:
    """Read and parse one article source -> (Article, original bytes, file name to keep them under)."""
    article_id = article_id_for(source)
    if "://" in source:
        body, content_type, final_url = fetch(source, timeout, retries)
        kind = kind_of(final_url, content_type)
        if not kind:
            raise ArchiverError(f"{source}: not an article (content type {content_type}); "
                                "give an HTML, Markdown or text page, or a video with --video")
        base = final_url
    else:
        path = Path(source).expanduser()
        try:
            body = path.read_bytes()
        except OSError as e:
            raise ArchiverError(f"{source}: cannot read the file ({e.strerror}); check the path") from e
        kind, base = kind_of(path.name), str(path.resolve())
    text = body.decode("utf-8", "replace").replace("\x00", "")
    article = parse_document(text, kind, article_id, source, base, is_video_host)
    article.fetched_at = now()
    article.source_file = f"source.{kind}"
    if not article.sentences:
        raise ArchiverError(f"{source}: no article text found; is it an article page?")
    return article, body, article.source_file
