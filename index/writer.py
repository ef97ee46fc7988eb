"""Archive records -> index documents, and the one writer that puts them in.

Re-indexing an article or a video first deletes every document it owns, so the index never
holds orphans or duplicates. Whoosh's write lock is an flock, released by the OS when a
process dies, so a killed run leaves no stale lock; a second writer waits for the first.

Segments are written as separate files (compound=False): opening a compound segment
copies it into each process (about 480 MB and 0.45 s at 1M passages, against 27 MB and
0.12 s). Each commit merges only the small segments (Whoosh's MERGE_SMALL), so adding one
article to a large index writes a small segment instead of rewriting the index. The
writer itself is engine.FastSegmentWriter (see engine.py for why); `rebuild` splits a
large archive between two processes.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterable

from whoosh import index as whoosh_index
from whoosh.query import And, Or, Term

from archiver.models import Article, Segment, SentenceAlignment, Transcript, Translation

from . import layout
from .engine import FastSegmentWriter, build_parallel
from .phonetic import Lexicon
from .schema import date_terms, make_schema, terms
from .search import OutdatedIndex, forget, is_current, pack_times

WRITER_TIMEOUT = 600.0  # seconds a second `add` waits for the first one's writer


# Threads of one process (a batch transcribes two files at once) take turns: creating the
# index and committing to it; other processes wait on Whoosh's own lock.
_WRITING = threading.RLock()


def checkpoint(name: str) -> None:
    """Reached at each named point of a write where a kill must leave a usable index:

    - "words": replace() has added the commit's words to the word table, before the commit;
    - "committed": replace()'s Whoosh commit is on disk;
    - "created", "built": a rebuild has made its build directory, and finished it (both
      before CURRENT names it);
    - "switched": CURRENT names the new build, the old one not yet removed.

    Does nothing. The crash tests (tests/test_index_crash.py) replace it, in a child
    process, with a function that kills the process at one of these points.
    """


def open_index(index_dir: Path, create: bool = True):
    with _WRITING:
        return _open_index(index_dir, create)


def _open_index(index_dir: Path, create: bool):
    live = layout.live_dir(index_dir)
    if live is not None:
        ix = whoosh_index.open_dir(str(live))
        if not is_current(ix):
            raise OutdatedIndex(f"the search index in {index_dir} was made by an older version")
        return ix
    if not create:
        return None
    build = layout.new_build(index_dir)
    ix = whoosh_index.create_in(str(build), make_schema())
    Lexicon(build).add([], generation=ix.latest_generation())
    layout.switch(index_dir, build)
    layout.remove_stale(index_dir)  # builds of a kill before any CURRENT
    return ix


def is_outdated(index_dir: Path) -> bool:
    """Whether the live index was made by another version (its schema, or its rules of what
    a word is): `archiver add` then rebuilds it from the JSON files before adding to it."""
    live = layout.live_dir(index_dir)
    return live is not None and not is_current(whoosh_index.open_dir(str(live)))


def speaker_terms(speakers: list[str | None], names: dict[str, str]) -> list[str]:
    """What `speaker:` matches: each speaker's id ("s1"), name ("mike pompeo") and name words."""
    out: list[str] = []
    for speaker in dict.fromkeys(s for s in speakers if s):
        name = names.get(speaker, "")
        out += [speaker.lower()] + ([" ".join(terms(name))] + terms(name) if name else [])
    return list(dict.fromkeys(out))


def article_documents(article: Article, sentences: list[SentenceAlignment],
                      names: dict[str, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """One document per sentence; `names`: video id -> the names of its speakers."""
    by_index = {s.index: s for s in sentences}
    names = names or {}
    docs = []
    for sentence in article.sentences:
        where = by_index.get(sentence.index)
        docs.append({
            "source": "article",
            "video_id": (where.video_id if where else None) or "", "article_id": article.id,
            "lang": (article.language or "")[:2].lower(), "date": article.date or "",
            "text": sentence.text,
            "start": where.start if where else None, "end": where.end if where else None,
            "speaker": speaker_terms([where.speaker], names.get(where.video_id, {})) if where else [],
        })
    return docs


def spoken_words(segments: list[Segment]) -> tuple[list[str], list[float]]:
    """The whitespace-separated words of some segments and when each starts.

    Whisper's word tokens carry their own spacing: " U" + ".S." is the word "U.S.", timed by
    its first token. A segment without word timings is spread evenly over its span.
    """
    chunks: list[str] = []
    times: list[float] = []
    for segment in segments:
        if not segment.words:
            parts = segment.text.split()
            step = (segment.end - segment.start) / max(1, len(parts))
            chunks += parts
            times += [segment.start + i * step for i in range(len(parts))]
            continue
        opened = False  # a segment always starts a new word
        for w in segment.words:
            pieces = w.word.split()
            if not pieces:
                continue
            if opened and not w.word[:1].isspace():
                chunks[-1] += pieces[0]
            else:
                chunks.append(pieces[0])
                times.append(w.start)
            for piece in pieces[1:]:
                chunks.append(piece)
                times.append(w.start)
            opened = not w.word[-1:].isspace()
    return chunks, times


def transcript_documents(transcript: Transcript, date: str = "", article_id: str = "",
                         names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One passage per pair of adjacent segments, so a phrase cut in two by Whisper still matches;
    `names` are the names of the video's speakers."""
    segments = [s for s in transcript.segments if s.text.strip()]
    pairs = [segments[k:k + 2] for k in range(max(1, len(segments) - 1))] if segments else []
    docs = []
    for pair in pairs:
        chunks, times = spoken_words(pair)
        if not chunks:
            continue
        docs.append({
            "source": "transcript",
            "video_id": transcript.video_id, "article_id": article_id,
            "lang": (transcript.language or "")[:2].lower(), "date": date,
            "text": " ".join(chunks), "start": pair[0].start, "end": pair[-1].end, "times": times,
            "speaker": speaker_terms([s.speaker for s in pair], names or {}),
        })
    return docs


def translation_documents(translation: Translation) -> list[dict[str, Any]]:
    """The English track as passages of its own (source "translation"), a pair of adjacent segments
    each as for the transcript, timed on the original speech."""
    segments = [Segment(s.start, s.end, s.text) for s in translation.segments if s.text.strip()]
    pairs = [segments[k:k + 2] for k in range(max(1, len(segments) - 1))] if segments else []
    docs = []
    for pair in pairs:
        chunks, times = spoken_words(pair)
        docs.append({"source": "translation", "video_id": translation.video_id, "article_id": "",
                     "lang": "en", "date": "", "text": " ".join(chunks), "start": pair[0].start,
                     "end": pair[-1].end, "times": times, "speaker": []})
    return docs


def whoosh_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """A document as the writer takes it: one text object for both word fields (the schema
    finds its words once), dates as terms, word times packed."""
    text = doc["text"]
    fields = {
        "source": doc["source"], "video_id": doc.get("video_id") or "",
        "article_id": doc.get("article_id") or "", "lang": doc.get("lang") or "und",
        "date": date_terms(doc.get("date") or "") or ["none"], "text": text, "pairs": text,
        "start": _seconds(doc.get("start")), "end": _seconds(doc.get("end")),
        "speaker": doc.get("speaker") or [],
    }
    if doc.get("times"):
        fields["times"] = pack_times(doc["times"])
    return fields


def _seconds(value) -> float | None:
    """A plain float: a numpy float from a stage would make every search import numpy to
    unpickle it (about 0.1 s)."""
    return None if value is None else round(float(value), 3)


def owned_by(owner: str):
    """The documents an article or a video owns: its sentences, or its transcript's and translation's passages."""
    return Or([And([Term("source", "article"), Term("article_id", owner)]),
               And([Term("source", "transcript"), Term("video_id", owner)]),
               And([Term("source", "translation"), Term("video_id", owner)])])


def replace(index_dir: Path, owner_docs: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Replace, in one commit, every document of each owner (article or video id) with the given ones."""
    with _WRITING:
        ix = open_index(index_dir)
        lexicon = Lexicon(ix.storage.folder)
        writer = FastSegmentWriter(ix, timeout=WRITER_TIMEOUT, delay=0.25)
        try:
            layout.remove_stale(index_dir)  # what a rebuild killed after its switch left
            if lexicon.generation() < writer.generation - 1:  # behind the index (see phonetic.Lexicon)
                with ix.reader() as reader:
                    lexicon.add(lexicon.missing(w.decode("utf-8") for w in reader.lexicon("text")))
            for owner, docs in owner_docs.items():
                writer.delete_by_query(owned_by(owner))
                for doc in docs:
                    writer.add_document(**whoosh_fields(doc))
            lexicon.add(writer.pending_words(), generation=writer.generation)
        except BaseException:
            writer.cancel()
            raise
        checkpoint("words")
        writer.commit()
        checkpoint("committed")
        return {owner: len(docs) for owner, docs in owner_docs.items()}


def rebuild(index_dir: Path, owner_docs: Iterable[tuple[str, list[dict[str, Any]]]],
            parallel_from: int = 50_000) -> int:
    """A new index from scratch, built beside the live one, which stays live until the new
    one is complete (index/layout.py). From `parallel_from` documents on, two processes
    write a segment each."""
    docs = [whoosh_fields(doc) for _, owned in owner_docs for doc in owned]
    install_build(index_dir, docs, procs=2 if len(docs) >= parallel_from else 1)
    return len(docs)


def install_build(index_dir: Path, docs: list[dict[str, Any]], procs: int = 1, stats: dict | None = None) -> Path:
    """Write documents (as whoosh_fields makes them) into a new build of the index, make it
    the live one, and remove the others; `stats` as for engine.build_parallel."""
    build = layout.new_build(index_dir)
    ix = whoosh_index.create_in(str(build), make_schema())
    checkpoint("created")
    parts = [docs[i * len(docs) // procs:(i + 1) * len(docs) // procs] for i in range(procs)]
    words = build_parallel(ix, parts, stats)
    Lexicon(build).add(words, generation=ix.latest_generation())
    checkpoint("built")
    layout.switch(index_dir, build)
    checkpoint("switched")
    forget(index_dir)
    layout.remove_stale(index_dir)
    return build


def document_count(index_dir: Path) -> int:
    ix = open_index(index_dir, create=False)
    return ix.doc_count() if ix else 0


def owner_count(index_dir: Path, owner: str) -> int:
    """How many live documents an article or video has in the index."""
    ix = open_index(index_dir, create=False)
    if ix is None:
        return 0
    with ix.searcher() as searcher:
        return sum(1 for _ in searcher.docs_for_query(owned_by(owner)))
