"""Archive records -> index documents, and the one writer that puts them in.

Re-indexing an article or a video first deletes every document it owns, so the index never
holds orphans or duplicates. Whoosh's write lock is an flock, released by the OS when a
process dies, so a killed run leaves no stale lock; a second writer waits for the first.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable

from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from archiver.models import Article, SentenceAlignment, Transcript

from .phonetic import keys
from .schema import make_schema

WRITER_TIMEOUT = 600.0  # seconds a second `add` waits for the first one's writer


def open_index(index_dir: Path, create: bool = True):
    if whoosh_index.exists_in(str(index_dir)):
        return whoosh_index.open_dir(str(index_dir))
    if not create:
        return None
    index_dir.mkdir(parents=True, exist_ok=True)
    return whoosh_index.create_in(str(index_dir), make_schema())


def article_documents(article: Article, sentences: list[SentenceAlignment]) -> list[dict[str, Any]]:
    by_index = {s.index: s for s in sentences}
    docs = []
    for sentence in article.sentences:
        where = by_index.get(sentence.index)
        docs.append({
            "doc_id": f"a:{article.id}:{sentence.index}", "owner": article.id, "source": "article",
            "video_id": (where.video_id if where else None) or "", "article_id": article.id,
            "lang": (article.language or "")[:2], "date": article.date or "",
            "text": sentence.text, "sounds": " ".join(keys(sentence.text)),
            "start": where.start if where else None, "end": where.end if where else None,
        })
    return docs


def transcript_documents(transcript: Transcript, date: str = "") -> list[dict[str, Any]]:
    """One passage per pair of adjacent segments, so a phrase cut in two by Whisper still matches."""
    segments = [s for s in transcript.segments if s.text.strip()]
    docs = []
    for k, segment in enumerate(segments):
        pair = segments[k:k + 2]
        words = [w for s in pair for w in s.words]
        text = " ".join(w.word.strip() for w in words) if words else " ".join(s.text for s in pair)
        docs.append({
            "doc_id": f"t:{transcript.video_id}:{k}", "owner": transcript.video_id, "source": "transcript",
            "video_id": transcript.video_id, "article_id": "", "lang": transcript.language, "date": date,
            "text": text, "sounds": " ".join(keys(text)),
            "start": segment.start, "end": pair[-1].end,
            "word_starts": [round(w.start, 2) for w in words],
        })
    return docs


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None or k in ("start", "end")}


def replace(index_dir: Path, owner_docs: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Replace, in one commit, every document of each owner with the given ones."""
    ix = open_index(index_dir)
    writer = SegmentWriter(ix, timeout=WRITER_TIMEOUT, delay=0.25, limitmb=128)
    try:
        for owner, docs in owner_docs.items():
            writer.delete_by_term("owner", owner)
            for doc in docs:
                writer.add_document(**_clean(doc))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return {owner: len(docs) for owner, docs in owner_docs.items()}


def rebuild(index_dir: Path, owner_docs: Iterable[tuple[str, list[dict[str, Any]]]]) -> int:
    """A new index from scratch, built beside the old one and swapped in."""
    fresh = index_dir.with_name(index_dir.name + ".tmp-rebuild")
    shutil.rmtree(fresh, ignore_errors=True)
    ix = open_index(fresh)
    writer = SegmentWriter(ix, limitmb=256)
    total = 0
    for _, docs in owner_docs:
        for doc in docs:
            writer.add_document(**_clean(doc))
            total += 1
    writer.commit(optimize=True)
    old = index_dir.with_name(index_dir.name + ".tmp-old")
    shutil.rmtree(old, ignore_errors=True)
    if index_dir.exists():
        index_dir.rename(old)
    fresh.rename(index_dir)
    shutil.rmtree(old, ignore_errors=True)
    return total


def document_count(index_dir: Path) -> int:
    ix = open_index(index_dir, create=False)
    return ix.doc_count() if ix else 0
