"""Issue 48: the CLI with real files — faults a user met (outputs overwritten, a warning before a refusal,
silence for minutes, a preset's seconds that do not hold under load). Tiny images and classical methods."""
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
from PIL import Image

from tests.conftest import ROOT


def run_cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # run from the inputs' folder, as a user does
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)


def _photo(seed: int, size=(32, 24)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_outputs_of_same_named_inputs_never_overwrite_one_another(tmp_path):
    """small.png and small.jpg, and x.png from two folders, all went to one output name: the first result was
    overwritten without a word. Each gets its own (the source's extension, then its folder); a re-run skips all."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _photo(1).save(tmp_path / "small.png")
    _photo(2).save(tmp_path / "small.jpg")
    _photo(3).save(tmp_path / "a" / "x.png")
    _photo(4).save(tmp_path / "b" / "x.png")
    _photo(5).save(tmp_path / "alone.png")
    files = ["small.png", "small.jpg", "a/x.png", "b/x.png", "alone.png"]
    out = tmp_path / "out"
    proc = run_cli("enhance", *files, "-o", out, "--method", "bicubic", "--outscale", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["a-x-png_bicubic_x2.png", "alone_bicubic_x2.png", "b-x-png_bicubic_x2.png",
                       "small-jpg_bicubic_x2.png", "small-png_bicubic_x2.png"]
    said = [ln for ln in proc.stdout.splitlines() if "would share an output name" in ln]
    assert len(said) == 1 and said[0].startswith("4 inputs")
    done = [ln.split("done → ")[1].split(":")[0] for ln in proc.stdout.splitlines() if "done →" in ln]
    assert len(done) == 5 and len(set(done)) == 5
    for name, seed in (("small-png", 1), ("a-x-png", 3), ("b-x-png", 4)):  # each output is its own input's
        small = np.asarray(Image.open(out / f"{name}_bicubic_x2.png").resize((32, 24), Image.BOX), np.float32)
        assert np.abs(small - np.asarray(_photo(seed), np.float32)).mean() < 20
    again = run_cli("enhance", *files, "-o", out, "--method", "bicubic", "--outscale", "2", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.count("already done, skipped") == 5


def test_the_same_file_twice_is_refused_before_anything_runs(tmp_path):
    _photo(1).save(tmp_path / "small.png")
    out = tmp_path / "out"
    proc = run_cli("enhance", "small.png", "./small.png", "-o", out, "--method", "bicubic", cwd=tmp_path)
    assert proc.returncode == 2 and "given twice" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()


def test_a_batch_keeps_both_of_two_same_named_files():
    """The app's Batch: x.png and x.jpg (or x.png from two folders of a zip) are two entries of results.zip."""
    from core.serve.tasks.batch import batch

    png, jpg, other = io.BytesIO(), io.BytesIO(), io.BytesIO()
    _photo(1).save(png, "PNG")
    _photo(2).save(jpg, "JPEG")
    _photo(3).save(other, "PNG")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("p/x.png", other.getvalue())
        z.writestr("q/x_2.png", other.getvalue())
    task = batch([("x.png", png.getvalue()), ("x.jpg", jpg.getvalue()), ("more.zip", archive.getvalue())],
                 "bicubic", 2.0)

    class Ctx:
        def step(self, fraction, message=""):
            pass

        def note(self, **data):
            pass

    zipped, rows = task.work(Ctx())
    with zipfile.ZipFile(io.BytesIO(zipped.read())) as z:
        names = z.namelist()
    zipped.close()
    assert [r["error"] for r in rows] == ["", "", "", ""]
    images = [n for n in names if n.endswith(".png")]
    assert len(images) == 4 and len(set(images)) == 4, names
    assert {"x-png_bicubic_x2.png", "x-jpg_bicubic_x2.png"} <= set(images)


class RunsCode:
    def __reduce__(self):
        return (print, ("this would run",))


def test_a_model_file_that_would_run_code_is_refused_in_one_line_without_torchs_warning(tmp_path):
    """torch's two-line "Detected pickle protocol 4 … The weights_only Unpickler might not support …"
    UserWarning came before the one-line refusal."""
    import pickle

    _photo(1).save(tmp_path / "small.png")
    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"x": RunsCode()}, protocol=4))
    proc = run_cli("enhance", tmp_path / "small.png", "-o", tmp_path / "out", "--model-path", tmp_path / "evil.pth")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: evil.pth was refused: it holds code that loading would run, not "
                                        "only weights. Use a .safetensors file or a .pth of plain weights."]
    assert "this would run" not in proc.stdout


def test_attribute_says_when_each_method_starts_and_ends_when_piped(tmp_path):
    """`python -m core attribute` printed the method names and then nothing for minutes: a piped run now gets a
    plain line as each method starts and as it ends, with its seconds (a bar only on a terminal)."""
    _photo(1, (96, 96)).save(tmp_path / "small.png")
    proc = run_cli("attribute", tmp_path / "small.png", "--window", "180,180,16", "--methods", "bicubic,bilinear",
                   "--steps", "4", "--region", "32", "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert [ln.split(" (")[0] for ln in lines if "started" in ln] == ["bicubic: started", "bilinear: started"]
    ended = [ln for ln in lines if ": done in " in ln]
    assert [ln.split(":")[0] for ln in ended] == ["bicubic", "bilinear"]
    assert all(ln.endswith(" s") and float(ln.split("done in ")[1][:-2]) >= 0 for ln in ended)
    assert lines.index(next(ln for ln in lines if ln.startswith("bicubic: started"))) < lines.index(ended[0]) \
        < lines.index(next(ln for ln in lines if ln.startswith("bilinear: started")))


def test_train_says_its_step_count_is_fixed_and_then_its_real_seconds(tmp_path, monkeypatch, capsys):
    """`--preset scratch-60s` took 142 s under load: its step count was fixed on a quieter run (so the same seed
    makes the same model). The CLI now says so before training, and the real seconds at the end."""
    from core.cli import main
    from core.io.imageio import encode_png
    from core.train import engine, presets

    monkeypatch.setattr(engine, "steps_file", lambda: tmp_path / "training_steps.json")
    config = presets.config("scratch-60s")
    assert engine.length_line(config).startswith("about 60 s: the step count is fixed from this machine's pace")
    assert engine.length_line(config.replace(max_steps=7)) == "at most 7 steps (--steps), stopping at 60 s if they " \
                                                              "take longer"
    engine._record_steps(config, 740)  # as a first run here fixed it
    line = "740 steps (fixed on this machine: about 60 s on a quiet machine; longer while the machine is busy)"
    assert engine.length_line(config) == line
    assert engine.length_line(config, {"max_steps": 300}).startswith("300 steps (fixed")  # a resumed run's own

    class Trained:  # what train() returns, without the seconds a real run costs (tests/test_train.py runs one)
        card = {"steps": 740, "seconds": {"total": 142.4}}

        def save(self, out):
            return out / "m.safetensors", out / "m.json"

    def fake_train(images, config, on_event, **kw):
        print("training", flush=True)
        return Trained()

    monkeypatch.setattr(engine, "train", fake_train)
    src = tmp_path / "in"
    src.mkdir()
    (src / "0.png").write_bytes(encode_png(np.asarray(_photo(0, (96, 96)))))
    assert main(["train", "--preset", "scratch-60s", "--images", str(src), "-o", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [line, "training"]
    assert "740 steps in 142 s, setup included" in printed
