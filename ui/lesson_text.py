"""Sentences of the lesson page made from the project's own measurements, so each follows from a figure."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.methods import METHODS
from core.quality.metrics import METRICS

SET5 = Path(__file__).resolve().parent.parent / "bench" / "results" / "set5_x4_networks.csv"


def load_set5() -> pd.DataFrame | None:
    """Set5 ×4 scores of every network and bicubic (bench/results/set5_x4_networks.csv), with each one's kind."""
    if not SET5.exists():
        return None
    scores = pd.read_csv(SET5)
    scores = scores[scores["method"].isin(METHODS.names())].dropna(subset=["psnr_db", "lpips"])
    scores["kind"] = [METHODS.get(m).kind for m in scores["method"]]
    return scores[["method", "kind", "psnr_db", "lpips"]].reset_index(drop=True)


def frontier_text(scores: pd.DataFrame, edge: list[str]) -> str:
    by = scores.set_index("method")

    def fig(name: str) -> str:
        return (f"{name} ({METRICS.get('psnr_db').format(by.loc[name, 'psnr_db'])} dB, "
                f"LPIPS {METRICS.get('lpips').format(by.loc[name, 'lpips'])})")  # as every page writes them

    best_psnr, best_lpips = by["psnr_db"].idxmax(), by["lpips"].idxmin()
    inside = [m for m in ("RealESRGAN_x4plus", "bicubic") if m in by.index and m not in edge]
    beaten = [f"{m}, beaten on both by " + ", ".join(o for o in edge if by.loc[o, "psnr_db"] >= by.loc[m, "psnr_db"]
                                                     and by.loc[o, "lpips"] <= by.loc[m, "lpips"])[:60]
              for m in inside]
    return (f"On these measurements the frontier (the dashed line) runs from {fig(best_psnr)}, the most faithful, "
            f"to {fig(best_lpips)}, the closest-looking; on it: {', '.join(edge)}. "
            + (f"Inside it: {'; '.join(beaten)}. " if beaten else "")
            + "Set5's inputs are clean bicubic downscales: networks trained for that (SPAN, SRMD) sit at the "
              "faithful end; a GAN trained for real-world degradations pays for texture it invents.")
