"""A training run as a job (core/train), watched live: the loss curve, validation PSNR / SSIM / LPIPS beside
bicubic and the starting model, the validation crop as it changes, steps per second and time left; the result
is a model of this session, in every picker, downloadable with its card."""
from __future__ import annotations

import streamlit as st

from core.serve.jobs import Job
from ui import jobs
from ui.charts import font_size, loss_chart, show, validation_chart, width
from ui.state import hold, own_models

MEASURES = (("psnr", "PSNR dB", True), ("ssim", "SSIM", True), ("lpips", "LPIPS", False))
TWO_COLUMN_WIDTH = 380  # a chart in one of two columns at 1280 px is drawn at its size, never shrunk


def _data_text(data: dict) -> str:
    """The split (core.train.data.Split.describe) in words."""
    return (f"Trained on {', '.join(data['train'])}; validated on {', '.join(data['validation'])} "
            f"(held out: {data['held_out']}).")


def checkpoint_dir(preset: str):
    """Where this session's run of `preset` keeps its checkpoint (so a cancelled run can resume)."""
    from core.serve.tasks.train import checkpoint_dir as folder

    return folder(jobs.owner(), preset)


def has_checkpoint(config) -> bool:
    """Whether this session's run of `config`'s preset left a checkpoint to resume from (a run cancelled before
    its first step leaves none)."""
    from core.train import save  # only asked after a cancelled run: torch is loaded by then

    return save.has_checkpoint(checkpoint_dir(config.preset or config.base))


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


def keep_result(job: Job) -> str | None:
    """The trained model as one of this session's models (once): its name, for the pickers."""
    if not job.done:
        return None
    kept = st.session_state.setdefault("trained", {})
    if job.id not in kept:
        spec = job.result.as_method()
        hold(f"model {spec.name}", spec.nbytes)  # SessionFull (one line) when the session holds too much
        own_models()[spec.name] = spec
        kept[job.id] = spec.name
    return kept[job.id]
