"""Transcription on a real Dask cluster: a `dask scheduler` and `archiver worker` processes
started here on 127.0.0.1 (free ports), driven through the real CLI.

A batch through the cluster gives the archive a local batch gives (transcripts byte for
byte but for `seconds`, the same index); a worker killed mid-task costs nothing; a
scheduler that is not there is one line; a scheduler lost mid-batch keeps what finished
and `retry` does the rest. Media are short narrations of one sentence each (tests/makemedia.py):
the subject is where transcriptions run and what survives a kill, not the speech.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import makemedia
from conftest import ARCHIVER, ROOT, LoopbackServer, news_page, run_cli, run_json, run_on_terminal
from test_reliability import check_consistent

sys.path.insert(0, str(ROOT))

from archiver.pipeline import Archive  # noqa: E402

distributed = pytest.importorskip("distributed", reason="the [cluster] extra is not installed")

DASK = Path(sys.executable).parent / "dask"


class DaskCluster:
    """A `dask scheduler` and named `archiver worker`s (one thread each), every process in a
    session of its own so that a kill takes a worker's nanny and its worker process at once."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        info = root / "scheduler.json"
        self.scheduler = self._spawn("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                                   "--no-dashboard", "--scheduler-file", str(info)])
        self.workers: dict[str, subprocess.Popen] = {}
        deadline = time.monotonic() + 60
        while not (info.exists() and info.stat().st_size):
            assert time.monotonic() < deadline and self.scheduler.poll() is None, self.log("scheduler")
            time.sleep(0.1)
        self.address = json.loads(info.read_text())["address"]
        self.client = distributed.Client(self.address, timeout=30, set_as_default=False)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.root / f"{name}.log", "ab") as log:
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")[-3000:]

    def start_workers(self, *names: str) -> None:
        """`archiver worker`s, or for a name starting with "dask", Dask's own `dask worker` with our preload."""
        for name in names:
            command = [str(DASK), "worker", "--preload", "archiver.worker"] if name.startswith("dask") else \
                [str(ARCHIVER), "worker"]
            self.workers[name] = self._spawn(name, [*command, self.address, "--nthreads", "1", "--name", name,
                                                    "--host", "127.0.0.1", "--no-dashboard"])
        self.client.wait_for_workers(len(self.workers), timeout=120)

    def name_of(self, address: str) -> str:
        return self.client.scheduler_info(n_workers=-1)["workers"][address]["name"]

    def kill(self, process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def close(self) -> None:
        self.client.close(timeout=5)
        for process in [*self.workers.values(), self.scheduler]:
            self.kill(process)


@pytest.fixture(scope="module")
def pieces(tmp_path_factory) -> list[makemedia.Piece]:
    return makemedia.narrated(8, tmp_path_factory.mktemp("cluster-pieces"), sentences=1)  # 5-10 s each


@pytest.fixture(scope="module")
def pages(tmp_path_factory, pieces):
    """A loopback site with an article page per piece, each embedding its narration."""
    root = tmp_path_factory.mktemp("cluster-site")
    for i, piece in enumerate(pieces):
        (root / f"v{i}.mp4").write_bytes(piece.narration.read_bytes())
        video = f'<figure><video controls src="v{i}.mp4"></video></figure>'
        (root / f"a{i}.html").write_text(news_page(piece.title, piece.paragraphs, video, where=0), encoding="utf-8")
    server = LoopbackServer(root)
    yield server
    server.close()


WORKERS = ("w1", "dask-w2")


@pytest.fixture(scope="module")
def running_cluster(tmp_path_factory):
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    cluster.start_workers(*WORKERS)
    yield cluster
    cluster.close()


@pytest.fixture
def cluster(running_cluster) -> DaskCluster:
    """The module's cluster with both its workers: a worker a test killed is started again
    here, by the next test that needs it (loading a worker's models takes seconds)."""
    running_cluster.start_workers(*(name for name in WORKERS if name not in running_cluster.workers))
    return running_cluster


def listing(path: Path, pages: LoopbackServer, count: int, first: int = 0) -> Path:
    path.write_text("".join(pages.url(f"a{i}.html") + "\n" for i in range(first, first + count)), encoding="utf-8")
    return path


def files(archive: Path, kind: str) -> dict[str, dict]:
    """Every JSON file of a kind (transcripts, alignments) by its path in the archive, without
    what is honestly per run: how long it took, and when (the transcript's provenance)."""
    out = {}
    for path in sorted((archive / kind).rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("seconds")
        if isinstance(data.get("diarization"), dict):  # a stage's own time, as the transcription's
            data["diarization"].pop("seconds", None)
        for moment in ("started_at", "finished_at"):
            data.get("provenance", {}).pop(moment, None)
        out[str(path.relative_to(archive))] = data
    return out


def index_documents(archive: Path) -> list[str]:
    from whoosh import index

    from index.layout import live_dir

    with index.open_dir(str(live_dir(archive / "index"))).searcher() as searcher:
        return sorted(json.dumps(fields, sort_keys=True, default=repr) for fields in searcher.all_stored_fields())


def test_a_cluster_batch_gives_the_archive_a_local_batch_gives(pages, cluster, tmp_path):
    """Six articles through `archiver worker` and `dask worker --preload archiver.worker`."""
    sources = listing(tmp_path / "list.txt", pages, 6)
    here = run_json("add", "--from-file", str(sources), "--jobs", "2", "--cluster", "", archive=tmp_path / "here")
    code, out, shown = run_on_terminal("add", "--from-file", str(sources), "--cluster", cluster.address,
                                       archive=tmp_path / "there")
    assert code == 0, shown[-3000:]
    assert out.count("ok     article") == 6, out
    # the progress bars of a local batch, saying where each transcription runs
    assert "archiving" in shown and "transcribe: transcribing" in shown, shown[-2000:]
    assert f"on {cluster.address}" in shown, shown[-2000:]
    status = run_json("status", archive=tmp_path / "there")
    assert sorted((a["id"], a["status"]) for a in status["articles"]) == sorted((a["id"], "ok") for a in here["articles"])

    local, remote = files(tmp_path / "here", "transcripts"), files(tmp_path / "there", "transcripts")
    assert len(remote) == 6 and remote == local  # as JSON, but for the time it took and when
    assert all(t["provenance"]["host"] == socket.gethostname() for t in remote.values())  # the worker's
    assert files(tmp_path / "there", "alignments") == files(tmp_path / "here", "alignments")
    assert index_documents(tmp_path / "there") == index_documents(tmp_path / "here")
    check_consistent(tmp_path / "there")
    for name in cluster.workers:  # both kinds of worker loaded the model before joining
        assert "archiver: faster-whisper tiny.en and base loaded for 1 transcriptions at once" in cluster.log(name)

    # the cache is one: what the cluster transcribed is never transcribed again here
    again = run_json("add", "--from-file", str(sources), "--cluster", "", archive=tmp_path / "there")
    assert not any(v["transcribed"] or v["downloaded"] for a in again["articles"] for v in a["videos"]), again


def test_a_worker_killed_mid_task_costs_nothing(pages, cluster, tmp_path):
    """SIGKILL a worker (nanny and process) while it transcribes: its task runs on the other
    worker and every article is archived exactly once."""
    archive = tmp_path / "archive"
    sources = listing(tmp_path / "list.txt", pages, 8)
    batch = subprocess.Popen([str(ARCHIVER), "--archive", str(archive), "add", "--from-file", str(sources),
                              "--cluster", cluster.address, "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    victim, deadline = None, time.monotonic() + 120
    while victim is None and batch.poll() is None and time.monotonic() < deadline:
        done = len(list((archive / "transcripts").rglob("*.json"))) if archive.exists() else 0
        busy = {w: keys for w, keys in cluster.client.processing().items() if keys}
        if done >= 1 and busy:  # mid-batch, and a worker holds a transcription
            victim = cluster.name_of(sorted(busy)[0])
            cluster.kill(cluster.workers.pop(victim))
        time.sleep(0.05)
    out, err = batch.communicate(timeout=300)
    assert victim, f"the batch ended before a worker could be killed: {err}"
    assert batch.returncode == 0, err
    report = json.loads(out)
    assert [a["status"] for a in report["articles"]] == ["ok"] * 8, report
    rows = check_consistent(archive)
    assert sorted(a["source"] for a in rows["articles"]) == sorted(a["url"] for a in report["articles"])
    assert len(rows["videos"]) == 8 and all(v["stage"] == "done" and v["status"] == "ok" for v in rows["videos"])
    assert len(list((archive / "transcripts").rglob("*.json"))) == 8
    opened = Archive.open(archive, readonly=True)
    for a in rows["articles"]:  # indexed once: as many documents as sentences, not twice as many
        assert a["indexed_docs"] == len(opened.article(a["id"]).sentences)


def test_a_scheduler_that_is_not_there_is_one_line(pages, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    started = time.monotonic()
    result = run_cli("add", pages.url("a0.html"), "--cluster", address, archive=tmp_path / "a")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and address in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30
    assert not Archive.open(tmp_path / "a", readonly=True).catalog.articles()  # nothing half-done


def test_a_scheduler_lost_mid_batch_keeps_what_finished_and_retry_finishes(pages, tmp_path):
    """The scheduler is killed after the first transcription of a batch configured for the
    cluster ([cluster] scheduler): what finished stays archived, the rest fails with the
    reason, and `retry` (here, on this machine) finishes it; nothing is archived twice."""
    lost = DaskCluster(tmp_path / "dask")
    try:
        lost.start_workers("w1")
        config = tmp_path / "archiver.toml"
        config.write_text(f'[cluster]\nscheduler = "{lost.address}"\nconnect_timeout = 2\n', encoding="utf-8")
        archive = tmp_path / "archive"
        sources = listing(tmp_path / "list.txt", pages, 5)
        batch = subprocess.Popen([str(ARCHIVER), "--config", str(config), "--archive", str(archive), "add",
                                  "--from-file", str(sources), "--json"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 120
        while batch.poll() is None and time.monotonic() < deadline:
            if archive.exists() and list((archive / "transcripts").rglob("*.json")):
                lost.kill(lost.scheduler)
                break
            time.sleep(0.05)
        out, err = batch.communicate(timeout=300)
    finally:
        lost.close()
    assert batch.returncode == 1, err
    report = json.loads(out)
    finished = [a for a in report["articles"] if a["status"] == "ok"]
    failed = [a for a in report["articles"] if a["status"] != "ok"]
    assert finished and failed, report
    assert all(f"lost the Dask scheduler at {lost.address}" in a["error"] for a in failed), [a["error"] for a in failed]
    assert all("archiver retry" in a["error"] for a in failed)
    check_consistent(archive)
    kept = {p: p.read_bytes() for p in (archive / "transcripts").rglob("*.json")}

    again = run_json("retry", "--cluster", "", archive=archive)
    assert sorted(a["url"] for a in again["articles"]) == sorted(a["url"] for a in failed)
    assert [a["status"] for a in again["articles"]] == ["ok"] * len(failed), again
    rows = check_consistent(archive)
    assert len(rows["articles"]) == 5 and all(a["status"] == "ok" for a in rows["articles"])
    assert len(list((archive / "transcripts").rglob("*.json"))) == 5
    assert all(p.read_bytes() == data for p, data in kept.items())  # what finished was not done again
