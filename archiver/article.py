"""The article stage: a source (URL, .html/.htm, .md, .txt) -> Article with paragraphs,
sentences (with character offsets) and the video links it carries.

HTML text and metadata come from trafilatura; the videos an article carries are found by
the discovery stage (archiver/discover/).
Markdown is parsed with markdown-it-py. Which blocks are the article's, its sentences and its
language are decided in text.py.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .errors import ArchiverError
from .discover import base_for, discover_html, discover_links
from .discover.urls import Base
from .fetch import PageFetch, fetch_page
from .models import Article, Sentence, VideoLink
from .store.files import short_hash, slugify
from .text import (TERMINAL, Block, article_language, decodable, declared_language, html_blocks, main_paragraphs,
                   printable, sentence_spans, xml_compatible)

ARTICLE_SUFFIXES = {".html", ".htm", ".xhtml", ".md", ".markdown", ".txt"}


# ---------------------------------------------------------------- ids and sentences


def article_id_for(source: str) -> str:
    """A readable, path-safe id: a slug of the URL path or file name plus a hash of the source."""
    path = urlsplit(source).path if "://" in source else source
    stem = Path(path.rstrip("/")).stem or urlsplit(source).netloc
    return f"{slugify(stem, 40)}-{short_hash(source)}"


def build_article(article_id: str, source: str, title: str, paragraphs: list[str],
                  links: list[VideoLink], language: str | None = None, **meta) -> Article:
    """Join the paragraphs into Article.text and split each into sentences in the article's language
    (detected from the text when not given). Control characters are dropped: a browser shows none of them."""
    paragraphs = [p for p in map(printable, paragraphs) if p.strip()]
    text = "\n\n".join(paragraphs)
    language = language or article_language(text)
    spans, sentences = [], []
    position = 0
    for p_index, paragraph in enumerate(paragraphs):
        spans.append((position, position + len(paragraph)))
        for start, end in sentence_spans(paragraph, language):
            sentences.append(Sentence(len(sentences), p_index, paragraph[start:end], position + start, position + end))
        position += len(paragraph) + 2
    meta = {k: " ".join(printable(v).split()) if isinstance(v, str) else v for k, v in meta.items()}
    return Article(id=article_id, source=source, title=" ".join(printable(title).split()) or "(untitled)", text=text,
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


# ---------------------------------------------------------------- HTML


def _same_text(a: str, b: str) -> bool:
    return bool(b) and re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()


def parse_html(html: str, article_id: str, source: str, base: Base, content_language: str | None = None) -> Article:
    import trafilatura

    html = xml_compatible(html)
    meta = trafilatura.extract_metadata(html)
    title = (meta.title if meta else "") or ""
    # trafilatura's text starts with the <h1>; the title is not a paragraph the video speaks
    blocks = [b for b in html_blocks(html) if not _same_text(b.text, title)]
    language = article_language(" ".join(b.text for b in blocks), declared_language(html, content_language))
    return build_article(
        article_id, source, title, main_paragraphs(blocks, language, extracted=True).paragraphs,
        discover_html(html, base), language,
        author=(meta.author if meta else None), date=(meta.date if meta else None),
    )


# ---------------------------------------------------------------- entry points


def parse_document(content: str, kind: str, article_id: str, source: str, base: Base | None = None,
                   content_language: str | None = None) -> Article:
    """Parse one document; `base` says what its relative links resolve against (none: no
    relative link resolves); `content_language` is the HTTP header, one more word on the language."""
    base = base or Base()
    content = decodable(content)
    if kind == "html":
        return parse_html(content, article_id, source, base, content_language)
    title, blocks = markdown_blocks(content) if kind == "md" else text_blocks(content)
    language = article_language(" ".join(b.text for b in blocks))
    body = main_paragraphs(blocks, language)
    paragraphs = body.paragraphs
    return build_article(article_id, source, title or (paragraphs[0][:80] if paragraphs else ""), paragraphs,
                         discover_links([link for block in blocks[:body.end] for link in block.links], base),
                         language, date=_date_in(blocks[:body.start]))


def _date_in(blocks: list[Block]) -> str | None:
    """The first date in the page chrome before the body, e.g. 'Global Research, March 20, 2020'."""
    for block in blocks[:8]:
        if not any(c.isdigit() for c in block.text):  # a strict date has its year in digits
            continue
        import dateparser.search  # a second of import, for the pages that can have a date

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
        content_language = next((v for k, v in page.final.headers if k.lower() == "content-language"), None)
    else:
        path = Path(source).expanduser()
        try:
            body = path.read_bytes()
        except OSError as e:
            raise ArchiverError(f"{source}: cannot read the file ({e.strerror}); check the path") from e
        kind, location, content_language = kind_of(path.name), {"folder": path.resolve().parent}, None
    text = body.decode("utf-8", "replace")
    base = base_for(text if kind == "html" else None, base_url=base_url, **location)
    article = parse_document(text, kind, article_id, source, base, content_language)
    article.fetched_at = now()
    article.source_file = f"source.{kind}"
    if not article.sentences:
        raise ArchiverError(f"{source}: no article text found; is it an article page?")
    return article, body, article.source_file
