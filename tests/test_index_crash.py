"""The index survives a kill at every point of a write.

A child process runs the real writer (index.writer.replace, index.writer.rebuild, or the
`archiver reindex` command) with index.writer.checkpoint replaced by a function that
SIGKILLs the process at one named point. Afterwards every kind of search answers as the
index on disk is (words, prefix*, word~, sound-alike, did-you-mean), and the next write
completes.
"""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, run_json

sys.path.insert(0, str(ROOT))

OLD = "the minister Pompeo spoke in Ankara about the border crossing"
NEW = "reporters in Zanzibar heard about Kilimanjaro and the harbour"

CHILD = r"""
import json, os, signal, sys
from pathlib import Path
sys.path.insert(0, {root!r})
import index.writer as writer

def kill_at(name):
    if name == {point!r}:
        os.kill(os.getpid(), signal.SIGKILL)

writer.checkpoint = kill_at
owners = json.loads(Path({docs!r}).read_text())
if {action!r} == "replace":
    writer.replace(Path({index!r}), owners)
elif {action!r} == "rebuild":
    writer.rebuild(Path({index!r}), list(owners.items()))
else:
    from archiver.cli import main
    main(["--archive", {index!r}, "reindex"])
"""


def docs(owner: str, text: str, n: int = 3) -> list[dict]:
    return [{"source": "transcript", "video_id": owner, "article_id": "", "lang": "en", "date": "",
             "text": f"{text} part {i}", "start": 10.0 * i, "end": 10.0 * i + 5, "times": []} for i in range(n)]


def killed(action: str, point: str, where: Path, owners: dict, tmp_path: Path) -> None:
    """Run the writer in a child process (on an index directory, or an archive for
    "reindex"), killed at `point`."""
    spec = tmp_path / f"docs-{point}.json"
    spec.write_text(json.dumps(owners))
    code = CHILD.format(root=str(ROOT), point=point, docs=str(spec), action=action, index=str(where))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, (point, result.returncode, result.stderr[-2000:])


def finds(index_dir: Path, query: str, **options) -> bool:
    from index.search import search

    result = search(index_dir, query, 5, **options)
    return bool(result.hits) and not result.sounds_like


def suggestions(index_dir: Path, word: str) -> list[str]:
    """"Did you mean" for a misspelt word, in a query that finds nothing (every passage has "part")."""
    from index.search import search

    result = search(index_dir, f"{word[:-1]}xx -part", 5)
    assert not result.hits
    return result.suggestions


def searchable(index_dir: Path, text: str, word: str) -> None:
    """The text found every way: by word, prefix, fuzzy, sound-alike, did-you-mean."""
    from index.search import search

    assert finds(index_dir, word) and finds(index_dir, f'"{" ".join(text.split()[:3])}"'), word
    assert finds(index_dir, word[:4] + "*"), f"{word}: prefix"
    assert finds(index_dir, word[:-1] + "x~1"), f"{word}: fuzzy"
    sound = search(index_dir, word[:-1] + "h", 5, sounds_like=True)
    assert sound.hits and word.lower() in sound.hits[0].text.lower(), f"{word}: sounds like"
    assert word.lower() in suggestions(index_dir, word), f"{word}: did you mean"


def absent(index_dir: Path, word: str) -> None:
    """No passage with the word, and no word table pretending there is."""
    from index.search import search

    result = search(index_dir, word, 5)
    assert not result.hits and word.lower() not in suggestions(index_dir, word)
    assert not search(index_dir, word[:4] + "*", 5).hits


@pytest.mark.parametrize("point", ["words", "committed"])
def test_a_kill_during_an_add_leaves_index_and_word_table_in_step(tmp_path, point):
    from index.writer import document_count, owner_count, replace

    index_dir = tmp_path / "index"
    replace(index_dir, {"v1": docs("v1", OLD)})
    killed("replace", point, index_dir, {"v2": docs("v2", NEW)}, tmp_path)
    searchable(index_dir, OLD, "Pompeo")
    if point == "committed":
        searchable(index_dir, NEW, "Zanzibar")
    else:
        absent(index_dir, "Zanzibar")
    replace(index_dir, {"v2": docs("v2", NEW)})  # the run again: completes, nothing twice
    searchable(index_dir, NEW, "Zanzibar")
    assert owner_count(index_dir, "v2") == 3 and document_count(index_dir) == 6


@pytest.mark.parametrize("point", ["created", "built", "switched"])
def test_a_kill_during_a_rebuild_keeps_an_index_live(tmp_path, point):
    from index.writer import document_count, rebuild, replace

    index_dir = tmp_path / "index"
    replace(index_dir, {"v1": docs("v1", OLD)})
    killed("rebuild", point, index_dir, {"v1": docs("v1", OLD), "v2": docs("v2", NEW)}, tmp_path)
    searchable(index_dir, OLD, "Pompeo")
    if point == "switched":
        searchable(index_dir, NEW, "Zanzibar")
    else:
        absent(index_dir, "Zanzibar")
    rebuild(index_dir, [("v1", docs("v1", OLD)), ("v2", docs("v2", NEW))])
    searchable(index_dir, NEW, "Zanzibar")
    assert document_count(index_dir) == 6
    assert sorted(p.name for p in index_dir.iterdir()) == ["CURRENT", (index_dir / "CURRENT").read_text().strip()]


def test_a_word_table_behind_its_index_is_completed(tmp_path):
    """A word table missing the words of the last commit, as the previous version left it when
    killed between the Whoosh commit and the table: searches complete it in memory (and write
    nothing), the next add completes it on disk."""
    from index.layout import live_dir
    from index.phonetic import Lexicon
    from index.writer import replace

    index_dir = tmp_path / "index"
    replace(index_dir, {"v1": docs("v1", OLD)})
    replace(index_dir, {"v2": docs("v2", NEW)})
    table = Lexicon(live_dir(index_dir)).path
    with sqlite3.connect(table) as db:  # the table of an earlier version: no generation, last words missing
        db.execute("DROP TABLE meta")
        db.execute("DELETE FROM words WHERE word IN ('zanzibar', 'kilimanjaro', 'harbour', 'reporters')")
    before = table.read_bytes()
    searchable(index_dir, NEW, "Zanzibar")
    assert table.read_bytes() == before
    replace(index_dir, {"v3": docs("v3", "nothing new here")})
    assert Lexicon(live_dir(index_dir)).missing(["zanzibar", "kilimanjaro"]) == []
    assert Lexicon(live_dir(index_dir)).generation() >= 3


def test_archiver_reindex_killed_before_its_switch(tmp_path):
    """Through the CLI: `archiver reindex` killed with its new build complete but not live;
    `archiver search` still answers, and the next reindex completes."""
    archive = tmp_path / "archive"
    story = tmp_path / "story.txt"
    story.write_text("Pompeo in Ankara\n\nThe minister Pompeo spoke in Ankara about the border crossing "
                     "near Idlib on Friday.\n\nReporters heard him again at the harbour.\n", encoding="utf-8")
    run_cli("add", str(story), archive=archive, check=True)
    killed("reindex", "built", archive, {}, tmp_path)
    hits = run_json("search", "Pompeo", archive=archive)["hits"]
    assert hits and "Pompeo" in hits[0]["text"]
    assert run_cli("reindex", archive=archive, check=True).stdout.startswith("indexed ")
    assert run_json("search", "harb*", archive=archive)["hits"]
    assert len([p for p in (archive / "index").iterdir() if p.is_dir()]) == 1


def test_an_index_created_but_never_committed_to_answers_empty(tmp_path):
    """What a reader sees between the first add's index creation and its first commit: an
    index without a segment (Whoosh's EmptyReader has generation None). Every kind of search
    answers with nothing, none raises."""
    from index.search import search
    from index.writer import open_index

    open_index(tmp_path / "index")
    for query in ("Pompeo", "Pomp*", "Pompeo~", "\"the minister\"", "Pompeo OR Ankara"):
        assert search(tmp_path / "index", query).hits == []
    assert search(tmp_path / "index", "Pompeo", sounds_like=True).hits == []
