"""The `archiver` command: a thin layer over the library functions.

Heavy modules (speech engine, yt-dlp, trafilatura) are imported inside the commands that
need them, so `archiver search` starts fast. Every ArchiverError becomes one line on
stderr and exit code 1; --debug shows the traceback instead.
"""
from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import click

from .errors import ArchiverError
from .timecode import clock


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so that a writing command records where
    it stopped (see Archive.writing) instead of vanishing with items marked `running`."""


def _terminated(signum, frame) -> None:
    raise Terminated()


def _exit_now(code: int) -> None:
    """Exit, without waiting for worker threads still inside a download or a transcription: the
    catalog has recorded them as interrupted, and what they leave is what a killed run leaves."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def handle_errors(command: Callable) -> Callable:
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        try:
            return command(*args, **kwargs)
        except ArchiverError as e:
            if ctx.obj.get("debug"):
                raise
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as e:
            click.echo("interrupted; run the same command again, or `archiver retry`, to resume", err=True)
            _exit_now(128 + signal.SIGTERM if isinstance(e, Terminated) else 130)
        except Exception as e:  # an unexpected failure still gets one line unless --debug
            if ctx.obj.get("debug"):
                raise
            click.echo(f"error: unexpected {type(e).__name__}: {e} (rerun with --debug for details)", err=True)
            sys.exit(2)
    return wrapper


def open_archive(ctx: click.Context, readonly: bool = False, create: bool = True):
    from . import config as config_mod
    from .pipeline import Archive

    config = config_mod.load(ctx.obj.get("config"))
    return Archive.open(ctx.obj.get("archive"), config, readonly=readonly, create=create)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--archive", "archive", type=click.Path(file_okay=False), help="Archive directory (default from config: ./archive).")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="A TOML file overriding config.toml.")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="transcript-archiver")
@click.pass_context
def main(ctx: click.Context, archive: str | None, config: str | None, debug: bool) -> None:
    """Archive the videos linked from news articles and search what was said, to the second."""
    ctx.ensure_object(dict)
    ctx.obj.update(archive=archive, config=config, debug=debug)
    if threading.current_thread() is threading.main_thread():  # not under an in-process test runner's thread
        signal.signal(signal.SIGTERM, _terminated)


# ---------------------------------------------------------------- add


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--video", "videos", multiple=True, help="Attach a video URL or file to the article(s) by hand.")
@click.option("--from-file", "from_file", type=click.File("r", encoding="utf-8"),
              help="Read sources from a file, one per line (# comments and blank lines ignored).")
@click.option("--engine", type=click.Choice(["faster-whisper", "openai-whisper"]), help="Speech engine (default from config).")
@click.option("--model", help="Whisper model name or directory (default from config: auto, i.e. tiny.en for "
                                "English speech, base for any other language).")
@click.option("--language", help="Force the spoken language (e.g. en, es); default: detect.")
@click.option("--jobs", "-j", type=click.IntRange(1, 32), default=1, show_default=True,
              help="Fetch articles and download videos in parallel (transcription runs alongside).")
@click.option("--diarize/--no-diarize", default=None,
              help="Find who speaks when (default from config: on when the extra [speakers] is installed).")
@click.option("--names/--no-names", default=None,
              help="Prompt the decoder with the article's proper nouns, so the transcript spells them as the "
                   "article does; about 60% more transcription time (default from config: off).")
@click.option("--translate/--no-translate", default=None,
              help="Also an English track of speech in another language (multilingual model; default from config: off).")
@click.option("--cluster", metavar="tcp://HOST:PORT",
              help="Transcribe on the workers of this Dask scheduler (default from config [cluster]; '' = here).")
@click.option("--dry-run", is_flag=True,
              help="Read the articles and list the videos that would be archived; download nothing, write nothing.")
@click.option("--base-url", metavar="URL",
              help="The web address of a saved local page: its relative links resolve against it "
                   "(default: the page's canonical link or og:url).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_context
@handle_errors
def add(ctx, sources, videos, from_file, engine, model, language, jobs, diarize, names, translate, cluster, dry_run,
        base_url, as_json):
    """Archive articles (URL, .html, .md, .txt) and videos (URL or media file).

    Each article's linked videos are downloaded, transcribed, aligned to its text and
    indexed. Exit code 0 when every source succeeded, 1 when any failed (the others are
    archived all the same).
    """
    from .pipeline import add as run_add

    sources = list(sources)
    if from_file:
        sources += [line.strip() for line in from_file if line.strip() and not line.lstrip().startswith("#")]
    if not sources and videos:
        sources, videos = list(videos), []
    if not sources:
        raise ArchiverError("nothing to add: give article or video sources (see `archiver add --help`)")
    from .discover.urls import is_web

    if base_url and not is_web(base_url):
        raise ArchiverError(f"--base-url {base_url}: give an http(s) address, e.g. https://news.example/2020/story.html")
    if dry_run:
        return dry_run_add(ctx, sources, list(videos), base_url, as_json)
    archive = open_archive(ctx)
    for key, value in (("diarize", diarize), ("names", names), ("translate", translate)):
        if value is not None:
            archive.config["transcribe"][key] = value
    options = archive.transcribe_options(engine=engine, model=model, language=language)
    report = run_with_progress(
        lambda progress, on_item: run_add(archive, sources, list(videos), options=options, progress=progress,
                                          on_item=on_item, jobs=jobs, cluster=cluster, base_url=base_url),
        total=len(sources), quiet=as_json)
    if as_json:
        emit_json(add_report_json(report))
    else:
        print_add_report(report)
    sys.exit(0 if report.ok else 1)


def dry_run_add(ctx, sources: list[str], videos: list[str], base_url: str | None, as_json: bool) -> None:
    """`add --dry-run`: no archive is opened (none is created), no video URL is requested."""
    from . import config as config_mod
    from .pipeline import plan

    report = plan(sources, videos, config_mod.load(ctx.obj.get("config")), base_url=base_url)
    if as_json:
        emit_json(add_report_json(report))
    else:
        for a in report.articles:
            title = f"  {one_line(a.title, 100)}" if a.title else ""
            click.echo(f"{'planned' if a.status == 'planned' else 'FAILED':8} article {one_line(a.id or a.url)}{title}")
            for v in a.videos:
                click.echo(f"{'':8}   video {v.found_by:8} {one_line(v.url)}" + (f"  {one_line(v.title, 80)}" if v.title else ""))
            if a.note:
                click.echo(f"{'':8} note: {a.note}")
        for v in report.videos:
            click.echo(f"planned  video {one_line(v.url)}")
        for error in report.errors:
            click.echo(f"error: {one_line(error)}", err=True)
    sys.exit(0 if report.ok else 1)


FETCH_WORDS = ("reading", "copying", "downloading")


def run_with_progress(work: Callable, total: int, quiet: bool):
    """Run work(progress, on_item) under rich progress bars on stderr (none when quiet or not a TTY):
    one overall bar, and a line per stage saying what it is doing now."""
    if quiet or not sys.stderr.isatty():
        return work(lambda _: None, None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=stderr_console(), transient=True) as bars:
        overall = bars.add_task("[bold]archiving", total=total)
        fetching = bars.add_task("  fetch: waiting", total=None)
        working = bars.add_task("  transcribe: waiting", total=None)

        def progress(text: str) -> None:
            task, label = (fetching, "fetch") if text.startswith(FETCH_WORDS) else (working, "transcribe")
            bars.update(task, description=f"  {label}: {text[:70]}")

        return work(progress, lambda: bars.advance(overall))


def add_report_json(report) -> dict[str, Any]:
    def video(v) -> dict[str, Any]:
        if hasattr(v, "found_by"):  # a dry run's planned video
            return {"url": v.url, "found_by": v.found_by, "title": v.title}
        if v.status == "planned":
            return {"url": v.url, "found_by": "manual", "title": None, "status": "planned"}
        return {"id": v.id, "url": v.url, "status": v.status, "error": v.error,
                "downloaded": v.downloaded, "transcribed": v.transcribed, "diarized": v.diarized}

    return {
        "articles": [{"id": a.id, "url": a.url, "title": a.title, "status": a.status, "error": a.error,
                      "note": a.note, "videos": [video(v) for v in a.videos]} for a in report.articles],
        "videos": [video(v) for v in report.videos],
        "errors": report.errors,
        "notes": report.notes,
    }


BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(text: str, limit: int | None = None) -> str:
    """Web text made safe for one terminal line: control characters (a NUL, a newline) and
    bidi controls (a right-to-left override) shown as escapes, and cut to `limit` characters."""
    import unicodedata

    text = "".join(f"\\u{ord(c):04x}" if c in BIDI_CONTROLS or unicodedata.category(c) == "Cc" else c
                   for c in text)
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


def print_add_report(report) -> None:
    for a in report.articles:
        mark = "ok" if a.status == "ok" else "FAILED"
        click.echo(f"{mark:6} article {one_line(a.id or a.url)}" + (f"  {one_line(a.title, 100)}" if a.title else ""))
        for v in a.videos:
            click.echo(f"{'ok' if v.status == 'ok' else 'FAILED':6}   video {one_line(v.id or v.url)}")
        if a.note:
            click.echo(f"       note: {a.note}")
    for v in report.videos:
        click.echo(f"{'ok' if v.status == 'ok' else 'FAILED':6} video {one_line(v.id or v.url)}")
    for note in report.notes:
        click.echo(f"note: {note}")
    for error in report.errors:
        click.echo(f"error: {one_line(error)}", err=True)


# ---------------------------------------------------------------- search

SEARCH_HELP = """Search what was said and written; every hit carries the moment it is spoken.

\b
Query language (case does not matter, accents neither):
  word1 word2          passages with both words, in any order
  "exact phrase"       the words in this order, also where Whisper cut them
                       into two segments
  al-Tanf              a hyphenated word is a phrase ("al tanf")
  a OR b               either word; group with parentheses: (a OR b) c
  NOT word, -word      without that word
  prefix*              any word that starts with prefix
  word~  word~2        any word within 1 (or 2) letters of word
\b
Filters (combine with words, or alone):
  article:ID           this article's sentences and the transcripts of its videos
  video:ID             this video's transcript (and article sentences spoken in it)
  source:article       article sentences only; source:transcript: speech only;
                       source:translation: the English track of foreign speech (--translate)
  lang:xx              text in this language (en, es, de, ...)
  speaker:NAME_OR_ID   said by this speaker: an id (S1) or a name given with
                       `archiver speakers`, whole ("Mike Pompeo") or one word
  after:DATE before:DATE   by the article's date: YYYY, YYYY-MM or YYYY-MM-DD
                       (after:2020 means from 2021; before:2020-03 means until February)
\b
Misheard names: a query that finds nothing is tried again by sound (Double
Metaphone), so "Idlib" finds the "Eidlin" a speech engine wrote; --sounds-like
asks for that directly. A query that still finds nothing prints the closest
words in the archive ("did you mean").
\b
Each hit shows the moment of its first matched word (of a phrase, its first word),
a snippet with a few words either side, and an address that opens the video there:
the host's page with &t= where the host supports it, else the archived file
(file://...#t=). Output is a table on a terminal, one tab-separated line per hit
otherwise (time, title, snippet, address); --json gives the hits as JSON.
\b
Examples:
  archiver search "safe haven"
  archiver search 'Pompeo -Russia source:transcript' --limit 3
  archiver search Idlib --sounds-like --context 10
  archiver search 'turk* after:2020-01-01' --json
"""


@main.command(help=SEARCH_HELP)
@click.argument("query")
@click.option("--limit", "-n", type=click.IntRange(1, 1000), help="How many hits (default from config: 10).")
@click.option("--sounds-like", is_flag=True, help="Match words that sound alike (misheard names).")
@click.option("--context", type=click.FloatRange(0, 3600), default=0.0, metavar="SECONDS",
              help="Also print the transcript this many seconds either side of each hit.")
@click.option("--play", is_flag=True, help="Play the first hit from its moment in mpv or vlc (or print the command).")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON on stdout.")
@click.pass_context
@handle_errors
def search(ctx, query, limit, sounds_like, context, play, as_json):
    from . import config as config_mod
    from .search import open_readonly, search as run_search

    config = config_mod.load(ctx.obj.get("config"))
    archive = open_readonly(ctx.obj.get("archive"), config)
    result = run_search(archive, query, limit or config["search"]["limit"], sounds_like=sounds_like)
    if as_json:
        emit_json(result)
    else:
        print_hits(archive, result, context)
    if play and result["hits"]:
        play_hit(archive, result["hits"][0])


def print_hits(archive, result: dict[str, Any], context: float) -> None:
    from .search import marked

    hits = result["hits"]
    if not hits:
        message = f"no results for {result['query']!r}"
        if result["suggestions"]:
            message += "; did you mean: " + ", ".join(result["suggestions"]) + "?"
        click.echo(message, err=True)
        return
    total = f"{result['total']}" if result.get("total_exact", True) else f"about {result['total']}"
    note = f"{len(hits)} of {total} passages"
    if result["sounds_like"]:
        note += " (no exact match; words that sound alike)"
    if not sys.stdout.isatty():  # one line per hit, for grep, cut and friends
        click.echo(note, err=True)
        for h in hits:
            click.echo("\t".join([clock(h["start"]), _hit_title(h), " ".join(h["snippet"].split()), h["url"]]))
            _print_context(archive, h, context)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=True, expand=True, caption=note)
    table.add_column("time", no_wrap=True)
    table.add_column("where", ratio=2)
    table.add_column("what", ratio=6)
    table.add_column("open", ratio=3, overflow="fold")
    for h in hits:
        snippet = escape(marked(h, "\x02", "\x03")).replace("\x02", "[bold yellow]").replace("\x03", "[/]")
        where = clock(h["start"]) if h["start"] is not None else "not spoken"
        table.add_row(where, f"{escape(_hit_title(h))}\n[dim]{h['source']}[/]", " ".join(snippet.split()),
                      escape(h["url"]))
    Console().print(table)
    for h in hits:
        _print_context(archive, h, context)


def _hit_title(hit: dict[str, Any]) -> str:
    """The article's title for an article sentence, the video's for speech."""
    first, second = ("article", "video") if hit["source"] == "article" else ("video", "article")
    return hit[f"{first}_title"] or hit[f"{second}_title"] or hit[f"{first}_id"] or hit[f"{second}_id"] or ""


def _print_context(archive, hit: dict[str, Any], seconds: float) -> None:
    """The transcript segments within `seconds` of the hit, the hit's own marked with >."""
    if not seconds or not hit["video_id"] or hit["start"] is None:
        return
    transcript = archive.transcript(hit["video_id"])
    if transcript is None:
        return
    click.echo(f"--- {hit['video_title'] or hit['video_id']} around {clock(hit['start'])}")
    for s in transcript.segments:
        if s.end >= hit["start"] - seconds and s.start <= hit["start"] + seconds:
            mark = ">" if s.start <= hit["start"] < s.end + 0.01 else " "
            click.echo(f"{mark} [{clock(s.start)}] {s.text.strip()}")


PLAYERS = (("mpv", lambda start, target: ["mpv", f"--start={start}", target]),
           ("vlc", lambda start, target: ["vlc", f"--start-time={start}", target]))


def play_hit(archive, hit: dict[str, Any]) -> None:
    """Start mpv or vlc at the hit (the archived file, else its address), or say how to."""
    import shlex
    import shutil
    import subprocess

    media = archive.media_path(hit["video_id"]) if hit["video_id"] else None
    target = str(media) if media and media.exists() else hit["url"].split("#")[0]
    if not target:
        click.echo("nothing to play: this hit is an article sentence that is not spoken in a video", err=True)
        return
    start = int(hit["start"] or 0)
    for player, command in PLAYERS:
        if shutil.which(player):
            subprocess.Popen(command(start, target), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)  # an argument list, never a shell
            click.echo(f"playing in {player} from {clock(start)}", err=True)
            return
    click.echo(f"no player found (install mpv or vlc); run: {shlex.join(PLAYERS[0][1](start, target))}", err=True)


# ---------------------------------------------------------------- show, status, reindex


@main.command()
@click.argument("item_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
@click.pass_context
@handle_errors
def show(ctx, item_id, as_json):
    """Show an article with the time of each spoken sentence, or a video's transcript."""
    from .show import show as run_show

    data = run_show(open_archive(ctx, readonly=True), item_id)
    if as_json:
        emit_json({k: v for k, v in data.items() if k != "kind"})
    elif data["kind"] == "article":
        print_article(data)
    else:
        print_video(data)


def print_article(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    console.print(f"[bold]{escape(data['title'])}[/]\n{escape(data['url'])}  {data['date'] or ''}")
    for v in data["videos"]:
        console.print(f"[dim]video {v['id']}: {escape(v['title'] or '')} ({clock(v['duration'])})[/]")
    spoken = sum(1 for s in data["sentences"] if s["start"] is not None)
    console.print(f"[dim]{spoken} of {len(data['sentences'])} sentences spoken[/]\n")
    paragraph = None
    for s in data["sentences"]:
        if paragraph is not None and s["paragraph"] != paragraph:
            console.print()
        paragraph = s["paragraph"]
        if s["start"] is None:
            console.print(f"[red]  not spoken[/] [dim]{escape(s['text'])}[/]")
        else:
            who = f"[magenta]{escape(one_line(s['speaker_name'] or s['speaker']))}:[/] " if s["speaker"] else ""
            console.print(f"[cyan]{clock(s['start'])}-{clock(s['end'])}[/] {who}{escape(s['text'])}")
    if data["extra_speech"]:
        console.print("\n[bold]Said in the video but not in the article:[/]")
        for e in data["extra_speech"]:
            console.print(f"[magenta]{clock(e['start'])}-{clock(e['end'])}[/] {escape(e['text'])}")


def print_video(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    console.print(f"[bold]{escape(data['title'] or data['id'])}[/]\n{escape(data['url'])}")
    console.print(f"[dim]{clock(data['duration'])}, language {data['language']} "
                  f"({(data['language_probability'] or 0):.2f}), {data['engine']} "
                  f"{escape(data['model_reason'] or data['model'] or '')}[/]")
    vad = data.get("vad") or {}
    if vad.get("removed"):
        console.print(f"[dim]VAD skipped {vad['removed_seconds']:.1f} s in {len(vad['removed'])} stretches; "
                      f"decoded again {len(vad['redecoded'])} ({vad['recovered_words']} words recovered)[/]")
    names = {p["id"]: p["name"] for p in data["speakers"]}
    if names:
        console.print("[dim]speakers: " + ", ".join(f"{escape(one_line(speaker_label(p)))} {clock(p['seconds'])}"
                                                    for p in data["speakers"]) + "[/]")
    speaker = None
    for s in data["segments"]:
        if s["speaker"] and s["speaker"] != speaker:  # a new turn
            speaker = s["speaker"]
            label = speaker_label({"id": speaker, "name": names.get(speaker)})
            console.print(f"\n[bold magenta]{escape(one_line(label))}[/]")
        console.print(f"[cyan]{clock(s['start'])}[/] {escape(s['text'])}")
    if data.get("translation"):
        console.print(f"\n[bold]English ({escape(data['translation']['source_language'])} translated)[/]")
        for s in data["translation"]["segments"]:
            console.print(f"[cyan]{clock(s['start'])}[/] {escape(s['text'])}")


def speaker_label(speaker: dict[str, Any]) -> str:
    """"Mike Pompeo (S1)", or "S1" when unnamed."""
    return f"{speaker['name']} ({speaker['id']})" if speaker.get("name") else speaker["id"]


@main.command()
@click.argument("video_id")
@click.argument("speaker", required=False)
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the video's speakers as JSON on stdout.")
@click.pass_context
@handle_errors
def speakers(ctx, video_id, speaker, name, as_json):
    """List a video's speakers, or name one: archiver speakers VIDEO S1 "Mike Pompeo".

    The name is the user's: it stays when the video is transcribed again, `show` and the
    export use it, and search finds the speaker by it (speaker:"Mike Pompeo"). An empty
    name ("") forgets it.
    """
    from .pipeline import name_speaker
    from .show import show as run_show

    if speaker is not None and name is None:
        raise ArchiverError(f'give a name for {speaker}: archiver speakers {video_id} {speaker} "Full Name"')
    archive = open_archive(ctx, readonly=speaker is None)
    data = run_show(archive, video_id)
    if data["kind"] != "video":
        raise ArchiverError(f"{video_id} is an article; give one of its videos: {', '.join(v['id'] for v in data['videos'])}")
    if speaker is not None:
        name_speaker(archive, data["id"], speaker, name)
        data = run_show(archive, data["id"])
    if as_json:
        emit_json({"id": data["id"], "speakers": data["speakers"]})
        return
    if not data["speakers"]:
        click.echo(f"{data['id']}: no speakers found (add it again with diarization on: see `archiver add --help`)")
    for p in data["speakers"]:
        click.echo(f"{p['id']}\t{clock(p['seconds'])}\t{one_line(p['name'] or '')}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
@click.pass_context
@handle_errors
def status(ctx, as_json):
    """List every article and video with its stage, and every failure with its reason; then
    the search backend and whether it is healthy (each node of a cluster)."""
    archive = open_archive(ctx, readonly=True)
    articles, videos = archive.catalog.articles(), archive.catalog.videos()
    health = archive.index.health()
    if as_json:
        emit_json({"articles": articles, "videos": videos, "search": health.to_dict()})
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(expand=True)
    for name in ("kind", "id", "stage", "status", "detail"):
        table.add_column(name, overflow="fold")
    for a in articles:  # web text: one line, a huge title cut
        detail = one_line(a["error"] or a["note"] or a["title"] or "", 300)
        table.add_row("article", a["id"], a["stage"], _status_markup(a["status"]), escape(detail))
    for v in videos:
        lang = f"{v['language']} ({(v['language_probability'] or 0):.2f}) " if v["language"] else ""
        model = f"{v['model_reason'] or v['model']} " if v["model"] else ""
        detail = one_line(v["error"] or lang + model + (v["title"] or ""), 300)
        table.add_row("video", v["id"], v["stage"], _status_markup(v["status"]), escape(detail))
    console = Console()
    console.print(table)
    console.print(f"search: {health.backend}, {'[green]healthy[/]' if health.ok else '[red]unhealthy[/]'}: "
                  f"{escape(health.detail)}", soft_wrap=True)
    for node in health.nodes:
        console.print(f"  {escape(node.url)}  {'[green]up[/]' if node.ok else '[red]down[/]'}  {escape(node.detail)}",
                      soft_wrap=True)


def _status_markup(status: str) -> str:
    return {"ok": "[green]ok[/]", "failed": "[red]failed[/]"}.get(status, status)


@main.command()
@click.option("--jobs", "-j", type=click.IntRange(1, 32), default=1, show_default=True, help="As for add.")
@click.option("--cluster", metavar="tcp://HOST:PORT", help="As for add.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (as add does).")
@click.pass_context
@handle_errors
def retry(ctx, jobs, cluster, as_json):
    """Run the failed articles and videos again (`archiver status` lists them)."""
    from .pipeline import retry as run_retry

    archive = open_archive(ctx, create=False)
    report = run_with_progress(
        lambda progress, on_item: run_retry(archive, progress=progress, jobs=jobs, cluster=cluster),
        total=0, quiet=as_json)
    if as_json:
        emit_json(add_report_json(report))
    else:
        print_add_report(report)
        if not report.articles and not report.videos:
            click.echo("nothing failed; nothing to retry")
    sys.exit(0 if report.ok else 1)


@main.command()
@click.pass_context
@handle_errors
def reindex(ctx):
    """Rebuild the search index from the archive's JSON files (in the configured backend)."""
    from .pipeline import reindex as run_reindex

    archive = open_archive(ctx, create=False)
    total = run_reindex(archive)
    click.echo(f"indexed {total} documents ({archive.index.name})")



@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("scheduler", metavar="tcp://HOST:PORT")
@click.option("--nthreads", type=click.IntRange(1, 1024),
              help="Transcriptions at once, one core each (default: one per core).")
@click.option("--engine", type=click.Choice(["faster-whisper", "openai-whisper"]),
              help="Speech engine to load (default from config).")
@click.option("--model", help="Model to load at start (default from config); tasks may ask for another.")
@click.argument("dask_args", nargs=-1, type=click.UNPROCESSED, metavar="[DASK WORKER OPTIONS]")
@click.pass_context
@handle_errors
def worker(ctx, scheduler, nthreads, engine, model, dask_args):
    """Run a Dask worker that transcribes for `archiver add --cluster tcp://HOST:PORT`.

    The engine and model are loaded once, before the worker joins the scheduler. It is
    `dask worker tcp://HOST:PORT --preload archiver.worker`; any other `dask worker`
    option (--nworkers, --memory-limit, --name, ...) is passed on. The worker needs no
    access to the archive: the audio comes to it and the transcript goes back.
    """
    from .worker import run

    args = [f"--{name}={value}" for name, value in (("nthreads", nthreads), ("engine", engine), ("model", model),
                                                    ("config", ctx.obj.get("config"))) if value]
    run(scheduler, args + list(dask_args))


# ---------------------------------------------------------------- export, verify


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


@main.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_items", is_flag=True, help="Export every archived article and video.")
@click.option("--out", "out", required=True, type=click.Path(),
              help="The bundle directory (an earlier bundle there is replaced).")
@click.option("--zip", "as_zip", is_flag=True, help="Write DIR.zip instead of the directory.")
@click.option("--no-media", "no_media", is_flag=True, help="Leave the media files out (times and transcripts stay).")
@click.pass_context
@handle_errors
def export(ctx, ids, all_items, out, as_zip, no_media):
    """Write a self-contained bundle for offline review: open its index.html in a browser.

    Each article page shows the text with every spoken sentence clickable (the video
    jumps there), what is not spoken, what is said but not written, the player and the
    transcript; a search box finds a word and its moment. Next to the pages: .vtt and
    .srt subtitles, the transcript, article and alignment JSON, yt-dlp's info.json, and
    manifest.json with the sha256 of every file (check it with `archiver verify`).
    """
    from .export import export as run_export

    result = run_export(open_archive(ctx, readonly=True), list(ids), all_items=all_items, out=Path(out),
                        as_zip=as_zip, media=not no_media)
    for note in result.skipped:
        click.echo(f"skipped {note}", err=True)
    click.echo(f"exported {result.articles} article{'s' * (result.articles != 1)} and {result.videos} "
               f"video{'s' * (result.videos != 1)} ({result.files} files and manifest.json, {_size(result.bytes)}) "
               f"to {result.path}")


@main.command()
@click.argument("bundle", type=click.Path())
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The public key (PEM) the bundle must be signed with.")
@click.option("--fingerprint", help="The sha256:... fingerprint of the key the bundle must be signed with.")
@click.option("--tsa-ca", "tsa_ca", type=click.Path(dir_okay=False, path_type=Path),
              help="The timestamp authority's CA certificate (PEM): also check the timestamp's chain to it.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_context
@handle_errors
def verify(ctx, bundle, key_file, fingerprint, tsa_ca, as_json):
    """Check an exported bundle (directory or .zip): every file against manifest.json, the
    manifest's signature, SHA256SUMS and the timestamp (manifest.json.tsr) when there is one.

    Prints one line per problem and exits 1; exits 0 with a summary when all is well. The
    key the bundle must be signed with is --key, else --fingerprint, else the key of the
    archive given with --archive; without any, verify names the key that signed and says it
    was not compared.
    """
    from . import signing
    from .verify import verify as run_verify

    expected, source = None, None
    if key_file:
        expected, source = signing.load_public_key(_read_file(key_file), str(key_file)), f"--key {key_file}"
    elif fingerprint:
        expected, source = signing.normalize_fingerprint(fingerprint), "--fingerprint"
    elif ctx.obj.get("archive"):
        archive = open_archive(ctx, readonly=True)
        path = signing.key_path(archive.layout.root, archive.config)
        if not path.exists():
            raise ArchiverError(f"{archive.layout.root}: this archive has no signing key yet, so it made no bundle; "
                                "pass --key or --fingerprint instead")
        expected, source = signing.load_private_key(path).public_key(), f"the key of {archive.layout.root}"
    report = run_verify(Path(bundle), expected, tsa_ca)
    if as_json:
        emit_json(verify_report_json(report))
        sys.exit(1 if report.problems else 0)
    for problem in report.problems:
        click.echo(problem)
    if not report.problems:
        click.echo(f"ok: {report.files} files ({_size(report.bytes)}) match manifest.json; {report.articles} "
                   f"article{'s' * (report.articles != 1)}, {report.videos} video{'s' * (report.videos != 1)}; "
                   f"manifest sha256 {report.manifest_sha256}")
    out = {"err": bool(report.problems)}  # after problems, the rest goes to stderr
    if report.fingerprint:
        compared = f"it is {source}" if report.expected and report.fingerprint == report.expected else \
            "not compared with an expected key: pass --key, --fingerprint or --archive to check who signed"
        if not report.expected or report.fingerprint == report.expected:
            click.echo(f"signed: manifest.json by Ed25519 key {report.fingerprint} ({compared})", **out)
    if report.timestamp is None:
        click.echo("timestamp: none (manifest.json.tsr); `archiver timestamp` asks a timestamp authority for one", **out)
    elif report.timestamp.ok:
        chain = f"chain checked against {tsa_ca}" if report.timestamp.chain_checked else \
            "its certificate's chain not checked: pass --tsa-ca with the authority's CA"
        click.echo(f"timestamp: manifest.json existed at {report.timestamp.time}, signed by {report.timestamp.tsa} "
                   f"({chain})", **out)
    if report.problems:
        click.echo(f"error: {bundle}: {len(report.problems)} problem{'s' * (len(report.problems) != 1)}; "
                   f"the bundle is not as it was exported", err=True)
        sys.exit(1)


def verify_report_json(report) -> dict[str, Any]:
    stamp = report.timestamp
    return {"ok": not report.problems, "problems": report.problems, "files": report.files, "bytes": report.bytes,
            "articles": report.articles, "videos": report.videos, "manifest_sha256": report.manifest_sha256,
            "signed_by": report.fingerprint, "expected_key": report.expected,
            "timestamp": None if stamp is None else {"ok": stamp.ok, "time": stamp.time, "tsa": stamp.tsa,
                                                     "chain_checked": stamp.chain_checked, "problem": stamp.problem}}


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ArchiverError(f"{path}: cannot read ({e.strerror})") from e


@main.command()
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option("--tsa", help="The timestamp authority's URL (default from config [evidence] tsa).")
@click.pass_context
@handle_errors
def timestamp(ctx, bundle, tsa):
    """Ask an RFC 3161 timestamp authority to timestamp a bundle's manifest.json; the token
    is stored in the bundle as manifest.json.tsr (the only request that goes to the network)."""
    from . import config as config_mod
    from .export import add_timestamp
    from .timestamp import TSR, check_token, request_token
    from .verify import MANIFEST, open_bundle

    tsa = tsa or (config_mod.load(ctx.obj.get("config")).get("evidence") or {}).get("tsa")
    if not tsa:
        raise ArchiverError("no timestamp authority: pass --tsa URL or set [evidence] tsa in the config")
    with open_bundle(bundle) as opened:
        if MANIFEST not in opened.names:
            raise ArchiverError(f"{bundle}: no {MANIFEST}; give a bundle written by `archiver export`")
        with opened.open(MANIFEST) as f:
            manifest = f.read()
    token = request_token(manifest, tsa)
    add_timestamp(bundle, token)
    check = check_token(token, manifest)
    click.echo(f"timestamped: manifest.json at {check.time} by {check.tsa}; stored as {TSR}")


@main.group()
def keys():
    """The archive's Ed25519 signing key (export bundles are signed with it)."""


@keys.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
@click.pass_context
@handle_errors
def keys_show(ctx, as_json):
    """Print the public key (PEM) and its fingerprint, creating the key pair on first use.

    The fingerprint is sha256: and the hex SHA-256 of the public key's DER
    (SubjectPublicKeyInfo): `openssl pkey -pubin -in signing-key.pem -outform DER | sha256sum`.
    Give it to the people you send bundles to, by another channel than the bundle.
    """
    from . import signing

    archive = open_archive(ctx)
    key = signing.private_key(archive.layout.root, archive.config).public_key()
    data = {"fingerprint": signing.fingerprint(key), "algorithm": "Ed25519",
            "public_key_pem": signing.public_pem(key).decode(),
            "private_key_file": str(signing.key_path(archive.layout.root, archive.config))}
    if as_json:
        emit_json(data)
        return
    click.echo(data["public_key_pem"], nl=False)
    click.echo(f"fingerprint {data['fingerprint']} (SHA-256 of the SubjectPublicKeyInfo DER)")
    click.echo(f"private key {data['private_key_file']}", err=True)


@main.group()
def models():
    """Speech models: which are available offline, and conversion for openai-whisper."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
@click.pass_context
@handle_errors
def models_list(ctx, as_json):
    """Every model name --model takes, and whether it works offline here."""
    from .transcribe.models import list_models

    rows = list_models()
    if as_json:
        emit_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(expand=True)
    for name in ("model", "engines", "offline", "multilingual", "from"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(row["name"], ", ".join(row["engines"]), "yes" if row["offline"] else "no",
                      "yes" if row["multilingual"] else "no", row["install"] or row["source"])
    Console().print(table)


@models.command("convert")
@click.argument("model", default="tiny.en")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the checkpoint (default: the cache openai-whisper reads from).")
@click.pass_context
@handle_errors
def models_convert(ctx, model, out):
    """Convert CTranslate2 weights (a bundled name or a directory) into an openai-whisper checkpoint."""
    try:
        from .transcribe.convert import convert
    except ImportError as e:
        raise ArchiverError("converting needs PyTorch: pip install 'transcript-archiver[openai]'") from e
    click.echo(str(convert(model, out)))


if __name__ == "__main__":
    main()
