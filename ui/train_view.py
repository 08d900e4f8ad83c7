"""A training run as a job (core/train), watched live: the loss curve, validation PSNR / SSIM / LPIPS beside
bicubic and the starting model, the validation crop as it changes, steps per second and time left; the result
is a model of this session, in every picker, downloadable with its card."""
from __future__ import annotations

import re
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


def checkpoint_dir(preset: str):
    """Where this session's run of `preset` keeps its checkpoint (so a cancelled run can resume)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", f"{jobs.owner()}-{preset}")
    return settings.current().weights_dir / "training" / safe


def submit_training(images, config, resume: bool = False) -> Job:
    folder = checkpoint_dir(config.preset or config.base)

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
            if event.validation is not None:
                live["history"].append({"step": event.step, **event.validation.as_dict()})
            if event.preview is not None:
                live["preview"] = event.preview
            ctx.note(**live, steps_per_s=event.steps_per_s, time_left_s=event.time_left_s)
            total = config.seconds or 1
            ctx.step(min(0.99, event.elapsed_s / total), event.message)

        from core.train.engine import train  # torch: imported by the job, not by the page that draws

        return train(images, config, on_event, checkpoint_dir=folder, resume=resume)

    return jobs.submit(work, label=f"Training: {config.preset or config.base}", kind="training",
                       expected_s=config.seconds)


def live(job: Job) -> None:
    """The run's curves and crop, redrawn every second while it runs (and once, when it has ended)."""
    data = job.data
    info = data.get("info")
    if info is not None:
        st.caption(f"{info.model}: {info.architecture}; trains {info.trains} — {info.trainable_params:,} of "
                   f"{info.total_params:,} parameters. Data: {info.data}. Degradation: "
                   f"{' → '.join(info.degradation) or 'none'}. Losses: {info.losses}.")
    speed = data.get("steps_per_s")
    left = data.get("time_left_s")
    if speed:
        st.caption(f"{speed:.2f} steps/s" + (f", about {left:.0f} s left" if left is not None else ""))
    charts = st.columns(1 if width() > 600 else 2)
    if len(data.get("losses", [])) > 1:
        with charts[0]:
            show(loss_chart(data["losses"], font_size=font_size(), width=width()), "training loss")
    history, baselines = data.get("history", []), data.get("baselines", {})
    for i, (key, label, higher) in enumerate(MEASURES):
        if history:
            with charts[(i + 1) % len(charts)]:
                show(validation_chart([{"step": h["step"], "value": h[key]} for h in history],
                                      {name: b[key] for name, b in baselines.items()}, label, higher,
                                      font_size=font_size(), width=width()), f"validation {label}")
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
