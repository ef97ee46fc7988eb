"""The misheard-names figure: how many of the seed's ten names `archiver search NAME` finds
at the right moment of the bare seed narration (no article to correct Whisper's spelling).

tests/test_search.py asserts a floor on it; benchmarks/search.py prints it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

from support import SEED

NAMES = ["al-Sukhna", "al-Tanf", "Deir Ezzor", "Homs", "Afrin", "Ahrar al-Sham", "Jisr al-Shughur", "Idlib",
         "Pompeo", "Turkistan"]


def cli_hits(archive: Path, query: str, limit: int) -> list[dict]:
    """The hits of `archiver search QUERY --limit LIMIT --json`, as a user runs it."""
    archiver = Path(sys.executable).parent / "archiver"
    out = subprocess.run([str(archiver), "--archive", str(archive), "search", query, "--limit", str(limit), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["hits"]


def names_figure(archive: Path, hits_of: Callable[[str, int], list[dict]] | None = None) -> tuple[int, list[str]]:
    """How many of the seed's ten names `archiver search NAME` puts in its top 3 at a moment
    inside a sentence that says the name (truth.json, 1 s tolerance). `hits_of(query, limit)`
    gives the hits (default: the CLI on `archive`, see cli_hits)."""
    truth = json.loads((SEED / "truth.json").read_text(encoding="utf-8"))["sentences"]
    hits_of = hits_of or (lambda query, limit: cli_hits(archive, query, limit))
    found, lines = 0, []
    for name in NAMES:
        spans = [(s["start"], s["end"]) for s in truth if name.lower() in s["text"].lower()]
        hits = hits_of(name, 3)
        good = [h for h in hits if h["start"] is not None and any(a - 1 <= h["start"] <= b + 1 for a, b in spans)]
        found += bool(good)
        best = good[0] if good else (hits[0] if hits else None)
        what = f"{best['start']:.1f}s {' '.join(best['snippet'].split())[:60]!r}" if best else "no hit"
        lines.append(f"  {'ok  ' if good else 'MISS'} {name:16} {what}".replace("\x02", "[").replace("\x03", "]"))
    return found, lines
