"""The text handling of archiver/article.py before issue 10 (regex sentences, one site's
boilerplate phrases), kept verbatim as the baseline that benchmarks/text.py measures against."""
from __future__ import annotations

import re

from archiver.text import Block

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

def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        spans.append((offset + start, offset + match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((offset + start, offset + len(text.rstrip())))
    return spans


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



def text_blocks(source: str) -> tuple[str, list[Block]]:
    url = re.compile(r"https?://[^\s<>\"')\]]+")
    blocks = [Block(" ".join(p.split()), [(u, u) for u in url.findall(p)]) for p in re.split(r"\n\s*\n", source) if p.strip()]
    title = ""
    if blocks and not _is_prose(blocks[0]):
        title = blocks.pop(0).text
    return title, blocks


def html_paragraphs(html: str) -> list[str]:
    import trafilatura

    meta = trafilatura.extract_metadata(html)
    text = trafilatura.extract(html, output_format="txt", include_comments=False, include_tables=False,
                               favor_precision=True) or ""
    title = (meta.title if meta else "") or ""

    def same(a: str, b: str) -> bool:
        return bool(b) and re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()

    blocks = [Block(line, []) for line in text.split("\n") if line.strip() and not same(line, title)]
    return body_paragraphs(blocks)[0]
