"""Text as people write it: the article's language, its main text among the page chrome, and
its sentences with exact character offsets.

- Language: py3langid on the text (fast, 140 languages), checked against what the page
  declares (`<html lang>`, `og:locale`, JSON-LD `inLanguage`, `Content-Language`).
- Main text: of HTML, trafilatura's main content less the labels and prompts real pages
  leave in it (CHROME); of Markdown and plain text, jusText's paragraph classifier (length,
  stopword density with its per-language stoplists, link density, and its context pass),
  then the main stretch of the page: blocks after a thematic break, a copyright line or a
  run of boilerplate belong to the article only when they carry text of their own weight
  (footers, disclaimers and "support us" boxes do not).
- Sentences: pysbd's rules (abbreviations, initials, decimals, quotes, ellipses) in its 23
  languages, sentencex in the others, and our own rule for Chinese and Japanese, where a
  sentence ends at 。！？ outside quotes and brackets.

The libraries load on first use: `archiver search` never imports them.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import cache

# ---------------------------------------------------------------- characters

SURROGATE = re.compile("[\ud800-\udfff]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 and C1 controls but tab and line breaks
# What XML cannot hold: C0 controls but tab and line breaks, U+FFFE, U+FFFF. lxml's HTML parser keeps them
# (raw, or made of a reference such as &#1; or &#x1b;) and then refuses any text that holds one.
NOT_IN_XML = (set(range(32)) - {9, 10, 13}) | {0xFFFE, 0xFFFF}
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]0*(?P<hex>[\da-fA-F]{1,6})(?![\da-fA-F])|0*(?P<dec>\d{1,7})(?!\d));?")


def decodable(document: str) -> str:
    """A document as every parser and encoder takes it: lone surrogates (a str holds them,
    UTF-8 cannot) become U+FFFD, NUL bytes go."""
    return SURROGATE.sub("\ufffd", document).replace("\x00", "")


def xml_compatible(html: str) -> str:
    """HTML without the characters, raw or referenced, that an lxml tree cannot hold: one of
    them made trafilatura discard the whole article, and lxml fail on the page. (&#0; stays:
    the parser makes it U+FFFD.)"""
    def keep(m: re.Match) -> str:
        code = int(m["hex"], 16) if m["hex"] else int(m["dec"])
        return "" if code in NOT_IN_XML and code else m[0]

    return CHARACTER_REFERENCE.sub(keep, XML_UNSAFE.sub("", html))


def printable(text: str) -> str:
    """Text without the control characters a page can hide in it (a terminal escape, the
    search index's snippet marks): a browser shows none of them."""
    return CONTROL.sub("", text)


# ---------------------------------------------------------------- languages

CJK = {"ja", "zh"}
# labels of one language for our purpose: Wu Chinese is written as Chinese, Bokmål and Nynorsk are Norwegian
SAME_LANGUAGE = {"wuu": "zh", "nb": "no", "nn": "no"}
# pairs a detector confuses on real text while the page's own declaration is right
CLOSE = [{"no", "da", "sv"}, {"hr", "sr", "bs"}, {"ms", "id"}, {"gl", "pt"}, {"ca", "es"}, {"cs", "sk"}]
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def language_code(tag: str | None) -> str | None:
    """'en-US', 'fr_FR', 'PT-br' -> 'en', 'fr', 'pt'; None for 'und', 'x-default', ''."""
    base = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    if not LANGUAGE_CODE.match(base) or base in ("und", "mul", "zxx"):
        return None
    return SAME_LANGUAGE.get(base, base)


@cache
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    try:
        return _unpacked_identifier(MODEL_DIR / MODEL_FILE, LanguageIdentifier)
    except Exception:  # noqa: BLE001 (another py3langid layout, a read-only cache: its own loader)
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _unpacked_identifier(packed, identifier_class):
    """py3langid's model, read from an uncompressed copy in the user cache: its loader spends
    0.8 s of every process unpacking 65 MB of LZMA, the copy loads in 0.1 s. The arrays are
    passed to the constructor as py3langid's own loader (modelio.load_model) passes them."""
    import lzma

    import numpy as np
    from py3langid.modelio import _to_array

    from .store.files import atomic_write_bytes
    from .transcribe.models import cache_dir

    stat = packed.stat()
    unpacked = cache_dir() / "py3langid" / f"model-{stat.st_size}-{stat.st_mtime_ns}.npz"
    if not unpacked.exists():
        atomic_write_bytes(unpacked, lzma.decompress(packed.read_bytes()))
    with np.load(unpacked, allow_pickle=False) as data:
        return identifier_class(np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist(),
                                _to_array(data["nextmove"]), data["out_feat"].tolist(), norm_probs=True,
                                tk_row=_to_array(data["nextmove_row"]))


KANA = re.compile(r"[\u3040-\u30ff]")
HAN = re.compile(r"[\u4e00-\u9fff]")


def detect_language(text: str) -> tuple[str | None, float]:
    """(ISO 639-1 code, probability) of a text; (None, 0.0) when it has no letters."""
    sample = text[:20000]
    if not any(c.isalpha() for c in sample):
        return None, 0.0
    code, probability = _identifier().classify(sample)
    code = language_code(code)
    if code in CJK and HAN.search(sample):
        # kana is what tells Japanese from Chinese; the n-gram model misses it on short texts
        code = "ja" if len(KANA.findall(sample)) >= 0.05 * len(HAN.findall(sample)) else "zh"
    return code, probability


def article_language(text: str, declared: str | None = None) -> str | None:
    """The language of an article: what the page declares unless its text clearly says otherwise
    (templates declare `lang="en"` on pages in any language)."""
    declared = language_code(declared)
    detected, probability = detect_language(text)
    if declared is None or detected is None or declared == detected:
        return detected or declared
    if any({declared, detected} <= group for group in CLOSE):
        return declared
    confident = probability >= 0.9 and len(text) >= 200
    return detected if confident else declared


def declared_language(html: str, content_language: str | None = None) -> str | None:
    """What the page says its language is: JSON-LD inLanguage, og:locale, <meta http-equiv=
    Content-Language>, <html lang>, then the HTTP Content-Language header."""
    import lxml.html

    try:
        doc = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return language_code(content_language)
    candidates = [_json_ld_language(doc)]
    for meta in doc.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("http-equiv") or "").lower()
        if key in ("og:locale", "content-language", "language", "dc.language", "dcterms.language"):
            candidates.append(meta.get("content"))
    root = doc.getroottree().getroot()
    candidates += [root.get("lang"), root.get("{http://www.w3.org/XML/1998/namespace}lang"), content_language]
    return next((code for code in map(language_code, candidates) if code), None)


def _json_ld_language(doc) -> str | None:
    def walk(node):
        if isinstance(node, dict):
            value = node.get("inLanguage")
            if isinstance(value, str):
                return value
            if isinstance(value, dict):
                return value.get("alternateName") or value.get("name")
            node = list(node.values())
        if isinstance(node, list):
            return next((found for found in map(walk, node) if found), None)
        return None

    for script in doc.xpath('//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip().removeprefix("<![CDATA[").removesuffix("]]>")
        try:
            found = walk(json.loads(raw))
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack
            continue
        if found:
            return found
    return None


# ---------------------------------------------------------------- sentences

PYSBD_FOR = {"nb": "da", "no": "da", "nn": "da"}  # close enough to share abbreviation rules
LINE_BREAK = re.compile(r"[\r\n\t\f\v\u2028\u2029]")
CLOSERS = "\"'”’»」』)]）"
TIME_ABBREVIATION = re.compile(r"\b[ap]\.m\.$", re.IGNORECASE)
# what follows "10 a.m." in the same sentence: a day, a month, a time zone, a lower-case word, a number
AFTER_TIME = re.compile(
    r"^(?:[a-z\d(]|(?i:(?:mon|tues|wednes|thurs|fri|satur|sun)day|today|tonight|tomorrow|yesterday|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|local\b)|[ECMP][SD]?T\b|GMT|UTC|BST|CES?T)"
)


def sentence_spans(text: str, language: str | None = None) -> list[tuple[int, int]]:
    """(start, end) of every sentence of one paragraph, offsets into text, white space trimmed."""
    language = language_code(language) or "en"
    text = LINE_BREAK.sub(" ", text)  # paragraphs are parted before; a wrapped line is no sentence end
    if language in CJK:
        spans = _cjk_spans(text)
    else:
        try:
            spans = _library_spans(text, language)
        except Exception:  # noqa: BLE001 (a rule library failing on odd input must not lose the paragraph)
            spans = [(0, len(text))]
    return _repair(text, spans, CLOSERS + ("«" if language == "de" else ""))


_segmenters = threading.local()  # a pysbd Segmenter keeps the text it works on: one per thread


def _pysbd(language: str):
    import pysbd

    cache = _segmenters.__dict__
    if language not in cache:
        cache[language] = pysbd.Segmenter(language=language, clean=False)
    return cache[language]


def _library_spans(text: str, language: str) -> list[tuple[int, int]]:
    import pysbd.languages

    language = PYSBD_FOR.get(language, language)
    if language in pysbd.languages.LANGUAGE_CODES:
        # Its sentences, found in order from where the last one ended. (pysbd's own char_span, and
        # segment() always, search the whole text again for each sentence: 200 KB of ". " took 8 minutes.)
        spans, cursor = [], 0
        for sentence in _pysbd(language).processor(text).process():
            start = text.find(sentence, cursor)
            if start < 0:
                raise ValueError("pysbd lost its offsets")
            spans.append((start, start + len(sentence)))
            cursor = start + len(sentence)
        return spans
    import sentencex

    return [(b["start_index"], b["end_index"]) for b in sentencex.get_sentence_boundaries(language, text)]


CJK_END = set("。！？!?．")
CJK_OPEN = {"「": "」", "『": "』", "（": "）", "(": ")", "《": "》", "〈": "〉", "【": "】", "〔": "〕", "“": "”", "‘": "’"}


def _cjk_spans(text: str) -> list[tuple[int, int]]:
    """A sentence ends at 。！？ (and . ! ? among CJK text) outside quotes and brackets, with the
    closing marks after it; 「行こう。」「うん。」 is two sentences, 「はい。」と言った。 one."""
    inside = _quoted(text)
    spans, start, i = [], 0, 0
    while i < len(text):
        if text[i] in CJK_END and not (text[i] == "．" and text[i + 1:i + 2].isdigit()):
            j = i + 1
            while j < len(text) and text[j] in CJK_END:
                j += 1
            depth_before = inside[i]
            while j < len(text) and text[j] in "".join(CJK_OPEN.values()) + CLOSERS and inside[j] > 0:
                j += 1
            quoted_end = depth_before and inside[j - 1] == 1 and text[j - 1] not in CJK_END
            after = text[j:j + 1]
            if not depth_before or (quoted_end and (not after or after.isspace() or after in CJK_OPEN)):
                spans.append((start, j))
                start = j
            i = j
        else:
            i += 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _quoted(text: str) -> list[int]:
    """Nesting depth of balanced quotes/brackets at each character (a closer counts as inside)."""
    depth = [0] * (len(text) + 1)
    stack: list[tuple[str, int]] = []
    pairs = []
    for i, ch in enumerate(text):
        if ch in CJK_OPEN:
            stack.append((CJK_OPEN[ch], i))
        elif stack and ch == stack[-1][0]:
            pairs.append((stack.pop()[1], i))
        elif any(ch == closer for closer, _ in stack):  # a closer for an outer bracket: drop the unclosed inner ones
            while stack and stack[-1][0] != ch:
                stack.pop()
            pairs.append((stack.pop()[1], i))
    for open_at, close_at in pairs:
        for k in range(open_at + 1, close_at + 1):
            depth[k] += 1
    return depth


def _repair(text: str, spans: list[tuple[int, int]], closers: str) -> list[tuple[int, int]]:
    """Trim white space and mend what the rule libraries get wrong on real text: a closing quote
    left at the start of the next sentence, a piece that is only punctuation, "10 a.m. Friday".
    (German quotes »so«: there « closes.)"""
    out: list[list[int]] = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        if out:
            closing = start
            while closing < end and text[closing] in closers:
                closing += 1
            if closing > start and (closing == end or text[closing].isspace()):
                out[-1][1] = closing  # '"' that pysbd put at the head of the next sentence
                start = closing
                while start < end and text[start].isspace():
                    start += 1
                if start == end:
                    continue
            piece = text[start:end]
            previous = text[out[-1][0]:out[-1][1]]
            if not any(c.isalnum() for c in piece) or (TIME_ABBREVIATION.search(previous) and AFTER_TIME.match(piece)):
                out[-1][1] = end
                continue
        out.append([start, end])
    return [(s, e) for s, e in out]


# ---------------------------------------------------------------- main text


@dataclass
class Block:
    """A paragraph of the source, before we decide whether it belongs to the body."""

    text: str
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, link text)
    heading: bool = False
    separator: bool = False  # a thematic break: <hr>, "* * *", "---"


TERMINAL = re.compile(r"[.!?…。！？][\"”’»)\]」』）]*$")
SEPARATOR = re.compile(r"^[\s*_~=•·—–-]{1,20}$")
JUSTEXT_NAMES = {
    "af": "Afrikaans", "sq": "Albanian", "ar": "Arabic", "hy": "Armenian", "az": "Azerbaijani", "eu": "Basque",
    "be": "Belarusian", "bn": "Bengali", "bs": "Bosnian", "br": "Breton", "bg": "Bulgarian", "ca": "Catalan",
    "hr": "Croatian", "cs": "Czech", "da": "Danish", "nl": "Dutch", "en": "English", "eo": "Esperanto",
    "et": "Estonian", "fi": "Finnish", "fr": "French", "gl": "Galician", "ka": "Georgian", "de": "German",
    "el": "Greek", "gu": "Gujarati", "ht": "Haitian", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian",
    "is": "Icelandic", "id": "Indonesian", "ga": "Irish", "it": "Italian", "jv": "Javanese", "kn": "Kannada",
    "kk": "Kazakh", "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz", "la": "Latin", "lv": "Latvian",
    "lt": "Lithuanian", "lb": "Luxembourgish", "mk": "Macedonian", "ms": "Malay", "ml": "Malayalam",
    "mt": "Maltese", "mr": "Marathi", "ne": "Nepali", "no": "Norwegian_Bokmal", "oc": "Occitan", "fa": "Persian",
    "pl": "Polish", "pt": "Portuguese", "qu": "Quechua", "ro": "Romanian", "ru": "Russian", "sr": "Serbian",
    "sk": "Slovak", "sl": "Slovenian", "es": "Spanish", "su": "Sundanese", "sw": "Swahili", "sv": "Swedish",
    "tl": "Tagalog", "ta": "Tamil", "te": "Telugu", "tr": "Turkish", "tk": "Turkmen", "uk": "Ukrainian",
    "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese", "cy": "Welsh", "fy": "West_Frisian", "yo": "Yoruba",
}
LENGTH_LOW, LENGTH_HIGH = 50, 100  # jusText's 70, 200 left out a fifth of the article text of real pages
BOILERPLATE_RUN = 3  # this many blocks in a row that do not read as prose end a stretch of the page
SIDE_STRETCH = 0.25  # a stretch beside the main one joins it with at least this share of its good text


# What real pages leave between the paragraphs of an article, in the languages we align: labels
# of ads and photos, pointers to other stories, share / follow / newsletter prompts, bylines.
# Only a short block that starts with one is dropped, never a sentence of the article.
CHROME = re.compile(
    r"^(?:advertisement|advertising|sponsored|anzeige|werbung|publicité|publicidad|pubblicità|publicidade|реклама|"
    r"広告|广告|"
    r"read more|read also|read next|see also|see more|more on this|more:|related\b|recommended|don'?t miss|"
    r"most (?:read|popular)|also on\b|you (?:may|might) also like|more from\b|trending\b|"
    r"weiterlesen|mehr zum thema|lesen sie auch|(?:à )?lire aussi|voir aussi|leer más|lea también|ver también|"
    r"leia (?:também|mais)|leggi anche|читайте также|関連記事|相关阅读|"
    r"share\b|teilen\b|partager\b|compartir\b|condividi\b|like this story|"
    r"subscribe|sign up|newsletter|get the latest|abonnieren|abonnez-vous|s'abonner|suscríbete|iscriviti|"
    r"follow (?:us|@|\S+ on)|folgen sie|suivez|síguenos|seguici|"
    r"photo\b|photos\b|photo credit|image:|foto:|bild:|crédit|credit:|getty images|"
    r"comments?$|kommentare$|commentaires$|comentarios$|tags?:|filed under|"
    r"by [A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3}$|von [A-Z]\w+ [A-Z]\w+$|par [A-Z]\w+ [A-Z]\w+$|por [A-Z]\w+ [A-Z]\w+$)",
    re.IGNORECASE,
)
CHROME_WORDS = 12


def is_chrome(block: Block) -> bool:
    """A label or prompt of the page rather than text of the article: short, or a box of links
    under its label ("DON'T MISS" + three headlines)."""
    if not CHROME.match(block.text):
        return False
    words = len(block.text.split()) if " " in block.text else len(block.text) // 3
    return words <= CHROME_WORDS or _link_share(block) >= 0.5


def _link_share(block: Block) -> float:
    return min(1.0, sum(len(" ".join(t.split())) for _, t in block.links) / max(1, len(block.text)))


@cache
def _stoplist(language: str | None) -> frozenset[str]:
    import justext

    name = JUSTEXT_NAMES.get(language or "")
    return frozenset(w.lower() for w in justext.get_stoplist(name)) if name else frozenset()


def classify_blocks(blocks: list[Block], language: str | None) -> tuple[list[bool], list[bool]]:
    """jusText's classification of each block: main text after its pass over the neighbours, and
    text that reads as prose on its own (long enough, with stopwords, few links)."""
    from justext.core import classify_paragraphs, revise_paragraph_classification
    from justext.paragraph import Paragraph

    class Path:  # the two attributes jusText reads from its DOM walker
        def __init__(self, heading: bool):
            self.dom = "body.h2" if heading else "body.p"
            self.xpath = self.dom

    paragraphs = []
    for block in blocks:
        paragraph = Paragraph(Path(block.heading))
        paragraph.append_text(block.text)
        paragraph.chars_count_in_links = round(_link_share(block) * len(block.text))
        paragraphs.append(paragraph)
    stoplist = _stoplist(language)
    # scripts without spaces pack a sentence into a third of the characters
    scale = 3 if language in CJK else 1
    thresholds = dict(length_low=LENGTH_LOW // scale, length_high=LENGTH_HIGH // scale)
    if not stoplist:  # jusText's language-independent mode
        thresholds |= dict(stopwords_low=0, stopwords_high=0)
    classify_paragraphs(paragraphs, stoplist, **thresholds)
    revise_paragraph_classification(paragraphs, max_heading_distance=200 // scale)
    good = [not p.is_boilerplate and not b.separator for p, b in zip(paragraphs, blocks)]
    return good, [p.cf_class in ("good", "neargood") for p in paragraphs]


def main_stretch(blocks: list[Block], good: list[bool], prose: list[bool]) -> tuple[int, int]:
    """[first, last) blocks of the article: the stretch of the page with the most main text, and
    the stretches beside it that carry a fair share of their own. Stretches are parted by
    thematic breaks, copyright lines and runs of blocks that do not read as prose on their own
    (jusText's context pass would let a comment thread or a sidebar join the article)."""
    stretches, start, bad_run = [], 0, 0
    for i, (block, ok) in enumerate(zip(blocks, prose)):
        bad_run = 0 if ok else bad_run + 1
        if block.separator or bad_run == BOILERPLATE_RUN or ("©" in block.text and not ok):
            stretches.append((start, i + 1))
            start = i + 1
    stretches.append((start, len(blocks)))

    def weight(stretch: tuple[int, int]) -> int:
        return sum(len(blocks[i].text) for i in range(*stretch) if good[i])

    weights = [weight(s) for s in stretches]
    best = max(range(len(stretches)), key=weights.__getitem__)
    first, last = best, best
    while first > 0 and weights[first - 1] >= SIDE_STRETCH * weights[best]:
        first -= 1
    while last + 1 < len(stretches) and weights[last + 1] >= SIDE_STRETCH * weights[best]:
        last += 1
    return stretches[first][0], stretches[last][1]


@dataclass
class MainText:
    paragraphs: list[str]
    start: int  # index of the article's first block
    end: int  # index of the block after its last one: links past it are the page's, not the article's


def main_paragraphs(blocks: list[Block], language: str | None, extracted: bool = False) -> MainText:
    """The article's paragraphs among a page's blocks. `extracted` blocks come from an extractor
    that already chose the main content (trafilatura on HTML): only the chrome it leaves is
    dropped. A paragraph cut in two by a page break ("...is not being" / "implemented.") is
    joined again."""
    kept = [(i, Block(" ".join(b.text.split()), b.links, b.heading, b.separator or bool(SEPARATOR.match(b.text))))
            for i, b in enumerate(blocks)]
    kept = [(i, b) for i, b in kept if b.text or b.separator]
    if not kept:
        return MainText([], 0, 0)
    clean = [b for _, b in kept]
    good, prose = ([not b.separator for b in clean],) * 2 if extracted else classify_blocks(clean, language)
    good = [ok and not is_chrome(b) for ok, b in zip(good, clean)]
    if not any(good):  # a short text, all of it below jusText's lengths: keep what reads as sentences
        good = [not b.separator and bool(TERMINAL.search(b.text)) and len(b.text) >= 20 for b in clean]
    first, last = (0, len(clean)) if extracted else main_stretch(clean, good, prose)
    paragraphs: list[str] = []
    start, end = None, kept[first][0]
    for k in range(first, last):
        index, block = kept[k]
        if good[k] or (paragraphs and _continues(paragraphs[-1], block)):
            paragraphs.append(block.text)
            start = index if start is None else start
            end = index + 1
    return MainText(_rejoin(paragraphs), kept[first][0] if start is None else start, end)


def _continues(previous: str, block: Block) -> bool:
    """The second half of a paragraph that a page break cut: "...is not being" / "implemented."."""
    return not TERMINAL.search(previous) and block.text[:1].islower() and not block.links and not block.separator


def _rejoin(paragraphs: list[str]) -> list[str]:
    out: list[str] = []
    for text in paragraphs:
        if out and not TERMINAL.search(out[-1]) and text[:1].islower():
            out[-1] = f"{out[-1]} {text}"
        else:
            out.append(text)
    return out


def html_blocks(html: str) -> list[Block]:
    """The blocks of a page's main content as trafilatura extracts it, with their links and
    headings. Its balanced default: on 84 real pages favor_precision lost more article text
    (recall 0.93 against 0.96) than the chrome it kept out."""
    import lxml.etree
    import trafilatura

    xml = trafilatura.extract(html, output_format="xml", include_links=True, include_comments=False,
                              include_tables=False)
    if not xml:
        return []
    root = lxml.etree.fromstring(xml.encode("utf-8"), lxml.etree.XMLParser(recover=True))
    blocks = []
    for el in root.iter("p", "head", "item", "quote", "code"):
        if any(a.tag in ("p", "item", "quote", "code") for a in el.iterancestors()):
            continue  # its text is its ancestor's
        text = " ".join("".join(el.itertext()).split())
        links = [(ref.get("target") or "", " ".join("".join(ref.itertext()).split())) for ref in el.iter("ref")]
        if text:
            blocks.append(Block(text, links, heading=el.tag == "head"))
    return blocks
