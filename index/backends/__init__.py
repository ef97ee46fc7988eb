"""Where the index lives: one module per search engine, behind one small interface.

- `whoosh`: embedded, on the archive's own disk (archive/index/), the default;
- `typesense`: a Typesense server cluster ([search] backend = "typesense", [search.typesense]).

Both take the same documents (index.writer builds them from the archive's JSON files) and
answer the same parsed query (index.search parses the query language once, and turns the
passages a backend finds into hits, each timed by its first matched word): a backend only
says which passages match, in what order, and which words its passages hold.

    backend = open_backend(config, archive.layout.index_dir)
    backend.replace({video_id: transcript_documents(transcript)})
    backend.search("al-Tanf source:transcript", 10)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol

from archiver.errors import ArchiverError

Documents = list[dict[str, Any]]  # one owner's documents, as index.writer makes them

NAMES = ("whoosh", "typesense")


class Unavailable(ArchiverError):
    """The search engine cannot be reached (every node of a cluster down): nothing was lost
    on the archive's side; the catalog records what was not indexed (`archiver reindex`)."""


@dataclass
class Node:
    url: str
    ok: bool
    detail: str = ""


@dataclass
class Health:
    backend: str
    ok: bool
    detail: str  # one line: where the index is, how many passages, or what is wrong
    documents: int | None = None
    nodes: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "ok": self.ok, "detail": self.detail, "documents": self.documents,
                "nodes": [{"url": n.url, "ok": n.ok, "detail": n.detail} for n in self.nodes]}


class Backend(Protocol):
    name: str

    def replace(self, owner_docs: dict[str, Documents]) -> dict[str, int]:
        """Every document of each owner (an article or video id) replaced by the given ones."""

    def rebuild(self, owner_docs: Iterable[tuple[str, Documents]]) -> int:
        """A new index of exactly these documents, live once complete (the old one until then)."""

    def search(self, query: str, limit: int = 10, *, sounds_like: bool = False,
               article_videos: dict[str, list[str]] | None = None, dated_videos: list[str] | None = None):
        """index.search.Result of the query (the archiver's catalog gives the two lists)."""

    def health(self) -> Health: ...

    def document_count(self) -> int: ...


def open_backend(config: dict[str, Any], index_dir: Path) -> Backend:
    """The backend that [search] backend names, for the archive whose index directory is given."""
    search = config.get("search") or {}
    name = (search.get("backend") or "whoosh").lower()
    if name == "whoosh":
        from .whoosh import WhooshBackend

        return WhooshBackend(Path(index_dir))
    if name == "typesense":
        from .typesense import TypesenseBackend

        return TypesenseBackend.from_config(search.get("typesense") or {}, Path(index_dir))
    raise ArchiverError(f"[search] backend = {name!r} is not a search backend; use one of {', '.join(NAMES)}")
