"""Where transcriptions run: on this machine's cores, or on the workers of a Dask cluster.

The pipeline hands a Transcriber the decoded audio and gets a Transcript back; it never
knows which kind it holds. Both call the same `archiver.transcribe.transcribe` with the
same options, so a video gives the same transcript wherever it ran.

    LocalTranscriber    this process (the default)
    ClusterTranscriber  archiver/cluster.py: `add --cluster tcp://HOST:PORT`, workers from
                        `archiver worker` (archiver/worker.py)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Protocol

import numpy as np

from .models import Transcript
from .transcribe import TranscribeOptions, transcribe


class Transcriber(Protocol):
    slots: int  # transcriptions that may run at once: a batch keeps this many going
    where: str  # for progress lines: "" here, " on tcp://..." on a cluster

    def transcribe(self, audio: np.ndarray, video_id: str, media_sha256: str,
                   options: TranscribeOptions) -> Transcript: ...

    def close(self) -> None: ...


@dataclass
class LocalTranscriber:
    """This machine: one transcription at a time on every core, or (batches) `slots` at once,
    one core each, on one shared model."""

    slots: int = 1
    where: str = ""

    @classmethod
    def for_batch(cls, options: TranscribeOptions) -> LocalTranscriber:
        # One transcription on all cores leaves them ~30% idle between decoding steps (tiny
        # model); two at once, one thread each, on one shared model keep both busy.
        cores = os.cpu_count() or 1
        return cls(2 if cores >= 2 and options.engine == "faster-whisper" else 1)

    def transcribe(self, audio: np.ndarray, video_id: str, media_sha256: str,
                   options: TranscribeOptions) -> Transcript:
        if self.slots > 1:  # threads and workers change speed, never the text (not in the cache key)
            options = replace(options, cpu_threads=max(1, (os.cpu_count() or 1) // self.slots), workers=self.slots)
        return transcribe(audio, video_id, media_sha256, options)

    def close(self) -> None:
        pass


def open_transcriber(config: dict[str, Any], scheduler: str | None, options: TranscribeOptions, batch: bool,
                     progress: Callable[[str], None]) -> Transcriber:
    """A ClusterTranscriber when a scheduler is given (or configured in [cluster]), else local.
    `scheduler=""` means this machine whatever the config says."""
    cluster = config.get("cluster", {})
    address = cluster.get("scheduler", "") if scheduler is None else scheduler
    if not address:
        return LocalTranscriber.for_batch(options) if batch else LocalTranscriber()
    from .cluster import ClusterTranscriber

    return ClusterTranscriber(address, connect_timeout=float(cluster.get("connect_timeout", 5)),
                              worker_timeout=float(cluster.get("worker_timeout", 30)), progress=progress)
