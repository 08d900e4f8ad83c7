"""A user's own model through spandrel: detection, scale, output size, tiled = untiled; refusals in one line."""
import io
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import core  # noqa: F401  (installs the basicsr compatibility alias before basicsr is imported)
from core.methods.user import UserModelError, load_user_model
from core.pipeline.engine import enhance
from core.quality.metrics import psnr
from core.weights.resolve import weights_dir
from tests.conftest import ROOT


def saved(module: torch.nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(module.eval().state_dict(), buf)
    return buf.getvalue()


def random_models() -> dict:
    from basicsr.archs.rrdbnet_arch import RRDBNet
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact
    from spandrel.architectures.SPAN import SPAN
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(0)
    return {  # file name: (model, what spandrel should detect, scale)
        "esrgan.pth": (RRDBNet(3, 3, num_feat=16, num_block=1, num_grow_ch=32, scale=4), "ESRGAN", 4),
        "compact.pth": (SRVGGNetCompact(3, 3, num_feat=16, num_conv=4, upscale=2), "RealESRGAN Compact", 2),
        "span.pth": (SPAN(num_in_ch=3, num_out_ch=3, feature_channels=16, upscale=4), "SPAN", 4),
        "swinir.pth": (SwinIR(upscale=2, img_size=32, window_size=8, embed_dim=12, depths=[1], num_heads=[2],
                              mlp_ratio=2, upsampler="pixelshuffledirect"), "SwinIR", 2),
    }


@pytest.mark.parametrize("file_name", list(random_models()))
def test_detected_scaled_and_tiled_like_untiled(file_name, astronaut):
    model, arch, scale = random_models()[file_name]
    spec = load_user_model(saved(model), file_name)
    assert spec.detected.startswith(f"{arch}, ×{scale}") and spec.native_scale == scale
    img = astronaut[:50, :70]
    whole = enhance(img, spec.name, own={spec.name: spec}, outscale=scale)
    tiled = enhance(img, spec.name, own={spec.name: spec}, outscale=scale, tile=32)
    assert whole.pixels.shape == (50 * scale, 70 * scale, 3) and tiled.stats.tiles > 1
    assert psnr(whole.pixels / 255.0, tiled.pixels / 255.0) >= 40
    assert whole.stats.backend.startswith("PyTorch fp32") or "torch" in whole.stats.backend.lower()
    assert spec.sha256[:12] in whole.stats.weights


def test_safetensors_file_loads_too(astronaut):
    from safetensors.torch import save

    model, _, _ = random_models()["compact.pth"]
    spec = load_user_model(save(model.state_dict()), "compact.safetensors")
    assert spec.detected.startswith("RealESRGAN Compact, ×2")


def test_a_converted_real_model_gives_the_built_in_result(astronaut_lr):
    path = weights_dir() / "converted" / "RealESRGAN_x4plus.pth"
    if not path.exists():
        enhance(astronaut_lr[:8, :8], "RealESRGAN_x4plus", backend="torch")  # converts on first use
    spec = load_user_model(path.read_bytes(), "my_x4plus.pth")
    assert spec.detected.startswith("ESRGAN, ×4")
    ours = enhance(astronaut_lr, spec.name, own={spec.name: spec}, outscale=4).pixels
    builtin = enhance(astronaut_lr, "RealESRGAN_x4plus", outscale=4, backend="torch").pixels
    assert np.abs(ours.astype(int) - builtin).max() <= 1


class RunsCode:
    def __reduce__(self):
        return (print, ("this would run",))


@pytest.mark.parametrize("data, name, message", [
    (b"not a checkpoint", "junk.pth", "could not be read as a PyTorch checkpoint"),
    (pickle.dumps({"x": RunsCode()}), "evil.pth", "code that loading would run"),
    (None, "unknown.pth", "spandrel does not recognise this model's architecture"),
    (None, "gray.pth", "takes 1 and gives 1 channels"),
    (b"x", "model.onnx", "a model file ends in .pth"),
])
def test_refused_in_one_line(data, name, message):
    if name == "unknown.pth":
        data = saved(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 3)))
    if name == "gray.pth":
        from realesrgan.archs.srvgg_arch import SRVGGNetCompact
        data = saved(SRVGGNetCompact(1, 1, num_feat=8, num_conv=2, upscale=2))
    with pytest.raises(UserModelError, match=message) as info:
        load_user_model(data, name)
    assert "\n" not in str(info.value)


def test_cli_model_path(tmp_path, astronaut_lr):
    import cv2

    model_file = tmp_path / "mine.pth"
    model_file.write_bytes(saved(random_models()["compact.pth"][0]))
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), astronaut_lr)
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", img, "-o", tmp_path / "out", "--model-path",
                           model_file, "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "mine.pth: detected RealESRGAN Compact, ×2" in proc.stdout
    assert len(list((tmp_path / "out").glob("in_user_mine-*_x2.png"))) == 1
    (tmp_path / "bad.pth").write_bytes(b"nope")
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", img, "-o", tmp_path / "out", "--model-path",
                           tmp_path / "bad.pth"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "could not be read" in proc.stderr and "Traceback" not in proc.stderr


def test_a_refusal_never_passes_on_a_librarys_advice_to_disable_its_safety_check():
    """Issue 41: a pickle that would run code, and a zip-format torch.save of something that is not plain
    tensors, are refused in one line that says what to do; none repeats torch's weights_only advice."""
    buf = io.BytesIO()
    torch.save({"x": RunsCode()}, buf)  # a zip with a global that weights_only refuses
    for data, name in [(pickle.dumps({"x": RunsCode()}), "evil.pth"), (buf.getvalue(), "evil_zip.pth")]:
        with pytest.raises(UserModelError) as info:
            load_user_model(data, name)
        assert str(info.value) == (f"{name} was refused: it holds code that loading would run, not only weights. "
                                   "Use a .safetensors file or a .pth of plain weights.")
    with pytest.raises(UserModelError) as info:
        load_user_model(b"\x80junk", "cut.pth")
    message = str(info.value)
    assert "\n" not in message and "weights_only" not in message and message.endswith(
        "use the model's .pth or .safetensors file")
