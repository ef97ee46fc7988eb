"""Queries -> hits with the time of the first matched word.

The query language is Whoosh's (words, "phrases", OR, NOT, prefix*) plus -word and the
filters article: video: source: lang: after: before:. A hyphenated word ("al-Tanf") is
searched as a phrase, the way it is indexed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.highlight import ContextFragmenter, Formatter, get_text
from whoosh.qparser import PlusMinusPlugin, QueryParser
from whoosh.query import And, Or, Query, Term, TermRange

from .phonetic import key, keys
from .schema import analyzer

FILTER = re.compile(r'(?<!\S)(article|video|source|lang|after|before):("[^"]*"|\S+)', re.IGNORECASE)
HYPHENATED = re.compile(r'(?<![\w"])(\w+(?:-\w+)+)(?![\w"])')
MARK_START, MARK_END = "\x02", "\x03"  # around matched words in snippets; the CLI renders them


@dataclass
class IndexHit:
    doc_id: str
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
    suggestions: list[str] = field(default_factory=list)
    sounds_like: bool = False


class _Marker(Formatter):
    between = " … "

    def format_token(self, text, token, replace=False):
        return f"{MARK_START}{get_text(text, token, replace)}{MARK_END}"


def split_filters(query: str) -> tuple[str, dict[str, list[str]]]:
    filters: dict[str, list[str]] = {}
    for name, value in FILTER.findall(query):
        filters.setdefault(name.lower(), []).append(value.strip('"'))
    return FILTER.sub(" ", query).strip(), filters


def _quote_hyphenated(text: str) -> str:
    parts = re.split(r'("[^"]*")', text)  # leave quoted phrases alone
    return "".join(p if p.startswith('"') else HYPHENATED.sub(r'"\1"', p) for p in parts)


def filter_query(filters: dict[str, list[str]], article_videos: dict[str, list[str]]) -> Query | None:
    clauses: list[Query] = []
    if "article" in filters:  # the article's sentences and the transcripts of its videos
        terms = [Term("article_id", a) for a in filters["article"]]
        terms += [Term("video_id", v) for a in filters["article"] for v in article_videos.get(a, [])]
        clauses.append(Or(terms))
    for name, fieldname in (("video", "video_id"), ("source", "source"), ("lang", "lang")):
        if name in filters:
            clauses.append(Or([Term(fieldname, v.lower() if name != "video" else v) for v in filters[name]]))
    if "after" in filters:
        clauses.append(TermRange("date", filters["after"][0], None, startexcl=True))
    if "before" in filters:
        clauses.append(TermRange("date", None, filters["before"][0], endexcl=True))
    return And(clauses) if clauses else None


def parse(text: str, schema) -> Query:
    parser = QueryParser("text", schema)
    parser.add_plugin(PlusMinusPlugin())
    return parser.parse(_quote_hyphenated(text))


def sounds_query(text: str) -> Query | None:
    words = [k for k in keys(text)]
    return And([Term("sounds", k) for k in words]) if words else None


def first_match_time(stored: dict[str, Any], matched: set[str], sounds: bool) -> float | None:
    """Start time of the first word of the passage that the query matched."""
    words = stored["text"].split()
    starts = stored.get("word_starts")
    for i, word in enumerate(words):
        if sounds:
            hit = any(key(part) in matched for part in re.findall(r"[^\W\d_]+", word))
        else:
            hit = any(t.text in matched for t in analyzer()(word))
        if hit:
            if starts and i < len(starts):
                return starts[i]
            start, end = stored.get("start"), stored.get("end")
            if start is None or end is None:
                return start
            offset = sum(len(w) + 1 for w in words[:i])  # an article sentence: interpolate by position
            return round(start + (end - start) * offset / max(1, len(stored["text"])), 2)
    return stored.get("start")


def search(index_dir: Path, query: str, limit: int = 10, *, sounds_like: bool = False,
           article_videos: dict[str, list[str]] | None = None) -> Result:
    if not whoosh_index.exists_in(str(index_dir)):
        return Result([], 0)
    ix = whoosh_index.open_dir(str(index_dir))
    words, filters = split_filters(query)
    restrict = filter_query(filters, article_videos or {})
    with ix.searcher() as searcher:
        result = _run(searcher, ix.schema, words, restrict, limit, sounds_like)
        if not result.hits and not sounds_like and words:
            result = _run(searcher, ix.schema, words, restrict, limit, True)  # misheard? try how it sounds
            if not result.hits:
                result.suggestions = suggest(searcher, words)
        return result


def _run(searcher, schema, words: str, restrict: Query | None, limit: int, sounds: bool) -> Result:
    main = sounds_query(words) if sounds else (parse(words, schema) if words else None)
    if main is None and restrict is None:
        return Result([], 0, sounds_like=sounds)
    q = And([main, restrict]) if main is not None and restrict is not None else (main or restrict)
    results = searcher.search(q, limit=limit * 3, terms=True)  # room for the duplicates removed below
    results.fragmenter = ContextFragmenter(maxchars=220, surround=60)
    results.formatter = _Marker()
    hits, seen = [], set()
    for hit in results:
        stored = hit.fields()
        matched = {t.decode() if isinstance(t, bytes) else t for _, t in hit.matched_terms()}
        moment = first_match_time(stored, matched, sounds)
        place = (stored.get("video_id"), stored["source"], None if moment is None else round(moment, 1))
        if moment is not None and place in seen:
            continue  # the same words, found again in the overlapping passage
        seen.add(place)
        snippet = "" if sounds else hit.highlights("text")
        hits.append(IndexHit(stored["doc_id"], stored["source"], stored["text"], snippet or stored["text"],
                             moment, stored.get("end"), stored.get("video_id") or "",
                             stored.get("article_id") or "", round(hit.score, 3)))
        if len(hits) >= limit:
            break
    total = sum(1 for _ in searcher.docs_for_query(q))
    return Result(hits, total, sounds_like=sounds)


def suggest(searcher, words: str) -> list[str]:
    """Closest terms that exist in the archive, for "did you mean"."""
    corrector = searcher.corrector("text")
    out = []
    for word in re.findall(r"\w+", words):
        for candidate in corrector.suggest(word.lower(), limit=3, maxdist=2):
            if candidate != word.lower() and candidate not in out:
                out.append(candidate)
    return out[:5]
