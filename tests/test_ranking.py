"""Ranking: every matching passage competes, the block-max search gives exactly what a full
BM25 scan gives, and the bounds it skips blocks by are bounds.

The indexes are real Whoosh indexes on disk written by index.writer; the passages are
random sentences over a Zipf vocabulary (so that some words are in most passages, with
repeats, as "the" is), several commits deep, with re-indexed owners (deleted documents).
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))

OLD_BUDGET = 12_000  # passages the previous version scored per query, the oldest first


def passage(owner: str, text: str, source: str = "transcript", date: str = "2020-03-20") -> dict:
    return {"source": source, "video_id": owner if source == "transcript" else "",
            "article_id": owner if source == "article" else "", "lang": "en", "date": date,
            "text": text, "start": 0.0, "end": 1.0}


@pytest.fixture(scope="module")
def crowded(tmp_path_factory) -> Path:
    """OLD_BUDGET + 1,000 long passages with "alpha", "beta" and "gamma delta" once each, then
    one short passage with each twice: the newest passage is the best for every query."""
    from index.writer import replace

    index_dir = tmp_path_factory.mktemp("crowded")
    filler = " ".join(f"w{i}" for i in range(30))
    docs = [passage("v-old", f"alpha beta gamma delta {filler} n{i}") for i in range(OLD_BUDGET + 1000)]
    replace(index_dir, {"v-old": docs})
    replace(index_dir, {"v-new": [passage("v-new", "alpha beta gamma delta alpha beta gamma delta newest")]})
    return index_dir


@pytest.mark.parametrize("query", ["alpha", "alpha beta", '"gamma delta"', "alpha OR zzz OR yyy",
                                   "alpha -nothere", "alpha source:transcript", "alp*", "alpha~1"])
def test_the_newest_passage_can_be_the_best_of_a_frequent_word(crowded, query):
    from index.search import search

    result = search(crowded, query, 3)
    assert result.hits and result.hits[0].video_id == "v-new", (query, result.hits[:1])
    assert result.hits[0].score > result.hits[1].score


def random_text(rng: random.Random, vocabulary: list[str], weights: list[float]) -> str:
    return " ".join(rng.choices(vocabulary, weights, k=rng.randint(3, 40)))


@pytest.fixture(scope="module")
def zipf_index(tmp_path_factory) -> Path:
    """About 10,000 passages in several commits, some owners indexed twice (deletions)."""
    from index.writer import replace

    rng = random.Random(11)
    vocabulary = [f"w{i}" for i in range(3000)]
    weights = [1 / (r + 1) ** 1.1 for r in range(len(vocabulary))]
    index_dir = tmp_path_factory.mktemp("zipf")
    for batch in range(4):
        owners = {}
        for n in range(30):
            owner = f"o{batch}-{n}"
            source = "article" if n % 5 == 0 else "transcript"
            date = f"20{15 + n % 10}-0{1 + n % 9}-1{n % 9}"
            owners[owner] = [passage(owner, random_text(rng, vocabulary, weights), source, date)
                             for _ in range(rng.randint(20, 140))]
        replace(index_dir, owners)
        # re-index some owners of the previous batch, with new passages: their old ones are deleted
        if batch:
            replace(index_dir, {f"o{batch - 1}-{n}": [passage(f"o{batch - 1}-{n}", random_text(rng, vocabulary, weights))
                                                       for _ in range(30)] for n in range(0, 30, 7)})
    return index_dir


def zipf_queries() -> list[str]:
    common = ["w0", "w1", "w2", "w3", "w5", "w8"]
    mid = ["w40", "w77", "w120", "w300"]
    rare = ["w1500", "w2800"]
    out = common + mid + rare
    out += [f"{a} {b}" for a, b in [("w0", "w1"), ("w0", "w40"), ("w2", "w3"), ("w1", "w1500"), ("w5", "w300")]]
    out += ['"w0 w1"', '"w1 w0 w2"', '"w0 w0"']
    out += ["w0 -w1", "w1 NOT w2", "w0 OR w1", "w40 OR w77 OR w0 OR w1500", "w12*", "w40~1", "w1 OR w2 OR w3 OR w4 OR w5 OR w6"]
    out += ["w0 source:article", "w1 source:transcript", "w2 w3 after:2020", "w0 lang:en", "w1 video:o2-3",
            "w0 OR w3 source:article"]
    return out


def test_block_max_ranking_is_a_full_scan(zipf_index):
    """The same passages in the same order, with the same scores, as BM25 over every match
    (Whoosh's own matchers and scorer), and the same total when it says it is exact."""
    from index.ranking import scan, top_docs
    from index.search import filter_query, lexicon_for, ranked_query, searcher_for, split_filters

    searcher = searcher_for(zipf_index)
    assert len(list(searcher.leaf_searchers())) > 1 and searcher.reader().has_deletions()
    lexicon = lexicon_for(searcher)
    pruned = 0
    for text in zipf_queries():
        words, filters = split_filters(text)
        restrict = filter_query(filters, {}, None, searcher)
        _, main = ranked_query(searcher, words, lexicon)
        for k in (1, 10, 40):
            ours, total, exact = top_docs(searcher, main, k, restrict)
            full, full_total, _ = scan(searcher, main, k, restrict)
            assert [d for _, d in ours] == [d for _, d in full], (text, k)
            # the same scores, but for a constant: Whoosh's NOT adds a weight of 1 to every match
            offset = round(full[0][0] - ours[0][0]) if ours else 0
            assert offset == ("NOT" in text), (text, offset)
            assert all(abs(a + offset - b) <= 1e-9 * b for (a, _), (b, _) in zip(ours, full)), (text, k)
            assert total == full_total if exact else 0.5 * full_total <= total <= 2 * full_total, (text, total, full_total)
            pruned += not exact
    assert pruned > 10  # the block-max paths were taken, not only full scans


def test_block_bounds_are_bounds(zipf_index):
    """No posting of a block scores above the block's bound, and the bound of a block with a
    frontier is its best score exactly."""
    from whoosh.query import Term

    from index.ranking import _scored
    from index.search import searcher_for

    searcher = searcher_for(zipf_index)
    leaves = list(searcher.leaf_searchers())
    exact = 0
    for word in ("w0", "w1", "w3", "w40"):
        for field, text in (("text", word), ("pairs", f"{word} w0")):
            for scored in _scored(searcher, leaves, Term(field, text)):
                if scored is None:
                    continue
                for b, bound in enumerate(scored.bounds):
                    ids, weights = scored.postings.block(b)
                    best = max(scored.score(d, w) for d, w in zip(ids, weights))
                    assert best <= bound * (1 + 1e-12), (word, b)
                    if scored.postings.frontiers[b]:
                        assert best == pytest.approx(bound, rel=1e-12)
                        exact += 1
    assert exact > 20


def test_a_reader_at_a_reused_id_gets_its_own_scores(tmp_path):
    """Python gives a new object the id() of a freed one: what BM25 keeps per reader (the
    length of each passage) must never be handed from a closed reader to the next at its
    address, as a cache keyed by id() did."""
    import types

    from index.engine import ArchivePerDocReader
    from index.ranking import field_lengths, norm_table
    from index.writer import open_index, replace

    def segment(name: str, texts: list[str]):
        replace(tmp_path / name, {"v": [passage("v", t) for t in texts]})
        ix = open_index(tmp_path / name)
        return ix.storage, ix._segments()[0]

    table = norm_table(0.75, 1.2, 10.0)  # the same average length for both

    def norms(perdoc: ArchivePerDocReader) -> list[float]:
        reader = types.SimpleNamespace(_perdoc=perdoc, doc_count_all=lambda: 2)
        return [table[b] for b in field_lengths(reader, "text")]

    short_first = segment("a", ["alpha", "alpha " + "x " * 20])
    long_first = segment("b", ["alpha " + "x " * 20, "alpha"])
    by_length = {1: 1.2 * (0.25 + 0.75 * 1 / 10.0), 21: 1.2 * (0.25 + 0.75 * 21 / 10.0)}  # K1 (1 - B + B length / avg)
    reused = 0
    for _ in range(20):
        first = ArchivePerDocReader(*short_first)
        address = id(first)
        assert norms(first) == pytest.approx([by_length[1], by_length[21]])
        first.close()
        del first
        second = ArchivePerDocReader(*long_first)
        reused += id(second) == address
        assert norms(second) == pytest.approx([by_length[21], by_length[1]])
        second.close()
        del second
    assert reused, "no reader was given a freed reader's id: the test proves nothing here"
