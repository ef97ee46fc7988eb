"""The embedded backend: a Whoosh index in the archive's index/ directory (the default).

The work is done by the rest of index/: writer.py writes (one commit per replace, a new
build beside the live one for a rebuild), search.py searches, engine.py and ranking.py
make Whoosh fast on many short passages, layout.py keeps a killed rebuild harmless.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from . import Documents, Health


class WhooshBackend:
    name = "whoosh"

    def __init__(self, index_dir: Path):
        self.index_dir = index_dir

    def replace(self, owner_docs: dict[str, Documents]) -> dict[str, int]:
        from ..writer import replace

        return replace(self.index_dir, owner_docs)

    def rebuild(self, owner_docs: Iterable[tuple[str, Documents]]) -> int:
        from ..writer import rebuild

        return rebuild(self.index_dir, owner_docs)

    def search(self, query: str, limit: int = 10, **options):
        from ..search import search

        return search(self.index_dir, query, limit, **options)

    def health(self) -> Health:
        from .. import layout
        from ..search import OutdatedIndex

        try:
            count = self.document_count()
        except OutdatedIndex as e:
            return Health(self.name, False, f"{e}; run `archiver reindex`")
        live = layout.live_dir(self.index_dir)
        where = live if live is not None else self.index_dir
        return Health(self.name, True, f"{count} passages in {where}", count)

    def document_count(self) -> int:
        from ..writer import document_count

        return document_count(self.index_dir)
