"""A Dask worker that transcribes for `archiver add --cluster`: the worker side.

    archiver worker tcp://HOST:8786 [--nthreads N] [--model NAME]
    dask worker tcp://HOST:8786 --preload archiver.worker [--model NAME]   # the same worker

The preload (`dask_setup`, run by Dask before the worker joins its scheduler) loads the
engine and model once, so no task waits for them or loads them again. A worker runs
`--nthreads` transcriptions at once (Dask's default: one per core), one engine thread
each, on that one model: the layout of a local batch, and Dask's own (its nanny sets
OMP_NUM_THREADS=1). Threads change the speed, never the text.

The worker needs no access to the archive: the audio comes in the task, the Transcript
goes back (archiver/cluster.py), and it carries this machine's host name.
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os
from dataclasses import replace

import click
import numpy as np

from . import config as config_mod
from .errors import ArchiverError
from .media import SAMPLE_RATE
from .models import Transcript
from .transcribe import TranscribeOptions, transcribe

logger = logging.getLogger("distributed.archiver")  # Dask's log handler prints its children


def worker_options(options: TranscribeOptions, nthreads: int) -> TranscribeOptions:
    return replace(options, cpu_threads=1, workers=nthreads)


def transcribe_task(audio: np.ndarray, video_id: str, media_sha256: str, options: TranscribeOptions) -> Transcript:
    """Runs on a worker: the transcribe() a local run calls, on the same audio and options."""
    from distributed import get_worker

    return transcribe(audio, video_id, media_sha256, worker_options(options, get_worker().state.nthreads))


@click.command()
@click.option("--engine", help="Speech engine to load (default from the archiver config).")
@click.option("--model", help="Model to load (default from the archiver config).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="An archiver TOML config file.")
async def dask_setup(worker, engine: str | None, model: str | None, config_path: str | None) -> None:
    """Dask's preload hook: load the engine and model before the worker takes tasks."""
    options = TranscribeOptions.from_config(config_mod.load(config_path)["transcribe"], engine=engine, model=model)
    options = worker_options(options, worker.state.nthreads)
    _lean(worker)
    # a second of silence runs everything a task runs (model, VAD), off the event loop
    await asyncio.to_thread(transcribe, np.zeros(SAMPLE_RATE, np.float32), "warm-up", "", options)
    logger.info("archiver: %s %s loaded for %d transcriptions at once", options.engine, options.model,
                options.workers)


def _lean(worker) -> None:
    """Undo two Dask defaults that cost a transcribing worker CPU and give it nothing.

    Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (to hand freed memory back
    to the OS), which also makes glibc serve every allocation over 128 KiB with fresh mmap'd
    pages: CTranslate2 then spent 40% more CPU (system time 0.4 -> 1.7 s and 4.7x the page
    faults on a 53 s file, 1 thread). Allocations up to 32 MiB come from the heap again.
    And the statistical profiler samples every thread's stack 100 times a second, while a
    task here is one long call into native code: it is stopped.
    """
    if "MALLOC_TRIM_THRESHOLD_" in os.environ:
        try:
            libc = ctypes.CDLL(None)
            libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD (its maximum on 64-bit)
            libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD: keep what a transcription frees for the next
        except (OSError, AttributeError):  # not glibc: nothing to undo there
            pass
    for name in ("profile", "profile-cycle"):
        callback = worker.periodic_callbacks.pop(name, None)
        if callback is not None:
            callback.stop()


def run(scheduler: str, dask_args: list[str]) -> None:
    """`archiver worker`: Dask's own `dask worker` with this module as its preload."""
    try:
        from distributed.cli.dask_worker import main as dask_worker
    except ImportError as e:
        raise ArchiverError("`archiver worker` needs Dask distributed: pip install 'transcript-archiver[cluster]'") from e
    dask_worker.main(args=[scheduler, "--preload", __name__, *dask_args], prog_name="archiver worker")
