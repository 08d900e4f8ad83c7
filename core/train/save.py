"""A finished run is a model like any other: a `.safetensors` file (the whole network's state dict, which
spandrel recognises) and a small JSON card, loadable through the user-model path (core/methods/user.py).
A run's checkpoint is a folder: `state.pt` (the trained weights, optimizer, step, random state) and `run.json`
(the config, the data's fingerprint, the baselines and history), each replaced whole."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.methods.user import UserNetwork, load_user_model
from core.train.config import TrainError
from core.train.models import Trainable
from core.weights.resolve import library_reason

STATE, RUN = "state.pt", "run.json"


@dataclass(eq=False)
class TrainResult:
    model: Trainable
    card: dict
    history: list[dict] = field(default_factory=list)   # one row per validation: step, elapsed_s, scores
    losses: list[float] = field(default_factory=list)   # the training loss of every step of this run

    @property
    def stem(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", self.card.get("preset") or f"{self.card['base']}-trained")

    def file_bytes(self) -> bytes:
        from safetensors.torch import save

        state = {k: v.detach().contiguous().clone() for k, v in self.model.module.state_dict().items()}
        return save(state, metadata={"srlab_card": json.dumps(self.card)})

    def save(self, folder: str | Path, stem: str | None = None) -> tuple[Path, Path]:
        """Writes FOLDER/STEM.safetensors and FOLDER/STEM.json."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = stem or self.stem
        model, card = folder / f"{stem}.safetensors", folder / f"{stem}.json"
        _write(model, self.file_bytes())
        _write(card, (json.dumps(self.card, indent=2, ensure_ascii=False) + "\n").encode())
        return model, card

    def as_method(self) -> UserNetwork:
        """The trained network as a method of this session, exactly as if its saved file were loaded."""
        return load_user_model(self.file_bytes(), f"{self.stem}.safetensors", card_extra=self.card)


def load_trained(path: str | Path) -> UserNetwork:
    """A saved model and, beside it, its card (STEM.json; else the copy inside the file), through the user-model
    path."""
    path = Path(path)
    data, card_path = path.read_bytes(), path.with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.exists() else card_in(data)
    return load_user_model(data, path.name, card_extra=card)


def card_in(data: bytes) -> dict:
    """The card a trained `.safetensors` file carries in its header's metadata ({} for any other file)."""
    try:
        size = int.from_bytes(data[:8], "little")  # safetensors: 8-byte header length, then the JSON header
        return json.loads(json.loads(data[8:8 + size])["__metadata__"]["srlab_card"])
    except (ValueError, KeyError, TypeError):
        return {}


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # a reader never sees half a file


# ---------------------------------------------------------------- checkpoints
def write_checkpoint(folder: Path, state: dict, run: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (STATE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, folder / STATE)
    _write(folder / RUN, json.dumps(run, indent=1).encode())


def has_checkpoint(folder: str | Path) -> bool:
    return (Path(folder) / RUN).exists() and (Path(folder) / STATE).exists()


def read_run(folder: str | Path) -> dict:
    if not has_checkpoint(folder):
        raise TrainError(f"{folder} holds no checkpoint ({STATE} and {RUN})")
    return json.loads((Path(folder) / RUN).read_text())


def read_checkpoint(folder: str | Path) -> tuple[dict, dict]:
    run = read_run(folder)
    try:
        state = torch.load(Path(folder) / STATE, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainError(f"{folder}/{STATE} cannot be read ({library_reason(exc)}): start the run again") from None
    return state, run


def trained_state(model: Trainable) -> dict:
    """What a checkpoint keeps of the network: the trained tensors only (the frozen ones come from the base)."""
    trained = {k for k, p in model.module.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in model.module.state_dict().items() if k in trained}
