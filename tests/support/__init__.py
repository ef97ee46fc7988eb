"""Test material that the tests and the benchmarks share, inside the repository.

- this module: where the fixtures are (tests/conftest.py re-exports FIXTURES and SEED) and
  the ffmpeg every generator runs;
- `narrate`: narrated test videos with the exact time of every sentence;
- `articles`: the texts they read (the seed article's body and three made-up reports);
- `names`: the misheard-names figure on the seed narration.

The tests import it as `support` (pytest puts tests/ on sys.path), the benchmarks after
putting tests/ there themselves. Nothing here reads outside the repository.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SEED = FIXTURES / "seed-article"


def ffmpeg(*args: str, stdin: bytes | None = None) -> None:
    """Run the archiver's own ffmpeg (the system one, else imageio-ffmpeg's), quiet, overwriting."""
    from archiver.media import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True,
                   input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
