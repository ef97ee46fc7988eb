"""What `archiver show` reports about an article or a video (the DESIGN.md JSON contracts)."""
from __future__ import annotations

from typing import Any

from .align import every_sentence
from .errors import ArchiverError


def show(archive, item_id: str) -> dict[str, Any]:
    found = archive.catalog.find(item_id)
    if found is None:
        raise ArchiverError(f"{item_id}: no article or video with this id; `archiver status` lists them")
    kind, full_id = found
    return show_article(archive, full_id) if kind == "article" else show_video(archive, full_id)


def speaker_names(archive, video_id: str) -> dict[str, str]:
    from .store.files import read_json

    path = archive.layout.speaker_names_json(video_id)
    return read_json(path) if path.exists() else {}


def show_article(archive, article_id: str) -> dict[str, Any]:
    row = archive.catalog.article(article_id)
    article = archive.article(article_id)
    alignments = archive.alignments(article_id)
    videos = []
    for video_id in archive.catalog.video_ids_of(article_id):
        video = archive.catalog.video(video_id)
        videos.append({"id": video_id, "url": video["url"], "title": video["title"], "duration": video["duration"]})
    located = every_sentence(article, alignments)
    names = {v["id"]: speaker_names(archive, v["id"]) for v in videos}
    return {
        "kind": "article", "id": article.id, "title": article.title, "url": row["source"],
        "author": article.author, "date": article.date, "language": article.language,
        "status": row["status"], "error": row["error"], "note": row["note"],
        "videos": videos,
        "sentences": [
            {"index": s.index, "paragraph": s.paragraph, "text": s.text, "video_id": where.video_id,
             "start": where.start, "end": where.end, "score": where.score, "speaker": where.speaker,
             "speaker_name": names.get(where.video_id, {}).get(where.speaker) if where.speaker else None}
            for s, where in zip(article.sentences, located)
        ],
        "extra_speech": [
            {"video_id": e.video_id, "start": e.start, "end": e.end, "text": e.text}
            for a in alignments for e in a.extra_speech
        ],
    }


def show_video(archive, video_id: str) -> dict[str, Any]:
    from .speakers import speaker_seconds

    row = archive.catalog.video(video_id)
    transcript = archive.transcript(video_id)
    segments = transcript.segments if transcript else []
    names = speaker_names(archive, video_id)
    return {
        "kind": "video", "id": video_id, "url": row["url"], "title": row["title"], "duration": row["duration"],
        "sha256": row["sha256"], "language": row["language"], "language_probability": row["language_probability"],
        "engine": row["engine"], "model": row["model"], "model_reason": row["model_reason"],
        "vad": transcript.vad if transcript else {},
        "status": row["status"], "error": row["error"],
        "media": str(archive.media_path(video_id) or ""),
        "speakers": [{"id": sid, "name": names.get(sid), "seconds": seconds}
                     for sid, seconds in speaker_seconds(segments).items()],
        "segments": [
            {"start": s.start, "end": s.end, "text": s.text, "speaker": s.speaker,
             "words": [{"start": w.start, "end": w.end, "word": w.word, "probability": w.probability,
                        "speaker": w.speaker, "prompted": w.prompted} for w in s.words]}
            for s in segments
        ],
        # the names the decoder was given (archiver/prompting.py): for the whole video, and the
        # stretches re-decoded with their own sentence's names
        "prompting": {"prompt": (transcript.options.get("prompt", "") if transcript else ""),
                      "windows": (transcript.prompting.get("windows", []) if transcript else [])},
        "articles": archive.catalog.articles_of(video_id),
        **_translation(archive, video_id),
    }


def _translation(archive, video_id: str) -> dict[str, Any]:
    """`"translation": {"language": "en", "segments": [...]}` when the video has an English track."""
    from .pipeline import translation_of

    translation = translation_of(archive, video_id)
    if translation is None:
        return {}
    return {"translation": {"language": translation.language, "source_language": translation.source_language,
                            "model": translation.model,
                            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in translation.segments]}}
