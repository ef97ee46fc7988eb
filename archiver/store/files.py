"""Paths inside the archive, atomic writes, and safe ids.

Nothing here builds a path from web text: ids are sanitized to [a-z0-9._-] and every
path is checked to stay inside the archive.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator

TEMP_PREFIX = ".tmp-"  # every temp file and directory starts with this, so cleanup can find them


def slugify(text: str, max_len: int = 40) -> str:
    """A lowercase ASCII slug, safe as one path component (never '.', '..' or empty)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-")
    return slug or "x"


def short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:n]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_open(path: Path, exclusive: bool = False) -> Iterator[BinaryIO]:
    """A file to write that appears at `path` only once complete: a temp file in the same
    directory (mode 0600), fsynced, then renamed over the target; removed if the writing fails.

    exclusive: never replace an existing `path`; FileExistsError when there is one (two
    processes making the same key: the first one's stays)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path) as f:
        f.write(data)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Layout:
    """Where each stage's output lives inside one archive directory."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _inside(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"path {path} escapes the archive {self.root}")
        return path

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def writer_lock(self) -> Path:
        """Held (flock) by the one command writing to the archive; see Archive.writing."""
        return self.root / "writer.lock"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    def article_dir(self, article_id: str) -> Path:
        return self._inside("articles", article_id)

    def article_json(self, article_id: str) -> Path:
        return self.article_dir(article_id) / "article.json"

    def media_dir(self, video_id: str) -> Path:
        return self._inside("media", video_id)

    def transcript_json(self, video_id: str, engine: str, model: str) -> Path:
        return self._inside("transcripts", video_id, f"{slugify(engine)}-{slugify(model, 60)}.json")

    def translation_json(self, video_id: str) -> Path:
        """The video's English track (archiver/translation.py), beside its transcript."""
        return self._inside("transcripts", video_id, "translation-en.json")

    def speaker_names_json(self, video_id: str) -> Path:
        """The names the user gave a video's speakers (`archiver speakers`): kept apart from the
        transcript, so that a new transcription or diarization keeps them."""
        return self._inside("transcripts", video_id, "speaker-names.json")

    def alignment_json(self, article_id: str, video_id: str) -> Path:
        return self._inside("alignments", article_id, f"{video_id}.json")

    def temp_files(self) -> list[Path]:
        """Leftovers of killed runs: temp files and partial download directories."""
        if not self.root.exists():
            return []
        return [p for p in self.root.rglob(f"{TEMP_PREFIX}*") if "index" not in p.relative_to(self.root).parts[:1]]
