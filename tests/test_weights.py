"""Real weights, offline: conversion from the ncnn files, checksums, resolution order, safe loading."""
import pickle

import numpy as np
import pytest
import torch

from core import methods
from core.methods import networks
from core.weights import resolve as weights
from core.weights.ncnn_reader import read_layers
from tests.conftest import ncnn_reference, use_settings

NETWORKS = [m.name for m in networks() if m.official_filename]  # converted to torch; ncnn-only: test_more_models


@pytest.mark.parametrize("name", NETWORKS)
def test_converted_weights_load_strict_into_official_arch(name):
    spec = methods.get(name)
    info = weights.resolve(spec)
    assert weights.sha256_of(info.path) == spec.sha256
    model = spec.build()
    missing, unexpected = model.load_state_dict(weights.load_checkpoint(info.path), strict=True)
    assert not missing and not unexpected
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == {"RealESRGAN_x4plus": 16_697_987, "RealESRGAN_x4plus_anime_6B": 4_467_779,
                        "realesr-animevideov3": 621_424}[name]


def test_ncnn_reader_consumes_every_byte_and_rejects_a_short_file(tmp_path):
    param, bin_ = methods.get("realesr-animevideov3").ncnn.files()
    layers = read_layers(param, bin_)
    assert sum(a.size for layer in layers for a in layer.arrays) == 621_424
    short = tmp_path / "short.bin"
    short.write_bytes(bin_.read_bytes()[:-4])
    with pytest.raises(ValueError, match="ends early"):
        read_layers(param, short)


@pytest.mark.parametrize("name", NETWORKS)
def test_torch_model_matches_ncnn_runtime_on_a_real_image(name, astronaut):
    spec = methods.get(name)
    crop = astronaut[40:88, 180:228].astype(np.float32) / 255  # 48×48 with a face: eyes and skin
    model = spec.torch_module()
    with torch.inference_mode():
        ours = model(torch.from_numpy(crop.transpose(2, 0, 1).copy())[None])[0].numpy()
    ref = ncnn_reference(spec, crop.transpose(2, 0, 1))
    assert ours.shape == ref.shape == (3, 192, 192)
    assert np.abs(ours - ref).max() <= 1e-4


def test_official_pth_in_weights_dir_takes_precedence(tmp_path, monkeypatch):
    spec = methods.get("realesr-animevideov3")
    state = weights.load_checkpoint(weights.resolve(spec).path)
    use_settings(monkeypatch, weights_dir=tmp_path)
    torch.save({"params": state}, tmp_path / spec.official_filename)
    info = weights.resolve(spec)
    assert info.origin == "official .pth" and info.path == tmp_path / spec.official_filename


def test_converted_cache_is_rebuilt_when_its_checksum_is_wrong(tmp_path, monkeypatch):
    spec = methods.get("realesr-animevideov3")
    use_settings(monkeypatch, weights_dir=tmp_path)
    first = weights.resolve(spec)
    assert first.origin == "converted from ncnn"
    assert weights.resolve(spec).origin == "converted from ncnn (cached)"
    first.path.write_bytes(b"tampered")
    again = weights.resolve(spec)
    assert again.origin == "converted from ncnn" and weights.sha256_of(again.path) == spec.sha256


def test_missing_source_gives_one_clear_error(tmp_path, monkeypatch):
    import dataclasses

    spec = methods.get("realesr-animevideov3")
    gone = dataclasses.replace(spec, weights=dataclasses.replace(
        spec.weights, ncnn=dataclasses.replace(spec.ncnn, module="no_such_package_here")))
    use_settings(monkeypatch, weights_dir=tmp_path)
    with pytest.raises(weights.WeightsUnavailable) as err:
        weights.resolve(gone)
    msg = str(err.value)
    assert spec.official_filename in msg and str(tmp_path) in msg and spec.ncnn.pip_name in msg


class _RunsCode:
    def __reduce__(self):
        return (print, ("this pickle ran code",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    bad = tmp_path / "RealESRGAN_x4plus.pth"
    with open(bad, "wb") as f:
        pickle.dump({"params_ema": _RunsCode()}, f)
    with pytest.raises(weights.WeightsUnavailable, match="holds code that loading would run"):
        weights.load_checkpoint(bad)
