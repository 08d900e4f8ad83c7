"""Read weights out of ncnn `.param`/`.bin` pairs, to load them into the official PyTorch architectures.

Hand-written because no maintained library reads ncnn files back into tensors (ncnn itself only runs them).
Format (as observed): `.param` is text, one layer per line; `.bin` holds, in layer order, for each
Convolution a 4-byte tag (0x01306B47 = float16 data, 0 = float32) and its weights, then float32 biases
without a tag; for each PReLU its float32 slopes without a tag.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

_FP16_TAG = 0x01306B47
_MAGIC = "7767517"


@dataclass
class NcnnLayer:
    type: str
    name: str
    params: dict[str, str]
    arrays: list[np.ndarray]  # weights, then bias (Convolution) or slopes (PReLU)


class NcnnFormatError(ValueError):
    pass


def parse_param(text: str) -> list[tuple[str, str, dict[str, str]]]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0] != _MAGIC:
        raise NcnnFormatError("not an ncnn .param file (bad magic)")
    n_layers = int(lines[1].split()[0])
    layers = []
    for line in lines[2:2 + n_layers]:
        tok = line.split()
        ltype, name, n_in, n_out = tok[0], tok[1], int(tok[2]), int(tok[3])
        params = dict(kv.split("=", 1) for kv in tok[4 + n_in + n_out:])
        layers.append((ltype, name, params))
    if len(layers) != n_layers:
        raise NcnnFormatError(f".param declares {n_layers} layers but has {len(layers)}")
    return layers


def read_layers(param_path: Path, bin_path: Path) -> list[NcnnLayer]:
    """Every layer with its arrays; raises if the .bin is not consumed exactly."""
    layers = parse_param(Path(param_path).read_text())
    blob = Path(bin_path).read_bytes()
    pos = 0
    out = []

    def take(dtype, count):
        nonlocal pos
        size = np.dtype(dtype).itemsize * count
        if pos + size > len(blob):
            raise NcnnFormatError(f"{bin_path.name} ends early at byte {pos}")
        arr = np.frombuffer(blob, dtype=dtype, count=count, offset=pos)
        pos += size
        return arr

    for ltype, name, params in layers:
        arrays = []
        if ltype == "Convolution":
            n_out, k, bias, size = int(params["0"]), int(params["1"]), int(params.get("5", 0)), int(params["6"])
            tag = int(take("<u4", 1)[0])
            if tag == _FP16_TAG:
                w = take("<f2", size).astype(np.float32)
                pos += (-size * 2) % 4  # float16 data is padded to 4 bytes
            elif tag == 0:
                w = take("<f4", size).astype(np.float32)
            else:
                raise NcnnFormatError(f"layer {name}: unknown weight tag {tag:#x}")
            arrays.append(w.reshape(n_out, size // (n_out * k * k), k, k))
            if bias:
                arrays.append(take("<f4", n_out).astype(np.float32))
        elif ltype == "PReLU":
            arrays.append(take("<f4", int(params.get("0", 1))).astype(np.float32))
        elif ltype not in ("Input", "Split", "Eltwise", "BinaryOp", "Concat", "Interp", "PixelShuffle", "ReLU",
                           "Crop", "Reshape", "Permute", "Sigmoid", "Pooling", "Padding", "Noop"):
            raise NcnnFormatError(f"layer type {ltype} ({name}) carries weights this reader does not know")
        out.append(NcnnLayer(ltype, name, params, arrays))
    if pos != len(blob):
        raise NcnnFormatError(f"{bin_path.name}: {len(blob) - pos} bytes left over after the last layer")
    return out


def to_state_dict(layers: list[NcnnLayer], reference: dict) -> dict:
    """Fill `reference` (a model's state_dict, in order) with the ncnn arrays, in the same order.

    The ncnn layer order equals the official state_dict key order; shapes are checked one by one.
    """
    import torch

    arrays = [a for layer in layers for a in layer.arrays]
    keys = [k for k, v in reference.items() if v.dtype.is_floating_point]
    if len(arrays) != len(keys):
        raise NcnnFormatError(f"ncnn file has {len(arrays)} arrays, the model has {len(keys)} parameters")
    state = {}
    for key, arr in zip(keys, arrays):
        target = reference[key].shape
        if arr.size != int(np.prod(target)):
            raise NcnnFormatError(f"{key}: ncnn array of {arr.size} values for shape {tuple(target)}")
        state[key] = torch.from_numpy(arr.copy()).reshape(target)
    return state
