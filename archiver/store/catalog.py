"""The catalog: SQLite, the source of truth for what the archive holds and how far each item got.

WAL mode so that `search`, `show` and `status` read while an `add` writes; a busy timeout
so that a second writer waits instead of failing. Readers open it with SQLite's `mode=ro`,
so that nothing they do can write, and they work on an archive they may not write to.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import ArchiverError

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,          -- the URL (without #fragment) or the absolute path of the file
    title TEXT,
    date TEXT,
    language TEXT,
    fetched_at TEXT,
    stage TEXT NOT NULL,           -- the last stage reached: fetch, videos, align, index, done
    status TEXT NOT NULL,          -- ok | failed | running
    error TEXT,
    note TEXT,
    indexed_docs INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS videos (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,             -- where the media was fetched from
    title TEXT,
    media_file TEXT,               -- file name inside media/<id>/
    webpage_url TEXT,              -- the host's page, for links that open the moment
    extractor TEXT,
    fetched_at TEXT,
    sha256 TEXT,
    duration REAL,
    language TEXT,
    language_probability REAL,
    engine TEXT,
    model TEXT,
    model_reason TEXT,             -- which model and why ("base (auto: speech detected fr 0.97; ...)")
    stage TEXT NOT NULL,           -- download, transcribe, index, done
    status TEXT NOT NULL,
    error TEXT,
    indexed_docs INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE INDEX IF NOT EXISTS videos_sha256 ON videos(sha256);
CREATE TABLE IF NOT EXISTS video_urls (     -- every URL known to give a video, for dedup before download
    url TEXT PRIMARY KEY,
    video_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS links (          -- article -> video, in the order the article links them
    article_id TEXT NOT NULL,
    url TEXT NOT NULL,
    position INTEGER NOT NULL,
    video_id TEXT,
    status TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (article_id, url)
);
CREATE TABLE IF NOT EXISTS sources (        -- a video given directly, not from an article
    source TEXT PRIMARY KEY,                 -- as articles.source
    video_id TEXT
);
"""

ADDED_COLUMNS = [("videos", "model_reason", "TEXT")]


@dataclass
class Row:
    data: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None


class WritesStopped(BaseException):
    """A write after the writing command was interrupted (Ctrl-C, SIGTERM): the thread that
    tries it must stop, not record anything (a BaseException, so no `except Exception` keeps it)."""


class Catalog:
    def __init__(self, path: Path, readonly: bool = False, create: bool = True):
        """readonly: for readers (nothing can write through it); create=False: for commands that
        write to an archive but make no sense on a new one (retry, reindex)."""
        if not path.is_file() and (readonly or not create):
            raise ArchiverError(f"no archive at {path.parent}; run `archiver add` first or pass --archive DIR")
        self.lock = threading.RLock()  # one connection shared by the pipeline's threads
        self.stopped = False
        if readonly:
            self.db = _connect_readonly(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = _connect(str(path))
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.executescript(SCHEMA)
            self._add_columns()

    def _add_columns(self) -> None:
        """Columns added since an archive was made: ALTER TABLE, once (CREATE IF NOT EXISTS keeps old tables)."""
        for table, column, kind in ADDED_COLUMNS:
            have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self.db.close()

    def _exec(self, sql: str, args: Any = ()) -> None:
        with self.lock:
            if self.stopped:
                raise WritesStopped()
            self.db.execute(sql, args)

    def _all(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        try:
            with self.lock:
                return [dict(r) for r in self.db.execute(sql, args)]
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):  # an empty archive, opened read-only
                return []
            raise

    def _one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = self._all(sql, *args)
        return rows[0] if rows else None

    # articles
    def article(self, article_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM articles WHERE id = ?", article_id)

    def article_by_source(self, source: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM articles WHERE source = ?", source)

    def articles(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM articles ORDER BY updated_at")

    def upsert_article(self, article_id: str, **fields: Any) -> None:
        self._upsert("articles", article_id, {"stage": "fetch", "status": "running", "source": article_id}, fields)

    # videos
    def video(self, video_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM videos WHERE id = ?", video_id)

    def videos(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM videos ORDER BY updated_at")

    def video_by_sha256(self, sha256: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM videos WHERE sha256 = ? AND stage != 'download'", sha256)

    def video_for_url(self, url: str) -> str | None:
        row = self._one("SELECT video_id FROM video_urls WHERE url = ?", url)
        return row["video_id"] if row else None

    def remember_url(self, url: str, video_id: str) -> None:
        self._exec("INSERT OR REPLACE INTO video_urls (url, video_id) VALUES (?, ?)", (url, video_id))

    def upsert_video(self, video_id: str, **fields: Any) -> None:
        self._upsert("videos", video_id, {"stage": "download", "status": "running", "url": video_id}, fields)

    def _upsert(self, table: str, row_id: str, defaults: dict[str, Any], fields: dict[str, Any]) -> None:
        """Update the row's given fields, or insert it with `defaults` for the rest."""
        fields["updated_at"] = time.time()
        with self.lock:  # check-then-write must not interleave
            if self._one(f"SELECT id FROM {table} WHERE id = ?", row_id) is None:
                fields = {**defaults, **fields}
                cols = ["id", *fields]
                self._exec(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                           [row_id, *fields.values()])
            else:
                sets = ", ".join(f"{k} = ?" for k in fields)
                self._exec(f"UPDATE {table} SET {sets} WHERE id = ?", [*fields.values(), row_id])

    def delete_video(self, video_id: str) -> None:
        self._exec("DELETE FROM videos WHERE id = ?", (video_id,))

    # links
    def set_link(self, article_id: str, url: str, position: int, video_id: str | None,
                 status: str, error: str | None = None) -> None:
        self._exec(
            "INSERT OR REPLACE INTO links (article_id, url, position, video_id, status, error) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (article_id, url, position, video_id, status, error),
        )

    def links(self, article_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM links WHERE article_id = ? ORDER BY position", article_id)

    def video_ids_of(self, article_id: str) -> list[str]:
        ids: list[str] = []
        for link in self.links(article_id):
            if link["video_id"] and link["status"] == "ok" and link["video_id"] not in ids:
                ids.append(link["video_id"])
        return ids

    def articles_of(self, video_id: str) -> list[str]:
        rows = self._all("SELECT DISTINCT article_id FROM links WHERE video_id = ? ORDER BY article_id", video_id)
        return [r["article_id"] for r in rows]

    def unindexed(self, table: str) -> list[str]:
        """Ids of the articles or videos ("articles", "videos") whose index write failed."""
        assert table in ("articles", "videos")
        return [r["id"] for r in self._all(f"SELECT id FROM {table} WHERE stage = 'index' AND status = 'failed' "
                                           "ORDER BY updated_at")]

    # direct video sources
    def set_source(self, source: str, video_id: str | None) -> None:
        self._exec("INSERT OR REPLACE INTO sources (source, video_id) VALUES (?, ?)", (source, video_id))

    def failed_sources(self) -> list[str]:
        """Videos given directly whose archiving failed."""
        rows = self._all("SELECT s.source FROM sources s LEFT JOIN videos v ON v.id = s.video_id "
                         "WHERE s.video_id IS NULL OR v.status != 'ok'")
        return [r["source"] for r in rows]

    def find(self, prefix: str) -> tuple[str, str] | None:
        """('article'|'video', id) for an exact id, or a unique id prefix."""
        for kind, table in (("article", "articles"), ("video", "videos")):
            if self._one(f"SELECT id FROM {table} WHERE id = ?", prefix):
                return kind, prefix
        matches = [("article", r["id"]) for r in self._all("SELECT id FROM articles WHERE id LIKE ? || '%'", prefix)]
        matches += [("video", r["id"]) for r in self._all("SELECT id FROM videos WHERE id LIKE ? || '%'", prefix)]
        return matches[0] if len(matches) == 1 else None

    def end_running(self, why: str, stop_writes: bool = False) -> None:
        """Every row still `running` becomes `failed`, its error naming the stage it stopped in
        and `why`, so that `status` shows it and `retry` runs it again. Only the archive's one
        writer calls this (rows are `running` only while a writer works on them); with
        `stop_writes`, later writes raise WritesStopped (threads still working after Ctrl-C)."""
        reason = f": {why}; `archiver retry` resumes it"
        with self.lock:
            for table, name in (("articles", "source"), ("videos", "url")):
                self._exec(f"UPDATE {table} SET status = 'failed', updated_at = ?, "
                           f"error = {name} || ': interrupted in stage ' || stage || ? WHERE status = 'running'",
                           (time.time(), reason))
            self.stopped = stop_writes

    def iter_failures(self) -> Iterator[dict[str, Any]]:
        for kind, table in (("article", "articles"), ("video", "videos")):
            for row in self._all(f"SELECT * FROM {table} WHERE status = 'failed'"):
                yield {"kind": kind, **row}


def _connect(target: str, uri: bool = False) -> sqlite3.Connection:
    db = sqlite3.connect(target, uri=uri, timeout=60, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout = 60000")
    return db


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """mode=ro: SQLite refuses every write. A WAL database needs its -shm file to be read; when
    no writer has it open and the directory is not ours to write (another user's archive, a
    read-only disk), SQLite cannot create it, and then no writer can be at work either: the
    file is read as immutable."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        db = _connect(uri, uri=True)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as e:
            db.close()
            if "readonly" not in str(e):
                raise
            db = _connect(f"{uri}&immutable=1", uri=True)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.Error as e:
        raise ArchiverError(f"cannot read the catalog {path}: {e}; check its permissions") from e
