"""Train: watch a network learn on this CPU — from scratch, or a shipped network fine-tuned — live, then use
the result like any other model (every picker of this session, and a download with its card)."""
import dataclasses
import json

import streamlit as st

from core.io.imageio import ImageError, load_image
from core.train.checks import check, native_scale, pairs_text
from core.train.config import TrainError
from core.train.data import builtin_images
from core.train.presets import PRESETS, config
from ui import jobs
from ui.controls import download
from ui.picker import UPLOAD_TYPES
from ui.state import current_image, kept, require_frame
from ui.train_view import checkpoint_dir, has_checkpoint, keep_result, live
from ui.words import details

require_frame()
st.title("Train")
st.caption("Training makes a network: pairs are made on the fly from clean images (degraded as the preset says, "
           "random crops, flips and rotations), the network's output is compared with the truth, and its "
           "weights move to make the loss smaller. Whole images are held out for validation, never trained on.")
name = st.radio("Preset", list(PRESETS), persist_state="session", key=kept("train_preset", "scratch-60s"),
                format_func=lambda n: PRESETS[n].title)
made = dataclasses.replace(PRESETS[name].config.degradation, scale=native_scale(PRESETS[name].config))
st.caption(f"What it teaches: {PRESETS[name].teaches}. Its inputs: each clean photo after we {made.plain()}.")
details(f"Inputs made by: {pairs_text(PRESETS[name].config)}.")
c1, c2, c3 = st.columns(3)
seconds = c1.slider("Length (s)", 10, int(PRESETS[name].config.seconds) * 2, step=10,
                    persist_state="session", key=kept(f"train_seconds_{name}", int(PRESETS[name].config.seconds)))
seed = c2.number_input("Seed", 0, 10_000, persist_state="session", key=kept("train_seed", 0),
                       help="The same seed, preset and length give the same model on this server: the first such "
                       "run fixes its step count from this machine's pace, every later one makes that many "
                       "(docs/training.md).")
source = c3.radio("Train on", ["the built-in photos", "the chosen image", "uploads"],
                  persist_state="session", key=kept("train_on",
                  "the built-in photos"), help="The chosen image: its last quarter is held out for validation.")
files = st.file_uploader("Images to train on", type=UPLOAD_TYPES, accept_multiple_files=True,
                         key="train_files") if source == "uploads" else []
chosen = config(name, seconds=seconds, seed=int(seed))
previous = jobs.get(st.session_state.get("train_job"))
resumable = previous is not None and previous.cancelled and has_checkpoint(chosen)
b1, b2 = st.columns([1, 3])
start = b1.button("Start training", type="primary", key="train_start")
resume = resumable and b2.button("Resume the cancelled run", key="train_resume")
if start or resume:
    try:
        images = {"the built-in photos": builtin_images, "the chosen image": lambda: [current_image()],
                  "uploads": lambda: [load_image(f.getvalue(), f.name) for f in files]}[source]()
        check(images, chosen)  # every refusal before anything loads: one line
        st.session_state.train_job = jobs.submit_training(images, chosen, checkpoint_dir(chosen.preset or chosen.base),
                                                           resume=bool(resume)).id
    except (TrainError, ImageError, TypeError) as exc:
        st.error(f"That run cannot start: {exc}")
if (job := jobs.get(st.session_state.get("train_job"))) and jobs.follow(
        job.id, "train", draw=live, cancelled=f"{job.label}: cancelled. What it had learnt is kept as a checkpoint: "
        "\"Resume the cancelled run\" goes on from there." if resumable else None):
    if job.state.finished:
        live(job)
    if job.done:
        try:
            model = keep_result(job)
        except ImageError as exc:
            st.error(str(exc))
        else:
            result = job.result
            st.success(f"Trained: {model}. It is in this session's pickers (Enhance, Baselines, Metrics, Batch).")
            with st.expander("The model's card: what it is, what it was trained on, its validation scores"):
                st.json(result.card)
            d1, d2 = st.columns(2)
            download("Download the model (.safetensors)", result.file_bytes, f"{result.stem}.safetensors",
                     key="train_dl_model", container=d1)
            download("Download its card (.json)", lambda: json.dumps(result.card, indent=2), f"{result.stem}.json",
                     "application/json", key="train_dl_card", container=d2)
