"""The pipeline: sources -> article -> videos -> transcripts -> alignments -> index.

Each step skips work whose output already exists (keyed by content), records its result
in the catalog only after its files are complete, and turns any failure into a one-line
error on the item it concerns, so one bad link never costs the others.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import functools
import os
import shutil
import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from urllib.parse import urldefrag, urlsplit
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import capture, provenance
from . import config as config_mod
from .article import ARTICLE_SUFFIXES, article_id_for, now, read_article
from .errors import ArchiverError
from .media import is_media_path, load_audio, probe
from .models import Alignment, Article, Transcript, Translation
from .store.catalog import Catalog
from .store.files import Layout, atomic_write_bytes, atomic_write_json, read_json, sha256_file, short_hash, slugify
from .show import speaker_names
from .transcribe import TranscribeOptions
from .transcriber import LocalTranscriber, Transcriber, open_transcriber

Progress = Callable[[str], None]
PER_HOST = 2  # concurrent fetches from one host


def _quiet(_: str) -> None:
    pass


@dataclass
class Archive:
    """An opened archive: where things are, the catalog, and the configuration."""

    layout: Layout
    catalog: Catalog
    config: dict[str, Any]
    _locks: defaultdict = field(default_factory=lambda: defaultdict(threading.Lock), repr=False)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _hosts: dict = field(default_factory=dict, repr=False)
    _writers: int = field(default=0, repr=False)
    _index: Any = field(default=None, repr=False)

    @classmethod
    def open(cls, root: str | Path | None = None, config: dict[str, Any] | None = None,
             readonly: bool = False, create: bool = True) -> Archive:
        """readonly: for readers, who never write; create=False: an error when there is no archive."""
        config = config or config_mod.load()
        layout = Layout(root or config["archive"]["path"])
        return cls(layout, Catalog(layout.catalog, readonly=readonly, create=create), config)

    @property
    def index(self):
        """The search backend that the config names ([search] backend; index.backends)."""
        if self._index is None:
            from index.backends import open_backend

            self._index = open_backend(self.config, self.layout.index_dir)
        return self._index

    @property
    def capture(self) -> bool:
        """Config [evidence] capture: write page.wacz and provenance.json (the default)."""
        return bool((self.config.get("evidence") or {}).get("capture", True))

    def transcribe_options(self, **overrides: Any) -> TranscribeOptions:
        return TranscribeOptions.from_config(self.config["transcribe"], **overrides)

    # reading back what stages wrote
    def article(self, article_id: str) -> Article:
        path = self.layout.article_json(article_id)
        if not path.exists():  # a source that failed before it was read: the catalog has why
            row = self.catalog.article(article_id) or {}
            raise ArchiverError(f"{article_id}: not archived ({row.get('error') or 'interrupted'}); "
                                "`archiver retry` tries it again")
        return Article.from_dict(read_json(path))

    def transcript(self, video_id: str) -> Transcript | None:
        row = self.catalog.video(video_id)
        if not row or not row["engine"]:
            return None
        path = self.layout.transcript_json(video_id, row["engine"], row["model"])
        return Transcript.from_dict(read_json(path)) if path.exists() else None

    def alignments(self, article_id: str) -> list[Alignment]:
        out = []
        for video_id in self.catalog.video_ids_of(article_id):
            path = self.layout.alignment_json(article_id, video_id)
            if path.exists():
                out.append(Alignment.from_dict(read_json(path)))
        return out

    @contextmanager
    def lock_for(self, key: str):
        """One thread at a time per URL or video id (the same video linked twice in a batch)."""
        with self._locks_guard:
            lock = self._locks[key]
        with lock:
            yield

    @contextmanager
    def host_slot(self, source: str):
        """At most PER_HOST fetches from one host at a time (article pages, video probes and
        downloads alike): be polite to news sites and video hosts. Never nested: a thread holds
        one slot at a time, so two threads cannot each wait for the other's."""
        host = urlsplit(source).netloc.lower() if "://" in source else ""
        with self._locks_guard:
            slot = self._hosts.setdefault(host, threading.BoundedSemaphore(PER_HOST))
        with slot:
            yield

    @contextmanager
    def writing(self, progress: Progress = _quiet):
        """One writing command at a time per archive, across processes: a second `add` waits
        for the first (so it never removes the temp files the first is writing). An flock: the
        OS releases it when a process dies, so a killed run blocks nobody."""
        if self._writers:  # already held by this process (retry -> add)
            self._writers += 1
            try:
                yield
            finally:
                self._writers -= 1
            return
        self.layout.root.mkdir(parents=True, exist_ok=True)
        with open(self.layout.writer_lock, "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                progress("waiting for another archiver command writing to this archive")
                fcntl.flock(lock, fcntl.LOCK_EX)
            self._writers = 1
            # No writer is alive but us: a row still `running` is what a killed run left.
            self.catalog.end_running("the run archiving it was killed or crashed")
            try:
                yield
            except BaseException:  # Ctrl-C, SIGTERM: threads still at work may not write after this
                self.catalog.end_running("the run was stopped (Ctrl-C or SIGTERM)", stop_writes=True)
                raise
            else:  # only a bug of ours leaves a row `running` here
                self.catalog.end_running("the run ended without finishing it")
            finally:
                self._writers = 0
                fcntl.flock(lock, fcntl.LOCK_UN)

    def clean_temp_files(self) -> None:
        """Remove what killed runs left: temp files of atomic writes (downloads stay: they resume)."""
        for path in self.layout.temp_files():
            if path.is_file():
                path.unlink(missing_ok=True)
            elif path.parent.name == "media" and _media_complete(self, path.name[len(".tmp-"):]):
                shutil.rmtree(path, ignore_errors=True)  # finished under this id: not needed

    def media_path(self, video_id: str) -> Path | None:
        row = self.catalog.video(video_id)
        if not row or not row["media_file"]:
            return None
        return self.layout.media_dir(video_id) / row["media_file"]


@dataclass
class VideoReport:
    id: str | None
    url: str
    status: str = "ok"
    error: str | None = None
    downloaded: bool = False
    transcribed: bool = False
    diarized: bool = False


@dataclass
class ArticleReport:
    id: str | None
    url: str
    title: str | None = None
    status: str = "ok"
    error: str | None = None
    note: str | None = None
    videos: list[VideoReport] = field(default_factory=list)


@dataclass
class AddReport:
    articles: list[ArticleReport] = field(default_factory=list)
    videos: list[VideoReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the whole run (speakers not diarized: why)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------- what a source is


def canonical_source(source: str) -> str:
    """One spelling per source, so that it is one article or video however it was typed: a
    local path made absolute (~, ./, .. and symlinks resolved), a URL without its #fragment
    (never sent to the server: the same page)."""
    if "://" in source:
        return urldefrag(source).url
    return str(Path(source).expanduser().resolve())


def is_video_source(source: str) -> bool:
    """A media file or URL, or one video on a video platform; any other page is an article
    (its videos are discovered in it)."""
    from .discover.platforms import is_single_video

    if "://" not in source:
        suffix = Path(source).suffix.lower()
        return suffix not in ARTICLE_SUFFIXES and (is_media_path(source) or Path(source).is_file())
    return is_media_path(source) or is_single_video(source)


# ---------------------------------------------------------------- videos


def ensure_video(archive: Archive, url: str, report: VideoReport, progress: Progress = _quiet) -> str:
    """Download (or copy) the media once; a URL or a file seen before costs nothing."""
    from . import download

    catalog, layout = archive.catalog, archive.layout
    known = catalog.video_for_url(url)
    if known and _media_complete(archive, known):
        return known
    media_root = layout.root / "media"
    media_root.mkdir(parents=True, exist_ok=True)
    cfg = archive.config["download"]
    if "://" not in url:
        progress(f"copying {Path(url).name}")
        fetched, sha256 = download.copy_local(Path(url), media_root)
    else:
        with archive.host_slot(url):
            video_id, info = download.probe_url(url, retries=cfg["retries"], timeout=cfg["timeout"])
            if _media_complete(archive, video_id):
                catalog.remember_url(url, video_id)
                return video_id
            progress(f"downloading {video_id}")
            fetched = download.download_url(url, media_root, video_id, info, retries=cfg["retries"],
                                            timeout=cfg["timeout"], max_filesize_mb=cfg["max_filesize_mb"])
        sha256 = sha256_file(fetched.directory / fetched.media_file)  # recorded at download: the evidentiary copy
    with archive.lock_for(f"sha256:{sha256}"):  # the same bytes from two URLs at once: one video
        return _commit_media(archive, url, fetched, sha256, report)


def _commit_media(archive: Archive, url: str, fetched, sha256: str, report: VideoReport) -> str:
    catalog, layout = archive.catalog, archive.layout
    custody = provenance.download_step(fetched, sha256) if archive.capture else None
    same = catalog.video_by_sha256(sha256)
    if same and same["id"] != fetched.video_id and _media_complete(archive, same["id"]):
        shutil.rmtree(fetched.directory, ignore_errors=True)  # the same file under another URL
        catalog.remember_url(url, same["id"])
        if custody:
            provenance.append(layout.media_dir(same["id"]) / provenance.FILE, {},
                              {**custody, "note": "the same bytes as this video's media file: not kept twice"})
        return same["id"]
    if custody:
        provenance.append(fetched.directory / provenance.FILE, {"kind": "video", "id": fetched.video_id, "url": url},
                          custody)
    os.chmod(fetched.directory / fetched.media_file, 0o444)  # the original: read-only, never rewritten
    final = layout.media_dir(fetched.video_id)
    if final.exists():
        shutil.rmtree(final)
    fetched.directory.rename(final)
    catalog.upsert_video(fetched.video_id, url=url, title=fetched.title, media_file=fetched.media_file,
                         webpage_url=fetched.webpage_url, extractor=fetched.extractor, sha256=sha256,
                         duration=round(fetched.duration, 3), fetched_at=now(), stage="transcribe",
                         status="running", error=None)
    catalog.remember_url(url, fetched.video_id)
    report.downloaded = True
    return fetched.video_id


def _media_complete(archive: Archive, video_id: str) -> bool:
    row = archive.catalog.video(video_id)
    return bool(row and row["stage"] != "download" and row["media_file"]
                and (archive.layout.media_dir(video_id) / row["media_file"]).exists())


def ensure_transcript(archive: Archive, video_id: str, report: VideoReport, progress: Progress = _quiet,
                      options: TranscribeOptions | None = None, transcriber: Transcriber | None = None,
                      article_language: str | None = None, audio: Callable[[], Any] | None = None) -> Transcript:
    """The video's transcript: made once per media, model and options; a re-add reads it back.
    `audio` gives the decoded samples (decoded once for transcription and diarization).

    With model "auto" the model is chosen from the speech (and the article's language): the
    transcript keeps the key of that request, so asking again, from this article or another one
    in another language, costs no decoding at all (the speech is the same)."""
    from .transcribe import AUTO, ENGLISH_MODEL, MULTILINGUAL_MODEL

    options = options or archive.transcribe_options()
    row = archive.catalog.video(video_id)
    transcriber = transcriber or LocalTranscriber()
    request = options.cache_key(row["sha256"])
    for model in (ENGLISH_MODEL, MULTILINGUAL_MODEL) if options.model == AUTO else (options.model,):
        path = archive.layout.transcript_json(video_id, options.engine, model)
        if path.exists():
            cached = Transcript.from_dict(read_json(path))
            if request in (cached.request_key, cached.cache_key):
                _record_transcript(archive, cached)
                return cached
    progress(f"transcribing {video_id}{transcriber.where}")
    media = archive.layout.media_dir(video_id) / row["media_file"]
    duration, has_audio = probe(media)
    if has_audio:
        if diarizing(archive):
            from . import speakers
            speakers.prepare()  # load the voice encoder while the speech engine works
        samples = (audio or decoded_audio(media, options))()
        transcript = transcriber.transcribe(samples, video_id, row["sha256"], options, article_language)
    else:  # a video without sound is archived all the same: nothing was said in it
        transcript = Transcript(video_id, options.engine, options.model, "", 0.0, round(duration, 3), [],
                                options=options.decoding(), cache_key=options.cache_key(row["sha256"]),
                                request_key=request, model_reason="no audio stream")
    path = archive.layout.transcript_json(video_id, transcript.engine, transcript.model)
    atomic_write_json(path, transcript.to_dict())
    if archive.capture:
        provenance.append(archive.layout.media_dir(video_id) / provenance.FILE, {"kind": "video", "id": video_id},
                          *provenance.transcript_steps(transcript, row["sha256"], path))
    _record_transcript(archive, transcript)
    report.transcribed = True
    return transcript


def decoded_audio(media: Path, options: TranscribeOptions) -> Callable[[], Any]:
    """The media's samples as the speech engine hears them (loudness, downmix), decoded on first
    call and kept: transcription and diarization share one decode."""
    from .transcribe.vad import carries_speech

    return functools.cache(lambda: load_audio(media, options.loudness, carries_speech))


def _record_transcript(archive: Archive, transcript: Transcript) -> None:
    row = archive.catalog.video(transcript.video_id)
    if row["engine"] == transcript.engine and row["model"] == transcript.model and row["stage"] == "done" \
            and row["model_reason"] == transcript.model_reason:
        return
    archive.catalog.upsert_video(transcript.video_id, language=transcript.language,
                                 language_probability=transcript.language_probability,
                                 engine=transcript.engine, model=transcript.model,
                                 model_reason=transcript.model_reason, stage="index")


def diarizing(archive: Archive) -> bool:
    """Whether `add` finds the speakers: config `[transcribe] diarize` ("auto": when the extra
    [speakers] is installed), which --no-diarize sets to false."""
    from . import speakers

    return speakers.wanted(archive.config["transcribe"].get("diarize", "auto"))[0]


def ensure_speakers(archive: Archive, transcript: Transcript, report: VideoReport, audio: Callable[[], Any],
                    progress: Progress = _quiet) -> Transcript:
    """Who speaks each word: a stage of its own after transcription, cached in the transcript
    by its key (the transcript's key and the diarization options), so a re-add does nothing
    and a transcript made with --no-diarize only gains its speakers."""
    from . import speakers

    if not transcript.words or not diarizing(archive):
        return transcript
    options = speakers.DiarizeOptions()
    key = options.key(transcript)
    if transcript.diarization.get("key") == key:
        return transcript
    progress(f"finding the speakers of {transcript.video_id}")
    diarized = speakers.apply(transcript, speakers.diarize(audio(), transcript, options), key)
    rewrite_transcript(archive, diarized, "diarize", method=speakers.METHOD,
                       options={"threshold": options.threshold, "min_speaker": options.min_speaker},
                       software=provenance.software("transcript-archiver", "resemblyzer", "torch"))
    archive.catalog.upsert_video(transcript.video_id, stage="index")  # the index learns the speakers
    report.diarized = True
    return diarized


def translating(archive: Archive) -> bool:
    """Config `[transcribe] translate` (off by default; `add --translate` sets it)."""
    return bool(archive.config["transcribe"].get("translate", False))


def ensure_translation(archive: Archive, transcript: Transcript, audio: Callable[[], Any],
                       options: TranscribeOptions, progress: Progress = _quiet) -> Translation | None:
    """The English track of speech in another language, made once per media and options
    (transcripts/<video>/translation-en.json); None when not translating, or the speech is English."""
    from .transcribe import translate, translation_options

    language = (transcript.language or "").split("-")[0]
    if not translating(archive) or not transcript.words or language in ("", "en"):
        return None
    row = archive.catalog.video(transcript.video_id)
    path = archive.layout.translation_json(transcript.video_id)
    key = translation_options(options, language).cache_key(row["sha256"])
    if path.exists():
        cached = Translation.from_dict(read_json(path))
        if cached.key == key:
            return cached
    progress(f"translating {transcript.video_id} ({language} to English)")
    translation = translate(audio(), transcript.video_id, row["sha256"], language, options)
    atomic_write_json(path, translation.to_dict())
    if archive.capture:
        provenance.append(archive.layout.media_dir(transcript.video_id) / provenance.FILE,
                          {"kind": "video", "id": transcript.video_id},
                          provenance.step("translate", engine=translation.engine, model=translation.model,
                                          options=translation.options,
                                          output=provenance.file_entry(path, f"transcripts/{transcript.video_id}/{path.name}")))
    archive.catalog.upsert_video(transcript.video_id, stage="index")  # the index learns the English track
    return translation


def translation_of(archive: Archive, video_id: str) -> Translation | None:
    path = archive.layout.translation_json(video_id)
    return Translation.from_dict(read_json(path)) if path.exists() else None


def video_documents(archive: Archive, transcript: Transcript) -> list[dict[str, Any]]:
    """A video's index documents: its transcript's passages and its English track's."""
    from index.writer import transcript_documents, translation_documents

    documents = transcript_documents(transcript, names=speaker_names(archive, transcript.video_id))
    translation = translation_of(archive, transcript.video_id)
    return documents + (translation_documents(translation) if translation else [])


def rewrite_transcript(archive: Archive, transcript: Transcript, step: str, **details: Any) -> None:
    """Write a transcript that a later stage changed (speakers, names) over the one before; the
    chain of custody records the step, with the hash of the file it replaced as its parent."""
    path = archive.layout.transcript_json(transcript.video_id, transcript.engine, transcript.model)
    before = sha256_file(path) if path.exists() else None
    atomic_write_json(path, transcript.to_dict())
    if archive.capture:
        provenance.append(archive.layout.media_dir(transcript.video_id) / provenance.FILE,
                          {"kind": "video", "id": transcript.video_id},
                          provenance.step(step, parent_sha256=before, **details,
                                          output=provenance.file_entry(path, f"transcripts/{transcript.video_id}/{path.name}")))


def index_video(archive: Archive, transcript: Transcript) -> None:

    row = archive.catalog.video(transcript.video_id)
    if row["stage"] == "done" and row["indexed_docs"]:
        return
    documents = video_documents(archive, transcript)
    counts = archive.index.replace({transcript.video_id: documents})
    archive.catalog.upsert_video(transcript.video_id, stage="done", status="ok", error=None,
                                 indexed_docs=counts[transcript.video_id])


def error_line(e: Exception, subject: str) -> str:
    """The error line of a failure: an ArchiverError's own, or the type and message of anything
    else (an OS error, a bug of ours or a library's), naming what failed."""
    return str(e) if isinstance(e, ArchiverError) else f"{subject}: unexpected {type(e).__name__}: {e}"


def failed_video_id(url: str) -> str:
    """The catalog id of a video that failed before it had one (not found, not a video, unreadable),
    so that `archiver status` lists it with its reason; removed once the URL succeeds."""
    stem = Path(url.split("?", 1)[0].rstrip("/")).stem
    return f"failed-{slugify(stem, 40)}-{short_hash(url)}"


def fetch_video(archive: Archive, url: str, progress: Progress = _quiet) -> VideoReport:
    """The network half of a video: download (or find) its media."""
    report = VideoReport(None, url)
    try:
        with archive.lock_for(url):  # the same URL from two articles at once: one download
            report.id = ensure_video(archive, url, report, progress)
    except Exception as e:  # noqa: BLE001 (an OS error or a library's bug fails this video alone)
        report.status, report.error = "failed", error_line(e, url)
        archive.catalog.upsert_video(failed_video_id(url), url=url, stage="download", status="failed",
                                     error=report.error)
        return report
    archive.catalog.delete_video(failed_video_id(url))
    return report


def finish_video(archive: Archive, report: VideoReport, progress: Progress = _quiet,
                 options: TranscribeOptions | None = None, transcriber: Transcriber | None = None,
                 article_language: str | None = None) -> Transcript | None:
    """The CPU half of a video: transcribe (once) and index."""
    if report.status != "ok":
        return None
    try:
        with archive.lock_for(report.id):
            audio = decoded_audio(archive.media_path(report.id), options or archive.transcribe_options())
            transcript = ensure_transcript(archive, report.id, report, progress, options, transcriber,
                                           article_language, audio)
            transcript = ensure_speakers(archive, transcript, report, audio, progress)
            ensure_translation(archive, transcript, audio, options or archive.transcribe_options(), progress)
            index_video(archive, transcript)
        return transcript
    except Exception as e:  # noqa: BLE001
        report.status, report.error = "failed", error_line(e, report.url)
        archive.catalog.upsert_video(report.id, status="failed", error=report.error)  # at the stage it reached
        return None


@dataclass
class FetchedSource:
    """An article (or a bare video) whose downloads are done, waiting for the CPU stages."""

    report: ArticleReport | VideoReport
    article: Article | None = None
    capture: Future | None = None  # the page's web archive, written while its videos are transcribed


def fetch_article(archive: Archive, source: str, extra_videos: list[str], captures: ThreadPoolExecutor,
                  progress: Progress = _quiet, base_url: str | None = None,
                  spelled: str | None = None) -> FetchedSource:
    """The network half of an article: read it, keep the original, download its videos, and
    start its web archive on `captures`. `source` is canonical (see canonical_source), `spelled`
    as the user gave it."""
    report = ArticleReport(None, spelled or source)
    catalog, layout = archive.catalog, archive.layout
    cfg = archive.config["download"]
    article_id = _article_id(catalog, source, spelled or source)
    known = catalog.article(article_id)
    pages: list = []  # the HTTP exchange of a URL source
    try:
        progress(f"reading {source}")
        with archive.host_slot(source):
            article, original, file_name = read_article(source, cfg["timeout"], cfg["retries"], base_url=base_url,
                                                        on_fetch=pages.append)
        article.id = article_id
        article.links.extend(_manual_links(article, extra_videos))
        page = pages[-1] if pages else None
        written = _keep_original(archive, article.id, file_name, original)
        atomic_write_json(layout.article_json(article.id), article.to_dict())
        if archive.capture:
            custody = provenance.source_steps(page, source, layout.article_dir(article.id) / file_name,
                                              layout.article_json(article.id))
            if not written:
                custody[0]["note"] = "the same bytes as the original kept before: not rewritten"
            provenance.append(layout.article_dir(article.id) / provenance.FILE,
                              {"kind": "article", "id": article.id, "source": source}, *custody)
    except Exception as e:  # noqa: BLE001 (an OS error or a parser's bug fails this article alone)
        report.status, report.error = "failed", error_line(e, source)
        if not known or known["status"] != "ok":  # an archived copy stays good when its page is gone
            catalog.upsert_article(article_id, stage="fetch", status="failed", error=report.error,
                                   **({} if known else {"source": source}))
        return FetchedSource(report)
    report.id, report.title = article.id, article.title
    progress_fields = {} if known and known["status"] == "ok" else \
        {"stage": "videos", "status": "running", "error": None, "note": None}  # an archived one stays ok
    catalog.upsert_article(article.id, source=source, title=article.title, date=article.date,
                           language=article.language, fetched_at=article.fetched_at, **progress_fields)
    for position, link in enumerate(article.links):
        video_report = fetch_video(archive, link.url, progress)
        report.videos.append(video_report)
        catalog.set_link(article.id, link.url, position, video_report.id, video_report.status, video_report.error)
    capturing = None
    if archive.capture:  # beside the transcription, not before it: mostly imports and disk, not the cores
        capturing = captures.submit(capture_article, archive, article, report, page,
                                    layout.article_dir(article.id) / file_name, changed=written)
    return FetchedSource(report, article, capturing)


def _join_capture(fetched: FetchedSource) -> None:
    """Wait for the source's web archive; its failure fails the source (what else was done stays)."""
    if fetched.capture is not None:
        try:
            fetched.capture.result()
        except Exception as e:  # noqa: BLE001
            fetched.report.status, fetched.report.error = "failed", error_line(e, fetched.report.url)


def _article_id(catalog: Catalog, source: str, spelled: str) -> str:
    """The article id of a canonical source: the one the catalog has for it; else, in an archive
    made before sources were canonical, the one made from the same spelling (a relative path, a
    URL with its #fragment), which this add adopts; else a new one."""
    row = catalog.article_by_source(source)
    if row:
        return row["id"]
    earlier = article_id_for(spelled)
    return earlier if spelled != source and catalog.article(earlier) else article_id_for(source)


def _keep_original(archive: Archive, article_id: str, file_name: str, original: bytes) -> bool:
    """Write the page as fetched, unless the archive already holds these very bytes. An earlier
    capture with other bytes is kept under earlier/<its time>/, never overwritten. True: written."""
    import hashlib

    folder = archive.layout.article_dir(article_id)
    path = folder / file_name
    if path.exists() and sha256_file(path) == hashlib.sha256(original).hexdigest():
        return False
    earlier = [p for p in (*folder.glob("source.*"), folder / capture.PAGE_WACZ) if p.is_file()]
    if earlier:
        stamp = dt.datetime.fromtimestamp(earlier[0].stat().st_mtime, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        keep = folder / "earlier" / stamp
        keep.mkdir(parents=True, exist_ok=True)
        for old in earlier:
            old.rename(keep / old.name)
    atomic_write_bytes(path, original)
    os.chmod(path, 0o444)
    return True


def capture_article(archive: Archive, article: Article, report: ArticleReport, page, original: Path,
                    changed: bool) -> None:
    """page.wacz: the page's HTTP exchange (or the local file) and every archived video."""
    folder = archive.layout.article_dir(article.id)
    videos = [v for link, video in zip(article.links, report.videos)
              if video.status == "ok" and (v := _video_capture(archive, link.url, video.id))]
    local = page is None
    _capture(folder, folder / capture.PAGE_WACZ, changed, article.id, article.title, page, videos,
             local_source=Path(article.source).expanduser().resolve() if local else None,
             local_bytes=original.read_bytes() if local else None)


def capture_video(archive: Archive, url: str, report: VideoReport) -> None:
    """media/<id>/video.wacz: a video given on its own (a URL or a local file), as a web archive
    of itself. Written once per media: the same bytes under another URL are the same video."""
    video = _video_capture(archive, url, report.id)
    if video is not None:
        folder = archive.layout.media_dir(report.id)
        title = archive.catalog.video(report.id).get("title") or url
        _capture(folder, folder / capture.VIDEO_WACZ, False, report.id, title, None, [video])


def _video_capture(archive: Archive, url: str, video_id: str) -> capture.VideoCapture | None:
    """A downloaded video as the WARC records it: the bytes, and yt-dlp's one plain response if
    that is how the bytes came."""
    media = archive.media_path(video_id)
    if media is None or not media.exists():
        return None
    custody = provenance.last_step(archive.layout.media_dir(video_id) / provenance.FILE, "download") or {}
    http = custody.get("http") or []
    return capture.VideoCapture(url, media, archive.catalog.video(video_id)["sha256"],
                                archive.layout.media_dir(video_id) / "info.json",
                                http[0] if len(http) == 1 and custody.get("url") == url else None)


def _capture(folder: Path, target: Path, changed: bool, subject_id: str, title: str, page,
             videos: list[capture.VideoCapture], **local) -> None:
    """Write target (a WACZ) and its capture step, unless the capture kept before holds the same."""
    recorded = provenance.last_step(folder / provenance.FILE, "capture") or {}
    wanted = sorted(v.sha256 for v in videos)
    if target.exists() and not changed and recorded.get("videos_sha256") == wanted:
        return  # the same page and the same videos as the capture kept before
    sha256 = capture.write_wacz(target, subject_id, title, page, videos=videos, **local)
    provenance.append(folder / provenance.FILE, {}, provenance.step(
        "capture", output=provenance.file_entry(target, sha256=sha256), videos_sha256=wanted,
        records={v.url: ("response" if capture.plain_http(v) else "resource") for v in videos},
        software=provenance.software("transcript-archiver", "warcio", "cdxj-indexer")))


def finish_article(archive: Archive, fetched: FetchedSource, progress: Progress = _quiet,
                   options: TranscribeOptions | None = None,
                   transcriber: Transcriber | None = None) -> ArticleReport:
    """The CPU half of an article: transcribe its videos, align, index, record the outcome."""
    report, article = fetched.report, fetched.article
    if article is None:
        return report
    options = prompted_options(archive, article, options or archive.transcribe_options())
    transcripts: dict[str, Transcript] = {}
    for position, (link, video_report) in enumerate(zip(article.links, report.videos)):
        transcript = finish_video(archive, video_report, progress, options, transcriber, article.language)
        archive.catalog.set_link(article.id, link.url, position, video_report.id, video_report.status,
                                 video_report.error)
        if transcript is not None:
            transcripts[video_report.id] = transcript
    _join_capture(fetched)  # before the alignment, so that the steps of provenance.json keep their order
    try:
        progress(f"aligning {article.id}")
        archive.catalog.upsert_article(article.id, stage="align")
        align_and_index(archive, article, transcripts, options, progress)
    except Exception as e:  # noqa: BLE001
        report.status, report.error = "failed", error_line(e, report.url)
        archive.catalog.upsert_article(article.id, status="failed", error=report.error)  # at the stage it reached
        return report
    failed = [v for v in report.videos if v.status != "ok"]
    if failed:  # one line that names the article and what went wrong with its video
        report.status = "failed"
        report.error = f"{report.url}: video {failed[0].error}" if len(failed) == 1 else \
            f"{report.url}: {len(failed)} of {len(report.videos)} videos failed; first: {failed[0].error}"
    elif not article.links:
        report.note = "no video found in the article; archived the text only (attach one with --video)"
    archive.catalog.upsert_article(article.id, stage="done", status=report.status,  # failed: also by its capture
                                   error=report.error, note=report.note)
    return report


def _manual_links(article: Article, extra_videos: list[str]):
    """--video: what the user typed, the only way a local file joins a page's videos."""
    from .models import VideoLink

    known = {link.url for link in article.links}
    out = []
    for video in extra_videos:
        url = canonical_source(video)
        if url not in known:
            out.append(VideoLink(url, "manual"))
            known.add(url)
    return out


def _unique_sources(sources: list[str]) -> dict[str, str]:
    """canonical source -> as the user first spelled it: the same source twice in one call,
    however spelled, is archived once."""
    batch: dict[str, str] = {}
    for spelled in (s.strip() for s in sources):
        if spelled:
            batch.setdefault(canonical_source(spelled), spelled)
    return batch


def naming(archive: Archive) -> bool:
    """Config `[transcribe] names` (off by default: it costs time; `add --names` sets it): the
    article's proper nouns as the decoder's prompt."""
    return bool(archive.config["transcribe"].get("names", False))


def prompted_options(archive: Archive, article: Article, options: TranscribeOptions) -> TranscribeOptions:
    """The options an article's videos are transcribed with: its names as the prompt, when naming."""
    from dataclasses import replace

    from .prompting import whole_video_prompt

    prompt = whole_video_prompt(article) if naming(archive) else ""
    return replace(options, prompt=prompt) if prompt != options.prompt else options


def ensure_names(archive: Archive, article: Article, alignment: Alignment, transcript: Transcript,
                 options: TranscribeOptions, progress: Progress = _quiet) -> Transcript | None:
    """Re-decode the stretches where the alignment shows a name of the article heard otherwise
    (archiver/prompting.py); the changed transcript is written and its passages re-indexed.
    None: nothing changed."""
    from . import prompting

    media = archive.media_path(transcript.video_id)
    if media is None or not transcript.words:
        return None
    progress(f"spelling the names of {transcript.video_id}")
    changed = prompting.redecode_misheard(decoded_audio(media, options), article, alignment,
                                          transcript, options)
    if changed is None:
        return None
    rewrite_transcript(archive, changed, "names", article_id=article.id, windows=changed.prompting.get("windows", []))
    counts = archive.index.replace({transcript.video_id: video_documents(archive, changed)})
    archive.catalog.upsert_video(transcript.video_id, indexed_docs=counts[transcript.video_id])
    return changed


def align_and_index(archive: Archive, article: Article, transcripts: dict[str, Transcript],
                    options: TranscribeOptions | None = None, progress: Progress = _quiet) -> None:
    from .align import align

    cfg = archive.config["align"]

    def aligned() -> list[Alignment]:
        return align(article, transcripts, threshold=cfg["threshold"], snap_to_speech=cfg["snap_to_speech"]) \
            if transcripts else []

    alignments = aligned()
    if naming(archive) and options is not None:
        changed = False
        for alignment in alignments:
            redecoded = ensure_names(archive, article, alignment, transcripts[alignment.video_id], options, progress)
            if redecoded is not None:
                transcripts[alignment.video_id] = redecoded
                changed = True
        if changed:  # the names now spelled right: the sentences find their words
            alignments = aligned()
    for alignment in alignments:
        path = archive.layout.alignment_json(article.id, alignment.video_id)
        atomic_write_json(path, alignment.to_dict())
        if archive.capture:
            row = archive.catalog.video(alignment.video_id)
            transcript = archive.layout.transcript_json(alignment.video_id, row["engine"], row["model"]) \
                if row and row["engine"] else None
            provenance.append(archive.layout.article_dir(article.id) / provenance.FILE, {}, provenance.align_step(
                archive.layout.article_json(article.id), transcript if transcript and transcript.exists() else None,
                path, {"threshold": cfg["threshold"], "snap_to_speech": cfg["snap_to_speech"]}))
    archive.catalog.upsert_article(article.id, stage="index")  # aligned: what an index write needs is on disk
    index_article(archive, article, [s for a in alignments for s in a.sentences], names_by_video(archive, transcripts))


def index_article(archive: Archive, article: Article, sentences: list, names: dict[str, dict[str, str]]) -> None:
    from index.writer import article_documents

    counts = archive.index.replace({article.id: article_documents(article, sentences, names)})
    archive.catalog.upsert_article(article.id, indexed_docs=counts[article.id])


def catch_up_index(archive: Archive) -> int:
    """Index what an earlier run archived but could not index (the search cluster was down, or
    the run was killed while writing to it): the catalog keeps such items at stage "index",
    failed. Returns how many were indexed; while the cluster is still down they stay as they are."""
    from index.backends import Unavailable

    catalog, done = archive.catalog, 0
    for kind, item_id in [("video", v) for v in catalog.unindexed("videos")] + \
            [("article", a) for a in catalog.unindexed("articles")]:
        try:
            if kind == "video":
                transcript = archive.transcript(item_id)
                if transcript is None:
                    continue
                index_video(archive, transcript)
            else:
                article = archive.article(item_id)
                index_article(archive, article, [s for a in archive.alignments(article.id) for s in a.sentences],
                              names_by_video(archive, archive.catalog.video_ids_of(article.id)))
                settle_article(archive, item_id)
        except Unavailable:
            break
        except Exception:  # noqa: BLE001 (its own failure, recorded already; `retry` runs it again)
            continue
        done += 1
    return done


def settle_article(archive: Archive, article_id: str) -> None:
    """An article whose index write failed, now indexed: done, and ok unless one of its videos failed."""
    catalog = archive.catalog
    videos = [catalog.video(v) for v in catalog.video_ids_of(article_id) if v]
    failed = [v for v in videos if v and v["status"] != "ok"]
    error = f"video {failed[0]['error']}" if failed else None
    catalog.upsert_article(article_id, stage="done", status="failed" if failed else "ok", error=error)


# ---------------------------------------------------------------- the add command


def add(archive: Archive, sources: list[str], videos: list[str] | None = None, progress: Progress = _quiet,
        options: TranscribeOptions | None = None, on_item: Callable[[], None] | None = None,
        jobs: int = 1, cluster: str | None = None, base_url: str | None = None) -> AddReport:
    """Archive every source; failures are reported per item and never stop the others.

    With jobs > 1, articles are fetched and videos downloaded by `jobs` threads (at most
    PER_HOST at a time from one host) while transcriptions keep the cores busy: the stages
    form a pipeline, so the first transcription starts after the first download, not after
    all of them. `cluster` (a Dask scheduler address; None: [cluster] scheduler from the
    config; "": this machine) sends the transcriptions to its workers, as many at once as
    they have threads; everything else stays here.
    """
    options = options or archive.transcribe_options()
    transcriber = open_transcriber(archive.config, cluster if sources else "", options, batch=jobs > 1,
                                   progress=progress)
    try:
        with archive.writing(progress):
            return _add(archive, sources, videos, progress, options, on_item, jobs, transcriber, base_url)
    finally:
        transcriber.close()


def _add(archive: Archive, sources: list[str], videos: list[str] | None, progress: Progress,
         options: TranscribeOptions, on_item: Callable[[], None] | None, jobs: int,
         transcriber: Transcriber, base_url: str | None) -> AddReport:
    from . import speakers

    _, speakers_note = speakers.wanted(archive.config["transcribe"].get("diarize", "auto"))  # fails early
    archive.clean_temp_files()
    _rebuild_outdated_index(archive, progress)
    if sources:
        catch_up_index(archive)
    batch = _unique_sources(sources)

    def unexpected(source: str, e: Exception, fetched: FetchedSource | None = None) -> FetchedSource:
        """What escapes the stages (they record their own failures) is still this item's alone."""
        report = fetched.report if fetched else (
            VideoReport(None, batch[source]) if is_video_source(source) else ArticleReport(None, batch[source]))
        report.status, report.error = "failed", error_line(e, batch[source])
        return FetchedSource(report)

    def fetch(source: str) -> FetchedSource:
        try:
            if is_video_source(source):
                report = fetch_video(archive, source, progress)
                capturing = captures.submit(capture_video, archive, source, report) \
                    if archive.capture and report.status == "ok" else None
                return FetchedSource(report, capture=capturing)
            return fetch_article(archive, source, videos or [], captures, progress, base_url=base_url,
                                 spelled=batch[source])
        except Exception as e:  # noqa: BLE001 (reported per item, with its type)
            return unexpected(source, e)

    def finish(source: str, fetched: FetchedSource) -> ArticleReport | VideoReport:
        try:
            if isinstance(fetched.report, VideoReport):
                finish_video(archive, fetched.report, progress, options, transcriber)
                fetched.report.url = batch[source]
                _join_capture(fetched)
                archive.catalog.set_source(source, fetched.report.id)
                return fetched.report
            return finish_article(archive, fetched, progress, options, transcriber)
        except Exception as e:  # noqa: BLE001
            return unexpected(source, e, fetched).report

    results: dict[str, ArticleReport | VideoReport] = {}
    # One capture thread: WACZ packaging is short, and two would only compete for the same disk.
    with _pool(1, "capture") as captures:
        if jobs <= 1 and transcriber.slots <= 1:
            for source in batch:
                results[source] = finish(source, fetch(source))
                if on_item:
                    on_item()
        else:
            with _pool(jobs, "fetch") as fetchers, _pool(transcriber.slots, "transcribe") as cpu:
                fetching = {fetchers.submit(fetch, source): source for source in batch}
                finishing = []
                for done in as_completed(fetching):
                    source = fetching[done]
                    finishing.append((source, cpu.submit(finish, source, done.result())))
                for source, future in finishing:
                    results[source] = future.result()
                    if on_item:
                        on_item()

    report = AddReport(notes=[speakers_note] if speakers_note else [])
    for source in batch:  # the order the user gave
        item = results[source]
        (report.videos if isinstance(item, VideoReport) else report.articles).append(item)
        if item.error:
            report.errors.append(item.error)
    archive.clean_temp_files()
    return report


@contextmanager
def _pool(workers: int, name: str):
    """A thread pool that, on Ctrl-C or SIGTERM, starts nothing more and waits for nothing
    (a `with ThreadPoolExecutor` would run the whole rest of the batch first)."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


@dataclass
class PlannedVideo:
    url: str
    found_by: str
    title: str | None = None


def plan(sources: list[str], videos: list[str] | None = None, config: dict[str, Any] | None = None,
         base_url: str | None = None) -> AddReport:
    """`add --dry-run`: read the articles and say which videos `add` would archive, without
    requesting any video URL and without touching an archive. Statuses are "planned"."""
    from .models import VideoLink

    cfg = (config or config_mod.load())["download"]
    report = AddReport()
    for key, source in _unique_sources(sources).items():
        if is_video_source(key):
            report.videos.append(VideoReport(None, key, status="planned"))
            continue
        item = ArticleReport(article_id_for(key), source, status="planned")
        try:
            article, _, _ = read_article(key, cfg["timeout"], cfg["retries"], base_url=base_url)
        except ArchiverError as e:
            item.status, item.error = "failed", str(e)
            report.errors.append(str(e))
        else:
            item.title = article.title
            links: list[VideoLink] = article.links + _manual_links(article, videos or [])
            item.videos = [PlannedVideo(link.url, link.found_by, link.title) for link in links]
            if not links:
                item.note = "no video found in the article; `add` would archive the text only"
        report.articles.append(item)
    return report


def retry(archive: Archive, progress: Progress = _quiet, jobs: int = 1, cluster: str | None = None) -> AddReport:
    """Run `add` again on every source whose article or video failed (first indexing what only
    an index write failed for: those need nothing fetched again)."""
    with archive.writing(progress):
        catch_up_index(archive)
    sources = [a["source"] for a in archive.catalog.articles() if a["status"] != "ok"]
    sources += archive.catalog.failed_sources()
    return add(archive, sources, progress=progress, jobs=jobs, cluster=cluster)


def reindex(archive: Archive) -> int:
    """Rebuild the whole index from the JSON files."""
    with archive.writing():
        return _reindex(archive)


def names_by_video(archive: Archive, video_ids) -> dict[str, dict[str, str]]:
    return {v: speaker_names(archive, v) for v in video_ids}


def name_speaker(archive: Archive, video_id: str, speaker: str, name: str) -> dict[str, str]:
    """`archiver speakers VIDEO S1 "Mike Pompeo"`: name a speaker ("" forgets the name) and
    re-index the video's passages and the sentences of its articles, so the name is searchable."""
    from index.writer import article_documents

    with archive.writing():
        transcript = archive.transcript(video_id)
        known = {w.speaker for w in transcript.words} if transcript else set()
        speaker = speaker.upper()
        if speaker not in known:
            listed = ", ".join(sorted(known - {None}, key=lambda s: int(s[1:]))) or "none: the video is not diarized"
            raise ArchiverError(f"{video_id} has no speaker {speaker} (its speakers: {listed})")
        names = speaker_names(archive, video_id)
        cleaned = " ".join(name.split())
        if cleaned:
            names[speaker] = cleaned
        else:
            names.pop(speaker, None)
        atomic_write_json(archive.layout.speaker_names_json(video_id), names)
        owners = {video_id: video_documents(archive, transcript)}
        for article_id in archive.catalog.articles_of(video_id):
            if archive.layout.article_json(article_id).exists():
                article = archive.article(article_id)
                sentences = [s for a in archive.alignments(article_id) for s in a.sentences]
                owners[article_id] = article_documents(article, sentences,
                                                       names_by_video(archive, archive.catalog.video_ids_of(article_id)))
        archive.index.replace(owners)
        return names


def _rebuild_outdated_index(archive: Archive, progress: Progress) -> None:
    """An index made by an earlier version cannot take new passages (nor answer queries
    rightly): rebuilt here from the JSON files, so that upgrading asks nothing of the user."""
    from index.writer import is_outdated

    if is_outdated(archive.layout.index_dir):
        progress("the search index was made by an earlier version: rebuilding it")
        _reindex(archive)


def _reindex(archive: Archive) -> int:
    from index.writer import article_documents

    counts: dict[str, int] = {}

    def documents():
        for row in archive.catalog.videos():
            transcript = archive.transcript(row["id"])
            if transcript:
                docs = video_documents(archive, transcript)
                counts[row["id"]] = len(docs)
                yield row["id"], docs
        for row in archive.catalog.articles():
            path = archive.layout.article_json(row["id"])
            if path.exists():
                article = archive.article(row["id"])
                docs = article_documents(article, [s for a in archive.alignments(article.id) for s in a.sentences],
                                         names_by_video(archive, archive.catalog.video_ids_of(article.id)))
                counts[row["id"]] = len(docs)
                yield row["id"], docs

    total = archive.index.rebuild(documents())
    for owner, count in counts.items():
        row = archive.catalog.video(owner)
        if row:
            unindexed = row["stage"] == "index" and row["status"] == "failed"
            archive.catalog.upsert_video(owner, indexed_docs=count,
                                         **({"stage": "done", "status": "ok", "error": None} if unindexed else {}))
        else:
            row = archive.catalog.article(owner)
            archive.catalog.upsert_article(owner, indexed_docs=count)
            if row and row["stage"] == "index" and row["status"] == "failed":
                settle_article(archive, owner)
    return total
