"""Property-based tests (Hypothesis): random and hostile inputs to the query parser, the
article parsers, the subtitle writers and the aligner give a result or an ArchiverError of one
line, never another exception; and what they give holds its promises (sentences are exact
slices of the article text, in order; alignment times lie within the video; a VTT file parses
back with every cue; a word of the archive is found).

Inputs: every Unicode category (surrogates and unassigned code points too), controls, bidi
overrides, broken entities, NUL bytes, deep nesting, huge and empty inputs, times that are
out of order, negative, NaN or infinite. Hostile text is mixed into the real material of
tests/fixtures (the seed article, its archive, the real news pages).

Each `@example` is a failure Hypothesis found once, kept so that it stays fixed.
Examples per test: see tests/support/fuzz.py (HYPOTHESIS_PROFILE=deep, ARCHIVER_FUZZ_EXAMPLES=N).
"""
from __future__ import annotations

import gzip
import json
import math
import random
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from conftest import FIXTURES, news_page, run_json, seed_paragraphs
from support.fuzz import (HOSTILE, WORDS, any_character, examples, finite_seconds, hostile_piece, hostile_seconds,
                          hostile_text, prose)

from archiver.errors import ArchiverError


def one_line(error: ArchiverError) -> None:
    message = str(error)
    assert message and "\n" not in message and "\r" not in message and "Traceback" not in message, repr(message)


# ---------------------------------------------------------------- the query parser


QUERY_PIECES = [*HOSTILE, "safe", "haven", "Idlib", "Pompeo", "al-Tanf", '"safe haven"', "saf*", "Idlb~", "Idlb~2",
                "-Syria", "+army", "(safe OR haven)", "NOT Syria", "article:", "video:x", "source:transcript",
                "source:article", "lang:en", "lang:EN", "after:2020", "before:2020-03", "after:2020-03-20",
                "after:0000", "before:0001-01-01", "after:9999-12-31", "before:2020-13", "after:2020-02-30",
                'article:"a b"', "after:", "speaker:S1", "*", "?", "~", "\\*"]
query_text = st.lists(st.one_of(st.sampled_from(QUERY_PIECES), hostile_piece), max_size=12).map(" ".join)


@given(query_text)
def test_split_filters_takes_every_filter_out(query):
    from index.search import FILTER, split_filters

    words, filters = split_filters(query)
    assert set(filters) <= {"article", "video", "source", "lang", "after", "before", "speaker"}
    assert not FILTER.search(words), (query, words)  # no filter left among the words
    assert all(isinstance(v, str) for values in filters.values() for v in values)


@given(query_text)
def test_any_query_parses_and_rewrites(query):
    from index import phonetic
    from index.schema import make_schema
    from index.search import parse, rewrite, split_filters, wanted

    words, _ = split_filters(query)
    parsed = parse(words, make_schema())
    rewrite(parsed)
    rewrite(parsed, phonetic.Lexicon(Path("/nonexistent")))
    wanted(parsed)


date_text = st.one_of(
    st.from_regex(r"\A\d{1,5}(-\d{1,3}(-\d{1,3})?)?\Z"),
    st.dates().map(date.isoformat), st.dates().map(lambda d: d.isoformat()[:7]), st.dates().map(lambda d: f"{d.year:04d}"),
    hostile_text(4),
)


@given(date_text, date_text)
@example("0000", "")
@example("", "0001")
@example("9999-12-31", "")
@example("9999-12", "")
@example("", "0001-01-01")
@example("", "\r\n")  # the message broke into two lines
def test_dates_are_days_or_a_bad_query(after, before):
    from index.search import BadQuery, date_bounds

    filters = {name: [value] for name, value in (("after", after), ("before", before)) if value}
    try:
        first, last = date_bounds(filters)
    except BadQuery as e:
        assert "\n" not in str(e)
        return
    assert first is None or isinstance(first, date)
    assert last is None or isinstance(last, date)


def days_of(term: str) -> set[date]:
    kind, rest = term[0], term[1:]
    if kind == "d":
        return {date.fromisoformat(rest)}
    first = date.fromisoformat(rest + ("-01-01" if kind == "y" else "-01"))
    last = date(first.year, 12, 31) if kind == "y" else \
        date(first.year + (first.month == 12), first.month % 12 + 1, 1) - timedelta(days=1)
    return {first + timedelta(days=k) for k in range((last - first).days + 1)}


@given(st.one_of(st.none(), st.dates(date(1890, 1, 1), date(2210, 1, 1))), st.integers(-40, 1500),
       st.one_of(st.none(), st.tuples(st.integers(1900, 2199), st.integers(0, 3)).map(lambda t: (t[0], min(2199, t[0] + t[1])))))
def test_date_terms_cover_the_range_exactly(first, length, years):
    from index.search import date_range_terms

    last = None if first is None else first + timedelta(days=length)
    if first is None and years is None:
        years = (2019, 2021)  # the whole default span is 300 years of terms: bound it
    terms = date_range_terms(first, last, years)
    low, high = years or (1900, 2199)
    lo = max(first or date(low, 1, 1), date(low, 1, 1))
    hi = min(last or date(high, 12, 31), date(high, 12, 31))
    covered = [d for t in terms for d in days_of(t)]
    assert len(covered) == len(set(covered))  # no day twice
    assert set(covered) == {lo + timedelta(days=k) for k in range((hi - lo).days + 1)}


# ---------------------------------------------------------------- search on a real index


HOSTILE_ARTICLE = [
    "The \x02army\x03 moved \x1b[31minto\x1b[0m the \u202esafe haven\u202c near al-\x00Tanf, officials said today.",
    "Pompeo said \x03 the talks in Idlib were \u2066over\u2069 \x02 before the \ufeffweekend\u200b holiday began.",
    "A paragraph with a lone \ufffd mark, &amp; an entity, and <b>tags</b> written out as text for the reader.",
]


def spoken(video_id: str, paragraphs: list[str]):
    """A hand-made Transcript of the paragraphs, one word every 0.4 s, a segment a sentence
    (no Whisper here: the real transcripts are tested in test_pipeline.py)."""
    from archiver.models import Segment, Transcript, Word

    segments, t = [], 0.0
    for sentence in (s for p in paragraphs for s in p.split(". ")):
        words = [Word(round(t + 0.4 * k, 3), round(t + 0.4 * k + 0.3, 3), " " + w, 0.9)
                 for k, w in enumerate(sentence.split())]
        segments.append(Segment(words[0].start, words[-1].end, "".join(w.word for w in words), words))
        t = words[-1].end + 0.5
    return Transcript(video_id, "test", "test", "en", 1.0, t, segments)


@pytest.fixture(scope="module")
def search_archive(site, tmp_path_factory):
    """An archive with the seed article and one whose sentences carry controls, the snippet
    marks and bidi overrides (both added through the CLI, pages without a video), and a
    hand-made transcript of the seed article, indexed as the pipeline indexes one."""
    from archiver.config import load
    from archiver.pipeline import Archive, index_video
    from archiver.search import open_readonly

    archive = tmp_path_factory.mktemp("fuzz") / "archive"
    pages = {"fuzz-seed.html": seed_paragraphs(), "fuzz-hostile.html": seed_paragraphs()[:2] + HOSTILE_ARTICLE}
    for name, paragraphs in pages.items():
        (Path(site.root) / name).write_text(news_page(name, paragraphs, "", where=-1), encoding="utf-8")
    config = archive.parent / "no-capture.toml"  # the page's web archive is tested in test_evidence.py
    config.write_text("[evidence]\ncapture = false\n", encoding="utf-8")
    report = run_json("--config", str(config), "add", *map(site.url, pages), archive=archive)
    assert not report["errors"], report
    writer = Archive.open(archive, load(None))
    transcript = spoken("fuzzvideo", seed_paragraphs() + HOSTILE_ARTICLE)
    writer.catalog.upsert_video("fuzzvideo", webpage_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                                title="A \x02hostile\x03 \u202etitle", engine="test", model="test", stage="index")
    index_video(writer, transcript)
    return open_readonly(archive, load(None))


def check_result(result: dict) -> None:
    from archiver.search import marked

    json.dumps(result, ensure_ascii=False).encode("utf-8")  # what `search --json` prints
    for hit in result["hits"]:
        assert hit["start"] is None or math.isfinite(hit["start"])
        for a, b in hit["highlights"]:
            assert 0 <= a <= b <= len(hit["snippet"])
        assert "\x02" not in hit["snippet"] and "\x03" not in hit["snippet"]
        marked(hit, "[", "]")


@examples(0.5)
@given(query=query_text, limit=st.integers(1, 30), sounds_like=st.booleans())
@example(query="army", limit=5, sounds_like=False)
@example(query="Pompeo talks", limit=5, sounds_like=False)
def test_any_query_is_answered_or_refused_in_one_line(search_archive, query, limit, sounds_like):
    from archiver.search import search

    try:
        result = search(search_archive, query, limit, sounds_like=sounds_like)
    except ArchiverError as e:
        one_line(e)
        return
    check_result(result)


@cache
def archive_sentences(root: Path) -> list[str]:
    from index.search import word_tokens

    texts = []
    for path in sorted(root.glob("articles/*/article.json")):
        article = json.loads(path.read_text(encoding="utf-8"))
        texts += [s["text"] for s in article["sentences"]]
    return [t for t in texts if len(word_tokens(t)) >= 3]


@examples(0.5)
@given(data=st.data())
def test_words_and_phrases_of_the_archive_are_found(search_archive, data):
    from archiver.search import search
    from index.search import word_tokens

    sentence = data.draw(st.sampled_from(archive_sentences(search_archive.layout.root)), label="sentence")
    words = [t for _, t, _, _ in word_tokens(sentence)]
    k = data.draw(st.integers(0, len(words) - 1), label="first word")
    n = data.draw(st.integers(1, min(3, len(words) - k)), label="words")
    phrase = words[k:k + n]
    query = phrase[0] if n == 1 else '"' + " ".join(phrase) + '"'
    result = search(search_archive, query, 100)
    check_result(result)
    found = [" ".join(t for _, t, _, _ in word_tokens(h["text"])) for h in result["hits"]]
    assert any(f" {' '.join(phrase)} " in f" {f} " for f in found), (query, found[:3])


# ---------------------------------------------------------------- article parsers


def check_article(article) -> None:
    """Sentences are exact slices of the text, in order, inside their paragraphs; the whole
    article is text a file can hold."""
    text = article.text
    assert text == "\n\n".join(text[a:b] for a, b in article.paragraphs)
    end = 0
    for k, sentence in enumerate(article.sentences):
        assert sentence.index == k
        assert text[sentence.start_char:sentence.end_char] == sentence.text
        assert end <= sentence.start_char < sentence.end_char
        a, b = article.paragraphs[sentence.paragraph]
        assert a <= sentence.start_char and sentence.end_char <= b
        assert sentence.text == sentence.text.strip() and "\n" not in sentence.text
        end = sentence.end_char
    json.dumps(article.to_dict(), ensure_ascii=False).encode("utf-8")  # as atomic_write_json writes it
    assert "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def parse(content: str, kind: str):
    from archiver.article import parse_document

    try:
        article = parse_document(content, kind, "fuzz", f"fuzz.{kind}")
    except ArchiverError as e:
        one_line(e)
        return None
    check_article(article)
    return article


markdown_piece = st.one_of(hostile_piece, st.sampled_from(WORDS).map(lambda w: w + " "), st.sampled_from(
    ["\n\n", "\n", "# ", "## ", "> ", "* ", "- ", "1. ", "```\n", "    ", "---\n", "***", "_", "**", "`", "[", "](",
     ")", "![", "<", "|", "\\", "[watch](https://youtu.be/dQw4w9WgXcQ)", "[clip](clip.mp4)", "<https://x.org/a.mp4>",
     "[a]: https://x.org/v.mp4\n", ". ", "? "]))
markdown_text = st.lists(markdown_piece, max_size=80).map("".join)


@given(markdown_text)
@example("> " * 5000 + "deep")
@example("[" * 3000 + "x" + "](a.mp4)" * 3000)
@example("")
def test_markdown_articles(text):
    parse(text, "md")


@given(st.lists(st.one_of(prose(20), st.sampled_from(["\n", "\n\n", "\r\n", "\f", "\v"])), max_size=20).map("".join))
@example("\x00" * 100)
@example("\ud800 Sentence one is here. Sentence two is here too.")
@example("")
def test_text_articles(text):
    parse(text, "txt")


TAGS = ["p", "div", "span", "a", "article", "main", "nav", "aside", "footer", "header", "h1", "h2", "video", "audio",
        "source", "iframe", "embed", "object", "script", "style", "table", "tr", "td", "ul", "li", "br", "hr", "meta",
        "link", "base", "template", "svg", "math", "noscript", "title", "html", "body", "head", "figure", "time", "b"]
ATTRS = ["href", "src", "data-src", "class", "id", "lang", "type", "title", "property", "content", "itemprop",
         "itemtype", "data-video-id", "data-account", "rel", "name", "xml:lang", "role", "style", "onload"]
attribute_value = st.one_of(hostile_text(6), st.sampled_from(
    ["video.mp4", "https://youtu.be/dQw4w9WgXcQ", "//x.org/v.webm", "javascript:alert(1)", "data:video/mp4;base64,",
     "file:///etc/passwd", "../../etc/passwd.mp4", "application/ld+json", "og:video", "article-body", "related",
     "canonical", "http://[::1", "https://", "http://x.org/%zz.mp4", "0"]))
html_text = st.one_of(hostile_text(10), prose(30))


def element(tag: str, attrs: list[tuple[str, str]], children: list[str]) -> str:
    quoted = "".join(f' {name}="{value.replace(chr(34), "&quot;")}"' for name, value in attrs)
    return f"<{tag}{quoted}>{''.join(children)}</{tag}>"


html_tree = st.recursive(
    html_text,
    lambda children: st.builds(element, st.sampled_from(TAGS), st.lists(st.tuples(st.sampled_from(ATTRS), attribute_value),
                                                                         max_size=3), st.lists(children, max_size=5)),
    max_leaves=40,
)
json_ld = st.recursive(st.one_of(st.none(), st.booleans(), st.floats(), st.text(any_character, max_size=10),
                                 st.sampled_from(["VideoObject", "https://x.org/v.mp4", "en"])),
                       lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(
                           st.sampled_from(["@type", "@graph", "contentUrl", "embedUrl", "name", "inLanguage", "video",
                                            "@id", "url", "@list"]), inner, max_size=4)), max_leaves=20)


def html_page(body: str, ld) -> str:
    script = "" if ld is None else f'<script type="application/ld+json">{json.dumps(ld, allow_nan=True)}</script>'
    return f"<!doctype html><html><head><title>t</title>{script}</head><body>{body}</body></html>"


@examples(0.35)
@given(html_tree, st.one_of(st.none(), json_ld))
@example("<div>" * 5000 + "deep text. " * 20 + "</div>" * 5000, None)
@example("<p>x</p>", "[" * 5000 + "]" * 5000)
@example("<p>" + "&#xD800;&#0;&#27;&#1114112;&#99999999999;&bogus; &amp" * 50 + "</p>", None)
@example("\x00<p>\x00Some \x00text here. And more of it, to read.\x00</p>", None)
def test_html_articles(body, ld):
    if isinstance(ld, str):  # the raw text of a script (too deep for json.dumps)
        page = f'<html><head><script type="application/ld+json">{ld}</script></head><body>{body}</body></html>'
    else:
        page = html_page(body, ld)
    parse(page, "html")


REFERENCES = ["&#0;", "&#1;", "&#x1b;", "&#27;", "&#x1F;", "&#xFFFE;", "&#65535;", "&#xD800;", "&#x9b;", "&#1114112;",
              "&#99999999999;", "&#", "&#x;", "&bogus;", "&amp", "&nbsp", "&lt;script&gt;"]


@examples(0.25)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.one_of(st.sampled_from(REFERENCES), hostile_piece)), max_size=6))
@example([(0, "&#1;")])  # one such reference made trafilatura discard the whole article
@example([(0, "&#xFFFE;")])
def test_hostile_pieces_in_a_page_cost_only_themselves(spikes):
    """The seed article as a news page, with hostile pieces among its words (character
    references raw, everything else escaped as text): the article keeps its words."""
    import html

    from index.schema import terms

    paragraphs = seed_paragraphs()
    words = [p.split() for p in paragraphs]
    for at, piece in spikes:
        p = at % len(words)
        words[p].insert(at % (len(words[p]) + 1), piece)
    page = news_page("Spiked", [" ".join(w) for w in words], "")  # escapes the text
    for ref in REFERENCES:
        page = page.replace(html.escape(ref), ref)
    article = parse(page, "html")
    assert article is not None
    kept = set(terms(article.text))
    expected = [t for p in paragraphs for t in terms(p)]
    assert sum(t in kept for t in expected) >= 0.95 * len(expected)


@cache
def real_pages() -> list[str]:
    return [gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
            for p in sorted((FIXTURES / "real" / "pages").glob("*.html.gz"))]


@examples(0.25)
@given(st.data())
def test_real_pages_cut_and_spiked(data):
    """A real news page, cut short and with hostile pieces put in at random places."""
    pages = real_pages()
    page = pages[data.draw(st.integers(0, len(pages) - 1), label="page")]
    cut = data.draw(st.integers(0, len(page)), label="cut")
    if data.draw(st.booleans(), label="cut it"):
        page = page[:cut]
    rng = random.Random(data.draw(st.integers(0, 2**32), label="spikes"))
    pieces = data.draw(st.lists(st.one_of(st.sampled_from(HOSTILE), hostile_text(5)), max_size=12), label="pieces")
    for piece in pieces:
        at = rng.randrange(len(page) + 1)
        page = page[:at] + piece + page[at:]
    parse(page, "html")


def test_huge_inputs_are_parsed():
    """Long pages, long runs of one thing, one word of 300 KB: each parsed in time linear in its
    length. (Sentence offsets searched the whole text again for each sentence: 200 KB of ". "
    took 8 minutes, 40 KB 25 s.) pysbd costs some 20 ms a KB of prose, so the pages stay small here."""
    paragraph = " ".join(seed_paragraphs())
    article = parse("<html><body>" + f"<p>{paragraph}</p>" * 10 + "</body></html>", "html")
    assert article is not None and len(article.sentences) >= 10 * 20
    assert len(parse(". " * 20_000 + paragraph, "txt").sentences) > 10  # 25 s of CPU before the fix
    for kind in ("txt", "md"):
        assert parse("x" * 300_000, kind) is not None
    parse("<p>" + "x" * 300_000 + "</p>", "html")
    parse("<html><body>" + "<div>" * 5000 + paragraph + "</div>" * 5000 + "</body></html>", "html")


# ---------------------------------------------------------------- discovery


@examples(0.5)
@given(html_tree, st.sampled_from([None, "https://news.example/2020/story.html", "not a url", "http://[::1"]))
@example('<a href="http://[::1/v.mp4">v</a><iframe src="//[::1/embed"></iframe><base href="http://[::1">', None)
@example("<script>renderExternalContent('https://[::1/watch?v=aaaaaaaaaaa')</script>", "https://news.example/a")
def test_discovery_finds_web_addresses_only(body, base_url):
    from archiver.discover import base_for, discover_html
    from archiver.discover.urls import is_web

    page = html_page(body, None)
    base = base_for(page, base_url=base_url if base_url and is_web(base_url) else None)  # as `add --base-url` checks
    for link in discover_html(page, base):
        assert is_web(link.url), link  # a fetched page never names a local file
        assert link.found_by in {"video", "source", "json-ld", "embed", "meta", "link"}


# ---------------------------------------------------------------- subtitles


segment = st.fixed_dictionaries({"start": hostile_seconds, "end": hostile_seconds, "text": hostile_text(8)})


def cue_seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@given(st.lists(segment, max_size=12))
@example([{"start": float("nan"), "end": 1.0, "text": "a"}])
@example([{"start": -1.0, "end": 1.0, "text": "a"}])
@example([{"start": 5.0, "end": 6.0, "text": "b"}, {"start": 1.0, "end": 2.0, "text": "a"}])
@example([{"start": 1.0, "end": float("inf"), "text": "a"}])
@example([{"start": 1e300, "end": 1e300, "text": "a"}])
@example([{"start": 0.0, "end": 0.0, "text": "--> <b> &amp; \x00"}])
@example([{"start": 0.0, "end": 1.0, "text": "a"}, {"start": 0.0, "end": 0.0, "text": "b"}])  # SRT sorted them otherwise
@example([{"start": 0.0, "end": 1.0, "text": "a"}, {"start": 1e-158, "end": 0.0, "text": "b"}])  # the same to the ms
@example([{"start": 0.0, "end": 0.0, "text": "\x00\x00\n\n\x00"}])  # a cue of one space
def test_vtt_and_srt_parse_back_with_every_cue(segments):
    import srt
    import webvtt

    from archiver.export import to_srt, to_vtt

    spoken = [s for s in segments if " ".join(s["text"].split())]
    vtt = to_vtt(segments)
    cues = webvtt.from_string(vtt).captions
    subtitles = list(srt.parse(to_srt(segments)))
    assert len(cues) == len(subtitles) <= len(spoken)
    starts = [cue_seconds(c.start) for c in cues]
    assert starts == sorted(starts)  # WebVTT: cues in order of their start
    for cue, subtitle in zip(cues, subtitles):
        assert 0 <= cue_seconds(cue.start) < cue_seconds(cue.end)
        assert abs(cue_seconds(cue.start) - subtitle.start.total_seconds()) < 0.002
        assert abs(cue_seconds(cue.end) - subtitle.end.total_seconds()) < 0.002
        assert cue.text.strip() and "\n" not in cue.text
    vtt.encode("utf-8")


# ---------------------------------------------------------------- the aligner


@st.composite
def spoken_article(draw):
    """An article (seed paragraphs with hostile pieces) and transcripts of it: words dropped,
    misheard, repeated, timed in order or not, negative, NaN, infinite, of zero length."""
    from archiver.article import build_article
    from archiver.models import Segment, Transcript, Word

    paragraphs = draw(st.lists(st.one_of(st.sampled_from(seed_paragraphs()), prose(30)), min_size=1, max_size=4))
    paragraphs = [p for p in (" ".join(p.split()) for p in paragraphs) if p]
    assume(paragraphs)
    article = build_article("a", "a", "t", paragraphs, [], draw(st.sampled_from(["en", None, "de", "ja", "xx"])))
    words = " ".join(paragraphs).split()
    transcripts = {}
    for n in range(draw(st.integers(1, 3))):
        chosen = draw(st.lists(st.one_of(st.sampled_from(words), st.sampled_from(["", " ", *WORDS, *HOSTILE])),
                               max_size=120))
        ordered = draw(st.booleans())
        t, out = 0.0, []
        for w in chosen:
            if ordered:
                t += draw(st.floats(0, 2))
                start, end = t, t + draw(st.floats(0, 1))
            else:
                start, end = draw(hostile_seconds), draw(hostile_seconds)
            out.append(Word(start, end, " " + w if draw(st.booleans()) else w, draw(st.floats(0, 1))))
        cut = draw(st.integers(0, len(out)))
        segments = [Segment(p[0].start, p[-1].end, "".join(w.word for w in p), p) for p in (out[:cut], out[cut:]) if p]
        speech = draw(st.lists(st.tuples(hostile_seconds, hostile_seconds), max_size=6))
        duration = draw(st.one_of(finite_seconds, hostile_seconds))
        transcripts[f"v{n}"] = Transcript(f"v{n}", "test", "test", "en", 1.0, duration, segments, speech=speech)
    if draw(st.booleans()) and len(transcripts) > 1:  # the same video under two ids
        transcripts["v1"] = transcripts["v0"]
    return article, transcripts


def spoken_case(duration: float, words: list[tuple[float, float, str]], paragraphs: list[str] | None = None):
    """An article (the seed's first paragraph) and one transcript of these words, for an @example."""
    from archiver.article import build_article
    from archiver.models import Segment, Transcript, Word

    article = build_article("a", "a", "t", paragraphs or seed_paragraphs()[:1], [], "en")
    out = [Word(start, end, word, 0.5) for start, end, word in words]
    segment = Segment(out[0].start, out[-1].end, " ".join(words_ for *_, words_ in words), out)
    speech = [(0.0, 1.0), (float("nan"), 2.0), (3.0, -1.0)]
    return article, {"v0": Transcript("v0", "test", "test", "en", 1.0, duration, [segment], speech=speech)}


@examples(0.5)
@given(spoken_article(), st.booleans())
@example(spoken_case(0.0, [(0.0, 0.0, "ISIS"), (0.0, 0.0, "ISIS"), (0.0, 1.9375, "ISIS")]), False)  # rounded past the end
@example(spoken_case(float("nan"), [(float("nan"), -1.0, "ISIS"), (-5.0, float("inf"), "cells"), (1e300, 2.0, "are")]),
         True)
@example(spoken_case(60.0, [(0.0, 0.4, "ISIS"), (0.5, 0.9, "cells")], seed_paragraphs()[:1] + ["Adiós."]), True)
@example(spoken_case(0.0, [(1.0, 0.0, "ISIS"), (0.0, 0.0, "ISIS"), (0.0, 1.0, "ISIS"), (0.0, 0.0, "ISIS")]), False)
def test_alignment_times_lie_within_the_video(case, snap):
    from archiver.align import align, every_sentence

    article, transcripts = case
    alignments = align(article, transcripts, snap_to_speech=snap)
    assert [a.video_id for a in alignments] == list(transcripts)
    for alignment in alignments:
        transcript = transcripts[alignment.video_id]
        limit = latest_moment(transcript)
        indexes = [s.index for s in alignment.sentences]
        assert indexes == sorted(set(indexes))
        for s in alignment.sentences:
            assert s.video_id == alignment.video_id and 0 <= s.score <= 1
            assert 0 <= s.start <= s.end <= limit, (s, limit)
        for extra in alignment.extra_speech:
            assert 0 <= extra.start <= extra.end <= limit, (extra, limit)
    rows = every_sentence(article, alignments)
    assert [r.index for r in rows] == [s.index for s in article.sentences]
    json.dumps([a.to_dict() for a in alignments], allow_nan=False)  # alignment JSON is strict JSON



def latest_moment(transcript) -> float:
    """The latest moment an alignment may name: the duration, else the last word's end."""
    if math.isfinite(transcript.duration) and transcript.duration > 0:
        return transcript.duration
    return max([w.end for w in transcript.words if math.isfinite(w.end)] + [0.0])
