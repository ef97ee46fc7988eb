"""Transcription on a Dask cluster: the client side of `archiver add --cluster tcp://HOST:PORT`.

Only transcription leaves this machine. Each video's decoded audio (16 kHz mono float32,
exactly what a local run hands the engine) travels inside its task to a worker, which runs
`archiver.transcribe.transcribe` on it (archiver/worker.py) and sends the Transcript back.
Downloads, alignment, the catalog and the index stay here: the archive keeps one writer,
and a transcript is written only when it has come back, so nothing is recorded twice.

Why the decoded audio and not the media file: the worker then needs no ffmpeg of the
same build to get the same samples, so its transcript is the one a local run writes (but
for how long it took and when); and it costs no CPU on either side. Measured on the fixtures (README, "Beyond one machine"):
64 kB per second of audio as it is, 46-50 kB/s as lossless WavPack (for ~5 ms of CPU per
second of audio, 5% of a transcription), 17 kB/s as 16-bit FLAC (which clips and rounds
the samples, so the text may change), 6-8 kB/s for the original audio stream, more for a
file with a picture.

The scheduler keeps each task's audio until the task is done: when a worker dies
mid-task, the scheduler runs it again on another (Dask gives up after
`distributed.scheduler.allowed-failures` retries, 3 by default: KilledWorker).
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from typing import Callable

import numpy as np

from .errors import ArchiverError
from .models import Transcript
from .transcribe import TranscribeOptions

WHERE_FROM = "(the address comes from --cluster or [cluster] scheduler)"
POLL = 2.0  # seconds between checks that the cluster still has a worker, while waiting for a result


class ClusterTranscriber:
    """Sends each transcription to the workers of the Dask scheduler at `address`."""

    def __init__(self, address: str, connect_timeout: float = 5, worker_timeout: float = 30,
                 progress: Callable[[str], None] = lambda _: None):
        try:
            import dask
            from distributed import Client
        except ImportError as e:
            raise ArchiverError("--cluster needs Dask distributed: pip install 'transcript-archiver[cluster]'") from e
        # Our errors say in one line what happened; Dask's own log lines would only repeat it.
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        # The audio travels in the task on purpose (see above): no warning for a "large graph".
        dask.config.set({"distributed.admin.large-graph-warning-threshold": "1TiB"})
        self.address, self.worker_timeout = address, worker_timeout
        self.where = f" on {address}"
        _check_reachable(address, connect_timeout)
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise ArchiverError(f"cannot reach the Dask scheduler at {address} ({_first_line(e)}); "
                                f"is `dask scheduler` running there? {WHERE_FROM}") from e
        try:
            if not self.client.nthreads():
                progress(f"waiting for a Dask worker at {address}")
                self.client.wait_for_workers(1, timeout=worker_timeout)
            self.threads = sum(self.client.nthreads().values())
        except (OSError, TimeoutError) as e:
            self.close()
            raise ArchiverError(f"the Dask scheduler at {address} has no worker (waited {worker_timeout:g} s); "
                                f"start one with `archiver worker {address}`") from e
        self.slots = self.threads + 1  # one more in flight: a worker never waits while we align and index
        self._no_worker_since: float | None = None
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, video_id: str, media_sha256: str,
                   options: TranscribeOptions) -> Transcript:
        from .worker import transcribe_task

        if self.client.status != "running":
            raise ArchiverError(self._lost(video_id))
        future = self.client.submit(transcribe_task, audio, video_id, media_sha256, options, pure=False,
                                    key=f"transcribe-{video_id}-{uuid.uuid4().hex[:8]}")
        try:
            return self._wait(future, video_id)
        finally:
            future.release()

    def _wait(self, future, video_id: str) -> Transcript:
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError

        while True:
            try:
                return future.result(timeout=POLL)
            except TimeoutError:
                self._check_workers()
            except KilledWorker as e:
                raise ArchiverError(f"{video_id}: the Dask workers running its transcription died "
                                    f"{e.allowed_failures + 1} times (last {e.last_worker.address}); "
                                    "`archiver retry` tries again") from e
            except FutureCancelledError as e:  # the scheduler went away: Dask cancels every future
                raise ArchiverError(self._lost(video_id)) from e
            except ArchiverError:
                raise
            except Exception as e:  # noqa: BLE001 (raised on the worker: still this video's failure)
                raise ArchiverError(f"{video_id}: transcription failed on the cluster: "
                                    f"{type(e).__name__}: {_first_line(e)}") from e

    def _check_workers(self) -> None:
        """A task waits forever on a cluster without workers: fail it after worker_timeout."""
        try:
            count = len(self.client.nthreads())
        except Exception:  # noqa: BLE001 (the scheduler is away: the future is cancelled, and _wait says so)
            return
        with self._lock:
            if count:
                self._no_worker_since = None
                return
            self._no_worker_since = self._no_worker_since or time.monotonic()
            waited = time.monotonic() - self._no_worker_since
        if waited > self.worker_timeout:
            raise ArchiverError(f"no Dask worker left at {self.address} for {waited:.0f} s; what finished is "
                                f"archived: start a worker (`archiver worker {self.address}`), then `archiver retry`")

    def _lost(self, video_id: str) -> str:
        return (f"{video_id}: not transcribed, lost the Dask scheduler at {self.address}; what finished is "
                "archived: `archiver retry` finishes the rest")

    def close(self) -> None:
        try:
            self.client.close(timeout=5)
        except Exception:  # noqa: BLE001 (closing a client whose scheduler is gone)
            pass


def _check_reachable(address: str, timeout: float) -> None:
    """Fail fast with the address named: at once where Dask would retry a refused connection
    until its timeout, and within `timeout` where something that is not a Dask scheduler
    answers (a dashboard's HTTP port would keep Dask's handshake waiting for ever)."""
    import socket
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import get_address_host_port, parse_address

    try:
        scheme, _ = parse_address(address)
        host, port = get_address_host_port(address)
    except ValueError as e:
        raise ArchiverError(f"{address!r} is not a Dask scheduler address ({_first_line(e)}): "
                            f"give tcp://HOST:PORT {WHERE_FROM}") from e
    if scheme not in ("tcp", "tls"):
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or _first_line(e)).lower()
        raise ArchiverError(f"cannot reach the Dask scheduler at {address} ({reason}); is `dask scheduler` "
                            f"running there? {WHERE_FROM}") from e
    with ThreadPoolExecutor(1) as thread:  # its own event loop, whatever loop the caller runs
        identity = thread.submit(asyncio.run, _identity(address, timeout)).result()
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
        reason = (_first_line(identity) if isinstance(identity, (OSError, TimeoutError))
                  else "something else answers there")
        raise ArchiverError(f"no Dask scheduler answers at {address} ({reason}); is that the scheduler's port "
                            f"(8786 by default, not the dashboard's)? {WHERE_FROM}")


async def _identity(address: str, timeout: float):
    """The scheduler's identity, or the exception that stood in the way."""
    from distributed.core import rpc

    try:
        async with rpc(address, timeout=timeout) as scheduler:
            return await asyncio.wait_for(scheduler.identity(), timeout)
    except (Exception, asyncio.CancelledError) as e:  # noqa: BLE001 (a foreign server gives any kind)
        return TimeoutError(f"no answer within {timeout:g} s") if isinstance(e, TimeoutError) else e


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
