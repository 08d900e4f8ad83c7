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


def test_a_resumed_run_carries_its_curves_measures_where_it_stands_and_keeps_its_own_time(tmp_path, monkeypatch):
    """Issue 41: after Resume the curves before Cancel were gone (the loss started at the resumed step), its first
    validation point repeated the "before training" scores, and it said "22 %, about 17 s left" where 80 s were
    left (the whole run's elapsed time read as this job's progress)."""
    at = _train_page(tmp_path, monkeypatch)
    at.slider(key="train_seconds_scratch-60s").set_value(120).run()  # steps before Cancel, even on a busy machine
    at.button(key="train_start").click().run()
    first = service().get(at.session_state["train_job"])
    deadline = time.monotonic() + 110
    while len(first.data.get("losses", [])) < 5:
        assert time.monotonic() < deadline and not first.state.finished
        time.sleep(0.1)
    at.run()
    at.button(key="cancel_train").click().run()
    at = settle(at)
    before = [dict(h) for h in first.data["history"]]
    losses = list(first.data["losses"])
    at.button(key="train_resume").click().run()
    resumed = service().get(at.session_state["train_job"])
    while (len(resumed.data.get("losses", [])) <= len(losses) + 3 or resumed.fraction < 0.05) \
            and not resumed.state.finished:  # (under 2 % done a job says nothing of its time left)
        assert time.monotonic() < deadline + 120
        time.sleep(0.05)
    data = dict(resumed.data)
    left, own = resumed.time_left_s(), resumed.fraction
    history = data["history"]
    assert {k: history[0][k] for k in before[0]} == before[0] and before[0]["step"] == 0  # kept from before Cancel
    at_resume = next(h for h in history if h["step"] >= losses[-1][0])  # measured when it resumed
    assert (at_resume["psnr"], at_resume["lpips"]) != (before[0]["psnr"], before[0]["lpips"])
    assert data["losses"][:len(losses)] == losses and data["losses"][0][0] == 1  # the loss from step 1
    if resumed.state is State.RUNNING:
        run_left = 120 - data["run_elapsed_s"]  # the run's length less what it has spent, before the resume too
        # within ×2 either way: the job's estimate is its own pace so far, which a busy machine sways (CI under
        # load: 158 s said for 110 s); the bug it guards against said 17 s for 80
        assert left is not None and run_left / 2 < left < 2 * run_left + 2.0, (left, run_left, own)
    service().cancel(resumed)  # what the resume does is seen; its end is the first test's
    at = settle(at)
    assert resumed.state.finished and not at.exception
