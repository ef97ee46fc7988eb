"""Where the live index is: a CURRENT file in the index directory names its build.

    index/
      CURRENT        "build-3": the live build, replaced atomically (temp file + rename)
      build-3/       Whoosh's files and the word table (words.sqlite) of that build

`archiver reindex` writes build-4 beside the live build-3, and only once build-4 is complete
does it replace CURRENT, then remove build-3: a kill at any moment leaves CURRENT naming a
complete index. The swap of two directory renames it replaces left no index at all when
killed between them. A Whoosh index directly in the directory (what earlier versions wrote,
and the benchmark's caches) is live when there is no CURRENT.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from whoosh import index as whoosh_index

CURRENT = "CURRENT"
BUILD = re.compile(r"build-(\d+)")


def live_dir(index_dir: Path) -> Path | None:
    """The directory of the live Whoosh index, None when there is none yet."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return index_dir if whoosh_index.exists_in(str(index_dir)) else None
    if not BUILD.fullmatch(name):
        raise ValueError(f"{index_dir / CURRENT} names {name!r}, not a build of the index")
    return index_dir / name


def new_build(index_dir: Path) -> Path:
    """An empty directory for the next build (one number past every build there)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    numbers = [int(m[1]) for p in index_dir.iterdir() if (m := BUILD.fullmatch(p.name))]
    build = index_dir / f"build-{max(numbers, default=0) + 1}"
    build.mkdir()
    return build


def switch(index_dir: Path, build: Path) -> None:
    """Make `build` the live index: its files on disk first, then CURRENT replaced in one rename."""
    from archiver.store.files import atomic_write_bytes

    for path in build.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    fd = os.open(build, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    atomic_write_bytes(index_dir / CURRENT, f"{build.name}\n".encode("ascii"))


def remove_stale(index_dir: Path) -> None:
    """Remove what is not the live build: older or unfinished builds, temp files of a killed
    switch, and the Whoosh files of the layout before CURRENT."""
    live = live_dir(index_dir)
    if live is None or live == index_dir:
        return
    for path in index_dir.iterdir():
        if path == live or path.name == CURRENT:
            continue
        if path.is_dir() and BUILD.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and (path.name.startswith((".tmp-", "_MAIN_", "MAIN_", "words.sqlite"))):
            path.unlink(missing_ok=True)
