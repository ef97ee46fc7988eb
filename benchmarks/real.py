#!/usr/bin/env python3
"""Real inputs, one run: discovery on real news pages and speech on real recordings.

    .venv/bin/python benchmarks/real.py [--pages-only | --speech-only] [--verbose]

Runs benchmarks/real_pages.py (videos found on the pages of tests/fixtures/real/pages/,
precision and recall against the hand-made truth, per page and overall) and then
benchmarks/real_speech.py (each recording of tests/fixtures/real/recordings/ archived with
the default configuration: sentences located, start/end error against human timings, word
error rate, the language detected and the model chosen). Each prints its own figures and
targets; the exit code is 1 when any target of either is missed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import real_pages, real_speech  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--pages-only", action="store_true")
    only.add_argument("--speech-only", action="store_true")
    parser.add_argument("--verbose", "-v", action="store_true", help="every page's videos, found and missed")
    args = parser.parse_args()
    ok = True
    if not args.speech_only:
        print("== real news pages (benchmarks/real_pages.py)", flush=True)
        ok &= real_pages.run(verbose=args.verbose)
    if not args.pages_only:
        print("\n== real recordings (benchmarks/real_speech.py)", flush=True)
        ok &= real_speech.run()
    print("\nreal inputs: " + ("every target met" if ok else "a target was MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
