"""Names as the article spells them (issue 14.1): the article's proper nouns, the decoder
prompted with them, the misheard stretches re-decoded, and never a name the speech does not say."""
from __future__ import annotations

from pathlib import Path

import pytest

from archiver.article import build_article
from archiver.models import Alignment, SentenceAlignment, Segment, Transcript, Word
from archiver.names import article_names, unique
from archiver.prompting import merge_names, misheard, spelled
from archiver.transcribe import TranscribeOptions
from conftest import run_json
from support.narrate import narrate

SAID = [
    "Kazakh deputy energy minister Yerlan Zhaksybekov said the deal would let his country export power "
    "from new wind farms near Aktau and Zhanaozen.",
    "A foreign ministry spokesman in Tehran, Mohsen Ghaderi-Nejad, objected to the seabed project.",  # skipped
    "The cable would come ashore at Sangachal, south of Baku, and link to a second line under the Black Sea "
    "between Anaklia and Constanta.",
]
INTRO = "Good evening. Here is the news."
SPOKEN_NAMES = ["Yerlan Zhaksybekov", "Aktau", "Zhanaozen", "Sangachal", "Baku", "Black Sea", "Anaklia", "Constanta"]
UNSAID = ["Tehran", "Mohsen", "Ghaderi", "Nejad"]


def test_proper_nouns_of_english_spanish_and_german():
    english = build_article("a", "a", "t", ["Officials in Dhaka said the Surma and Kushiyara rivers rose. "
                                            "Union leader Joost van der Kruijssen spoke in Schiedam, "
                                            "and US-backed forces left al-Tanf."], [], "en")
    assert unique(article_names(english)) == ["Dhaka", "Surma", "Kushiyara", "Joost van der Kruijssen", "Schiedam",
                                              "US", "al-Tanf"]
    spanish = build_article("b", "b", "t", ["El alcalde de Sacedón, Francisco Pozuelo, dijo que el turismo cayó. "
                                            "En Aranjuez preocupa el río Tajo."], [], "es")
    assert unique(article_names(spanish)) == ["Sacedón", "Francisco Pozuelo", "Aranjuez", "Tajo"]
    german = build_article("c", "c", "t", ["Die Regierung in Berlin hat am Montag mit Olaf Scholz über die "
                                           "Versorgung der Stadt Hamburg gesprochen."], [], "de")
    assert unique(article_names(german)) == ["Berlin", "Olaf Scholz", "Hamburg"]  # "am Montag": a noun


def test_prompts_are_part_of_the_cache_key():
    plain, prompted = TranscribeOptions(), TranscribeOptions(prompt="Aktau, Zhanaozen")
    assert plain.cache_key("abc") != prompted.cache_key("abc")
    assert "prompt" not in plain.decoding()  # the keys of transcripts made before prompts stay valid
    assert TranscribeOptions(task="translate").cache_key("abc") != plain.cache_key("abc")


def _transcript(words: list[tuple[float, float, str]]) -> Transcript:
    ws = [Word(a, b, w, 0.9) for a, b, w in words]
    return Transcript("v", "faster-whisper", "tiny.en", "en", 1.0, 10.0, [Segment(0.0, 10.0, "", ws)])


def test_only_located_sentences_are_re_decoded_and_only_their_names_are_taken():
    article = build_article("a", "a", "t", ["The convoy reached Aktau on Monday. Officials in Tehran objected."], [], "en")
    transcript = _transcript([(0.0, 0.4, " The"), (0.4, 0.8, " convoy"), (0.8, 1.2, " reached"),
                              (1.2, 1.6, " act"), (1.6, 1.8, " tow"), (1.8, 2.0, " on"), (2.0, 2.4, " Monday.")])
    only_first = Alignment("a", "v", [SentenceAlignment(0, "v", 0.0, 2.4, 0.8)], [])
    windows = misheard(article, only_first, transcript)
    assert [(w.sentence, w.names) for w in windows] == [(0, ("Aktau", "Monday"))]  # not the unplaced sentence
    old = transcript.words
    drifted = [Word(0.0, 0.4, " A", 1), Word(0.4, 0.8, " convoy", 1), Word(0.8, 1.2, " reach", 1),
               Word(1.2, 1.8, " Aktau,", 1), Word(1.8, 2.0, " on", 1), Word(2.0, 2.4, " Monday.", 1)]
    merged = merge_names(old, drifted, windows[0], "en")
    assert [w.word for w in merged] == [" The", " convoy", " reached", " Aktau,", " on", " Monday."]
    assert [w.prompted for w in merged] == [False, False, False, True, False, False]
    twice = drifted[:4] + [Word(1.8, 2.0, " Aktau", 1)] + drifted[4:]  # a prompted decoder's repeat
    assert [w.word for w in merge_names(old, twice, windows[0], "en")].count(" Aktau") == 0
    assert [w.word.strip(" ,") for w in merge_names(old, twice, windows[0], "en")].count("Aktau") == 1
    unchanged = [Word(0.0, 2.4, " The convoy reached act tow on Monday.", 1)]
    assert merge_names(old, unchanged, windows[0], "en") is None
    inserted = old + [Word(2.4, 2.8, " Tehran", 1)]  # a name in nothing the first decode heard: never
    assert merge_names(old, inserted, windows[0], "en") is None
    assert spelled("Black Sea", [" the", " black", " sea."], "en") and not spelled("Aktau", [" act", " tow"], "en")


@pytest.fixture(scope="module")
def narrated(tmp_path_factory) -> tuple[Path, Path, dict]:
    """Three sentences of an article, narrated by espeak-ng after an intro, the second skipped."""
    root = tmp_path_factory.mktemp("names")
    article = root / "article.txt"
    article.write_text("Caspian Cable Talks Resume\n\n" + "\n\n".join(SAID) + "\n", encoding="utf-8")
    truth = narrate("\n\n".join(SAID), root / "video", voice="espeak:en-us", intro=INTRO, skip=(1,))
    return article, root / "video" / "narration.mp4", truth


@pytest.fixture(scope="module")
def named_archive(narrated, tmp_path_factory) -> tuple[Path, dict]:
    article, video, _ = narrated
    archive = tmp_path_factory.mktemp("names-archive")
    report = run_json("add", str(article), "--video", str(video), "--names", "--no-diarize", archive=archive)
    assert report["errors"] == [], report
    return archive, report


def test_transcript_spells_the_articles_names_and_no_unsaid_one(named_archive, narrated):
    archive, report = named_archive
    _, _, truth = narrated
    video = run_json("show", report["articles"][0]["videos"][0]["id"], archive=archive)
    words = [w for s in video["segments"] for w in s["words"]]
    heard = [w["word"] for w in words]
    right = [n for n in SPOKEN_NAMES if spelled(n, heard, "en")]
    assert len(right) >= 6, (right, " ".join(heard))
    said = " ".join(heard).lower()
    assert not [n for n in UNSAID if n.lower() in said], said  # the skipped paragraph's names: never invented
    intro_end = truth["sentences"][1]["end"]
    assert not [w for w in words if w["end"] <= intro_end and any(
        spelled(n, [w["word"]], "en") for n in SPOKEN_NAMES)]  # nor in the intro
    assert "Zhaksybekov" in video["prompting"]["prompt"] and "Tehran" in video["prompting"]["prompt"]
    for window in video["prompting"]["windows"]:  # what a re-decode changed is marked, and only there
        assert window["names"] and window["start"] < window["end"]
    marked = [w for w in words if w["prompted"]]
    assert all(any(x["start"] - 0.3 <= w["start"] <= x["end"] + 0.3 for x in video["prompting"]["windows"])
               for w in marked)


def test_search_finds_the_name_in_the_transcript_at_its_time(named_archive, narrated):
    archive, _ = named_archive
    _, _, truth = narrated
    hits = run_json("search", "Sangachal", archive=archive)["hits"]
    spoken = next(s for s in truth["sentences"] if "Sangachal" in s["text"])
    passages = [h for h in hits if h["source"] == "transcript"]
    assert passages and spoken["start"] - 1 <= passages[0]["start"] <= spoken["end"] + 1


def test_re_add_decodes_nothing_again(named_archive, narrated):
    archive, report = named_archive
    article, video, _ = narrated
    video_id = report["articles"][0]["videos"][0]["id"]
    before = run_json("show", video_id, archive=archive)
    again = run_json("add", str(article), "--video", str(video), "--names", "--no-diarize", archive=archive)
    assert again["articles"][0]["videos"][0]["transcribed"] is False
    after = run_json("show", video_id, archive=archive)
    assert after["segments"] == before["segments"] and after["prompting"] == before["prompting"]


def test_openai_whisper_takes_the_names_as_its_initial_prompt(narrated):
    """The reference engine gets the same prompt (initial_prompt, carried to every window)."""
    from archiver.media import load_audio
    from archiver.transcribe import decode_stretches

    _, video, truth = narrated
    said = next(s for s in truth["sentences"] if "Sangachal" in s["text"])
    audio = load_audio(video)
    names = ["Sangachal", "Baku", "Black Sea", "Anaklia", "Constanta"]

    def right(prompt: str) -> list[str]:
        options = TranscribeOptions(engine="openai-whisper", model="tiny.en", prompt=prompt, beam_size=1)  # greedy: the cost
        words = [w.word for w in decode_stretches(audio, [(said["start"] - 0.2, said["end"] + 0.2)], options)[0]]
        return [n for n in names if spelled(n, words, "en")]

    plain, prompted = right(""), right(", ".join(names))
    assert len(prompted) > len(plain) and len(prompted) >= 4, (plain, prompted)
