"""A training run as a job (core/train), watched live: the loss curve, validation PSNR / SSIM / LPIPS beside
bicubic and the starting model, the validation crop as it changes, steps per second and time left; the result
is a model of this session, in every picker, downloadable with its card."""
from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import streamlit as st

from core import settings
from core.serve.jobs import Context, Job, State
from ui import jobs
from ui.charts import font_size, loss_chart, show, validation_chart, width
from ui.state import hold, own_models

if TYPE_CHECKING:
    from core.train.engine import TrainEvent

MEASURES = (("psnr", "PSNR dB", True), ("ssim", "SSIM", True), ("lpips", "LPIPS", False))
TWO_COLUMN_WIDTH = 380  # a chart in one of two columns at 1280 px is drawn at its size, never shrunk


def _data_text(data: dict) -> str:
    """The split (core.train.data.Split.describe) in words."""
    return (f"Trained on {', '.join(data['train'])}; validated on {', '.join(data['validation'])} "
            f"(held out: {data['held_out']}).")


KEPT_CHECKPOINTS = 20  # cancelled runs the server keeps to resume (a class's worth); the oldest go first


def checkpoint_dir(preset: str):
    """Where this session's run of `preset` keeps its checkpoint (so a cancelled run can resume)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", f"{jobs.owner()}-{preset}")
    return settings.current().weights_dir / "training" / safe


def prune_checkpoints(keep: int = KEPT_CHECKPOINTS) -> None:
    """The disk stays bounded: a finished run's checkpoint is removed by its job; of the cancelled ones the
    newest `keep` stay."""
    root = settings.current().weights_dir / "training"
    folders = sorted((f for f in root.glob("*") if f.is_dir()), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def has_checkpoint(config) -> bool:
    """Whether this session's run of `config`'s preset left a checkpoint to resume from (a run cancelled before
    its first step leaves none)."""
    from core.train import save  # only asked after a cancelled run: torch is loaded by then

    return save.has_checkpoint(checkpoint_dir(config.preset or config.base))


def submit_training(images, config, resume: bool = False) -> Job:
    folder = checkpoint_dir(config.preset or config.base)
    prune_checkpoints()

    def work(ctx: Context):
        live = {"losses": [], "history": [], "baselines": {}, "preview": None, "info": None}

        def on_event(event: TrainEvent) -> None:
            if event.loss is not None:
                live["losses"].append((event.step, event.loss))
                live["losses"] = live["losses"][-4000:]  # bounded: a long run keeps its latest steps
            if event.info is not None:
                live["info"] = event.info
            if event.baselines:
                live["baselines"] = {k: v.as_dict() for k, v in event.baselines.items()}
            if event.past is not None:  # resumed: the curves so far, from the checkpoint (its last point measured now)
                live["history"] = list(event.past["history"])
                live["losses"] = list(enumerate(event.past["losses"], 1))[-4000:]
            if event.validation is not None:
                live["history"].append({"step": event.step, **event.validation.as_dict()})
            if event.preview is not None:
                live["preview"] = event.preview
            live["run_elapsed_s"] = event.elapsed_s  # the whole run's, before a resume too
            ctx.note(**live)
            own = ctx.job.elapsed_s  # this job's part of the run: its own pace gives the time left
            ctx.step(min(0.99, own / (own + event.time_left_s)) if own + event.time_left_s > 0 else 0.0,
                     event.message)

        from core.train.engine import train  # torch: imported by the job, not by the page that draws

        result = train(images, config, on_event, checkpoint_dir=folder, resume=resume)
        shutil.rmtree(folder, ignore_errors=True)  # done: nothing to resume (the model lives in the session)
        return result

    return jobs.submit(work, label=f"Training: {config.preset or config.base}", kind="training",
                       expected_s=None if resume else config.seconds)  # resumed: less is left; its own pace says


def live(job: Job) -> None:
    """The run's curves and crop, redrawn every second while it runs (and once, when it has ended)."""
    data = job.data
    info = data.get("info")
    if info is not None:
        st.caption(f"{info.model}: {info.architecture}; trains {info.trains} — {info.trainable_params:,} of "
                   f"{info.total_params:,} parameters. {_data_text(info.data)} Degradation: "
                   f"{' → '.join(info.degradation) or 'none'}. Losses: {info.losses}.")
    charts = st.columns(1 if width() > 600 else 2)
    chart_width = width() if len(charts) == 1 else TWO_COLUMN_WIDTH
    if len(data.get("losses", [])) > 1:
        with charts[0]:
            show(loss_chart(data["losses"], font_size=font_size(), width=chart_width), "training loss")
    history, baselines = data.get("history", []), data.get("baselines", {})
    for i, (key, label, higher) in enumerate(MEASURES):
        if history:
            with charts[(i + 1) % len(charts)]:
                show(validation_chart([{"step": h["step"], "value": h[key]} for h in history],
                                      {name: b[key] for name, b in baselines.items()}, label, higher,
                                      font_size=font_size(), width=chart_width), f"validation {label}")
    if info is not None and data.get("preview") is not None:
        a, b, c, d = st.columns(4)
        a.image(info.low_res, caption="validation input", width="stretch", output_format="PNG")
        b.image(info.bicubic, caption="bicubic", width="stretch", output_format="PNG")
        c.image(data["preview"], caption=f"the network now (step {history[-1]['step'] if history else 0})",
                width="stretch", output_format="PNG")
        d.image(info.reference, caption="the truth", width="stretch", output_format="PNG")


@st.fragment(run_every=1.0)
def watch_training(job_id: str) -> None:
    job = jobs.get(job_id)
    if job is None:
        return
    live(job)
    if job.state.finished and not st.session_state.get(f"train_drawn_{job_id}"):
        st.session_state[f"train_drawn_{job_id}"] = True
        st.rerun(scope="app")


def keep_result(job: Job) -> str | None:
    """The trained model as one of this session's models (once): its name, for the pickers."""
    if job.state is not State.DONE:
        return None
    kept = st.session_state.setdefault("trained", {})
    if job.id not in kept:
        spec = job.result.as_method()
        hold(f"model {spec.name}", spec.nbytes)  # SessionFull (one line) when the session holds too much
        own_models()[spec.name] = spec
        kept[job.id] = spec.name
    return kept[job.id]
