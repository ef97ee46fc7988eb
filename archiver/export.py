"""Export: a self-contained bundle for offline review, opened from file:// in a browser.

    review/
      index.html                      every article and video, and the search box
      search.json                     the search index (also embedded in index.html)
      manifest.json                   sha256 of every file, sources, fetch times
      manifest.json.sig, signing-key.pem   its Ed25519 signature and the public key
      manifest.json.tsr               an RFC 3161 timestamp, when `archiver timestamp` added one
      SHA256SUMS, VERIFY.txt          for `sha256sum -c`, and how to check it all with openssl
      assets/app.js, assets/words.js, assets/style.css
      articles/<id>/index.html        text with clickable spoken sentences, player, transcript
      articles/<id>/article.json, show.json, alignments/<video_id>.json, page.wacz, provenance.json
      videos/<id>/index.html          player and transcript
      videos/<id>/media.<ext>, info.json, transcript.json, <id>.vtt, <id>.srt, provenance.json

Browsers treat every file:// page as its own origin: no fetch(), no <track src>. So each
page carries its data in a <script type="application/json"> block (never executed) and
app.js builds the subtitle cues from it. Web text is escaped everywhere it lands: in
HTML with html.escape, in embedded JSON with \\u003c for <, >, & so that no "</script>"
can close the block, and a URL becomes a link only when it is http(s) or file.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .errors import ArchiverError
from .timecode import clock
from . import signing
from .capture import PAGE_WACZ, VIDEO_WACZ
from .provenance import FILE as PROVENANCE
from .store.files import TEMP_PREFIX, atomic_open, atomic_write_bytes, sha256_file, slugify
from .text import decodable, printable
from .verify import BUNDLE_FORMAT, BUNDLE_VERSION, MANIFEST, OUTSIDE_MANIFEST, SIGNATURE, SUMS, TSR, VERIFY_TXT, hash_tree
from .words import words

STATIC = Path(__file__).parent / "export_static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
       "form-action 'self'; base-uri 'none'")
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


@dataclass
class VideoItem:
    id: str
    row: dict[str, Any]
    show: dict[str, Any]  # show_video(): segments, language, engine, model
    media: Path | None  # in the archive
    info: Path | None
    transcript: Path | None
    translation: Path | None = None  # the English track (transcripts/<id>/translation-en.json)

    @property
    def dir(self) -> str:
        return f"videos/{self.id}"

    @property
    def page(self) -> str:
        return f"{self.dir}/index.html"

    @property
    def media_name(self) -> str | None:
        return f"media.{slugify(self.media.suffix.lstrip('.'), 8)}" if self.media else None

    @property
    def title(self) -> str:
        return self.row["title"] or self.id


@dataclass
class ArticleItem:
    id: str
    row: dict[str, Any]
    show: dict[str, Any]  # show_article(): sentences with times, extra_speech, videos
    links: list[dict[str, Any]]  # every linked video, including those that failed

    @property
    def dir(self) -> str:
        return f"articles/{self.id}"

    @property
    def page(self) -> str:
        return f"{self.dir}/index.html"

    @property
    def title(self) -> str:
        return self.show["title"] or self.id

    @property
    def spoken(self) -> int:
        return sum(1 for s in self.show["sentences"] if s["start"] is not None)


@dataclass
class ExportResult:
    path: Path
    articles: int
    videos: int
    files: int  # besides manifest.json
    bytes: int
    skipped: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- escaping


def esc(text: Any) -> str:
    """Text for HTML content and double-quoted attributes."""
    return html.escape("" if text is None else str(text), quote=True)


def safe_href(url: str | None) -> str | None:
    """A URL from the web or the catalog as a link target, or None when it must stay text.

    Only http, https and file become links; javascript:, data:, vbscript: and anything a
    browser could read as a scheme after stripping controls (java\\tscript:) do not.
    """
    if not url:
        return None
    url = url.strip()
    if any(ord(c) < 0x21 or c == "\x7f" for c in url):
        return None
    if re.match(r"(?i)^(https?://[^/?#\s]|file:)", url):
        return url
    return None


def embed_json(data: Any) -> str:
    """JSON to put inside <script type="application/json">: <, >, & become \\u003c etc., so
    no '</script>' or '<!--' in web text can end or alter the block."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def safe_id(item_id: str) -> str:
    """Ids become path components in the bundle; the archive makes them safe, we check again."""
    if not SAFE_ID.fullmatch(item_id) or item_id in (".", ".."):
        raise ArchiverError(f"{item_id!r}: not a safe id for a bundle path")
    return item_id


# ---------------------------------------------------------------- small formats


def when(iso: str | None) -> str:
    """'2020-03-20T13:10:57+00:00' -> '2020-03-20 13:10 UTC'; anything else as it is."""
    if not iso:
        return ""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def speaker_labels(speakers: list[dict[str, Any]]) -> dict[str, str]:
    """Speaker id -> what subtitles and the transcript call them: the name given with
    `archiver speakers`, else the id; nothing for a video with one unnamed speaker."""
    if len(speakers) < 2 and not any(p["name"] for p in speakers):
        return {}
    return {p["id"]: p["name"] or p["id"] for p in speakers}


LONGEST_VIDEO = 10 * 24 * 3600.0  # seconds: where cues end when the duration is unknown (timedelta overflows past 1e14)


def _cues(segments: list[dict[str, Any]], labels: dict[str, str] | None = None,
          duration: float | None = None) -> list[tuple[float, float, str, str]]:
    """Segments as (start, end, one-line text, speaker label or "") to the millisecond, in the
    order of their start (then end) as WebVTT wants it and srt.compose sorts them; a cue ends
    after it starts and lies within the video. A time that is no number (NaN, inf: a
    transcript made elsewhere) has nothing to show."""
    limit = duration if duration and math.isfinite(duration) and duration > 0 else LONGEST_VIDEO
    out = []
    for s in segments:
        text = " ".join(printable(decodable(s["text"])).split())
        start, end = s["start"], s["end"]
        if not text or not math.isfinite(start) or start >= limit:
            continue
        start = round(max(0.0, start), 3)
        end = round(min(end, limit), 3) if math.isfinite(end) else start
        out.append((start, max(end, round(start + 0.01, 3)), text, (labels or {}).get(s.get("speaker"), "")))
    return sorted(out, key=lambda cue: cue[:2])


def vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: list[dict[str, Any]], labels: dict[str, str] | None = None,
           duration: float | None = None) -> str:
    """WebVTT: cue text escapes & < > (so '-->' cannot occur in it either); the speaker is a
    voice span (`<v Mike Pompeo>`)."""
    lines = ["WEBVTT", ""]
    for i, (start, end, text, who) in enumerate(_cues(segments, labels, duration), 1):
        voice = f"<v {_vtt_escape(who)}>" if who else ""
        lines += [str(i), f"{vtt_time(start)} --> {vtt_time(end)}", voice + _vtt_escape(text), ""]
    return "\n".join(lines)


def to_srt(segments: list[dict[str, Any]], labels: dict[str, str] | None = None,
           duration: float | None = None) -> str:
    """SubRip has no voices: the speaker leads the line ("Mike Pompeo: ...")."""
    import srt

    return srt.compose([srt.Subtitle(i, timedelta(seconds=start), timedelta(seconds=end),
                                     f"{who}: {text}" if who else text)
                        for i, (start, end, text, who) in enumerate(_cues(segments, labels, duration), 1)])


# ---------------------------------------------------------------- the search index


def search_index(articles: list[ArticleItem], videos: list[VideoItem]) -> dict[str, Any]:
    """{"owners": [pages], "docs": [sentences and segments], "terms": {word: [doc numbers]}}."""
    owners: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    for a in articles:
        owners.append({"k": "article", "p": a.page, "h": a.title})
        for s in a.show["sentences"]:
            docs.append({"o": len(owners) - 1, "v": s["video_id"], "s": s["start"], "e": s["end"],
                         "i": s["index"], "x": s["text"]})
    for v in videos:
        owners.append({"k": "video", "p": v.page, "h": v.title})
        for s in v.show["segments"] + (v.show.get("translation") or {}).get("segments", []):
            docs.append({"o": len(owners) - 1, "v": v.id, "s": s["start"], "e": s["end"], "x": s["text"].strip()})
    terms: dict[str, list[int]] = {}
    for n, doc in enumerate(docs):
        for term in dict.fromkeys(words(doc["x"])):  # assets/words.js finds the query's words alike
            terms.setdefault(term, []).append(n)
    return {"version": 1, "owners": owners, "docs": docs, "terms": terms}


# ---------------------------------------------------------------- choosing what to export


def select(archive, ids: list[str], all_items: bool) -> tuple[list[str], list[str], list[str]]:
    """(article ids, video ids, skipped notes): the given ids (or prefixes), or everything."""
    if ids and all_items:
        raise ArchiverError("give ids or --all, not both")
    if not ids and not all_items:
        raise ArchiverError("nothing to export: give article or video ids (see `archiver status`) or --all")
    catalog = archive.catalog
    article_ids: list[str] = []
    video_ids: list[str] = []
    skipped: list[str] = []
    if all_items:
        for row in catalog.articles():
            if archive.layout.article_json(row["id"]).exists():
                article_ids.append(row["id"])
            else:
                skipped.append(f"article {row['id']}: not archived ({row['error'] or row['stage']})")
        for row in catalog.videos():
            if archive.media_path(row["id"]) is not None and row["stage"] != "download":
                video_ids.append(row["id"])
            else:
                skipped.append(f"video {row['id']}: no media ({row['error'] or row['stage']})")
    for item_id in ids:
        found = catalog.find(item_id)
        if found is None:
            raise ArchiverError(f"{item_id}: no article or video with this id; `archiver status` lists them")
        kind, full_id = found
        if kind == "article":
            if not archive.layout.article_json(full_id).exists():
                raise ArchiverError(f"{full_id}: this article was not archived; run `archiver add` on it again")
            article_ids.append(full_id)
        else:
            if archive.media_path(full_id) is None:
                raise ArchiverError(f"{full_id}: this video has no media; run `archiver add` on it again")
            video_ids.append(full_id)
    for article_id in article_ids:  # an article brings its videos
        video_ids += catalog.video_ids_of(article_id)
    return list(dict.fromkeys(article_ids)), list(dict.fromkeys(video_ids)), skipped


def load_items(archive, article_ids: list[str], video_ids: list[str]) -> tuple[list[ArticleItem], list[VideoItem]]:
    from .show import show_article, show_video

    videos = []
    for video_id in video_ids:
        row = archive.catalog.video(video_id)
        media = archive.media_path(video_id)
        media = media if media and media.exists() else None
        info = archive.layout.media_dir(video_id) / "info.json"
        transcript = (archive.layout.transcript_json(video_id, row["engine"], row["model"])
                      if row["engine"] and row["model"] else None)
        translation = archive.layout.translation_json(video_id)
        videos.append(VideoItem(safe_id(video_id), row, show_video(archive, video_id), media,
                                info if info.exists() else None,
                                transcript if transcript and transcript.exists() else None,
                                translation if translation.exists() else None))
    articles = [ArticleItem(safe_id(a), archive.catalog.article(a), show_article(archive, a), archive.catalog.links(a))
                for a in article_ids]
    return articles, videos


# ---------------------------------------------------------------- export


def export(archive, ids: list[str], *, all_items: bool = False, out: Path, as_zip: bool = False,
           media: bool = True) -> ExportResult:
    """Build the bundle in a temp dir beside `out`, then rename it into place (or zip it)."""
    article_ids, video_ids, skipped = select(archive, ids, all_items)
    if not article_ids and not video_ids:
        raise ArchiverError("nothing to export: the archive holds no archived article or video")
    articles, videos = load_items(archive, article_ids, video_ids)
    out = Path(out).expanduser().resolve()
    target = (out if out.suffix.lower() == ".zip" else out.with_name(out.name + ".zip")) if as_zip else out
    if not as_zip:
        _check_replaceable(out)
    elif target.is_dir():
        raise ArchiverError(f"{target}: is a directory; choose another --out for the zip")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}export-", dir=target.parent))
    try:
        files = build(archive, articles, videos, work, media=media)["files"]
        _settle_permissions(work)
        result = ExportResult(target, len(articles), len(videos), len(files), sum(f["bytes"] for f in files), skipped)
        if as_zip:
            _write_zip(work, target, top=target.stem)
            shutil.rmtree(work)
        else:
            _replace_dir(work, out)
        return result
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _check_replaceable(out: Path) -> None:
    """Replace only an earlier bundle or an empty directory, never someone's other files."""
    if out.exists() and not out.is_dir():
        raise ArchiverError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not _is_bundle(out):
        raise ArchiverError(f"--out {out}: exists and is not an earlier bundle; choose another directory or remove it")


def _is_bundle(path: Path) -> bool:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("format") == BUNDLE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _settle_permissions(root: Path) -> None:
    """Temp dirs and files are created private (0700/0600); the bundle gets the usual modes.
    A hard-linked media file is the archive's own file: left as it is."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(root, 0o777 & ~umask)
    for path in root.rglob("*"):
        if path.is_dir():
            os.chmod(path, 0o777 & ~umask)
        elif path.stat().st_nlink == 1:
            os.chmod(path, 0o666 & ~umask)


def _replace_dir(work: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f"{TEMP_PREFIX}old-{out.name}-{os.getpid()}")
        out.rename(old)
    try:
        work.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_zip(work: Path, target: Path, top: str) -> None:
    """DIR.zip holding DIR/...; media is stored (already compressed), the rest deflated."""
    with atomic_open(target) as raw, zipfile.ZipFile(raw, "w") as z:
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            name = f"{top}/{path.relative_to(work).as_posix()}"
            stored = path.parent.parent.name == "videos" and path.name.startswith("media.")
            z.write(path, name, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)


def build(archive, articles: list[ArticleItem], videos: list[VideoItem], root: Path,
          media: bool = True) -> dict[str, Any]:
    """Write every file of the bundle under root, the manifest last; return the manifest."""
    by_id = {v.id: v for v in videos}
    for name in ("words.js", "app.js", "style.css"):
        _copy(STATIC / name, root / "assets" / name)
    for v in videos:
        base = root / v.dir
        if media and v.media:
            _link_or_copy(v.media, base / v.media_name)
        if v.info:
            _copy(v.info, base / "info.json")
        if v.transcript:
            _copy(v.transcript, base / "transcript.json")
        if v.translation:
            _copy(v.translation, base / "translation.json")
        labels = speaker_labels(v.show["speakers"])
        _write(base / f"{v.id}.vtt", to_vtt(v.show["segments"], labels, v.show["duration"]))
        _write(base / f"{v.id}.srt", to_srt(v.show["segments"], labels, v.show["duration"]))
        if v.show.get("translation"):  # the English track: subtitles of its own
            _write(base / f"{v.id}.en.vtt", to_vtt(v.show["translation"]["segments"], duration=v.show["duration"]))
            _write(base / f"{v.id}.en.srt", to_srt(v.show["translation"]["segments"], duration=v.show["duration"]))
        for name in (PROVENANCE, VIDEO_WACZ):  # the chain of custody; a video given on its own as a web archive
            if (archive.layout.media_dir(v.id) / name).exists():
                _copy(archive.layout.media_dir(v.id) / name, base / name)
        _write(base / "index.html", video_page(v, articles, media))
    for a in articles:
        base = root / a.dir
        _copy(archive.layout.article_json(a.id), base / "article.json")
        for name in (PAGE_WACZ, PROVENANCE):  # the page as a web archive, the chain of custody
            if (archive.layout.article_dir(a.id) / name).exists():
                _copy(archive.layout.article_dir(a.id) / name, base / name)
        for video_id in [x["id"] for x in a.show["videos"]]:
            path = archive.layout.alignment_json(a.id, video_id)
            if path.exists():
                _copy(path, base / "alignments" / f"{safe_id(video_id)}.json")
        _write(base / "show.json", json.dumps({k: v for k, v in a.show.items() if k != "kind"},
                                              ensure_ascii=False, indent=1))
        _write(base / "index.html", article_page(a, [by_id[x["id"]] for x in a.show["videos"] if x["id"] in by_id],
                                                 media))
    created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    index = search_index(articles, videos)
    _write(root / "search.json", json.dumps(index, ensure_ascii=False, separators=(",", ":")))
    _write(root / "index.html", index_page(articles, videos, index, created))
    key = signing.private_key(archive.layout.root, archive.config)
    atomic_write_bytes(root / signing.KEY_FILE, signing.public_pem(key.public_key()))
    _write(root / VERIFY_TXT, verify_text(signing.fingerprint(key.public_key())))
    listing = manifest(articles, videos, root, media, created, signing.fingerprint(key.public_key()))
    manifest_bytes = json.dumps(listing, ensure_ascii=False, indent=1).encode("utf-8")
    atomic_write_bytes(root / MANIFEST, manifest_bytes)
    atomic_write_bytes(root / SIGNATURE, signing.sign(key, manifest_bytes))
    _write(root / SUMS, sha256sums(root))
    return listing


def sha256sums(root: Path) -> str:
    """`sha256sum -c SHA256SUMS` checks every file, manifest and signature included
    (`archiver timestamp` adds the timestamp's line)."""
    lines = [f"{e['sha256']}  {e['path']}" for e in hash_tree(root, skip={SUMS, TSR})]
    return "\n".join(lines) + "\n"


def verify_text(fingerprint: str) -> str:
    return VERIFY_TEMPLATE.format(fingerprint=fingerprint)


VERIFY_TEMPLATE = """How to check this bundle without transcript-archiver
=====================================================

1. Every file is the one the manifest lists (GNU coreutils):

    sha256sum -c SHA256SUMS

   SHA256SUMS is a convenience: manifest.json is what is signed, and it lists the
   sha256 of every file (`archiver verify` checks against it).

2. manifest.json was signed by the key in signing-key.pem (Ed25519, OpenSSL 3):

    openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in manifest.json -sigfile manifest.json.sig

   Whose key is it? Its fingerprint, the SHA-256 of the public key's DER encoding
   (SubjectPublicKeyInfo), is

    {fingerprint}

   and prints as the first word of:

    openssl pkey -pubin -in signing-key.pem -outform DER | sha256sum

   Compare it with the fingerprint the sender gave you by another channel (they see it
   with `archiver keys show`): a bundle re-signed by someone else carries another key.

3. When manifest.json.tsr is present, a timestamp authority (RFC 3161) saw this manifest
   at the time the token states. With the TSA's CA certificate (ca.pem, from the TSA):

    openssl ts -verify -data manifest.json -in manifest.json.tsr -CAfile ca.pem

   and to read the time and the authority:

    openssl ts -reply -in manifest.json.tsr -text

4. Each articles/<id>/page.wacz is the page as a web archive (WACZ 1.1.1): open it in
   ReplayWeb.page or pywb; `wacz validate -f page.wacz` (py-wacz) checks its hashes.
   provenance.json beside each article and video is its chain of custody.
"""


def manifest(articles: list[ArticleItem], videos: list[VideoItem], root: Path, media: bool,
             created: str, fingerprint: str) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        generator = f"transcript-archiver {version('transcript-archiver')}"
    except PackageNotFoundError:
        generator = "transcript-archiver"
    return {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "generator": generator,
        "created_at": created,
        "media_included": media,
        "signing_key": {"algorithm": "Ed25519", "fingerprint": fingerprint, "file": signing.KEY_FILE},
        "articles": [{"id": a.id, "title": a.show["title"], "url": a.row["source"], "date": a.show["date"],
                      "fetched_at": a.row["fetched_at"], "page": a.page,
                      "web_archive": f"{a.dir}/{PAGE_WACZ}" if (root / a.dir / PAGE_WACZ).exists() else None,
                      "videos": [v["id"] for v in a.show["videos"]]} for a in articles],
        "videos": [{"id": v.id, "title": v.row["title"], "url": v.row["url"], "webpage_url": v.row["webpage_url"],
                    "fetched_at": v.row["fetched_at"], "duration": v.row["duration"], "sha256": v.row["sha256"],
                    "media": f"{v.dir}/{v.media_name}" if media and v.media else None, "page": v.page,
                    "web_archive": f"{v.dir}/{VIDEO_WACZ}" if (root / v.dir / VIDEO_WACZ).exists() else None,
                    "derived": _derived(v, root)}
                   for v in videos],
        "files": hash_tree(root, skip=OUTSIDE_MANIFEST),
    }


def _derived(v: VideoItem, root: Path) -> list[dict[str, Any]]:
    """Working copies made for the bundle, each with its parent's hash (subtitles from the transcript)."""
    if not v.transcript:
        return []
    parent = {"path": f"{v.dir}/transcript.json", "sha256": sha256_file(v.transcript)}
    derived = [{"path": f"{v.dir}/{name}", "from": parent} for name in (f"{v.id}.vtt", f"{v.id}.srt")
               if (root / v.dir / name).exists()]
    if v.translation:
        parent = {"path": f"{v.dir}/translation.json", "sha256": sha256_file(v.translation)}
        derived += [{"path": f"{v.dir}/{name}", "from": parent} for name in (f"{v.id}.en.vtt", f"{v.id}.en.srt")
                    if (root / v.dir / name).exists()]
    return derived


def add_timestamp(bundle: Path, token: bytes) -> None:
    """Put manifest.json.tsr into a bundle directory or .zip (atomically), and its line into SHA256SUMS."""
    import hashlib

    from .verify import open_bundle

    with open_bundle(bundle) as opened:
        with opened.open(SUMS) as f:
            sums = [line for line in f.read().decode("utf-8").splitlines() if not line.endswith(f"  {TSR}")]
    sums_bytes = ("\n".join(sums + [f"{hashlib.sha256(token).hexdigest()}  {TSR}"]) + "\n").encode("utf-8")
    files = {TSR: token, SUMS: sums_bytes}
    if bundle.is_dir():
        for name, data in files.items():
            atomic_write_bytes(bundle / name, data)
        return
    with zipfile.ZipFile(bundle) as old:
        manifests = [m for m in old.namelist() if m == MANIFEST or m.endswith("/" + MANIFEST)]
        prefix = min(manifests, key=len)[: -len(MANIFEST)] if manifests else ""
        with atomic_open(bundle) as raw, zipfile.ZipFile(raw, "w") as new:
            for info in old.infolist():
                if info.filename[len(prefix):] not in files:
                    new.writestr(info, old.read(info))
            for name, data in files.items():
                new.writestr(prefix + name, data, compress_type=zipfile.ZIP_DEFLATED)


def _write(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link when the bundle is on the archive's filesystem, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


# ---------------------------------------------------------------- HTML


def page(title: str, body: str, depth: int, *, lang: str | None = None, data: Any = None,
         data_id: str = "page-data", body_class: str = "", search_box: bool = True) -> str:
    up = "../" * depth
    lang = lang if lang and re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", lang) else "en"
    block = f'\n<script type="application/json" id="{data_id}">{embed_json(data)}</script>' if data is not None else ""
    search = (f'<form class="topsearch" action="{up}index.html" method="get" role="search">'
              f'<input type="search" name="q" placeholder="Search" aria-label="Search the bundle">'
              f'</form>') if search_box else ""
    return f"""<!doctype html>
<html lang="{esc(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<title>{esc(title)}</title>
<link rel="stylesheet" href="{up}assets/style.css">{block}
<script src="{up}assets/words.js" defer></script>
<script src="{up}assets/app.js" defer></script>
</head>
<body class="{esc(body_class)}">
<header class="topbar"><a class="brand" href="{up}index.html"><span class="mark">&#9654;</span> Review bundle</a>{search}</header>
{body}
</body>
</html>
"""


def source_link(url: str | None, label: str | None = None) -> str:
    """A link for http(s)/file URLs; any other text (a local path, javascript:...) stays text."""
    if not url:
        return '<span class="muted">unknown</span>'
    href = safe_href(url)
    text = esc(label or url)
    if href:
        return f'<a class="url" href="{esc(href)}" rel="noopener noreferrer nofollow" target="_blank">{text}</a>'
    return f'<span class="url">{text}</span>'


def badge(seconds: float | None, kind: str = "") -> str:
    return f'<span class="badge {kind}">{clock(seconds)}</span>'


def seek_attrs(video_id: str | None, start: float, end: float | None) -> str:
    end_attr = f' data-e="{end:.3f}"' if end is not None else ""
    return f'data-v="{esc(video_id)}" data-t="{start:.3f}"{end_attr} tabindex="0" role="button"'


def coverage(a: ArticleItem) -> str:
    total = len(a.show["sentences"])
    if not a.show["videos"]:
        return '<p class="coverage"><span class="muted">No video archived for this article.</span></p>'
    percent = round(100 * a.spoken / total) if total else 0
    extra = len(a.show["extra_speech"])
    extra_text = f' &middot; <span class="extra-count">{extra} passage{"s" * (extra != 1)} said but not written</span>' \
        if extra else ""
    return (f'<p class="coverage"><progress max="100" value="{percent}">{percent}%</progress> '
            f'<span><strong>{a.spoken} of {total}</strong> sentences spoken ({percent}%){extra_text}</span></p>')


def player(v: VideoItem, up: str, media: bool, hidden: bool = False, own_page: bool = False) -> str:
    hide = " hidden" if hidden else ""
    link = "" if own_page else f'<a href="{up}{esc(v.page)}">video page &amp; files</a>'
    caption = (f'<figcaption><span class="vtitle">{esc(v.title)}</span> '
               f'<span class="muted">{clock(v.row["duration"])}</span> {link}</figcaption>')
    if media and v.media:
        src = f"{up}{v.dir}/{v.media_name}"
        screen = f'<video controls preload="metadata" playsinline src="{esc(src)}" data-v="{esc(v.id)}"></video>'
    else:
        screen = (f'<div class="nomedia"><p>Media not included in this bundle.</p>'
                  f'<p>Original: {source_link(v.row["url"])}</p></div>')
    return f'<figure class="player-video" data-v="{esc(v.id)}"{hide}>{screen}{caption}</figure>'


def transcript_list(v: VideoItem, extra: list[dict[str, Any]], hidden: bool = False) -> str:
    """The transcript as a list of clickable segments; speech not in the article is marked."""
    spans = [(e["start"], e["end"]) for e in extra if e["video_id"] == v.id]
    labels = speaker_labels(v.show["speakers"])
    items, speaker = [], None
    for s in v.show["segments"]:
        middle = (s["start"] + s["end"]) / 2
        not_in_article = any(a <= middle <= b for a, b in spans)
        cls = "seg seek extra" if not_in_article else "seg seek"
        note = '<span class="tag extra">not in article</span>' if not_in_article else ""
        who = ""
        if labels.get(s.get("speaker")) and s["speaker"] != speaker:  # a new turn: who speaks
            who = f'<span class="who">{esc(labels[s["speaker"]])}</span>'
        speaker = s.get("speaker")
        items.append(f'<li class="{cls}" {seek_attrs(v.id, s["start"], s["end"])}>{badge(s["start"])}'
                     f'<span class="txt">{who}{esc(s["text"].strip())}</span>{note}</li>')
    if not items:
        items.append('<li class="muted">No transcript.</li>')
    hide = " hidden" if hidden else ""
    return f'<ol class="segments" data-v="{esc(v.id)}"{hide}>{"".join(items)}</ol>'


def cue_data(videos: list[VideoItem]) -> dict[str, Any]:
    return {"videos": {v.id: {"lang": v.show["language"] or "",
                              "cues": [list(c) for c in _cues(v.show["segments"], speaker_labels(v.show["speakers"]),
                                                               v.show["duration"])],
                              "translation": [list(c) for c in _cues((v.show.get("translation") or {}).get("segments", []),
                                                                     duration=v.show["duration"])]}
                       for v in videos}}


def translation_list(v: VideoItem, hidden: bool = False) -> str:
    """The English track beside the transcript, as clickable segments too."""
    segments = (v.show.get("translation") or {}).get("segments", [])
    if not segments:
        return ""
    items = "".join(f'<li class="seg seek" {seek_attrs(v.id, s["start"], s["end"])}>{badge(s["start"])}'
                    f'<span class="txt">{esc(s["text"].strip())}</span></li>' for s in segments)
    hide = " hidden" if hidden else ""
    return (f'<section class="translation" data-v="{esc(v.id)}"{hide} lang="en"><h3>English (translated from '
            f'{esc(v.show["translation"]["source_language"])})</h3><ol class="translated">{items}</ol></section>')


def tabs(videos: list[VideoItem]) -> str:
    if len(videos) < 2:
        return ""
    buttons = "".join(
        f'<button type="button" role="tab" data-tab="{esc(v.id)}" aria-selected="{"true" if i == 0 else "false"}">'
        f'<span class="n">{i + 1}</span> {esc(v.title)} <span class="muted">{clock(v.row["duration"])}</span></button>'
        for i, v in enumerate(videos))
    return f'<div class="tabs" role="tablist" aria-label="Videos">{buttons}</div>'


def article_page(a: ArticleItem, videos: list[VideoItem], media: bool) -> str:
    up = "../../"
    show = a.show
    number = {v.id: i + 1 for i, v in enumerate(videos)}
    paragraphs: list[list[str]] = []
    last = None
    for s in show["sentences"]:
        if s["paragraph"] != last:
            paragraphs.append([])
            last = s["paragraph"]
        text = esc(s["text"])
        if s["start"] is not None:
            which = f'<span class="vnum">{number[s["video_id"]]}</span>' if len(videos) > 1 and s["video_id"] in number else ""
            score = f' title="heard {round(100 * s["score"])}% of its words"' if s["score"] is not None else ""
            weak = " weak" if s["score"] is not None and s["score"] < 0.8 else ""
            paragraphs[-1].append(f'<span class="s spoken seek{weak}" id="s-{s["index"]}" '
                                  f'{seek_attrs(s["video_id"], s["start"], s["end"])}{score}>'
                                  f'{badge(s["start"])}{which}{text}</span>')
        elif show["videos"]:
            paragraphs[-1].append(f'<span class="s unspoken" id="s-{s["index"]}" title="not found in the speech">'
                                  f'<span class="badge ns">not spoken</span>{text}</span>')
        else:
            paragraphs[-1].append(f'<span class="s" id="s-{s["index"]}">{text}</span>')
    body_text = "\n".join(f"<p>{' '.join(p)}</p>" for p in paragraphs)

    extra = show["extra_speech"]
    extra_html = ""
    if extra:
        items = "".join(f'<li class="seek" {seek_attrs(e["video_id"], e["start"], e["end"])}>'
                        f'{badge(e["start"], "extra")}<span class="txt">{esc(e["text"])}</span></li>' for e in extra)
        extra_html = (f'<section class="extra-speech"><h2>Said in the video, not in the article</h2>'
                      f'<ol>{items}</ol></section>')

    failed = [link for link in a.links if link["status"] != "ok"]
    failed_html = ""
    if failed:
        items = "".join(f'<li>{source_link(link["url"])}<br><span class="muted">{esc(link["error"] or "failed")}</span></li>'
                        for link in failed)
        failed_html = (f'<section class="failed-links"><h2>Linked but not archived</h2><ul>{items}</ul></section>')

    files = [("article.json", "the article: text, paragraphs, sentences, links"),
             ("show.json", "every sentence with its video and time, and the extra speech")]
    files += [(f"alignments/{v.id}.json", f"the alignment to {v.title}") for v in videos]
    files_html = _files_list([(f"{up}{a.dir}/{path}", label) for path, label in files])

    meta = [("Source", source_link(show["url"])),
            ("Published", esc(show["date"] or "unknown")),
            ("Author", esc(show["author"])) if show["author"] else None,
            ("Fetched", esc(when(a.row["fetched_at"])))]
    meta_html = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in filter(None, meta))
    legend = ""
    if videos:
        weak = any(s["start"] is not None and s["score"] is not None and s["score"] < 0.8 for s in show["sentences"])
        legend = ('<ul class="legend"><li><span class="badge">01:23</span> spoken: click to play from there</li>'
                  '<li><span class="badge ns">not spoken</span> not found in the video</li>'
                  + ('<li><span class="s spoken weak">dotted</span> partly heard: listen</li>' if weak else '')
                  + '<li><span class="badge extra">01:23</span> said, not written</li></ul>')

    side_videos = "".join(player(v, up, media, hidden=i > 0) for i, v in enumerate(videos)) or \
        '<div class="nomedia"><p>No video was archived for this article.</p></div>'
    side_transcripts = "".join(transcript_list(v, extra, hidden=i > 0) + translation_list(v, hidden=i > 0)
                               for i, v in enumerate(videos))
    body = f"""<main class="layout">
<article class="reading">
<header class="doc-head">
<p class="kicker">Article{f' &middot; {len(videos)} videos' if len(videos) > 1 else ''}</p>
<h1>{esc(a.title)}</h1>
<dl class="meta">{meta_html}</dl>
{coverage(a)}
{legend}
</header>
<div class="body-text">
{body_text}
</div>
{extra_html}
{failed_html}
<section class="files"><h2>Files</h2>{files_html}</section>
</article>
<aside class="side">
<div class="player">{tabs(videos)}{side_videos}</div>
<section class="transcript"><h2>Transcript <span class="muted now" aria-live="polite"></span></h2>
<div class="pane">{side_transcripts or '<p class="muted">No transcript.</p>'}</div></section>
</aside>
</main>"""
    return page(a.title, body, 2, lang=show["language"], data=cue_data(videos), body_class="article-page")


def video_page(v: VideoItem, articles: list[ArticleItem], media: bool) -> str:
    up = "../../"
    show = v.show
    used_in = [a for a in articles if v.id in [x["id"] for x in a.show["videos"]]]
    used_html = "".join(f'<li><a href="{up}{esc(a.page)}">{esc(a.title)}</a></li>' for a in used_in)
    meta = [("Source", source_link(v.row["url"])),
            ("Page", source_link(v.row["webpage_url"])) if v.row["webpage_url"] and v.row["webpage_url"] != v.row["url"] else None,
            ("Duration", clock(v.row["duration"])),
            ("Fetched", esc(when(v.row["fetched_at"]))),
            ("Speech", esc(f'{show["language"] or "?"}, {show["engine"] or "?"} {show["model"] or ""}'))]
    meta_html = "".join(f"<div><dt>{k}</dt><dd>{val}</dd></div>" for k, val in filter(None, meta))
    files = []
    if media and v.media:
        files.append((v.media_name, "media file"))
    files += [(f"{v.id}.vtt", "subtitles (WebVTT)"), (f"{v.id}.srt", "subtitles (SRT)")]
    if v.translation:
        files += [(f"{v.id}.en.vtt", "English subtitles, translated (WebVTT)"),
                  (f"{v.id}.en.srt", "English subtitles, translated (SRT)"),
                  ("translation.json", "the English track with its segment times")]
    if v.transcript:
        files.append(("transcript.json", "transcript with word times"))
    if v.info:
        files.append(("info.json", "download metadata (yt-dlp)"))
    files_html = _files_list([(f"{up}{v.dir}/{path}", label) for path, label in files])
    used = (f'<p class="used-in">In {"this article" if len(used_in) == 1 else "these articles"}:</p>'
            f'<ul class="used-in">{used_html}</ul>') if used_in else ""
    body = f"""<main class="layout">
<article class="reading">
<header class="doc-head">
<p class="kicker">Video</p>
<h1>{esc(v.title)}</h1>
<dl class="meta">{meta_html}</dl>
{used}
</header>
<section class="transcript main-transcript"><h2>Transcript <span class="muted now" aria-live="polite"></span></h2>
{transcript_list(v, [])}
</section>
{translation_list(v)}
</article>
<aside class="side">
<div class="player">{player(v, up, media, own_page=True)}</div>
<section class="files card"><h2>Files</h2>{files_html}
<p class="muted small">Media sha256 <code class="hash">{esc(v.row["sha256"])}</code></p></section>
</aside>
</main>"""
    return page(v.title, body, 2, lang=show["language"], data=cue_data([v]), body_class="video-page")


def _files_list(files: list[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="{esc(href)}">{esc(href.rsplit("/", 1)[-1])}</a> '
                    f'<span class="muted">{esc(label)}</span></li>' for href, label in files)
    return f'<ul class="filelist">{items}</ul>'


def index_page(articles: list[ArticleItem], videos: list[VideoItem], index: dict[str, Any], created: str) -> str:
    article_cards = []
    for a in articles:
        vids = {v["id"]: v for v in a.show["videos"]}
        video_line = ", ".join(f'{esc(v["title"] or v["id"])} ({clock(v["duration"])})' for v in vids.values())
        article_cards.append(f"""<li class="card">
<h3><a href="{esc(a.page)}">{esc(a.title)}</a></h3>
<p class="src">{source_link(a.show["url"])}</p>
<p class="facts"><span>Published {esc(a.show["date"] or "unknown")}</span><span>Fetched {esc(when(a.row["fetched_at"]))}</span>
<span>{len(vids)} video{"s" * (len(vids) != 1)}{": " + video_line if video_line else ""}</span></p>
{coverage(a)}
</li>""")
    video_rows = []
    for v in videos:
        used = [a for a in articles if v.id in [x["id"] for x in a.show["videos"]]]
        used_html = ", ".join(f'<a href="{esc(a.page)}">{esc(a.title)}</a>' for a in used) or '<span class="muted">none</span>'
        video_rows.append(f"""<li class="card">
<h3><a href="{esc(v.page)}">{esc(v.title)}</a> <span class="badge">{clock(v.row["duration"])}</span></h3>
<p class="src">{source_link(v.row["url"])}</p>
<p class="facts"><span>Fetched {esc(when(v.row["fetched_at"]))}</span><span>{len(v.show["segments"])} transcript segments, {esc(v.show["language"] or "?")}</span>
<span>In: {used_html}</span></p>
</li>""")
    body = f"""<main class="home">
<section class="hero">
<h1>Review bundle</h1>
<p class="muted">{len(articles)} article{"s" * (len(articles) != 1)} and {len(videos)} video{"s" * (len(videos) != 1)}, exported {esc(when(created))}. Check it with <code>archiver verify</code>.</p>
<form class="bigsearch" action="index.html" method="get" role="search">
<input id="q" type="search" name="q" autocomplete="off" placeholder="Search what was written and said, e.g. a name" aria-label="Search">
</form>
<p id="search-status" class="muted" aria-live="polite"></p>
<ol id="results" class="results"></ol>
</section>
{f'<section class="list"><h2>Articles</h2><ul class="cards">{"".join(article_cards)}</ul></section>' if articles else ''}
{f'<section class="list"><h2>Videos</h2><ul class="cards">{"".join(video_rows)}</ul></section>' if videos else ''}
</main>"""
    return page("Review bundle", body, 0, data=index, data_id="search-index", body_class="index-page", search_box=False)
