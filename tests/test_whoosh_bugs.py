"""Each Whoosh-Reloaded bug that index/ works around, shown on plain Whoosh and shown
fixed on ours.

The plain half runs in a fresh interpreter that imports whoosh and nothing of ours (index
patches AndNotMatcher when imported). When an upgrade fixes a bug, its plain half fails
with "whoosh fixed this: remove the workaround in ...", naming what became unnecessary.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))

PLAIN_INDEX = """
import json, tempfile
from whoosh import index as wi
from whoosh.fields import ID, TEXT, Schema

def make(texts, **writer_args):
    ix = wi.create_in(tempfile.mkdtemp(), Schema(text=TEXT(stored=True), id=ID(stored=True, unique=True)))
    writer = ix.writer(**writer_args)
    for i, text in enumerate(texts):
        writer.add_document(text=text, id=str(i))
    writer.commit()
    return ix
"""


def plain(code: str):
    """What `code` (after PLAIN_INDEX) prints as JSON, run on plain Whoosh."""
    check = "\nimport sys\nassert 'index' not in sys.modules, 'the plain half imported our index package'\n"
    out = subprocess.run([sys.executable, "-c", PLAIN_INDEX + code + check], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def passages(owner: str, texts: list[str]) -> list[dict]:
    return [{"source": "transcript", "video_id": owner, "article_id": "", "lang": "en", "date": "",
             "text": t, "start": 0.0, "end": 1.0, "times": []} for t in texts]


def test_whoosh_bug_and_not_keeps_excluded_documents(tmp_path):
    """AndNotMatcher skips the excluded matcher only when both start on the same document."""
    found = plain("""
from whoosh.query import AndNot, Term
ix = make(["russia alone", "pompeo and russia", "pompeo alone"])
with ix.searcher() as s:
    print(json.dumps([h["id"] for h in s.search(AndNot(Term("text", "pompeo"), Term("text", "russia")))]))
""")
    assert found == ["1", "2"], "whoosh fixed this: remove the workaround in index/search.py (_and_not_find_first)"

    from index.ranking import scan
    from index.search import parse, rewrite, search, searcher_for
    from index.writer import replace

    replace(tmp_path, {"v": passages("v", ["russia alone", "pompeo and russia", "pompeo alone"])})
    assert [h.text for h in search(tmp_path, "pompeo -russia", 5).hits] == ["pompeo alone"]
    searcher = searcher_for(tmp_path)  # Whoosh's own matchers, as the full scan uses them
    items, _, _ = scan(searcher, rewrite(parse("pompeo -russia", searcher.schema)), 5)
    assert [searcher.stored_fields(d)["text"] for _, d in items] == ["pompeo alone"]


def test_whoosh_bug_refresh_keeps_deleted_documents(tmp_path):
    """Searcher.refresh() after a commit that merged segments still finds deleted documents."""
    counts = plain("""
from whoosh.query import Term
ix = make(["first video text %d" % i for i in range(5)])
searcher = ix.searcher()
writer = ix.writer()
writer.delete_by_term("id", "0")
writer.delete_by_term("id", "1")
writer.add_document(text="second video words", id="9")
writer.commit(merge=True)
print(json.dumps([len(list(searcher.refresh().docs_for_query(Term("text", "first")))),
                  len(list(ix.searcher().docs_for_query(Term("text", "first"))))]))
""")
    assert counts == [5, 3], "whoosh fixed this: remove the workaround in index/search.py (searcher_for: a new searcher, not refresh())"

    from index.search import search
    from index.writer import replace

    replace(tmp_path, {"v1": passages("v1", [f"first video text {i}" for i in range(5)])})
    assert search(tmp_path, "first", 10).total == 5  # this thread now keeps a searcher
    replace(tmp_path, {"v1": passages("v1", [f"first video text {i}" for i in range(3)]),
                       "v2": passages("v2", ["second video words"])})
    assert search(tmp_path, "first", 10).total == 3


def test_whoosh_bug_inline_postings_cannot_be_written(tmp_path):
    """W3PostingsWriter calls a set_inline() that W3TermInfo lacks (it has set_inlined()), so
    short posting lists cannot be kept in the term dictionary (inlinelimit > 1)."""
    error = plain("""
from whoosh.codec.whoosh3 import W3Codec
try:
    make(["alpha beta", "alpha"], codec=W3Codec(inlinelimit=8))
    print(json.dumps(None))
except AttributeError as e:
    print(json.dumps(str(e)))
""")
    assert error and "set_inline" in error, "whoosh fixed this: remove the workaround in index/engine.py (InliningPostingsWriter.finish_postings)"

    from index.engine import INLINE_LIMIT
    from index.search import search, searcher_for
    from index.writer import replace

    replace(tmp_path, {"v": passages("v", ["alpha beta", "alpha", "gamma"])})
    reader = searcher_for(tmp_path).reader()
    assert INLINE_LIMIT > 1 and reader.term_info("text", "alpha").is_inlined()
    assert search(tmp_path, "alpha", 5).total == 2


def test_whoosh_bug_term_info_length_is_a_tuple():
    """W3TermInfo.from_bytes keeps the struct's tuple as the length of a posting list."""
    extent = plain("""
ix = make(["alpha word%d" % i for i in range(300)])
with ix.reader() as reader:
    print(json.dumps(reader.term_info("text", "alpha").extent()))
""")
    assert isinstance(extent[1], list), "whoosh fixed this: remove the workaround in index/ranking.py (BlockPostings: length[0])"


def test_whoosh_bug_constant_score_query_scores(tmp_path):
    """ConstantScoreQuery(q, 0.0) scores its matches 1 in a search (it hands out q's matcher,
    or a weight of 1), so it cannot make a filter that does not score."""
    scores = plain("""
from whoosh.query import ConstantScoreQuery, Term
ix = make(["alpha beta", "alpha alpha gamma", "beta"])
with ix.searcher() as s:
    print(json.dumps([h.score for h in s.search(ConstantScoreQuery(Term("text", "alpha"), 0.0))]))
""")
    assert scores and all(s != 0.0 for s in scores), "whoosh fixed this: remove the workaround in index/ranking.py (_Unscored)"

    from whoosh.query import Term

    from index.ranking import scan, top_docs
    from index.search import searcher_for
    from index.writer import replace

    replace(tmp_path, {"v": passages("v", ["alpha beta", "alpha alpha gamma", "beta"])})
    searcher = searcher_for(tmp_path)
    alone = scan(searcher, Term("text", "alpha"), 5)[0]
    assert scan(searcher, Term("text", "alpha"), 5, restrict=Term("source", "transcript"))[0] == alone
    assert top_docs(searcher, Term("text", "alpha"), 5, restrict=Term("source", "transcript"))[0] == alone


def test_whoosh_bug_a_column_merged_away_is_none(tmp_path, monkeypatch):
    """A searcher reads a segment's columns lazily; once a merge has removed a column's file,
    Whoosh finds no column and subscripts None (TypeError) instead of saying the file is gone."""
    error = plain("""
from whoosh.writing import SegmentWriter
ix = make(["first"], compound=False)
for i in range(3):
    writer = SegmentWriter(ix, compound=False)
    writer.add_document(text="more text %d" % i, id=str(i + 1))
    writer.commit(merge=False)
searcher = ix.searcher()
writer = SegmentWriter(ix, compound=False)
writer.add_document(text="last", id="9")
writer.commit(optimize=True)
try:
    searcher.stored_fields(0)
    print(json.dumps(None))
except TypeError as e:
    print(json.dumps(str(e)))
""")
    assert error and "NoneType" in error, "whoosh fixed this: remove the TypeError case in index/search.py (search)"

    import index.search
    from index.writer import replace

    for i in range(4):
        replace(tmp_path, {f"v{i}": passages(f"v{i}", [f"first video text {i}"])})
    stale = index.search.searcher_for(tmp_path)
    for i in range(4, 40):  # enough commits that MERGE_SMALL folds the stale searcher's segments away
        replace(tmp_path, {f"v{i}": passages(f"v{i}", [f"first video text {i}"])})
    with pytest.raises(TypeError):  # the stale view fails as plain Whoosh does
        [stale.stored_fields(d) for d in range(stale.doc_count_all())]
    fresh = index.search.searcher_for
    handed = iter([stale])
    monkeypatch.setattr(index.search, "searcher_for", lambda d: next(handed, None) or fresh(d))
    assert index.search.search(tmp_path, "first", 50).total == 40  # a stale view is asked again
