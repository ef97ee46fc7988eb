"""A reader process for the concurrency test: searches, shows and status while an add writes.

    python tests/readers.py ARCHIVE COUNT INTERVAL WORD...

Opens the archive read-only for every operation (as each `archiver` command does), runs
COUNT searches (one per word, in turn) INTERVAL seconds apart, and then more until the file
named by the environment variable READERS_STOP exists (when it is set: so that a slow
machine's readers still see the writers' commits), with a `show` of an
archived article or video and a `status` between them, and prints one JSON line:
{"searches", "shows", "statuses", "errors": [...], "totals": [...], "at": [...]} where totals
are the hit counts seen over time (they grow while the add commits) and at the times of the
searches.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archiver import config as config_mod  # noqa: E402
from archiver.pipeline import Archive  # noqa: E402
from archiver.search import search  # noqa: E402
from archiver.show import show  # noqa: E402


def main() -> None:
    archive_dir, count, interval, words = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    config = config_mod.load()
    done = {"searches": 0, "shows": 0, "statuses": 0, "errors": [], "totals": [], "at": []}
    while not (archive_dir / "catalog.sqlite").exists():
        time.sleep(0.05)
    stop = os.environ.get("READERS_STOP")
    n = 0
    while n < count or (stop and not Path(stop).exists()):
        try:
            archive = Archive.open(archive_dir, config, readonly=True)
            try:
                result = search(archive, words[n % len(words)], limit=5)
                done["searches"] += 1
                done["totals"].append(result["total"])
                done["at"].append(time.time())
                rows = archive.catalog.articles() + archive.catalog.videos()
                done["statuses"] += 1
                if rows:
                    show(archive, random.choice(rows)["id"])
                    done["shows"] += 1
            finally:
                archive.catalog.close()
        except Exception as e:  # every failure counts, with where it came from
            done["errors"].append(f"{type(e).__name__}: {e} | {traceback.format_exc(limit=-3)!r}")
        n += 1
        time.sleep(interval)
    print(json.dumps(done))


if __name__ == "__main__":
    main()
