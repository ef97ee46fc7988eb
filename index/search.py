"""Queries -> hits with the time of the first matched word, on any backend.

The query language is Whoosh's (words, "phrases", OR, NOT, prefix*, fuzzy~) plus -word and
the filters article: video: source: lang: after: before:. A hyphenated word ("al-Tanf") is
searched as a phrase, the way it is indexed.

One query, every backend: the query is parsed here into one tree of Whoosh query objects
(the parser is Whoosh's; phrases become word pairs, prefix*, word~ and wildcards the words
of the archive they stand for), and a backend (`Passages`) only finds the passages that
match it, best first. Placing the moment, the snippet, sound-alike matching and "did you
mean" happen here, on the passages' text and word times, so the same passage gives the
same hit on Whoosh and on Typesense (index/backends/).

The rest of this module is the Whoosh side (`WhooshPassages`, the searchers it keeps).

How a query runs, and why (benchmarks/search.py, 1M synthetic passages, 2 shared cores;
DESIGN.md measured 381 ms p95 for common terms and 950 ms for phrases of frequent words
with Whoosh's own query classes):
- A phrase is an AND of its word pairs in the `pairs` field, then checked word by word.
  Whoosh's positional phrase query decoded positions in Python for every passage holding
  all the words.
- Ranking is BM25 over every matching passage, without scoring them all: a block-max
  top-k search (ranking.py). The total is exact when the rarest word is in at most a
  couple of thousand passages, an estimate otherwise (`Result.total_exact` is False).
- Filters restrict without scoring (`restrict` of ranking.top_docs); Whoosh's `filter=`
  argument built a document set first (575 ms p95). A filter that keeps most passages
  (source:transcript) is written as NOT its complement (`_mostly`), which a search looks
  passages up in rather than walking through.
- One searcher per index directory and thread is kept for the life of the process and
  replaced when the index changes (a commit, or a new build: index/layout.py).
"""
from __future__ import annotations

import os
import re
import threading
from array import array
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from whoosh import index as whoosh_index
from whoosh.matching.binary import AndNotMatcher
from whoosh.qparser import FuzzyTermPlugin, PlusMinusPlugin, QueryParser
from whoosh.query import (And, AndNot, Every, FuzzyTerm, Not, NullQuery, Or, Phrase, Prefix, Query, Term,
                          Wildcard)

from archiver.words import spans

from . import layout, phonetic
from .ranking import FastBM25, top_docs
from .schema import TERMS_VERSION, WORD, fold, make_schema, pair_terms, terms

HYPHENATED = re.compile(r'(?<![\w"])(\w+(?:-\w+)+)(?![\w"])')
FILTER = re.compile(r'(?<!\S)(article|video|source|lang|after|before|speaker):("[^"]*"|\S+)', re.IGNORECASE)
MARK_START, MARK_END = "\x02", "\x03"  # around matched words in snippets; the CLI renders them
UNMARKED = str.maketrans("", "", MARK_START + MARK_END)  # a transcript made elsewhere can hold the marks
SOUND_CANDIDATES = 100  # passages checked word by word in a sound-alike search
CONTEXT_WORDS = 8  # words of context each side of the match in a snippet
PHRASE_CHECK = 300  # candidates of a 3+ word phrase checked word by word for an exact total


def _and_not_find_first(self):
    # Whoosh-Reloaded 2.7.5 skips the excluded matcher only when both start on the same
    # document, so "pompeo -russia" kept passages with "russia" whenever the first passage
    # with "russia" came earlier than the first with "pompeo". _find_next skips it right.
    if self.a.is_active() and self.b.is_active():
        self._find_next()


AndNotMatcher._find_first = _and_not_find_first


class OutdatedIndex(Exception):
    """The index on disk was written with another schema; `archiver reindex` rebuilds it."""


class BadQuery(ValueError):
    """A query that cannot mean anything (after:2020-13); the message says how to write it."""


@dataclass
class IndexHit:
    source: str
    text: str
    snippet: str
    start: float | None  # the moment of the first matched word (or of the sentence)
    end: float | None
    video_id: str
    article_id: str
    score: float


@dataclass
class Result:
    hits: list[IndexHit]
    total: int
    total_exact: bool = True
    suggestions: list[str] = field(default_factory=list)
    sounds_like: bool = False


# ---------------------------------------------------------------- opening


_searchers = threading.local()  # {index dir: (live directory and its inode, searcher)}; a searcher is not thread-safe


class Passages(Protocol):
    """What a search asks of a backend's index. A passage is known by a reference (`ref`)
    that only the backend reads; `stored` gives its fields: source, video_id, article_id,
    text, start, end and times (the start of each whitespace-separated word, transcripts)."""

    def lexicon(self) -> phonetic.Lexicon:
        """The table of every word the index holds (prefix*, word~, sound-alike, did you mean)."""

    def restriction(self, filters: dict[str, list[str]], article_videos: dict[str, list[str]] | None,
                    dated_videos: list[str] | None) -> Query | None:
        """The filters as one query to intersect with (see filter_query)."""

    def top(self, q: Query, k: int, restrict: Query | None) -> tuple[list[tuple[float, Any]], int, bool]:
        """The k best (score, ref) of q within restrict, best first; the total; whether it is exact."""

    def stored(self, ref: Any) -> dict[str, Any]: ...

    def best_of_each(self, alternatives: list[Term], k: int, restrict: Query | None) -> list[tuple[float, Any]]:
        """The k passages whose best alternative word scores highest, best first."""

    def frequencies(self, words: list[str]) -> dict[str, int]:
        """How many passages hold each word."""


def is_current(ix) -> bool:
    if set(ix.schema.names()) != set(make_schema().names()):
        return False
    text = ix.schema["text"]  # the version of the rules that made its terms (schema.TERMS_VERSION)
    return type(text).__name__ == "WordsField" and getattr(text, "terms_version", 1) == TERMS_VERSION


def searcher_for(index_dir: Path):
    """The searcher of this thread for this index, refreshed when the index changed (a new
    commit, or a new build from `archiver reindex`)."""
    cache = _searchers.__dict__.setdefault("by_dir", {})
    key = str(index_dir)
    for attempt in range(3):
        live = layout.live_dir(Path(index_dir))
        if live is None:
            return None
        try:
            where = (str(live), os.stat(live).st_ino)
            known = cache.get(key)
            if known is not None and known[0] == where and known[1].up_to_date():
                return known[1]
            # Not Searcher.refresh(): Whoosh-Reloaded 2.7.5 reuses the readers of segments that a
            # merge removed and keeps the old deletions of those it kept, so a refreshed searcher
            # still found the passages of a re-indexed video. A new searcher opens in milliseconds.
            forget(index_dir)
            ix = whoosh_index.open_dir(str(live))
        except FileNotFoundError:  # a rebuild removed that build just now: CURRENT names the next
            if attempt == 2:
                raise
            continue
        if not is_current(ix):
            raise OutdatedIndex(f"the search index in {index_dir} was made by an older version")
        searcher = ix.searcher(weighting=FastBM25())
        cache[key] = (where, searcher)
        return searcher


def lexicon_for(searcher) -> phonetic.Lexicon:
    """The word table of the searcher's index, complete for it (see phonetic.Lexicon)."""
    lexicon = getattr(searcher, "archive_lexicon", None)
    if lexicon is None:
        reader = searcher.reader()
        words = (w.decode("utf-8") for w in reader.lexicon("text")) if "text" in reader.indexed_field_names() else ()
        # an index with no segment yet (the first add has not committed) reads as generation None
        generation = reader.generation()
        lexicon = phonetic.Lexicon(searcher._ix.storage.folder).complete(words, -1 if generation is None else generation)
        searcher.archive_lexicon = lexicon
    return lexicon


def _up_to_date(searcher) -> bool:
    try:
        return searcher.up_to_date()
    except OSError:  # its build is gone altogether
        return False


def forget(index_dir: Path) -> None:
    """Close this thread's searcher of an index."""
    known = _searchers.__dict__.get("by_dir", {}).pop(str(index_dir), None)
    if known is not None:
        known[1].close()


# ---------------------------------------------------------------- parsing


def split_filters(query: str) -> tuple[str, dict[str, list[str]]]:
    filters: dict[str, list[str]] = {}
    for name, value in FILTER.findall(query):
        filters.setdefault(name.lower(), []).append(value.strip('"'))
    return FILTER.sub(" ", query).strip(), filters


def filter_query(filters: dict[str, list[str]], article_videos: dict[str, list[str]] | None = None,
                 dated_videos: list[str] | None = None, searcher=None) -> Query | None:
    """The filters as one query to intersect with.

    article:ID covers the article's sentences and the transcripts of its videos; after: and
    before: cover the passages dated by the index and the videos of the articles in range
    (`dated_videos`, from the catalog). Given the searcher, a filter that lets most
    passages through is written as NOT its complement (see `_mostly`).
    """
    article_videos = article_videos or {}
    clauses: list[Query] = []
    if "article" in filters:
        subs = [Term("article_id", a) for a in filters["article"]]
        subs += [Term("video_id", v) for a in filters["article"] for v in article_videos.get(a, [])]
        clauses.append(Or(subs))
    if "video" in filters:
        clauses.append(Or([Term("video_id", v) for v in filters["video"]]))
    if "speaker" in filters:  # an id (S1) or a name, whole or one of its words (see writer.speaker_terms)
        clauses.append(Or([Term("speaker", " ".join(terms(v))) for v in filters["speaker"]]))
    for name in ("source", "lang"):
        if name in filters:
            values = [v.lower() for v in filters[name]]
            everything = _field_values(searcher, name)
            clauses.append(_mostly(searcher, [Term(name, v) for v in values],
                                   [Term(name, v) for v in everything if v not in values]))
    if "after" in filters or "before" in filters:
        first, last = date_bounds(filters)
        years = _years(searcher) if searcher is not None else None
        inside = [Term("date", t) for t in date_range_terms(first, last, years)]
        outside = [Term("date", "none")]
        if years and first and first > date(years[0], 1, 1):
            outside += [Term("date", t) for t in date_range_terms(None, first - timedelta(days=1), years)]
        if years and last and last < date(years[1], 12, 31):
            outside += [Term("date", t) for t in date_range_terms(last + timedelta(days=1), None, years)]
        videos = [Term("video_id", v) for v in dated_videos or []]
        clauses.append(Or(inside + videos) if videos else _mostly(searcher, inside, outside))
    clauses = [c for c in clauses if c is not None]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else And(clauses)


def _field_values(searcher, fieldname: str) -> list[str]:
    if searcher is None or fieldname not in searcher.reader().indexed_field_names():
        return []
    return list(searcher.reader().field_terms(fieldname))


def _mostly(searcher, wanted: list[Query], others: list[Query]) -> Query | None:
    """OR of `wanted`, or NOT OR of `others` when the wanted terms cover most passages
    (None when they cover all: no restriction).

    Every passage has exactly one source, one lang ("und" when unknown) and a date ("none"
    when unknown), so both mean the same. Intersecting with a list that holds most of
    the index walks it in Python a posting at a time (source:transcript, 80% of the
    passages, cost 15 us per hit); skipping past a short NOT list costs almost nothing.
    """
    if not wanted:
        return NullQuery
    if searcher is None:
        return Or(wanted)
    reader = searcher.reader()
    covered = sum(reader.doc_frequency(t.fieldname, t.text) for t in wanted)
    if covered * 2 < reader.doc_count_all():
        return Or(wanted)
    return Not(Or(others)) if others else None


def date_bounds(filters: dict[str, list[str]]) -> tuple[date | None, date | None]:
    """The first and last day that after: and before: let through (None: no bound)."""
    return (_parse_date(filters.get("after", [""])[-1], "after"),
            _parse_date(filters.get("before", [""])[-1], "before"))


def _shown(text: str) -> str:
    """Text for a one-line message: its control characters (a line break) written out."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _parse_date(text: str, name: str) -> date | None:
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
    if not m or (m[2] and not 1 <= int(m[2]) <= 12):
        raise BadQuery(f"{name}:{_shown(text)} is not a date; write {name}:YYYY, {name}:YYYY-MM or {name}:YYYY-MM-DD")
    year, month, day = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    try:
        if name == "after":  # after:2020 means from 2021-01-01; after:2020-03 from April
            if not month:
                return date(year + 1, 1, 1)
            if not day:
                return date(year + (month == 12), month % 12 + 1, 1)
            return date(year, month, day) + timedelta(days=1)
        return date(year, month or 1, day or 1) - timedelta(days=1)  # before: the day before the first
    except (ValueError, OverflowError) as e:  # after:2020-02-30; after:9999-12-31 and before:0001 leave the calendar
        raise BadQuery(f"{name}:{_shown(text)}: {e}") from None


def date_range_terms(first: date | None, last: date | None, years: tuple[int, int] | None = None) -> list[str]:
    """The fewest date terms (years, months, days; see schema.date_terms) covering first..last,
    within `years` (the first and last year in the index) when known."""
    low, high = years or (1900, 2199)
    first = max(first or date(low, 1, 1), date(low, 1, 1))
    last = min(last or date(high, 12, 31), date(high, 12, 31))
    out: list[str] = []
    day = first
    while day <= last:
        year_end = date(day.year, 12, 31)
        if day.month == 1 and day.day == 1 and year_end <= last:
            out.append(f"y{day.year}")
            day = year_end + timedelta(days=1)
            continue
        month_end = date(day.year + (day.month == 12), day.month % 12 + 1, 1) - timedelta(days=1)
        if day.day == 1 and month_end <= last:
            out.append(f"m{day.isoformat()[:7]}")
            day = month_end + timedelta(days=1)
            continue
        out.append(f"d{day.isoformat()}")
        day += timedelta(days=1)
    return out


def parse(text: str, schema) -> Query:
    """The user's words as a Whoosh query (phrases still phrases; see rewrite)."""
    parser = QueryParser("text", schema)
    parser.add_plugin(PlusMinusPlugin())
    parser.add_plugin(FuzzyTermPlugin())
    return parser.parse(_quote_hyphenated(text))


def _quote_hyphenated(text: str) -> str:
    """al-Tanf -> "al-Tanf": a phrase, not "al" without "Tanf"."""
    parts = re.split(r'("[^"]*")', text)  # leave quoted phrases alone
    return "".join(p if p.startswith('"') else HYPHENATED.sub(r'"\1"', p) for p in parts)


MAX_EXPANSION = 1024  # words a prefix* or fuzzy~ term stands for at most


def rewrite(q: Query, lexicon: phonetic.Lexicon | None = None) -> Query:
    """Phrases become ANDs of word pairs; prefix*, fuzzy~ and wildcard (a?c, a*c) terms become
    the words of the lexicon they stand for (without one, their text is folded like the index)."""
    if isinstance(q, Phrase):
        words = [fold(w) for w in q.words]
        if len(words) == 1:
            return Term("text", words[0], boost=q.boost)
        return And([Term("pairs", p) for p in pair_terms(words)], boost=q.boost)
    if isinstance(q, FuzzyTerm) and lexicon is not None:
        near = lexicon.spelled_like(fold(q.text), q.maxdist, max(1, q.prefixlength))  # same first letter, as documented
        ranked = sorted(near.items(), key=lambda kv: (kv[1], kv[0]))[:MAX_EXPANSION]
        return Or([Term("text", w, boost=q.boost * (1.0 if d == 0 else 0.8)) for w, d in ranked]) if ranked else NullQuery
    if isinstance(q, Prefix) and lexicon is not None:
        words = lexicon.starting_with(fold(q.text), MAX_EXPANSION)
        return Or([Term("text", w, boost=q.boost) for w in words]) if words else NullQuery
    if isinstance(q, Wildcard) and lexicon is not None:
        words = lexicon.matching(fold(q.text), MAX_EXPANSION)
        return Or([Term("text", w, boost=q.boost) for w in words]) if words else NullQuery
    if isinstance(q, (Prefix, Wildcard, FuzzyTerm)):
        return type(q)(q.fieldname, fold(q.text), boost=q.boost)
    if q.is_leaf():
        return q
    return q.apply(lambda child: rewrite(child, lexicon))


@dataclass
class Wanted:
    """What the hits shown must contain, to place the moment and mark the snippet."""

    words: set[str] = field(default_factory=set)
    phrases: list[tuple[str, ...]] = field(default_factory=list)
    patterns: list[re.Pattern] = field(default_factory=list)
    fuzzy: list[tuple[str, int, int]] = field(default_factory=list)  # (word, maxdist, prefix length)
    required_phrases: list[tuple[str, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases or self.patterns or self.fuzzy)


def wanted(q: Query, top: bool = True) -> Wanted:
    """The positive parts of a parsed query (before rewriting)."""
    out = Wanted()
    _collect(q, out, required=top)
    return out


def _collect(q: Query, out: Wanted, required: bool) -> None:
    if isinstance(q, Phrase):
        words = tuple(fold(w) for w in q.words)
        if len(words) == 1:
            out.words.add(words[0])
        else:
            out.phrases.append(words)
            if required:
                out.required_phrases.append(words)
    elif isinstance(q, Term):
        if q.fieldname == "text":
            out.words.add(fold(q.text))
    elif isinstance(q, FuzzyTerm):
        out.fuzzy.append((fold(q.text), q.maxdist, max(1, q.prefixlength)))
    elif isinstance(q, Prefix):
        out.patterns.append(re.compile(re.escape(fold(q.text)) + r".*"))
    elif isinstance(q, Wildcard):
        out.patterns.append(re.compile(re.escape(fold(q.text)).replace(r"\*", ".*").replace(r"\?", ".")))
    elif isinstance(q, Not):
        return
    elif isinstance(q, AndNot):
        _collect(q.a, out, required)
    elif isinstance(q, And):
        for child in q.children():
            _collect(child, out, required)
    elif not q.is_leaf():
        for child in q.children():
            _collect(child, out, False)


# ---------------------------------------------------------------- running


def search(index_dir: Path, query: str, limit: int = 10, *, sounds_like: bool = False,
           article_videos: dict[str, list[str]] | None = None,
           dated_videos: list[str] | None = None) -> Result:
    """Search the Whoosh index in index_dir."""
    for attempt in range(3):
        searcher = searcher_for(index_dir)
        if searcher is None:
            return Result([], 0)
        try:
            return run(WhooshPassages(searcher), query, limit, sounds_like=sounds_like,
                       article_videos=article_videos, dated_videos=dated_videos)
        except (FileNotFoundError, TypeError) as e:
            # A writer's merge removed segment files this searcher had not opened yet (Whoosh
            # opens a segment's columns lazily): the index is whole, this view of it is gone;
            # a new searcher reads the segments that replaced them. A column found missing that
            # way is not an error but None, which Whoosh then subscripts: that TypeError is the
            # same stale view when the index has changed since, and a bug of ours when it has not.
            if isinstance(e, TypeError) and _up_to_date(searcher):
                raise
            forget(index_dir)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def run(passages: Passages, query: str, limit: int = 10, *, sounds_like: bool = False,
        article_videos: dict[str, list[str]] | None = None, dated_videos: list[str] | None = None) -> Result:
    """A query on a backend's passages: words and filters, else how it sounds, else did you mean."""
    words, filters = split_filters(query)
    if not words and not filters:
        return Result([], 0)
    restrict = passages.restriction(filters, article_videos, dated_videos)
    lexicon = passages.lexicon()
    if sounds_like:
        return sound_search(passages, words, restrict, limit, lexicon)
    result = text_search(passages, words, restrict, limit, lexicon)
    if not result.hits and _is_plain(words):
        result = sound_search(passages, words, restrict, limit, lexicon)  # misheard? try how it sounds
    if not result.hits and words:
        result.suggestions = suggest(passages, words, lexicon)
    return result


def _years(searcher) -> tuple[int, int] | None:
    """The first and last year of the dated passages (kept with the searcher)."""
    if not hasattr(searcher, "archive_years"):
        reader = searcher.reader()
        years = [int(t[1:]) for t in reader.expand_prefix("date", "y") if t[1:].isdigit()] \
            if "date" in reader.indexed_field_names() else []
        searcher.archive_years = (min(years), max(years)) if years else None
    return searcher.archive_years


_SCHEMA: list = []


def ranked_query(searcher, words: str, lexicon: phonetic.Lexicon | None = None) -> tuple[Query | None, Query]:
    """(the parsed query, None without words; the query that ranks: rewritten, Every() without words).
    The searcher only lends its schema: None parses with this version's (any backend)."""
    if searcher is None and not _SCHEMA:
        _SCHEMA.append(make_schema())
    parsed = parse(words, searcher.schema if searcher is not None else _SCHEMA[0]) if words else None
    if parsed is None or parsed is NullQuery:
        return None, Every()
    return parsed, rewrite(parsed, lexicon)


def text_search(passages: Passages, words: str, restrict: Query | None, limit: int,
                lexicon: phonetic.Lexicon | None = None) -> Result:
    parsed, main = ranked_query(None, words, lexicon)
    want = wanted(parsed) if parsed is not None else Wanted()
    if main is NullQuery:  # a prefix or fuzzy term that stands for no word of the archive
        return Result([], 0)
    long_phrases = [p for p in want.required_phrases if len(p) > 2]
    items, total, exact = passages.top(main, limit * 3 + 10, restrict)
    if long_phrases:
        # Pairs found apart ("a b" and "b c" but not "a b c") are not the phrase: check every
        # candidate when there are few, so that the total is exact; else it is an upper bound.
        if exact and total <= PHRASE_CHECK:
            items, _, _ = passages.top(main, total, restrict)
            items = _checked(passages, items, long_phrases)
            total = len(items)
        else:
            exact = False
    hits, seen = [], set()
    for score, ref in items:
        stored = passages.stored(ref)
        located = locate(stored["text"], want)
        if located is None:
            continue  # a required phrase of 3+ words whose pairs were found apart
        first, marked = located
        moment = moment_of(stored, first)
        place = (stored.get("video_id"), stored.get("source"), None if moment is None else round(moment, 1))
        if moment is not None and place in seen:
            continue  # the same words, found again in the overlapping passage
        seen.add(place)
        hits.append(_hit(stored, snippet(stored["text"], marked, first), moment, score))
        if len(hits) >= limit:
            break
    return Result(hits, total, exact)


def _checked(passages: Passages, items: list[tuple[float, Any]], phrases: list[tuple[str, ...]]) -> list[tuple[float, Any]]:
    """The items whose text holds every phrase, word by word."""
    wanted_text = [f" {' '.join(p)} " for p in phrases]
    out = []
    for score, ref in items:
        words = f" {' '.join(terms(passages.stored(ref)['text']))} "
        if all(p in words for p in wanted_text):
            out.append((score, ref))
    return out


def _hit(stored: dict[str, Any], text_snippet: str, moment: float | None, score: float) -> IndexHit:
    return IndexHit(stored["source"], stored["text"], text_snippet, moment, stored.get("end"),
                    stored.get("video_id") or "", stored.get("article_id") or "", round(score, 3))


def _is_plain(words: str) -> bool:
    """Only words and phrases: no operator that a sound-alike search could not honour."""
    return bool(_plain_words(words)) and not re.search(r'(?<!\S)-|[*?~()]|\b(?:OR|NOT|AND)\b', words)


def _plain_words(words: str) -> list[str]:
    """The words of a query without operators, negated words, wildcards and fuzzy marks."""
    out = []
    for token in re.findall(r'-?[^\s"()]+', words):
        if token.startswith("-") or token in ("AND", "OR", "NOT") or "*" in token or "?" in token:
            continue
        out.append(token.split("~")[0])
    return [w for w in out if WORD.search(w)]


# ---------------------------------------------------------------- where in the passage


def word_tokens(text: str) -> list[tuple[int, str, int, int]]:
    """(index of the whitespace-separated word, folded term, start, end) for every term of a
    passage; start and end are character offsets inside that word."""
    return [(i, word, start, end) for i, chunk in enumerate(text.split()) for start, end, word in spans(chunk)]


Marks = dict[int, list[tuple[int, int]]]  # whitespace word -> matched character spans in it


def locate(text: str, want: Wanted) -> tuple[int | None, Marks] | None:
    """(first matched word, matched spans by word) in whitespace-word indexes; None when a
    required phrase is not in the text."""
    tokens = word_tokens(text)
    seq = [t[1] for t in tokens]
    marks: Marks = {}
    first: int | None = None

    def hit(k: int, n: int = 1) -> None:
        nonlocal first
        for j in range(k, k + n):
            chunk, _, a, b = tokens[j]
            marks.setdefault(chunk, []).append((a, b))
        if first is None or tokens[k][0] < first:
            first = tokens[k][0]

    found_phrases = set()
    for phrase in want.phrases:
        n = len(phrase)
        for k in range(len(seq) - n + 1):
            if tuple(seq[k:k + n]) == phrase:
                hit(k, n)
                found_phrases.add(phrase)
    if any(p not in found_phrases for p in want.required_phrases):
        return None
    for k, term in enumerate(seq):
        if term in want.words or any(p.fullmatch(term) for p in want.patterns) or _fuzzy_match(term, want.fuzzy):
            hit(k)
    return first, marks


def whole_words(text: str, first: int, last: int) -> Marks:
    """Marks covering the terms of whitespace words first..last."""
    marks: Marks = {}
    for chunk, _, a, b in word_tokens(text):
        if first <= chunk <= last:
            marks.setdefault(chunk, []).append((a, b))
    return marks


def _fuzzy_match(term: str, fuzzy: list[tuple[str, int, int]]) -> bool:
    if not fuzzy:
        return False
    from rapidfuzz.distance import Levenshtein

    return any(term[:p] == w[:p] and Levenshtein.distance(term, w, score_cutoff=d) <= d for w, d, p in fuzzy)


def unpack_times(packed: bytes | None) -> list[float]:
    if not packed:
        return []
    values = array("I")
    values.frombytes(packed)
    return [v / 100 for v in values]


def pack_times(seconds: list[float]) -> bytes:
    return array("I", (max(0, round(s * 100)) for s in seconds)).tobytes()


def moment_of(stored: dict[str, Any], word: int | None) -> float | None:
    """When the given whitespace word is spoken: its own time in a transcript passage, or
    in an article sentence a time interpolated by its position in the sentence's span."""
    start, end = stored.get("start"), stored.get("end")
    if word is None:
        return start
    times = stored.get("times")
    times = unpack_times(times) if isinstance(times, bytes) else times  # Whoosh packs them (see pack_times)
    if times:
        return times[min(word, len(times) - 1)]
    if start is None or end is None:
        return start
    chunks = stored["text"].split()
    offset = sum(len(c) + 1 for c in chunks[:word])
    return round(start + (end - start) * offset / max(1, len(stored["text"])), 2)


def snippet(text: str, marks: Marks, first: int | None) -> str:
    """A few words each side of the first match, matched words between MARK_START/MARK_END
    (a phrase, or "al-Tanf", marked as one piece)."""
    chunks = text.split()
    if not chunks:
        return ""
    center = first if first is not None else 0
    last = max((m for m in marks if m - center <= CONTEXT_WORDS * 2), default=center)
    lo, hi = max(0, center - CONTEXT_WORDS), min(len(chunks), last + CONTEXT_WORDS + 1)
    out = [_mark(chunks[i], marks[i]) if i in marks else chunks[i].translate(UNMARKED) for i in range(lo, hi)]
    joined = " ".join(out).replace(f"{MARK_END} {MARK_START}", " ")
    return ("… " if lo > 0 else "") + joined + (" …" if hi < len(chunks) else "")


def _mark(chunk: str, spans: list[tuple[int, int]]) -> str:
    """Mark spans of a word, joining those that only punctuation separates ("al-Tanf")."""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and not WORD.search(chunk[merged[-1][1]:a]):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out += [chunk[pos:a].translate(UNMARKED), MARK_START, chunk[a:b].translate(UNMARKED), MARK_END]
        pos = b
    out.append(chunk[pos:].translate(UNMARKED))
    return "".join(out)


# ---------------------------------------------------------------- sounds alike


MAX_SOUND_WORDS = 64  # indexed words tried for one sound-alike query, closest keys first


def sound_search(passages: Passages, words: str, restrict: Query | None, limit: int,
                 lexicon: phonetic.Lexicon) -> Result:
    plain = _plain_words(words)
    keys = phonetic.query_keys([t for w in plain for t in terms(w)])
    near = lexicon.words_like(keys) if keys else {}
    length = sum(len(w) for w in plain)
    ranked = sorted(near.items(), key=lambda item: (item[1], abs(len(item[0]) - length), item[0]))
    alternatives = [Term("text", word, boost=1.0 if distance == 0 else 0.5)
                    for word, distance in ranked[:MAX_SOUND_WORDS]]
    if not alternatives:
        return Result([], 0, sounds_like=True)
    items = passages.best_of_each(alternatives, SOUND_CANDIDATES, restrict)
    query_text = " ".join(plain)
    scored = []
    span = len(plain) + 1
    for rank, (score, ref) in enumerate(items):  # best first: the rank breaks ties (older passage first)
        stored = passages.stored(ref)
        chunks = stored["text"].split()
        anchors = {i for i, t, _, _ in word_tokens(stored["text"]) if t in near}
        starts = {i - k for i in anchors for k in range(span + 1)}
        match = phonetic.best_match(query_text, chunks, starts)
        if match is not None:
            scored.append((match.score, score, rank, stored, match))
    scored.sort(key=lambda x: (-x[0], -x[1], x[2]))
    hits, seen = [], set()
    for similarity, _, _, stored, match in scored:
        moment = moment_of(stored, match.first_word)
        place = (stored.get("video_id"), stored.get("source"), None if moment is None else round(moment, 1))
        if place in seen:
            continue
        seen.add(place)
        marks = whole_words(stored["text"], match.first_word, match.last_word)
        hits.append(_hit(stored, snippet(stored["text"], marks, match.first_word), moment, similarity))
        if len(hits) >= limit:
            break
    return Result(hits, len(scored), len(items) < SOUND_CANDIDATES, sounds_like=True)


def best_of_each(searcher, alternatives: list[Term], k: int, restrict: Query | None) -> list[tuple[float, int]]:
    """The k passages whose best alternative word scores highest (BM25), every passage of
    every alternative competing.

    A passage is as good a candidate as its best sound-alike word: a sum would favour
    passages holding several weak ones, and cost much more (sixty words, some of them in a
    passage in ten, give no bound that prunes a sum; the best of each word's own top k is
    exact for the maximum)."""
    best: dict[int, float] = {}
    for term in alternatives:
        for score, docnum in top_docs(searcher, term, k, restrict)[0]:
            if score > best.get(docnum, -1.0):
                best[docnum] = score
    return sorted(((s, d) for d, s in best.items()), key=lambda x: (-x[0], x[1]))[:k]


# ---------------------------------------------------------------- did you mean


def suggest(passages: Passages, words: str, lexicon: phonetic.Lexicon) -> list[str]:
    """Closest words that exist in the archive, for "did you mean", for each query word that
    the archive lacks: by spelling (within two edits, same first letter), else by sound;
    the most frequent first among equals."""
    asked = list(dict.fromkeys(t for word in _plain_words(words) for t in terms(word)))
    known = passages.frequencies(asked) if asked else {}
    out: list[str] = []
    for term in asked:
        if known.get(term):
            continue
        near = lexicon.spelled_like(term, 2, 1)
        if not near:
            near = {w: 3 for w in lexicon.words_like([(k, 0) for k, _ in phonetic.query_keys([term])])}
        frequency = passages.frequencies(list(near)) if near else {}
        # the table may know words that no passage has (see phonetic.Lexicon)
        ranked = sorted((w for w in near if frequency.get(w)), key=lambda w: (near[w], -frequency[w], w))
        out += [w for w in ranked[:3] if w not in out]
    return out[:5]


# ---------------------------------------------------------------- the Whoosh side


class WhooshPassages:
    """Passages of a Whoosh searcher: references are document numbers, ranking is ranking.py's BM25."""

    def __init__(self, searcher):
        self.searcher = searcher
        self._stored: dict[int, dict[str, Any]] = {}

    def lexicon(self) -> phonetic.Lexicon:
        return lexicon_for(self.searcher)

    def restriction(self, filters, article_videos, dated_videos) -> Query | None:
        return filter_query(filters, article_videos, dated_videos, self.searcher)

    def top(self, q: Query, k: int, restrict: Query | None):
        return top_docs(self.searcher, q, k, restrict)

    def stored(self, docnum: int) -> dict[str, Any]:
        known = self._stored.get(docnum)
        if known is None:
            known = self._stored[docnum] = self.searcher.stored_fields(docnum)
        return known

    def best_of_each(self, alternatives: list[Term], k: int, restrict: Query | None):
        return best_of_each(self.searcher, alternatives, k, restrict)

    def frequencies(self, words: list[str]) -> dict[str, int]:
        reader = self.searcher.reader()
        return {w: reader.doc_frequency("text", w) for w in words}
