"""The Train page around a run (AppTest): a cancelled run says what it kept and resumes from it; a finished run
leaves no checkpoint behind, and the server keeps only the newest cancelled ones."""
import os
import time

from streamlit.testing.v1 import AppTest

from core.serve.jobs import State, service
from core.train.save import RUN, STATE
from tests.conftest import ROOT, settle, use_settings


def _train_page(tmp_path, monkeypatch) -> AppTest:
    use_settings(monkeypatch, weights_dir=tmp_path)  # the scratch preset needs no weights; checkpoints go here
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/train.py").run()
    at.slider(key="train_seconds_scratch-60s").set_value(10).run()
    return at


def test_a_cancelled_run_keeps_its_checkpoint_resumes_and_then_leaves_nothing_on_disk(tmp_path, monkeypatch):
    at = _train_page(tmp_path, monkeypatch)
    at.button(key="train_start").click().run()
    job = service().get(at.session_state["train_job"])
    deadline = time.monotonic() + 120
    while len(job.data.get("losses", [])) < 3:  # a few steps made
        assert time.monotonic() < deadline and not job.state.finished
        time.sleep(0.1)
    at.run()
    at.button(key="cancel_train").click().run()
    at = settle(at)
    assert job.state is State.CANCELLED
    folders = list((tmp_path / "training").iterdir())
    assert len(folders) == 1 and {p.name for p in folders[0].iterdir()} == {STATE, RUN}
    assert any("kept as a checkpoint" in w.value for w in at.warning)
    assert not any("Nothing was kept" in w.value for w in at.warning)
    at.button(key="train_resume").click().run()
    at = settle(at)
    resumed = service().get(at.session_state["train_job"])
    assert resumed.state is State.DONE and resumed.id != job.id
    assert any(s.value.startswith("Trained: user:") for s in at.success)
    assert not any(f.is_dir() for f in (tmp_path / "training").iterdir())  # done: nothing left to resume
    assert not at.exception


def test_the_server_keeps_only_the_newest_cancelled_checkpoints(tmp_path, monkeypatch):
    from core.serve.tasks import train as train_task

    use_settings(monkeypatch, weights_dir=tmp_path)
    root = tmp_path / "training"
    for i in range(5):
        (root / f"run{i}").mkdir(parents=True)
        (root / f"run{i}" / "run.json").write_text("{}")
        os.utime(root / f"run{i}", (1_000_000 + i * 10,) * 2)  # run4 the newest
    train_task.prune_checkpoints(keep=3)
    assert sorted(p.name for p in root.iterdir()) == ["run2", "run3", "run4"]
