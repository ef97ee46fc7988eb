"""The k best passages of a query by BM25, with every matching passage competing.

Scoring every match costs about a microsecond each in Python (a word found in most of a
million passages took a second), so the previous version ranked only the first 12,000
matches in document order, and a common word could never find a new passage. Here the
postings are read a block of 128 at a time (BlockPostings), each block with the highest
score it can hold (the block headers that engine.py writes bound it exactly), and the search stops as soon as nothing left can beat the k-th
best passage found: a block-max top-k, as Lucene and PISA do it, with the real scores.
The order is exactly that of a full scan: score, then the older passage (the lower document
number) first among equal scores.

- A conjunction (words, a phrase's word pairs, NOT and the filters): the blocks of its
  rarest term in the order of their bound, that block's own bound plus, for each other
  term, the best bound of its blocks over the same documents. Inside a block, only the
  passages whose own score plus that bound of the others can still get in have their other
  terms looked up.
- A disjunction of terms (a OR b, and prefix*, fuzzy~ and sound-alike words, which stand
  for up to a thousand words), a term at a time: the rare ones in full, then the common
  ones highest bound first, skipping their blocks that cannot lift a passage into the top
  k; once the bounds of the common terms left add up to less than the k-th best found, no
  new passage can get in, and those terms are only looked up for the passages found so
  far (MaxScore).
- Any other shape (an OR inside an AND, a lone NOT) is scored in full by Whoosh's own
  matchers, as is everything when the segment was not written by engine.py.

The filters (restrict) never score. A query whose rarest term is in at most EXACT_LIMIT
passages is scored in full and its total is exact; otherwise the total is an estimate.
"""
from __future__ import annotations

import functools
import heapq
import io
import pickle
import zlib
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate
from math import log
from operator import itemgetter
from typing import Callable

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.matching import IntersectionMatcher, WrappingMatcher
from whoosh.reading import TermNotFound
from whoosh.query import And, AndNot, Every, Not, NullQuery, Or, Query, Term
from whoosh.scoring import BM25F, BaseScorer, WeightScorer

from .engine import _INT, _LENGTHS, _ONES_BLOCK, ArchivePerDocReader

EXACT_LIMIT = 2_000  # postings of the rarest term up to which a query is scored in full
SAMPLE_BLOCKS = 4  # blocks of the rarest term per segment checked in full to estimate a total
BIG_TERM = 1_000  # postings from which a term of a disjunction may be left unread, or read in part
FILTER_COUNT = 10_000  # matches counted for a query of filters alone before the total is estimated

Items = list[tuple[float, int]]  # (score, document number), best first


class Unsupported(Exception):
    """A query or segment the block-max paths do not handle: scan it in full instead."""


def top_docs(searcher, q: Query, k: int, restrict: Query | None = None) -> tuple[Items, int, bool]:
    """The k best (score, docnum) of `q` among the passages `restrict` lets through;
    (items, total, whether total is exact)."""
    if k <= 0:
        return [], 0, True
    q = q.normalize()  # Or([x]) is x
    if restrict is not None and _most(searcher, restrict) <= EXACT_LIMIT:
        return scan(searcher, q, k, restrict)  # a few passages to score: the filter drives
    try:
        shape = _conjunction(q)
        if shape is not None:
            return _top_of_conjunction(searcher, shape[0], shape[1], restrict, k)
        terms = _disjunction(q)
        if terms is not None:
            return _top_of_disjunction(searcher, terms, restrict, k)
    except Unsupported:
        pass
    return scan(searcher, q, k, restrict)


def _most(searcher, q: Query) -> int:
    """At most how many documents q matches (a NOT: every document)."""
    if isinstance(q, Term):
        return searcher.doc_frequency(q.fieldname, q.text)
    if q is NullQuery:
        return 0
    if isinstance(q, Or):
        return sum(_most(searcher, c) for c in q.subqueries)
    if isinstance(q, And):
        return min((_most(searcher, c) for c in q.subqueries), default=0)
    if isinstance(q, AndNot):
        return _most(searcher, q.a)
    return searcher.doc_count_all()


# ---------------------------------------------------------------- BM25


class FastBM25(BM25F):
    """BM25F as Whoosh computes it, with the length part precomputed per document."""

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return WeightScorer.for_(searcher, fieldname, text)
        return FastBM25Scorer(searcher, fieldname, text, self._field_B.get(fieldname, self.B), self.K1, qf)


def norm_table(B: float, K1: float, avgfl: float) -> list[float]:
    """K1 * (1 - B + B * length / avgfl) for each length byte (see ArchivePerDocReader)."""
    table = [K1 * ((1 - B) + B * length / avgfl) for length in _LENGTHS]
    table[0] = table[1]  # documents without the field count as length 1
    return table


def field_lengths(reader, fieldname: str) -> bytes | None:
    """The length byte of every document of a segment reader (0: none; see norm_table), None
    for a segment of another codec. Kept on the reader's per-document reader, so that they
    live and die with it: the previous version cached norms by id(reader), and handed a new
    reader the norms of a closed one that had had the same id."""
    perdoc = getattr(reader, "_perdoc", None)
    if not isinstance(perdoc, ArchivePerDocReader):
        return None
    cache = perdoc.__dict__.setdefault("_padded_lengths", {})
    lengths = cache.get(fieldname)
    if lengths is None:
        lengths = perdoc.field_lengths(fieldname)
        lengths = cache[fieldname] = lengths + bytes(max(0, reader.doc_count_all() - len(lengths)))
    return lengths


class FastBM25Scorer(BaseScorer):
    """Whoosh's BM25F scorer, with the length part looked up by length byte (norm_table)."""

    def __init__(self, searcher, fieldname, text, B, K1, qf=1):
        parent = searcher.get_parent()
        self.idf = parent.idf(fieldname, text) * qf
        self.K1 = K1
        avgfl = parent.avg_field_length(fieldname) or 1
        self.table = _table(B, K1, avgfl)
        self.lengths = field_lengths(searcher.reader(), fieldname)
        if self.lengths is None:  # a segment of another codec: Whoosh's own way
            dfl = searcher.doc_field_length
            self.norm = lambda docnum: K1 * ((1 - B) + B * dfl(docnum, fieldname, 1) / avgfl)
        else:
            table, lengths = self.table, self.lengths
            self.norm = lambda docnum: table[lengths[docnum]]
        ti = searcher.term_info(fieldname, text)
        self._max = self._score(ti.max_weight(), K1 * (1 - B + B * (ti.min_length() or 1) / avgfl))

    def _score(self, tf, norm):
        return self.idf * (tf * (self.K1 + 1)) / (tf + norm)

    def supports_block_quality(self):
        return False

    def score(self, matcher):
        tf = matcher.weight()
        return self.idf * (tf * (self.K1 + 1)) / (tf + self.norm(matcher.id()))

    def max_quality(self):
        return self._max

    def block_quality(self, matcher):
        return self._max


# ---------------------------------------------------------------- postings by block


class BlockPostings:
    """One term's postings in one segment, as a top-k search reads them (ranking.py).

    Up front, for every block: its last document and what bounds the scores of its postings
    (its frontier, else its highest frequency and bounding length: engine._frontier and
    engine._block_lengths); a block's documents and frequencies are read only when asked for. Whoosh's matcher only walks forward, one block after the other;
    a top-k search visits the blocks in the order of their bounds and looks single documents
    up. The header of each block is a pickle, so listing them costs about a microsecond per
    block of 128 postings (a few ms for a word in most passages of a million); the lists are
    kept with the segment reader (`postings`).
    """

    def __init__(self, postfile, info):
        self.df = info.doc_frequency()
        self._blocks: dict[int, tuple] = {}
        self._maps: dict[int, dict[int, float]] = {}
        if info.is_inlined():
            ids, weights, _ = info._inlined
            self.last, self.top, self.length_bytes, self.frontiers = [ids[-1]], [max(weights)], [None], [()]
            self.first = [ids[0]]
            self._blocks[0] = (ids, weights)
            return
        offset, length = info.extent()
        if isinstance(length, tuple):  # W3TermInfo.from_bytes keeps the struct's tuple (whoosh bug)
            length = length[0]
        self._data = data = postfile.get(offset, length)
        if data[:4] != WHOOSH3_HEADER_MAGIC:
            raise ValueError("not a Whoosh 3 posting list")
        view, unpack, loads = memoryview(data), _INT.unpack_from, pickle.loads
        self.last, self.top, self.length_bytes, self.frontiers, self._starts = [], [], [], [], []
        pos = 4
        while True:
            (size,) = unpack(data, pos)
            # (postings, last id, max weight, compression, min length byte, max length byte, frontier...)
            header = loads(view[pos + 4:pos + 100])
            self._starts.append(pos)
            self.last.append(header[1])
            self.top.append(header[2])
            self.length_bytes.append(header[4])
            self.frontiers.append(header[6:])
            if size < 0:
                break
            pos += 4 + size
        self.first = [info.min_id()] + [n + 1 for n in self.last[:-1]]

    def bounds(self, factor: float, table: list[float], lengths: bytes) -> list[float]:
        """The highest score of each block, factor * f / (f + table[length byte]), with the
        length bytes of the segment's documents (for inlined postings)."""
        if self.length_bytes[0] is None:
            ids, weights = self._blocks[0]
            return [max(factor * w / (w + table[lengths[d]]) for d, w in zip(ids, weights))]
        return [max(factor * fr[i] / (fr[i] + table[fr[i + 1]]) for i in range(0, len(fr), 2)) if fr
                else factor * f / (f + table[b]) for f, b, fr in zip(self.top, self.length_bytes, self.frontiers)]

    def block(self, i: int) -> tuple:
        """(ids, frequencies) of block i."""
        got = self._blocks.get(i)
        if got is None:
            if len(self._blocks) >= 4096:
                self._blocks.clear()
            got = self._blocks[i] = self._read_block(i)
        return got

    def _read_block(self, i: int) -> tuple:
        data, pos = self._data, self._starts[i]
        stream = io.BytesIO(data)
        stream.seek(pos + 4)
        count, _, _, compression = pickle.load(stream)[:4]
        (size,) = _INT.unpack_from(data, pos)
        body = data[stream.tell():pos + 4 + abs(size)]
        ids, weights, _ = pickle.loads(zlib.decompress(body) if compression else body)
        ids = tuple(accumulate(ids))
        if weights is None:
            weights = _ONES_BLOCK[:count] if count <= 1024 else (1.0,) * count
        elif isinstance(weights, float):
            weights = (weights,) * count
        return ids, weights

    def find(self, docnum: int) -> int:
        """The block that would hold docnum (len(self.last) when past the end)."""
        return bisect_left(self.last, docnum)

    def weight(self, docnum: int) -> float:
        """The frequency of the term in docnum, 0 when the document lacks it."""
        i = bisect_left(self.last, docnum)
        if i == len(self.last):
            return 0.0
        ids, weights = self.block(i)
        j = bisect_left(ids, docnum)
        return weights[j] if j < len(ids) and ids[j] == docnum else 0.0

    def weights_of(self, docnums: list[int]) -> list[float]:
        """weight() of each of some ascending document numbers."""
        last, n = self.last, len(self.last)
        out = []
        i, ids, weights = -1, (), ()
        for d in docnums:
            if i < 0 or last[i] < d:
                i = bisect_left(last, d, max(i, 0))
                if i == n:
                    out += [0.0] * (len(docnums) - len(out))
                    break
                ids, weights = self.block(i)
            j = bisect_left(ids, d)
            out.append(weights[j] if j < len(ids) and ids[j] == d else 0.0)
        return out

    def weights_between(self, lo: int, hi: int, most: int = 4) -> dict[int, float] | None:
        """{docnum: frequency} of the documents lo..hi, when they lie in at most `most` blocks."""
        i = bisect_left(self.last, lo)
        j = min(bisect_left(self.last, hi), len(self.last) - 1)
        if j - i >= most:
            return None
        if i == j:
            return self._map(i)
        out = {}
        for b in range(i, j + 1):
            out.update(self._map(b))
        return out

    def _map(self, i: int) -> dict[int, float]:
        got = self._maps.get(i)
        if got is None:
            if len(self._maps) >= 4096:
                self._maps.clear()
            got = self._maps[i] = dict(zip(*self.block(i)))
        return got


def postings(reader, fieldname: str, btext: bytes) -> BlockPostings | None:
    """The BlockPostings of a term in a segment reader (None when the segment lacks it),
    kept with the reader: a cache keyed by anything else could outlive it."""
    cache = reader.__dict__.setdefault("_block_postings", {})
    key = (fieldname, btext)
    if key in cache:
        return cache[key]
    terms = getattr(reader, "_terms", None)
    try:
        found = None if terms is None else BlockPostings(terms._postfile, terms.term_info(fieldname, btext))
    except TermNotFound:
        found = None
    if len(cache) >= 2048:
        cache.clear()
    cache[key] = found
    return found


# ---------------------------------------------------------------- query shapes


def _conjunction(q: Query) -> tuple[list[Term], list[Query]] | None:
    """(required terms, excluded queries) when q is an AND of terms, with NOTs."""
    required: list[Term] = []
    excluded: list[Query] = []

    def walk(x: Query) -> bool:
        if isinstance(x, Term):
            required.append(x)
            return True
        if x.boost != 1.0:
            return False
        if isinstance(x, And):
            return all(walk(c) for c in x.subqueries)
        if isinstance(x, AndNot):
            excluded.append(x.b)
            return walk(x.a)
        if isinstance(x, Not):
            excluded.append(x.query)
            return True
        return False

    return (required, excluded) if walk(q) and required else None


def _disjunction(q: Query) -> list[Term] | None:
    if isinstance(q, Or) and q.boost == 1.0 and len(q.subqueries) > 1 \
            and all(isinstance(t, Term) for t in q.subqueries):
        return list(q.subqueries)
    return None


# ---------------------------------------------------------------- terms, filters


@dataclass
class _Scored:
    """One term of the query in one segment: score = factor * f / (f + table[lengths[doc]])."""

    postings: BlockPostings
    factor: float  # idf * boost * (K1 + 1)
    table: list[float]  # K1 * (1 - B + B * length / average length), by length byte
    lengths: bytes  # the length byte of each document
    bounds: list[float]  # the highest score in each block

    def score(self, docnum: int, weight: float) -> float:
        return self.factor * weight / (weight + self.table[self.lengths[docnum]])


def _scored(searcher, leaves: list, term: Term) -> list[_Scored | None]:
    """The term in each leaf searcher (None where the segment lacks it)."""
    weighting = searcher.weighting
    field_ = searcher.schema[term.fieldname]
    if type(weighting) is not FastBM25 or not field_.scorable:
        raise Unsupported("not a BM25 term")
    btext = field_.to_bytes(term.text)
    found = [postings(sub.reader(), term.fieldname, btext) for sub, _ in leaves]
    df = sum(p.df for p in found if p is not None)
    if not df:
        return found
    B = weighting._field_B.get(term.fieldname, weighting.B)
    K1 = weighting.K1
    avgfl = searcher.avg_field_length(term.fieldname) or 1
    # Whoosh's idf (WeightingModel.idf), from the frequencies just read rather than looked up again
    factor = (log(searcher.doc_count_all() / (df + 1)) + 1) * term.boost * (K1 + 1)
    table = _table(B, K1, avgfl)
    out: list[_Scored | None] = []
    for (sub, _), p in zip(leaves, found):
        if p is None:
            out.append(None)
            continue
        lengths = field_lengths(sub.reader(), term.fieldname)
        if lengths is None:
            raise Unsupported("a segment of another codec")
        out.append(_Scored(p, factor, table, lengths, p.bounds(factor, table, lengths)))
    return out


@functools.lru_cache(maxsize=16)
def _table(B: float, K1: float, avgfl: float) -> list[float]:
    return norm_table(B, K1, avgfl)


def _membership(reader, q: Query) -> Callable[[int], bool]:
    """Whether a document of this segment matches q (terms, AND, OR, NOT), a document at a time."""
    if isinstance(q, Term):
        found = postings(reader, q.fieldname, reader.schema[q.fieldname].to_bytes(q.text))
        return (lambda d: False) if found is None else (lambda d: found.weight(d) > 0)
    if q is NullQuery:
        return lambda d: False
    if isinstance(q, Every):
        return lambda d: True
    if isinstance(q, Not):
        inner = _membership(reader, q.query)
        return lambda d: not inner(d)
    if isinstance(q, AndNot):
        a, b = _membership(reader, q.a), _membership(reader, q.b)
        return lambda d: a(d) and not b(d)
    if isinstance(q, (And, Or)):
        parts = [_membership(reader, c) for c in q.subqueries]
        if isinstance(q, And):
            return lambda d: all(p(d) for p in parts)
        return lambda d: any(p(d) for p in parts)
    raise Unsupported(f"a filter of type {type(q).__name__}")


def _filter(reader, excluded: list[Query], restrict: Query | None) -> Callable[[int], bool]:
    """Whether a document of this segment counts: not deleted, none of `excluded`, in `restrict`."""
    deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
    out = [_membership(reader, q) for q in excluded]
    within = _membership(reader, restrict) if restrict is not None else None
    if not out and within is None:
        return lambda d: d not in deleted
    return lambda d: d not in deleted and not any(x(d) for x in out) and (within is None or within(d))


def _below(x: float, worst: float) -> bool:
    """x is certainly lower than worst (beyond the rounding of sums in another order)."""
    return x < worst - 1e-9 * abs(worst)


def _at_most(x: float, worst: float) -> bool:
    return x <= worst + 1e-9 * abs(worst)


def _best_first(heap: list[tuple[float, int]]) -> Items:
    return [(s, -d) for s, d in sorted(heap, reverse=True)]


# ---------------------------------------------------------------- conjunctions


@dataclass
class _Segment:
    offset: int
    terms: list[_Scored]  # the first one, the rarest in the index, drives
    counts: Callable[[int], bool]

    def matches(self, b: int, cut: float | None = None) -> list[tuple[float, int]]:
        """(score, docnum) of the documents of the driver's block b that have every term;
        with a cut, only those whose driver score plus the bound of the others reaches it."""
        driver = self.terms[0]
        factor, table, lengths = driver.factor, driver.table, driver.lengths
        ids, weights = driver.postings.block(b)
        found = [(factor * w / (w + table[lengths[d]]), d) for d, w in zip(ids, weights)]
        if cut is not None:
            found = [x for x in found if x[0] >= cut]
        for term in self.terms[1:]:
            if not found:
                break
            factor, table, lengths = term.factor, term.table, term.lengths
            near = term.postings.weights_between(found[0][1], found[-1][1])
            if near is not None:
                get = near.get
                found = [(s + factor * w / (w + table[lengths[d]]), d) for s, d in found if (w := get(d))]
            else:
                weights = term.postings.weights_of([d for _, d in found])
                found = [(s + factor * w / (w + table[lengths[d]]), d) for (s, d), w in zip(found, weights) if w]
        return found


def _top_of_conjunction(searcher, required: list[Term], excluded: list[Query], restrict: Query | None,
                        k: int) -> tuple[Items, int, bool]:
    leaves = list(searcher.leaf_searchers())
    # The same order in every segment (the rarest in the whole index first), so that equal
    # passages add their scores up in the same order wherever they are.
    by_term = [_scored(searcher, leaves, t) for t in required]
    df = [sum(x.postings.df for x in found if x is not None) for found in by_term]
    order = sorted(range(len(required)), key=df.__getitem__)
    segments = []
    for si, (sub, offset) in enumerate(leaves):
        terms = [by_term[i][si] for i in order]
        if all(t is not None for t in terms):
            segments.append(_Segment(offset, terms, _filter(sub.reader(), excluded, restrict)))
    exact = sum(seg.terms[0].postings.df for seg in segments) <= EXACT_LIMIT  # then every match is scored
    blocks = []  # (bound, first document, segment, block, bound of the other terms)
    for si, seg in enumerate(segments):
        driver, others = seg.terms[0], seg.terms[1:]
        for b, own in enumerate(driver.bounds):
            lo, hi = driver.postings.first[b], driver.postings.last[b]
            rest = _others_bound(others, lo, hi)
            if rest is not None:
                blocks.append((own + rest, seg.offset + lo, si, b, rest))
    blocks.sort(key=lambda x: (-x[0], x[1]))
    heap: list[tuple[float, int]] = []  # (score, -docnum): heap[0] is the k-th best
    matched = 0
    for bound, first, si, b, rest in blocks:
        cut = None
        if len(heap) == k and not exact:
            worst, worst_doc = heap[0][0], -heap[0][1]
            if _below(bound, worst):
                break
            if _at_most(bound, worst) and first > worst_doc:
                continue  # at best a tie, and ties go to older passages
            cut = worst - rest - 1e-9 * abs(worst)
        seg = segments[si]
        for score, d in seg.matches(b, cut):
            item = (score, -(seg.offset + d))
            if len(heap) == k and item <= heap[0] and not exact:
                continue
            if not seg.counts(d):
                continue
            matched += 1
            if len(heap) < k:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    if exact:
        return _best_first(heap), matched, True
    return _best_first(heap), _estimate(segments), False


def _others_bound(others: list[_Scored], lo: int, hi: int) -> float | None:
    """The best the other terms can add to a document in lo..hi (None: one of them has none there)."""
    rest = 0.0
    for o in others:
        last = o.postings.last
        i = bisect_left(last, lo)
        if i == len(last) or o.postings.first[i] > hi:
            return None
        j = min(bisect_left(last, hi), len(last) - 1)
        rest += max(o.bounds[i:j + 1])
    return rest


def _estimate(segments: list[_Segment]) -> int:
    """How many documents match, from a few of the driver's blocks checked in full."""
    total = 0.0
    for seg in segments:
        driver = seg.terms[0]
        n = len(driver.bounds)
        picked = {round(i * (n - 1) / max(1, SAMPLE_BLOCKS - 1)) for i in range(min(n, SAMPLE_BLOCKS))}
        seen = sum(len(driver.postings.block(b)[0]) for b in picked)
        hits = sum(1 for b in picked for _, d in seg.matches(b) if seg.counts(d))
        total += driver.postings.df * hits / max(1, seen)
    return round(total)


# ---------------------------------------------------------------- disjunctions


@dataclass
class _Alternative:
    """One term of a disjunction, over the segments that have it."""

    bound: float
    df: int
    by_segment: dict[int, _Scored]
    skipped: dict[int, set[int]] = field(default_factory=dict)  # blocks not read, by segment


def _top_of_disjunction(searcher, terms: list[Term], restrict: Query | None, k: int) -> tuple[Items, int, bool]:
    leaves = list(searcher.leaf_searchers())
    offsets = [offset for _, offset in leaves]
    small, big = [], []  # the terms read in full at once, and those that may be skipped
    for term in terms:
        by_segment = {si: scored for si, scored in enumerate(_scored(searcher, leaves, term)) if scored is not None}
        if by_segment:
            alt = _Alternative(max(max(s.bounds) for s in by_segment.values()),
                               sum(s.postings.df for s in by_segment.values()), by_segment)
            (big if alt.df > BIG_TERM else small).append(alt)
    big.sort(key=lambda a: (-a.bound, a.df))
    counts = [None] * len(leaves)

    def valid(doc: int) -> bool:
        si = bisect_left(offsets, doc + 1) - 1
        if counts[si] is None:
            counts[si] = _filter(leaves[si][0].reader(), [], restrict)
        return counts[si](doc - offsets[si])

    acc: dict[int, float] = {}

    def read(alt: _Alternative, worst: float | None = None, after: float = 0.0) -> None:
        """Add alt's scores to acc, but for the blocks that cannot lift a passage past worst."""
        for si, scored in alt.by_segment.items():
            offset, factor, table, lengths = offsets[si], scored.factor, scored.table, scored.lengths
            for b, bound in enumerate(scored.bounds):
                if worst is not None and _below(bound + after, worst):
                    alt.skipped.setdefault(si, set()).add(b)
                    continue
                ids, weights = scored.postings.block(b)
                for d, w in zip(ids, weights):
                    doc = offset + d
                    acc[doc] = acc.get(doc, 0.0) + factor * w / (w + table[lengths[d]])

    for alt in small:
        read(alt)
    rest = [0.0] * (len(big) + 1)  # rest[i]: what the big terms from i on can add at most
    for i in range(len(big) - 1, -1, -1):
        rest[i] = rest[i + 1] + big[i].bound
    worst = None  # the k-th best partial score of a valid passage: final scores can only be higher
    stop = len(big)
    for i, alt in enumerate(big):
        worst = _kth_valid(acc, k, valid) if len(acc) >= k else None
        if worst is not None and _below(rest[i], worst):
            stop = i  # no passage outside acc can get in any more
            break
        read(alt, worst, rest[i + 1])
    unread, partial = big[stop:], [a for a in big[:stop] if a.skipped]
    if not unread and not partial:
        valid_items = [(s, d) for d, s in acc.items() if valid(d)]
        best = heapq.nlargest(k, valid_items, key=lambda x: (x[0], -x[1]))
        return best, len(valid_items), True  # every posting was read
    # The passages that may still make it get the scores of the terms not read for them.
    missing = sum(a.bound for a in unread + partial)
    if worst is None:
        worst = _kth_valid(acc, k, valid)
    cut = float("-inf") if worst is None else worst
    candidates = sorted(((s, d) for d, s in acc.items() if not _below(s + missing, cut)),
                        key=lambda x: (-x[0], x[1]))
    heap: list[tuple[float, int]] = []
    for partial_score, doc in candidates:
        if len(heap) == k and _below(partial_score + missing, heap[0][0]):
            break
        if not valid(doc):
            continue
        si = bisect_left(offsets, doc + 1) - 1
        d = doc - offsets[si]
        score = partial_score
        for alt in unread + partial:
            scored = alt.by_segment.get(si)
            if scored is None or (alt.skipped and scored.postings.find(d) not in alt.skipped.get(si, ())):
                continue  # not in this segment, or read already
            w = scored.postings.weight(d)
            if w:
                score += scored.score(d, w)
        if len(heap) < k:
            heapq.heappush(heap, (score, -doc))
        elif (score, -doc) > heap[0]:
            heapq.heapreplace(heap, (score, -doc))
    # The passages found, and as many of the unread terms' as independence predicts
    n = max(1, searcher.doc_count_all())
    outside = 1.0 - len(acc) / n
    for alt in unread:
        outside *= max(0.0, 1.0 - alt.df / n)
    return _best_first(heap), round(n * (1.0 - outside)), False


def _kth_valid(acc: dict[int, float], k: int, valid: Callable[[int], bool]) -> float | None:
    """The k-th best score in acc among valid documents (None: fewer than k of them)."""
    m = 4 * k
    while True:
        top = heapq.nlargest(m, acc.items(), key=itemgetter(1))
        kept = [s for d, s in top if valid(d)]
        if len(kept) >= k:
            return kept[k - 1]
        if len(top) < m:
            return None
        m *= 4


# ---------------------------------------------------------------- in full, with Whoosh's matchers


class _Unscored(WrappingMatcher):
    """A filter's matcher: it restricts, it does not score."""

    def score(self):
        return 0.0

    def supports_block_quality(self):
        return False

    def _replacement(self, newchild):
        return _Unscored(newchild)


def scan(searcher, q: Query, k: int, restrict: Query | None = None) -> tuple[Items, int, bool]:
    """The k best by scoring every match with Whoosh's matchers (any query). A query of
    filters alone (Every, NOT) ranks every match equally: the first k in document order,
    and a total counted up to FILTER_COUNT, then extrapolated."""
    context = searcher.context(needs_current=True)
    scored = any(isinstance(leaf, Term) for leaf in q.leaves()) and not isinstance(q, Not)
    heap: list[tuple[float, int]] = []
    seen = 0
    for sub, offset in searcher.leaf_searchers():
        matcher = q.matcher(sub, context)
        if restrict is not None and matcher.is_active():
            matcher = IntersectionMatcher(matcher, _Unscored(restrict.matcher(sub, context)))
        if not matcher.is_active():
            continue
        matcher = matcher.replace(0)
        while matcher.is_active():
            item = (matcher.score() if scored else 0.0, -(offset + matcher.id()))
            if len(heap) < k:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
            seen += 1
            if not scored and seen >= FILTER_COUNT:
                reached = offset + matcher.id() + 1
                return _best_first(heap), max(seen, round(seen * searcher.doc_count_all() / reached)), False
            matcher.next()
    return _best_first(heap), seen, True
