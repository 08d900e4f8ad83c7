"""Training on the CPU (core/train): tiny crops and few steps, so the whole module runs in well under a minute."""
import threading
import time

import numpy as np
import pytest
import torch

from core import methods
from core.cli import main
from core.io.imageio import encode_png
from core.methods.user import load_user_model
from core.pipeline.engine import Cancelled
from core.train import engine, presets
from core.train.config import TrainConfig, TrainError
from core.train.engine import train
from core.train.models import RRDB_HEAD
from core.train.save import card_in, load_trained
from tests.conftest import use_settings

TINY = TrainConfig(base="scratch", batch=4, patch=12, val_side=12, val_images=1, validate_every=10, seconds=60,
                   learning_rate=3e-3, seed=0)


@pytest.fixture(scope="module")
def photos(astronaut):
    from skimage import data
    return [np.ascontiguousarray(astronaut[100:228, 150:278]), np.ascontiguousarray(data.coffee()[:96, 200:296]),
            np.ascontiguousarray(data.chelsea()[50:146, 100:196])]


@pytest.fixture(autouse=True)
def _own_step_counts(tmp_path, monkeypatch):
    """The step counts a run fixes go to the test's folder, not this machine's weights/ (one test's count would
    decide another's run)."""
    monkeypatch.setattr(engine, "steps_file", lambda: tmp_path / "training_steps.json", raising=False)


@pytest.fixture(scope="module")
def short_run(photos):
    events = []
    return train(photos, TINY.replace(max_steps=40), events.append), events


def test_a_short_run_lowers_the_training_loss_and_reports_every_step(short_run):
    result, events = short_run
    losses = result.losses
    assert len(losses) == 40 and np.mean(losses[-10:]) < 0.8 * np.mean(losses[:5])
    steps = [e for e in events if e.phase == "step"]
    assert [e.step for e in steps] == list(range(1, 41))
    rich = [e for e in steps if e.validation is not None]
    assert [e.step for e in rich] == [10, 20, 30, 40]
    assert set(rich[0].baselines) == {"bicubic", "start"} and rich[0].preview.dtype == np.uint8
    ready = next(e for e in events if e.phase == "ready")
    assert ready.info.trainable_params == ready.info.total_params == 51_920
    assert ready.info.reference.shape == rich[0].preview.shape == (48, 48, 3)
    assert events[-1].phase == "done" and result.card["steps"] == 40


def test_the_saved_model_loads_as_a_user_model_and_gives_the_same_output(short_run, tmp_path):
    result, _ = short_run
    model_path, card_path = result.save(tmp_path)
    card = load_trained(model_path).card_extra
    assert card == result.card and card_in(model_path.read_bytes()) == card  # the file carries its card too
    for key in ("base", "data", "degradation", "losses", "steps", "seed", "validation", "cpu", "seconds"):
        assert key in card, key
    user = load_user_model(model_path.read_bytes(), model_path.name, card_extra=card)
    assert user.detected.startswith("RealESRGAN Compact, ×4")
    x = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        assert torch.equal(user.torch_module()(x), result.model.module(x))
    img = np.random.default_rng(0).random((20, 24, 3), dtype=np.float32)
    out = user.upscale(img, (96, 80)).pixels
    with torch.no_grad():
        ours = result.model.module(torch.from_numpy(img.transpose(2, 0, 1))[None])[0].clamp(0, 1)
    np.testing.assert_allclose(out, ours.numpy().transpose(1, 2, 0), atol=1e-6)


def test_the_same_seed_gives_the_same_first_losses(photos):
    a, b = (train(photos, TINY.replace(max_steps=3)).losses for _ in range(2))
    other = train(photos, TINY.replace(max_steps=3, seed=1)).losses
    assert a == b and a != other


def test_resuming_a_cancelled_run_continues_the_same_run(photos, tmp_path):
    whole = train(photos, TINY.replace(max_steps=8)).losses

    def cancel_at_5(event):
        if event.phase == "step" and event.step == 5:
            raise Cancelled()

    with pytest.raises(Cancelled):
        train(photos, TINY.replace(max_steps=8), cancel_at_5, checkpoint_dir=tmp_path)
    resumed = train(photos, TINY.replace(max_steps=8), checkpoint_dir=tmp_path, resume=True)
    assert resumed.card["resumed_from_step"] == 5 and resumed.losses == whole
    with pytest.raises(TrainError, match="trained on other images"):
        train(photos[:2], TINY.replace(max_steps=9), checkpoint_dir=tmp_path, resume=True)


def test_a_run_cancelled_before_its_step_count_was_fixed_resumes_and_fixes_it_from_its_own_pace(photos, tmp_path):
    """CI found it: cancelled at step 9 of the 10 warm-up steps, the resumed run had one timed step at step 10
    and divided by zero fixing its count."""
    def cancel_at_9(event):
        if event.phase == "step" and event.step == engine.WARMUP_STEPS - 1:
            raise Cancelled()

    with pytest.raises(Cancelled):
        train(photos, TINY.replace(seconds=8), cancel_at_9, checkpoint_dir=tmp_path)
    resumed = train(photos, TINY.replace(seconds=8), checkpoint_dir=tmp_path, resume=True)
    assert resumed.card["resumed_from_step"] == engine.WARMUP_STEPS - 1
    assert resumed.card["steps"] == len(resumed.losses) >= 2 * engine.WARMUP_STEPS - 1  # its own ten steps timed
    assert resumed.card["step_count"]["fixed"] == resumed.card["steps"]


def test_cancel_from_on_event_stops_within_two_seconds(photos):
    asked = threading.Event()
    threading.Timer(1.0, asked.set).start()
    asked_at = []

    def on_event(event):
        if asked.is_set():
            asked_at.append(time.perf_counter())
            raise Cancelled()

    with pytest.raises(Cancelled):
        train(photos, TINY.replace(seconds=30), on_event)
    assert asked_at and time.perf_counter() - asked_at[0] < 2.0


@pytest.mark.parametrize("base, blocks", [("RealESRGAN_x4plus", 1), ("realesr-animevideov3", 0)])
def test_fine_tuning_trains_its_own_copy_and_keeps_frozen_layers(photos, base, blocks):
    spec = methods.get(base)
    shared = spec.torch_module()
    before = {k: v.clone() for k, v in shared.state_dict().items()}
    config = TINY.replace(base=base, unfreeze_blocks=blocks, batch=2, patch=8, cache_patches=4, max_steps=2,
                          val_side=8, learning_rate=1e-3)
    result = train(photos, config)
    after = shared.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the catalogue's cached module changed"
    assert not any(p.requires_grad for p in shared.parameters())
    official, tuned = spec.state_dict(), result.model.module.state_dict()
    changed = {k for k in official if not torch.equal(official[k], tuned[k])}
    if base == "RealESRGAN_x4plus":
        trained = {k for k in official if k.split(".")[0] in RRDB_HEAD or k.startswith("body.22.")}
        assert changed and changed <= trained  # everything else bit-identical
        assert result.card["trainable_params"] == sum(official[k].numel() for k in trained)
        assert result.card["total_params"] == 16_697_987 and result.card["frozen_trunk_cached"]
        x = torch.rand(1, 3, 12, 12)
        with torch.no_grad():  # the cached-trunk path is the network's own forward
            torch.testing.assert_close(result.model(x), result.model.module(x), rtol=0, atol=1e-6)
    else:
        assert result.card["trainable_params"] == result.card["total_params"] == 621_424


@pytest.mark.parametrize("make, message", [
    (lambda photos: train([], TINY), "no images to train on"),
    (lambda photos: train([photos[0][:20, :20]], TINY), "smaller than the 48×48 training crop"),
    (lambda photos: train(photos, TINY.replace(base="SPAN_x4")), "SPAN_x4 has no PyTorch architecture"),
    (lambda photos: train(photos, TINY.replace(base="nope")), "unknown base network 'nope'"),
    (lambda photos: presets.config("nope"), "unknown preset 'nope'"),
    (lambda photos: train(photos, TINY.replace(losses={"l3": 1.0})), "unknown loss 'l3'"),
    (lambda photos: train(photos, TINY.replace(losses={"gan": 0.1})), "an adversarial loss alone"),
])
def test_refused_inputs_say_why_in_one_line(photos, make, message):
    with pytest.raises(TrainError, match=message) as err:
        make(photos)
    assert "\n" not in str(err.value)


def test_the_settings_bound_time_and_memory(photos, monkeypatch):
    use_settings(monkeypatch, train_max_mb=1)
    with pytest.raises(TrainError, match="over SRLAB_TRAIN_MAX_MB=1"):
        train(photos, TINY)
    use_settings(monkeypatch, train_max_mb=3000, train_max_seconds=1)
    result = train(photos, TINY.replace(seconds=60))
    assert result.card["seconds"]["total"] < 5 and "SRLAB_TRAIN_MAX_SECONDS" in result.card["notes"][0]


def test_every_preset_is_a_valid_config_with_a_lesson():
    for p in presets.PRESETS.values():
        p.config.check()
        assert p.teaches and p.title


def test_cli_trains_writes_model_and_card_and_resumes(photos, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for i, img in enumerate(photos):
        (src / f"{i}.png").write_bytes(encode_png(img))
    out = tmp_path / "out"
    assert main(["train", "--preset", "scratch-60s", "--images", str(src), "-o", str(out), "--steps", "3",
                 "--every", "1"]) == 0
    printed = capsys.readouterr().out
    assert "step     3" in printed and '"steps": 3' in printed
    assert (out / "scratch-60s.safetensors").exists() and (out / "scratch-60s.json").exists()
    assert main(["train", "--resume", str(out / "checkpoint"), "--images", str(src), "--steps", "5"]) == 0
    assert load_trained(out / "scratch-60s.safetensors").card_extra["resumed_from_step"] == 3


def test_the_same_seed_and_length_make_the_same_model_on_this_machine(photos):
    """Issue 41: three seed-0 runs of one preset made 740, 765 and 759 steps and three models (runs stopped on
    time). Now the first run fixes its step count from this machine's pace and records it; every later run of
    the same settings makes exactly that many steps: the same seed gives the same model, another seed another."""
    config = TINY.replace(seconds=5, validate_every=20)
    train(photos, config.replace(max_steps=1))  # what a first run loads once (LPIPS, the network code) is loaded
    runs = [train(photos, config) for _ in range(3)]
    steps = [r.card["steps"] for r in runs]
    assert steps[0] == steps[1] == steps[2] > 0, steps
    assert [r.card["step_count"]["how"] for r in runs] == [
        "fixed by this run from this machine's pace, recorded"] + ["as this machine first fixed it for these "
                                                                   "settings"] * 2
    assert all(r.card["stopped"] == "its fixed step count" for r in runs[1:])  # the first: that, or its time
    weights = [r.model.module.state_dict() for r in runs]
    for other in weights[1:]:
        assert all(torch.equal(weights[0][k], other[k]) for k in weights[0])
    seed_1 = train(photos, config.replace(seed=1))
    assert seed_1.card["steps"] == steps[0]
    first = next(iter(weights[0]))
    assert not torch.equal(seed_1.model.module.state_dict()[first], weights[0][first])
