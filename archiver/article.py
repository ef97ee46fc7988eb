"""The article stage: a source (URL, .html/.htm, .md, .txt) -> Article with paragraphs,
sentences (with character offsets) and the video links it carries.

HTML text and metadata come from trafilatura; the videos an article carries are found by
the discovery stage (archiver/discover/).
Markdown is parsed with markdown-it-py; page chrome before the body and boilerplate after
it are dropped, and a paragraph split by a page break is rejoined.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .errors import ArchiverError
from .discover import base_for, discover_html, discover_links
from .discover.urls import Base
from .fetch import PageFetch, fetch_page
from .models import Article, Sentence, VideoLink
from .store.files import short_hash, slugify

ARTICLE_SUFFIXES = {".html", ".htm", ".xhtml", ".md", ".markdown", ".txt"}

# The same rule as the narration tool that made our truth files: a sentence ends at . ! ?
# (perhaps closed by a quote or bracket) followed by white space and a capital or quote.
SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[A-Z“\"])")
TERMINAL = re.compile(r"[.!?…][\"”’)\]]*$")
BOILERPLATE = re.compile(
    r"^(note to readers|please click the share|click the share|forward this article|crosspost|"
    r"support \S+( \S+)? in its|the original source of this article|copyright|©|\(c\) \d{4}|"
    r"articles by|disclaimer|\*\*disclaimer|for media inquiries|comment on .* (facebook|articles)|"
    r"become a member|related (articles|posts|stories)|share this|subscribe to|sign up for|"
    r"all rights reserved|follow us|read more:|tags?:)",
    re.IGNORECASE,
)
METADATA = re.compile(r"^[\w .&-]{1,30}:\s")  # "Region: ...", "Theme: ...", "In-depth Report: ..."


@dataclass
class Block:
    """A paragraph of the source, before we decide whether it belongs to the body."""

    text: str
    links: list[tuple[str, str]]  # (href, link text)
    heading: bool = False


# ---------------------------------------------------------------- ids and sentences


def article_id_for(source: str) -> str:
    """A readable, path-safe id: a slug of the URL path or file name plus a hash of the source."""
    path = urlsplit(source).path if "://" in source else source
    stem = Path(path.rstrip("/")).stem or urlsplit(source).netloc
    return f"{slugify(stem, 40)}-{short_hash(source)}"


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        spans.append((offset + start, offset + match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((offset + start, offset + len(text.rstrip())))
    return spans


def build_article(article_id: str, source: str, title: str, paragraphs: list[str],
                  links: list[VideoLink], **meta) -> Article:
    text_parts, spans, sentences = [], [], []
    position = 0
    for p_index, paragraph in enumerate(paragraphs):
        spans.append((position, position + len(paragraph)))
        for start, end in split_sentences(paragraph, position):
            sentences.append(Sentence(len(sentences), p_index, paragraph[start - position:end - position], start, end))
        text_parts.append(paragraph)
        position += len(paragraph) + 2
    return Article(id=article_id, source=source, title=title.strip() or "(untitled)", text="\n\n".join(text_parts),
                   paragraphs=spans, sentences=sentences, links=links, **meta)


# ---------------------------------------------------------------- choosing the body


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _is_prose(block: Block) -> bool:
    text = block.text.strip()
    if block.heading or _words(text) < 4:
        return False
    link_chars = sum(len(t) for _, t in block.links)
    if link_chars > 0.6 * len(text):
        return False  # a line of links: navigation, tags, share buttons
    if METADATA.match(text) and _words(text) < 12:
        return False
    return _words(text) >= 8 or bool(TERMINAL.search(text))


def body_paragraphs(blocks: list[Block]) -> tuple[list[str], int]:
    """Prose blocks from the first to the boilerplate, page-break halves rejoined,
    and the number of blocks up to the boilerplate (links after it are not the article's)."""
    paragraphs: list[str] = []
    for n, block in enumerate(blocks):
        text = " ".join(block.text.split())
        if paragraphs and BOILERPLATE.match(text):
            return paragraphs, n
        if paragraphs and not TERMINAL.search(paragraphs[-1]) and text[:1].islower():
            paragraphs[-1] = f"{paragraphs[-1]} {text}"  # "...is not being" / "implemented."
        elif _is_prose(Block(text, block.links, block.heading)):
            paragraphs.append(text)
    return paragraphs, len(blocks)


# ---------------------------------------------------------------- Markdown and text


def markdown_blocks(source: str) -> tuple[str, list[Block]]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(source)
    title, blocks, heading = "", [], False
    for token in tokens:
        if token.type == "heading_open":
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
    url = re.compile(r"https?://[^\s<>\"')\]]+")
    blocks = [Block(" ".join(p.split()), [(u, u) for u in url.findall(p)]) for p in re.split(r"\n\s*\n", source) if p.strip()]
    title = ""
    if blocks and not _is_prose(blocks[0]):
        title = blocks.pop(0).text
    return title, blocks


# ---------------------------------------------------------------- HTML


def _same_text(a: str, b: str) -> bool:
    return bool(b) and re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()


def parse_html(html: str, article_id: str, source: str, base: Base) -> Article:
    import trafilatura

    meta = trafilatura.extract_metadata(html)
    text = trafilatura.extract(html, output_format="txt", include_comments=False, include_tables=False,
                               favor_precision=True) or ""
    title = (meta.title if meta else "") or ""
    # trafilatura's text starts with the <h1>; the title is not a paragraph the video speaks
    blocks = [Block(line, []) for line in text.split("\n") if line.strip() and not _same_text(line, title)]
    return build_article(
        article_id, source, title, body_paragraphs(blocks)[0], discover_html(html, base),
        author=(meta.author if meta else None), date=(meta.date if meta else None),
        language=(meta.language if meta else None),
    )


# ---------------------------------------------------------------- entry points


def parse_document(content: str, kind: str, article_id: str, source: str, base: Base | None = None) -> Article:
    """Parse one document; `base` says what its relative links resolve against (none: no
    relative link resolves)."""
    base = base or Base()
    if kind == "html":
        return parse_html(content, article_id, source, base)
    title, blocks = markdown_blocks(content) if kind == "md" else text_blocks(content)
    paragraphs, body_end = body_paragraphs(blocks)
    return build_article(article_id, source, title or (paragraphs[0][:80] if paragraphs else ""), paragraphs,
                         discover_links([link for block in blocks[:body_end] for link in block.links], base),
                         date=_date_in(blocks))


def _date_in(blocks: list[Block]) -> str | None:
    """The first date in the page chrome before the body, e.g. 'Global Research, March 20, 2020'."""
    import dateparser.search

    for block in blocks[:8]:
        if _is_prose(block):
            break
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


def read_article(source: str, timeout: float = 30, retries: int = 3, base_url: str | None = None,
                 on_fetch: Callable[[PageFetch], None] | None = None) -> tuple[Article, bytes, str]:
    """Read and parse one article source -> (Article, original bytes, file name to keep them under).
    `base_url` (--base-url) is the web address a saved local page's relative links resolve against;
    on_fetch receives the HTTP exchange of a URL source (for the WARC capture and the provenance)."""
    article_id = article_id_for(source)
    if "://" in source:
        page = fetch_page(source, timeout, retries)
        if on_fetch:
            on_fetch(page)
        body, content_type, final_url = page.body, page.content_type, page.final_url
        kind = kind_of(final_url, content_type)
        if not kind:
            raise ArchiverError(f"{source}: not an article (content type {content_type}); "
                                "give an HTML, Markdown or text page, or a video with --video")
        location: dict = {"url": final_url}
    else:
        path = Path(source).expanduser()
        try:
            body = path.read_bytes()
        except OSError as e:
            raise ArchiverError(f"{source}: cannot read the file ({e.strerror}); check the path") from e
        kind, location = kind_of(path.name), {"folder": path.resolve().parent}
    text = body.decode("utf-8", "replace").replace("\x00", "")
    base = base_for(text if kind == "html" else None, base_url=base_url, **location)
    article = parse_document(text, kind, article_id, source, base)
    article.fetched_at = now()
    article.source_file = f"source.{kind}"
    if not article.sentences:
        raise ArchiverError(f"{source}: no article text found; is it an article page?")
    return article, body, article.source_file
