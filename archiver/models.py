"""The small dataclasses that cross stage boundaries, and their JSON form.

Every stage reads and writes these; on disk they are plain JSON (``to_dict`` /
``from_dict``), so the index can always be rebuilt from the files.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    names = {f.name for f in fields(cls)}  # ignore keys from newer versions
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Sentence:
    index: int  # position in the whole article
    paragraph: int
    text: str
    start_char: int  # offsets into Article.text
    end_char: int


# how article.json files written before `found_by` named the same ways
_OLD_KINDS = {"a": "link", "iframe": "embed", "markdown": "link"}


@dataclass
class VideoLink:
    url: str  # absolute URL or local path, as it will be fetched
    found_by: str  # "video", "source", "json-ld", "embed", "meta", "link", "manual"
    title: str | None = None  # when the page gives one (JSON-LD name, a player's title)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoLink:
        if "found_by" not in data and "kind" in data:
            data = {**data, "found_by": _OLD_KINDS.get(data["kind"], data["kind"])}
        return _from_dict(cls, data)


@dataclass
class Article:
    id: str
    source: str  # what the user gave: URL or path
    title: str
    text: str  # paragraphs joined by "\n\n"
    paragraphs: list[tuple[int, int]]  # (start_char, end_char) per paragraph
    sentences: list[Sentence]
    links: list[VideoLink]
    author: str | None = None
    date: str | None = None  # ISO date when known
    language: str | None = None
    fetched_at: str | None = None
    source_file: str | None = None  # file name of the saved original in the article dir

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        article = _from_dict(cls, data)
        article.paragraphs = [tuple(p) for p in article.paragraphs]
        article.sentences = [_from_dict(Sentence, s) for s in article.sentences]
        article.links = [VideoLink.from_dict(link) for link in article.links]
        return article


@dataclass
class Video:
    id: str
    url: str  # where the media was fetched from (absolute URL or local path)
    title: str
    media_file: str  # file name inside media/<id>/
    sha256: str
    duration: float
    extractor: str
    webpage_url: str | None = None  # for hosts with a "&t=" link to the moment
    fetched_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Video:
        return _from_dict(cls, data)


@dataclass
class Word:
    start: float
    end: float
    word: str  # as the engine wrote it, leading space included
    probability: float
    speaker: str | None = None  # "S1", "S2", ... once diarized (archiver/speakers.py)
    prompted: bool = False  # from a re-decode prompted with its sentence's names (archiver/prompting.py)


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    speaker: str | None = None  # diarized: segments are split where the speaker changes


@dataclass
class Transcript:
    video_id: str
    engine: str
    model: str
    language: str
    language_probability: float
    duration: float
    segments: list[Segment]
    options: dict[str, Any] = field(default_factory=dict)
    cache_key: str = ""  # sha256 of (media sha256, engine, model, options)
    speech: list[tuple[float, float]] = field(default_factory=list)  # VAD speech regions
    seconds: float = 0.0  # how long transcription took
    model_reason: str = ""  # which model and why: "base (auto: speech detected fr 0.97; article language fr)"
    request_key: str = ""  # the key of what was asked (model "auto", unresolved): a re-add finds it
    vad: dict[str, Any] = field(default_factory=dict)  # what the VAD removed, what was decoded again
    # where and by what it was made: host (a cluster worker's when it ran there), software versions,
    # the weights' sha256, the decoded audio's sha256, UTC start and end (see archiver/provenance.py)
    provenance: dict[str, Any] = field(default_factory=dict)
    diarization: dict[str, Any] = field(default_factory=dict)  # {"key", "method", "speakers", "seconds"} once diarized
    # the stretches re-decoded with their sentence's names: {"windows": [{"start", "end", "names",
    # "sentence", "article_id"}], "tried": [[article_id, sentence, *names], ...] (accepted or not, never retried),
    # "seconds": the re-decodes' time}
    prompting: dict[str, Any] = field(default_factory=dict)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        t = _from_dict(cls, data)
        t.segments = [
            Segment(s["start"], s["end"], s["text"], [_from_dict(Word, w) for w in s.get("words", [])],
                    s.get("speaker"))
            for s in t.segments
        ]
        t.speech = [tuple(r) for r in t.speech]
        return t


@dataclass
class TranslatedSegment:
    start: float  # the original speech's times
    end: float
    text: str


@dataclass
class Translation:
    """An English track of a video whose speech is in another language (Whisper's translate task)."""

    video_id: str
    language: str  # "en": what it is translated to
    source_language: str  # what the speech is in
    engine: str
    model: str
    segments: list[TranslatedSegment]
    key: str = ""  # the cache key of the translate run (media sha256, engine, model, options)
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Translation:
        t = _from_dict(cls, data)
        t.segments = [_from_dict(TranslatedSegment, s) for s in t.segments]
        return t


@dataclass
class SentenceAlignment:
    index: int  # Sentence.index
    video_id: str | None  # None: not spoken in any linked video
    start: float | None
    end: float | None
    score: float  # 0..1, weighted share of the sentence's words heard
    speaker: str | None = None  # who says it ("S1"...), when the video is diarized


@dataclass
class ExtraSpeech:
    """Speech that no article sentence covers (an intro, an ad-lib)."""

    video_id: str
    start: float
    end: float
    text: str


@dataclass
class Alignment:
    article_id: str
    video_id: str
    sentences: list[SentenceAlignment]  # only those located in this video
    extra_speech: list[ExtraSpeech]
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alignment:
        a = _from_dict(cls, data)
        a.sentences = [_from_dict(SentenceAlignment, s) for s in a.sentences]
        a.extra_speech = [_from_dict(ExtraSpeech, e) for e in a.extra_speech]
        return a
