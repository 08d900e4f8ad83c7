"""The vulkan backend (issue 47): ncnn on a Vulkan device, never a software GPU for `auto`, a failing device handing
its job to the CPU, a device with wrong output refused by the calibration.

Run here on lavapipe (Mesa's software Vulkan device, `ncnn.get_gpu_info(i).type()` 3), asked for by index as a user
would (`--backend vulkan:N`): that checks correctness, not speed. No real GPU has run these tests. Tiny inputs:
lavapipe compiles every shader on first use and runs them on the CPU."""
import subprocess
import sys
import weakref

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.metrics import peak_signal_noise_ratio

from core import methods
from core.pipeline.engine import enhance
from core.runtime import backends, calibrate, machine, select
from tests.conftest import ROOT, use_settings

DEVICES = machine.vulkan_devices()
needs_vulkan = pytest.mark.skipif(not DEVICES, reason=f"no Vulkan device here: {machine.vulkan_problem()}")
# the device the by-value tests ask for: a software one where there is one (lavapipe in CI), else the first
SOFTWARE = next((d for d in DEVICES if d.type == 3), DEVICES[0] if DEVICES else None)


def _photo(width: int, height: int) -> np.ndarray:
    """The astronaut's face (skin, eyes, hair), area-downscaled: a real low-resolution input, RGB uint8."""
    return cv2.resize(data.astronaut()[30:222, 130:322], (width, height), interpolation=cv2.INTER_AREA)


def _chw(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / 255


def _devices(monkeypatch, *types: int) -> list[machine.VulkanDevice]:
    """This machine's Vulkan devices replaced by ones of these types (0 discrete, 1 integrated, 2 virtual, 3 CPU);
    device 0 keeps the real device's index, so a runner built on it runs on lavapipe."""
    fake = [machine.VulkanDevice(index=i, name=f"device {i}", type=t, api="1.3") for i, t in enumerate(types)]
    monkeypatch.setattr(machine, "_vulkan", lambda: (tuple(fake), ""))
    monkeypatch.setattr(backends, "_built", weakref.WeakKeyDictionary())
    return fake


def _cpu_record(spec) -> dict:
    """A calibration record of the CPU backends (no timing in the test): ncnn-bf16 the fastest."""
    names = [n for n in backends.candidates(spec) if n != "vulkan"]
    return {"backend": names[0], "sha256": spec.sha256, "why": "", "measured": {
        n: {"seconds": {"64": 0.1}, "probe_s": 0.1, "seconds_per_mpx": 1.0 + i, "contender": True,
            "psnr_vs_fp32_db": 99.0} for i, n in enumerate(names)}}


# Measured on lavapipe (llvmpipe, LLVM 15.0.6, 256 bits; Mesa 22.3.6) against the CPU ncnn fp32 output at these
# inputs, fp16 storage and arithmetic on (lavapipe offers both): RealESRGAN_x4plus 52.6 dB, realesr-animevideov3
# 60.1 dB, RealCUGAN_x2_conservative 56.4 dB, waifu2x_cunet_x2 61.5 dB; all over the calibration's 45 dB gate. With
# fp16 off, lavapipe gives 126 / 135 dB for the first two: the distance is fp16's. The bar is the issue's 40 dB.
@needs_vulkan
@pytest.mark.parametrize("name, size", [("RealESRGAN_x4plus", 16), ("realesr-animevideov3", 32),
                                        ("RealCUGAN_x2_conservative", 24), ("waifu2x_cunet_x2", 24)])
def test_the_vulkan_backend_matches_the_cpu_ncnn_output(name, size):
    spec = methods.get(name)
    chw = _chw(_photo(size, size))
    cpu = np.clip(backends.built(spec, "ncnn")(chw.copy()), 0, 1)
    gpu = np.clip(backends.built(spec, f"vulkan:{SOFTWARE.index}")(chw.copy()), 0, 1)
    assert gpu.shape == cpu.shape == (3, size * spec.native_scale, size * spec.native_scale)
    assert peak_signal_noise_ratio(cpu, gpu, data_range=1) >= 40


def test_auto_uses_a_discrete_or_integrated_gpu_and_never_a_virtual_or_cpu_device(monkeypatch):
    _devices(monkeypatch, 3, 2)
    assert machine.gpu() is None and "vulkan" not in backends.candidates(methods.get("realesr-animevideov3"))
    assert "not used by auto (a software GPU); ask for it with --backend vulkan:0" in machine.vulkan_note()
    assert "not used by auto (a virtual GPU); ask for it with --backend vulkan:1" in machine.vulkan_note()
    _devices(monkeypatch, 3, 1, 0, 1)
    assert machine.gpu().index == 2  # discrete first
    assert "vulkan" in backends.candidates(methods.get("realesr-animevideov3"))
    _devices(monkeypatch, 3, 1)
    assert machine.gpu().index == 1 and machine.vulkan_note() == ""


@needs_vulkan
def test_auto_never_selects_this_machines_software_device_and_says_why(monkeypatch, tmp_path):
    """On a machine whose only Vulkan device is lavapipe: `auto` runs on the CPU, and the job's statistics ("why
    this backend") say so and why the Vulkan device was not used; `vulkan` alone (the GPU auto would use) falls
    back to the CPU with that reason."""
    if machine.gpu() is not None:
        pytest.skip(f"this machine has a real GPU ({machine.gpu().describe()}): auto may use it")
    use_settings(monkeypatch, weights_dir=tmp_path)
    spec = methods.get("realesr-animevideov3")
    monkeypatch.setattr(calibrate, "record_for", lambda s, on_step=None, again=False: _cpu_record(s))
    assert "vulkan" not in backends.candidates(spec) and "vulkan" not in backends.runnable(spec)
    plan = select.choose(spec, 32, 32)
    assert not backends.on_gpu(plan.backend) and plan.fallback == ""
    assert f"the CPU ran it: the Vulkan device {SOFTWARE.describe()}: not used by auto (a software GPU)" in plan.why
    asked = select.choose(spec, 32, 32, choice="vulkan")
    assert asked.backend == plan.backend and asked.why.startswith(
        f"vulkan was asked for, but the Vulkan device {SOFTWARE.describe()}: not used by auto")
    result = enhance(_photo(16, 16), spec.name)
    assert "the CPU ran it" in result.stats.backend_why and "vulkan" not in result.stats.backend


def test_without_a_vulkan_loader_or_device_the_cpu_runs_it_and_says_why(monkeypatch, tmp_path):
    use_settings(monkeypatch, weights_dir=tmp_path)
    monkeypatch.setattr(machine, "_vulkan", lambda: ((), "no Vulkan loader (libvulkan.so.1 not found)"))
    monkeypatch.setattr(backends, "_built", weakref.WeakKeyDictionary())
    monkeypatch.setattr(calibrate, "record_for", lambda s, on_step=None, again=False: _cpu_record(s))
    spec = methods.get("realesr-animevideov3")
    assert "no Vulkan GPU: no Vulkan loader (libvulkan.so.1 not found)" in select.choose(spec, 32, 32).why
    asked = select.choose(spec, 32, 32, choice="vulkan:0")
    assert not backends.on_gpu(asked.backend)
    assert asked.why.startswith("vulkan:0 was asked for, but there is no Vulkan device 0 here (no Vulkan loader")
    assert backends.device_lines() == ["Vulkan: none (no Vulkan loader (libvulkan.so.1 not found))"]


def test_a_vulkan_instance_that_cannot_be_created_is_no_device_with_ncnns_reason():
    """No driver for the loader (VK_ICD_FILENAMES names none): vkCreateInstance fails, ncnn sees 0 devices."""
    code = "from core.runtime import machine; print(machine.vulkan_devices(), machine.vulkan_problem())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "VK_ICD_FILENAMES": "/nonexistent.json",
                              "VK_DRIVER_FILES": "/nonexistent.json"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("() ") and ("Vulkan found no device" in out.stdout or "loader" in out.stdout)


@needs_vulkan
def test_a_vulkan_error_mid_job_finishes_the_job_on_the_cpu_keeping_the_finished_tiles(monkeypatch, tmp_path):
    """The device fails on its 2nd tile (extract's non-zero code, as out of device memory or a lost device): the
    job finishes on the CPU backend (ncnn fp32: nothing measured here), keeps the tile the GPU finished, and says
    so in one line of its statistics."""
    use_settings(monkeypatch, weights_dir=tmp_path)
    monkeypatch.setattr(backends, "_built", weakref.WeakKeyDictionary())
    real = backends.NcnnRunner.__call__
    calls = {"gpu": 0, "cpu": 0}

    def flaky(self, chw):
        on_gpu = isinstance(self, backends.VulkanRunner)
        calls["gpu" if on_gpu else "cpu"] += 1
        if on_gpu and calls["gpu"] == 2:
            raise RuntimeError("ncnn failed on a 40×40 tile (code -100)")
        return real(self, chw)

    monkeypatch.setattr(backends.NcnnRunner, "__call__", flaky)
    lr = _photo(48, 40)
    out = enhance(lr, "realesr-animevideov3", backend=f"vulkan:{SOFTWARE.index}", tile=24)
    tiles = out.stats.tiles
    assert tiles == 4 and calls == {"gpu": 2, "cpu": tiles - 1}  # tile 1 from the GPU, kept; 2…4 on the CPU
    why = out.stats.backend_why
    assert why.count("the GPU failed") == 1 and (
        f"the GPU failed at tile 2 of {tiles} (Vulkan: ncnn failed on a 40×40 tile (code -100)): the 1 tile(s) it "
        "finished are kept, the rest ran on the CPU, ncnn fp32") in why
    assert out.stats.backend.endswith("for 1 tile(s), then ncnn fp32")
    cpu = enhance(lr, "realesr-animevideov3", backend="ncnn", tile=24).pixels
    assert out.pixels.shape == cpu.shape and peak_signal_noise_ratio(cpu, out.pixels) >= 40  # uint8


def test_a_vulkan_device_that_will_not_build_hands_the_whole_job_to_the_cpu(monkeypatch, tmp_path):
    use_settings(monkeypatch, weights_dir=tmp_path)
    _devices(monkeypatch, 3)

    def refuses(self, files, index, *blobs):
        raise backends.DeviceFailed("vkCreateDevice failed -3 (out of device memory)")

    monkeypatch.setattr(backends.VulkanRunner, "__init__", refuses)
    out = enhance(_photo(16, 16), "realesr-animevideov3", backend="vulkan:0")
    assert out.stats.backend == "ncnn fp32" and out.stats.backend_why.endswith(
        "the GPU failed before its first tile (vkCreateDevice failed -3 (out of device memory)): all ran on the CPU, "
        "ncnn fp32")


class Noise:
    """A Vulkan runner whose device returns noise of the right size (a broken driver)."""
    steps = 0

    def __init__(self, files, index, input_blob, output_blob):
        self.rng = np.random.default_rng(0)

    def __call__(self, chw):
        return self.rng.random((3, chw.shape[1] * 2, chw.shape[2] * 2), dtype=np.float32)


def test_a_gpu_whose_probe_output_is_wrong_is_refused_by_the_calibration_with_the_db(monkeypatch, tmp_path):
    use_settings(monkeypatch, weights_dir=tmp_path)
    _devices(monkeypatch, 1)  # an integrated GPU: `auto` measures it
    monkeypatch.setattr(backends, "VulkanRunner", Noise)
    monkeypatch.setattr(calibrate, "CALIBRATION_SIZES", (32, 48))  # the gate is under test, not the timings
    spec = methods.get("waifu2x_upconv7_anime_x2")
    assert backends.candidates(spec) == ["ncnn-bf16", "ncnn", "vulkan"]
    record = calibrate.record_for(spec)
    gpu = record["measured"]["vulkan"]
    assert gpu["psnr_vs_fp32_db"] < calibrate.MIN_PSNR_DB and record["backend"] != "vulkan"
    missed = calibrate.MIN_PSNR_DB - gpu["psnr_vs_fp32_db"]
    assert (f"ncnn on Vulkan, fp16: device 0, integrated GPU, Vulkan 1.3 refused: its probe output is "
            f"{gpu['psnr_vs_fp32_db']:g} dB from ncnn's, {missed:.1f} dB under the 45 dB gate") in record["why"]
    plan = select.choose(spec, 32, 32)
    assert plan.backend != "vulkan" and f"vulkan {gpu['seconds_per_mpx']:.3g} s/MP (refused: " in plan.why


def test_a_device_backend_takes_an_index_and_its_tile_follows_the_heap_budget(monkeypatch):
    assert "vulkan:0" in backends.CHOICES and "vulkan:12" in backends.CHOICES and "vulkan" in backends.CHOICES
    assert "ncnn:0" not in backends.CHOICES and "vulkan:x" not in backends.CHOICES and "bogus" not in backends.CHOICES
    assert select.resolve_choice("vulkan:1") == "vulkan:1"
    with pytest.raises(ValueError, match="unknown backend 'ncnn:0'"):
        select.resolve_choice("ncnn:0")
    use_settings(monkeypatch, tile_memory_mb=0)
    _devices(monkeypatch, 1)
    monkeypatch.setattr(machine.VulkanDevice, "heap_budget_mb", lambda self: 2000)
    assert machine.tile_budget_mb("vulkan:0") == machine.tile_budget_mb("vulkan") == 1200  # 60 % of the heap
    spec = methods.get("RealESRGAN_x4plus")
    plan = select.choose(spec, 512, 512, choice="vulkan:0")
    assert plan.tile == 120 and plan.fallback in backends.runnable(spec) and plan.label.endswith(
        "device 0, integrated GPU, Vulkan 1.3")  # 1200 MB at 56 000 B per px: 146², less overlaps
    monkeypatch.setattr(machine.VulkanDevice, "heap_budget_mb", lambda self: 0)  # not said: a fixed pass
    assert machine.tile_budget_mb("vulkan:0") == machine.VULKAN_FIXED_MB


@needs_vulkan
def test_methods_backends_names_each_vulkan_device_and_whether_auto_uses_it():
    lines = backends.device_lines()
    assert len(lines) == len(DEVICES)
    line = lines[SOFTWARE.index]
    assert line.startswith(f"Vulkan device {SOFTWARE.index}: {SOFTWARE.name}, {SOFTWARE.kind}, Vulkan 1.")
    if SOFTWARE.type == 3:
        assert line.endswith(f"not used by auto (a software GPU); ask for it with --backend vulkan:{SOFTWARE.index}")


@needs_vulkan
def test_the_enhance_page_and_the_handout_say_the_cpu_ran_it_and_why_not_the_software_gpu():
    """Issue 47: the app on a machine whose only Vulkan device is lavapipe. The Enhance statistics' "why this
    backend" says the CPU ran it and why the Vulkan device was not used; the handout names the device too."""
    from streamlit.testing.v1 import AppTest

    from core.quality.report import _Page
    from tests.conftest import click

    if machine.gpu() is not None:
        pytest.skip(f"this machine has a real GPU ({machine.gpu().describe()}): auto may use it")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at = at.switch_page("pages/enhance.py").run()
    at.selectbox(key="sample_w").set_value("cat").run()
    at.selectbox(key="enh_method").set_value("realesr-animevideov3").run()
    click(at, "enh_preview")
    assert not at.exception and not at.error
    table = at.table[0].value
    stats = dict(zip(table.iloc[:, 0], table.iloc[:, 1]))
    assert "vulkan" not in stats["device / backend"]
    assert (f"the CPU ran it: the Vulkan device {SOFTWARE.describe()}: not used by auto (a software GPU)"
            in stats["why this backend"])
    html = _Page().html("t", "s")
    assert f"Vulkan device {SOFTWARE.index}: {SOFTWARE.describe()}: not used by auto (a software GPU)" in html


def test_the_setup_installs_the_vulkan_loader_where_it_is_root_on_linux(monkeypatch, tmp_path):
    from scripts import lab
    from tests.test_lab_setup import Recorder

    monkeypatch.setattr(lab.os, "geteuid", lambda: 0, raising=False)
    monkeypatch.setattr(lab.shutil, "which", lambda name: f"/usr/bin/{name}")
    runner, said = Recorder(fail="dpkg"), []  # dpkg -s: not installed
    lab.Lab(root=tmp_path, system="Linux", runner=runner, env={}, say=said.append).vulkan()
    assert runner.commands == [["dpkg", "-s", "libvulkan1", "mesa-vulkan-drivers"], ["apt-get", "update", "-qq"],
                               ["apt-get", "install", "-y", "-qq", "libvulkan1", "mesa-vulkan-drivers"]]
    assert len(said) == 1 and "libvulkan1" in said[0]
    runner = Recorder()  # installed already: nothing to do
    lab.Lab(root=tmp_path, system="Linux", runner=runner, env={}, say=said.append).vulkan()
    assert runner.commands == [["dpkg", "-s", "libvulkan1", "mesa-vulkan-drivers"]]
    monkeypatch.setattr(lab.os, "geteuid", lambda: 1000, raising=False)  # not root, and no loader: one line
    monkeypatch.setattr(lab, "vulkan_loader", lambda system: None)
    said.clear()
    runner = Recorder()
    lab.Lab(root=tmp_path, system="Linux", runner=runner, env={}, say=said.append).vulkan()
    assert runner.commands == [] and said == [
        "no Vulkan loader found: the Vulkan tests will be skipped (as root: apt-get install libvulkan1 "
        "mesa-vulkan-drivers)"]
