"""Face restoration code path. GFPGAN and facexlib weights cannot be had offline, so this test writes
RANDOMLY INITIALISED weights for all three networks into a temporary weights/ folder: it proves the
loading, alignment, pasting, blending and pixel-format handling, not the quality of restored faces."""
import numpy as np
import pytest
import torch

from core.pipeline import face
from core.pipeline.engine import EnhanceError, enhance
from tests.conftest import click, use_settings

# Landmarks (eyes, nose, mouth corners) of the astronaut's face in the 128×128 input: fixed, because a
# random detector finds hundreds of "faces" in anything.
LANDMARKS = [np.array([[83, 36], [96, 37], [90, 45], [84, 52], [95, 53]], np.float32)]


@pytest.fixture(scope="module")
def random_face_weights(tmp_path_factory):
    from facexlib.detection.retinaface import RetinaFace
    from facexlib.parsing.parsenet import ParseNet
    from gfpgan.archs.gfpganv1_clean_arch import GFPGANv1Clean

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("weights")
    gfpgan = GFPGANv1Clean(out_size=512, num_style_feat=512, channel_multiplier=2, decoder_load_path=None,
                           fix_decoder=False, num_mlp=8, input_is_latent=True, different_w=True, narrow=1,
                           sft_half=True)
    torch.save({"params_ema": gfpgan.state_dict()}, folder / "GFPGANv1.4.pth")
    torch.save(RetinaFace(network_name="resnet50", half=False, device="cpu").state_dict(),
               folder / "detection_Resnet50_Final.pth")
    torch.save(ParseNet(in_size=512, out_size=512, parsing_ch=19).state_dict(), folder / "parsing_parsenet.pth")
    return folder


@pytest.fixture(scope="module")
def with_face_weights(random_face_weights):
    with pytest.MonkeyPatch.context() as mp:
        use_settings(mp, weights_dir=random_face_weights)
        mp.setattr(face, "_restorer", None)  # built once for the module, from the random files
        yield


def test_without_weights_one_line_says_how_to_fetch_them(tmp_path, monkeypatch, astronaut_lr):
    use_settings(monkeypatch, weights_dir=tmp_path)
    ok, why = face.availability()
    assert not ok and "\n" not in why and "run `python -m core fetch face`" in why
    with pytest.raises(EnhanceError, match="python -m core fetch face"):
        enhance(astronaut_lr, "realesr-animevideov3", face=True)


@pytest.mark.parametrize("mode", ["gray", "rgba"])
def test_face_path_runs_on_gray_and_rgba_which_crash_upstream(with_face_weights, astronaut_lr, mode):
    img = astronaut_lr
    if mode == "gray":
        img = astronaut_lr.mean(axis=2).astype(np.uint8)
    else:
        img = np.dstack([astronaut_lr, np.full((128, 128), 200, np.uint8)])
    plain = enhance(img, "realesr-animevideov3").pixels
    restored = enhance(img, "realesr-animevideov3", face=True, face_strength=1.0, face_landmarks=LANDMARKS)
    assert restored.pixels.shape == plain.shape and restored.pixels.dtype == plain.dtype
    assert "1 face" in restored.stats.face
    diff = np.abs(restored.pixels.astype(int) - plain.astype(int))
    if mode == "rgba":
        assert np.array_equal(restored.pixels[..., 3], plain[..., 3])  # alpha untouched
        diff = diff[..., :3]
    face_box = diff[100:260, 290:420]  # the pasted face region (input landmarks × 4)
    assert face_box.mean() > 5  # random GFPGAN output was pasted there
    assert diff[400:, :100].max() == 0  # far from the face nothing changed


def test_strength_zero_changes_nothing(with_face_weights, astronaut_lr):
    plain = enhance(astronaut_lr, "realesr-animevideov3").pixels
    zero = enhance(astronaut_lr, "realesr-animevideov3", face=True, face_strength=0.0, face_landmarks=LANDMARKS)
    assert np.array_equal(zero.pixels, plain)


def test_baselines_face_toggle_applies_to_networks_only_and_is_labelled(with_face_weights, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    real = face.restore_faces  # the random detector would find hundreds of "faces": give it the real one's
    monkeypatch.setattr(face, "restore_faces", lambda *a: real(*a[:4], LANDMARKS))

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/baselines.py").run()
    at.multiselect(key="base_methods_super-resolution").set_value(["realesr-animevideov3"]).run()
    at.multiselect(key="base_methods_denoise").set_value([]).run()
    at.toggle(key="base_face").set_value(True).run()
    click(at, "base_run")
    assert not at.exception and not at.error
    # what each did is said under the section's Details (issue 48: plain words first)
    lines = [line[2:] for m in at.markdown for line in m.value.splitlines() if line.startswith("- **")]
    assert any(c.startswith("**realesr-animevideov3** did:") and "; faces: " in c for c in lines), lines
    assert any(c.startswith("**bicubic** did:") and "faces" not in c for c in lines), lines
