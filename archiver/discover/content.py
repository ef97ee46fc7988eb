"""The parts of a news page that are the article, and the parts that are not.

Page chrome (navigation, site header and footer, sidebars, "related", "most read" and
"more stories" rails, share bars, comments, newsletters, ads) is removed before any
finder looks; links count only inside the main content, the element that holds most of
the article's paragraph text (preferring <article>, itemprop=articleBody, <main>).
Lazy-loading players keep their address in data-src and friends: it is moved into src,
so that yt-dlp's embed patterns see it.
"""
from __future__ import annotations

import re

CHROME_TAGS = {"nav", "footer", "aside", "form", "noscript", "template", "menu"}
# Words of class and id names (one name at a time, split at - and _): a strong word marks
# chrome wherever it stands; a weak one only in a name that does not also say content
# ("advert-content-wrap", "pg-rail-tall__head" hold the article's lead video).
STRONG = re.compile(r"(?:^|[-_])(?:related|recommended|recommendations?|most-?read|most-?popular|most-?viewed|"
                    r"trending|more-?(?:stories|news|videos|from|on)|also-?read|read-?next|up-?next|"
                    r"you-?may-?like|outbrain|taboola|newsletters?|comments?|disqus|share|sharing|social|"
                    r"cookies?|consent)(?:$|[-_])", re.I)
WEAK = re.compile(r"(?:^|[-_])(?:nav|navbar|navigation|menu|breadcrumbs?|masthead|footer|sidebar|rail|widgets?|"
                  r"promo|teasers?|advert|advertisement|ads|ad|dfp|sponsored|partners?|subscribe|signup|modal|"
                  r"popup|ticker|breaking-?news|listing|playlist|carousel)(?:$|[-_])", re.I)
KEEP = {"content", "body", "article", "story", "main", "media", "video", "player", "head", "lead", "embed",
        "wrap", "wrapper", "container", "inner"}
LAZY_SRC = ("data-src", "data-lazy-src", "data-litespeed-src", "data-original", "data-url", "data-iframe-src",
            "data-embed-src", "data-video-src")
BLANK_SRC = {"", "about:blank", "#", "0", "null", "javascript:void(0)", "javascript:false"}


def _label(element) -> str:
    return " ".join(filter(None, (element.get("class"), element.get("id"), element.get("role"),
                                  element.get("data-component"), element.get("data-module"))))


def is_chrome(element, in_article: bool) -> bool:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in CHROME_TAGS or (tag == "header" and not in_article):
        return True
    if element.get("role") in ("navigation", "contentinfo", "complementary") or \
            (element.get("role") == "banner" and not in_article):
        return True
    names = _label(element).split()
    if not names or any(_is_body_label(n) for n in names):
        return False
    for name in names:
        if STRONG.search(name):
            return True
        if WEAK.search(name) and not KEEP & set(re.split(r"[-_]+", name.lower())):
            return True
    return False


def _is_body_label(name: str) -> bool:
    """'article-body', 'story-body__inner', 'articleBody': the article, whatever else it says."""
    return bool(re.search(r"(?:article|story|entry|post)[-_]?(?:body|content|text)", name, re.I))


def clean_document(html: str):
    """The parsed page without its chrome; None when it is not HTML."""
    import lxml.etree
    import lxml.html

    if not html.strip():
        return None
    try:
        doc = lxml.html.document_fromstring(html.encode("utf-8", "replace") if "<?xml" in html[:100] else html)
    except (ValueError, lxml.etree.ParserError):
        return None
    body = doc.find("body")
    if body is None:
        return doc
    keep = _densest_text(doc)
    keep = set(keep.iterancestors()) | {keep} if keep is not None else set()
    drop = []
    stack = [(body, False)]
    while stack:
        element, in_article = stack.pop()
        for child in element:
            if not isinstance(child.tag, str):
                continue
            inside = in_article or child.tag in ("article", "main") or child.get("itemprop") == "articleBody"
            if child not in keep and is_chrome(child, in_article):
                drop.append(child)
            else:
                stack.append((child, inside))
    for element in drop:
        element.drop_tree()
    for element in doc.iter("iframe", "embed", "video", "audio", "source"):
        if (element.get("src") or "").strip().lower() in BLANK_SRC:
            lazy = next((element.get(a) for a in LAZY_SRC if (element.get(a) or "").strip()), None)
            if lazy:
                element.set("src", lazy.strip())
    return doc


def _text_length(element) -> int:
    return sum(len((p.text_content() or "").strip()) for p in element.iter("p"))


def _densest_text(doc):
    """The element whose paragraphs hold the most text (its parent gets half the credit)."""
    scores: dict = {}
    for p in doc.iter("p"):
        length = len((p.text_content() or "").strip())
        parent = p.getparent()
        if length < 40 or parent is None:
            continue
        scores[parent] = scores.get(parent, 0) + length
        grand = parent.getparent()
        if grand is not None:
            scores[grand] = scores.get(grand, 0) + length // 2
    return max(scores, key=scores.get) if scores else None


def main_content(doc):
    """The element that holds the article: the smallest <article>, itemprop=articleBody or
    <main> around the densest paragraphs; else the parent of those paragraphs; else <body>."""
    if doc is None:
        return None
    best = _densest_text(doc)
    if best is None:
        body = doc.find("body")
        return body if body is not None else doc
    for element in best.iterancestors():
        if element.tag in ("article", "main") or element.get("itemprop") == "articleBody":
            # an <article> teaser inside the body is not the article: it must hold most of the text
            if _text_length(element) >= 0.5 * _text_length(best):
                return element
    for element in [best, *best.iterancestors()]:
        if element.tag in ("article", "main") or element.get("itemprop") == "articleBody":
            return element
    return best.getparent() if best.getparent() is not None and best.getparent().tag != "html" else best
