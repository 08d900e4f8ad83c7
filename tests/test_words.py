"""Issue 48.9–11, words for a class: what a page says outside its "Details" expanders has none of the expert terms a
15-year-old cannot follow (the exact recipe, formulas, library calls and command lines are kept, under Details);
the text-making functions say it plainly. AppTest (no browser), each page on the cheapest run that shows its text."""
import re
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, click

# the list: each was on a page a class sees
EXPERT = [r"σ\s*\d", r"\(seed \d", r"\bseed\b", "Gaussian", "BT.601", r"border \d+ px", "border crop", "ranked by NIQE",
          r"\bDI\b", "Gini", "path steps", "INTER_", "a = −0.75", "windows of", "dropped at each inner edge",
          "python -m core", "log10", "vif_p", "Y channel"]


def outside_details(node) -> list[str]:
    """The markdown and caption texts of an AppTest tree that are not inside a "Details" expander."""
    found = []
    for child in getattr(node, "children", {}).values():
        if child.type == "expander" and child.label == "Details":
            continue
        if child.type in ("markdown", "caption"):
            found.append(child.value)
        found += outside_details(child)
    return found


def inside_details(at) -> list[str]:
    return [m.value for e in at.expander if e.label == "Details" for m in e.markdown]


def expert_terms(texts: list[str]) -> list[tuple[str, str]]:
    return [(term, text[:160]) for text in texts for term in EXPERT if re.search(term, text)]


def plain(at) -> None:
    assert not at.exception
    said = outside_details(at._tree)
    assert said, "no text found"
    assert expert_terms(said) == []


def new_app(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    assert not at.exception
    return at.switch_page(page).run()


def test_the_words_of_a_test_pair_come_plain_first_and_exact_under_details():
    from core.quality.degrade import Degradation, make_pair

    pair = make_pair(np.zeros((512, 512, 3), np.uint8), Degradation(4, noise_sigma=10.0, jpeg_quality=60))
    assert pair.plain() == ("We took the clean photo (512×512), made it 4× smaller, added grain (noise) and saved it "
                            "as a low-quality JPEG: the input is 128×128.")
    assert "Gaussian noise σ 10 (seed 0)" in pair.pipeline()  # the exact recipe is kept (CLI, handout, Details)
    assert Degradation(1).plain() == "left it as it was"


def test_start_step_2_says_plainly_what_was_done_and_keeps_the_recipe_under_details(monkeypatch):
    """It said "**Pipeline:** … Gaussian noise σ 10 (seed 0) … PSNR and SSIM on Y (BT.601), LPIPS on RGB, border
    4 px."; the words are the same for any methods, so two quick ones are scored (test_app runs the real lesson)."""
    from ui.lesson import MEASURE

    monkeypatch.setitem(MEASURE, "methods", ("bicubic", "lanczos"))
    at = new_app("pages/start.py")
    click(at, "lesson_measure")
    plain(at)
    assert any("made it 4× smaller, added grain (noise) and saved it as a low-quality JPEG" in m.value
               for m in at.markdown)
    assert any("Gaussian noise σ 10 (seed 0)" in t for t in inside_details(at))
    assert any("BT.601" in t and "border of 4 px" in t for t in inside_details(at))


def test_start_step_3_ranks_by_words_not_by_a_measures_name():
    """It said "ranked best first by NIQE (lower is better)" and "the ranking is by NIQE (↓ better), a no-reference
    measure"."""
    from core.quality.metrics import METRICS
    from core.quality.ranking import EXTRAPOLATION
    from ui.lesson import compare_caption, compare_details, compare_summary

    ranking = SimpleNamespace(rows=[1, 2], scale=4, budget_s=60, measure=METRICS.get("niqe"), skipped=[],
                              question="for this image, at this scale, on this computer", extrapolation=EXTRAPOLATION,
                              assumption="")
    said = [compare_summary(ranking, 11), compare_caption(ranking)]
    assert expert_terms(said) == [] and "best first by how natural each looks (lower NIQE is better)" in said[0]
    assert any("NIQE" in d and "no-reference" in d for d in compare_details(ranking))


def test_metrics_says_what_was_done_and_what_each_score_means_plainly():
    """It said "**Pipeline:** … Gaussian noise σ 10 (seed 0) …", and under the scores "Y channel (BT.601, 16–235);
    border crop 4 px … PSNR: 10·log10(1/MSE) …"."""
    at = new_app("pages/metrics.py")
    at.slider(key="met_noise").set_value(10.0).run()
    at.multiselect(key="met_methods").set_value(["bicubic"]).run()
    click(at, "met_run")
    assert not at.error
    plain(at)
    details = inside_details(at)
    assert any("Gaussian noise σ 10 (seed 0)" in t for t in details)
    assert any("Y channel (BT.601, 16–235); border crop 4 px" in t for t in details)
    assert any("10·log10(1/MSE)" in t for t in details)


def test_baselines_captions_say_what_a_method_does_and_keep_its_library_call_under_details():
    """It said "**bicubic** (interpolation): bicubic ×4, cv2.resize INTER_CUBIC (a = −0.75)"."""
    at = new_app("pages/baselines.py")
    for purpose in ("interpolation", "denoise", "enhance", "super-resolution"):
        at.multiselect(key=f"base_methods_{purpose}").set_value(["bicubic"] if purpose == "interpolation" else [])
    at.run()
    click(at, "base_run")
    plain(at)
    assert any("cv2.resize INTER_CUBIC (a = −0.75)" in t for t in inside_details(at))


def test_which_model_says_how_the_input_was_made_plainly():
    at = new_app("pages/which_model.py")
    at.session_state["met_noise"] = 10.0
    at.run()
    plain(at)
    assert any("Gaussian noise σ 10 (seed 0)" in t for t in inside_details(at))


def test_batch_keeps_its_command_line_under_details():
    at = new_app("pages/batch.py")
    plain(at)
    assert any("python -m core enhance" in t for t in inside_details(at))


def test_train_says_how_its_pairs_are_made_plainly():
    at = new_app("pages/train.py")
    at.radio(key="train_preset").set_value("animevideov3-style-2min").run()
    plain(at)
    assert any("Gaussian noise σ 5" in t for t in inside_details(at))


@pytest.mark.parametrize("page", ["pages/enhance.py", "pages/start.py"])
def test_pages_before_any_click_speak_plainly(page):
    plain(new_app(page))


def test_attribution_speaks_plainly_and_says_when_a_map_is_rough():
    """It said "Diffusion Index (DI)", "… 50 path steps from a blur of σ 1.2. DI = (1 − Gini of the map) × 100", and
    the completeness gap was a bare column."""
    at = new_app("pages/attribution.py")
    plain(at)
    at.multiselect(key="attr_methods").set_value(["bicubic"]).run()
    at.slider(key="attr_steps").set_value(at.slider(key="attr_steps").min).run()
    click(at, "attr_run")
    assert not at.error
    plain(at)
    assert any("Half of what it used lies within" in c.value for c in at.caption)
    assert any("Gini" in t and "path steps" in t for t in inside_details(at))
    assert "what ran" not in at.dataframe[0].value.columns  # a cut-off cell: the sentence is under Details now
    assert any("bicubic** ran as:" in t for t in inside_details(at))


def test_a_rough_map_says_so_in_plain_words():
    from ui.attribution_view import gap_words

    rough = SimpleNamespace(completeness_gap=0.61, rough=True, attribution_sum=0.39, objective_input=1.0,
                            objective_baseline=0.0)
    assert gap_words(rough) == "Rough: this map leaves out 61 % of what the network did, so read it with care."
    over = SimpleNamespace(completeness_gap=1.2, rough=True, attribution_sum=2.2, objective_input=1.0,
                           objective_baseline=0.0)
    assert gap_words(over).startswith("Rough: this map is off by 120 % of what the network did")
    assert gap_words(SimpleNamespace(completeness_gap=0.02, rough=False, attribution_sum=0.98, objective_input=1.0,
                                     objective_baseline=0.0)) == ""


def test_video_explains_flicker_and_concludes_in_one_plain_line():
    """It said "Flicker (×10⁻³) ↓ … −0.0386 … −0.0473" with nothing on what flicker is or what below 0 means, the
    command lines in its caption, and "windows of 15 frames, 3 dropped at each inner edge" beside a result."""
    at = new_app("pages/video.py")
    plain(at)
    at.slider(key="video_frames").set_value(4).run()
    at.multiselect(key="video_methods").set_value(["bicubic", "BasicVSR_REDS4"]).run()
    click(at, "video_run")
    assert not at.error, [e.value for e in at.error]
    plain(at)
    said = next(m.value for m in at.markdown if m.value.startswith("**Flicker**"))
    assert "0: as steady as the true clip" in said and "below 0: steadier than the true clip" in said
    assert re.search(r"(bicubic|BasicVSR_REDS4) flickers least \(-?\d+\.\d\d", said) or "about as much" in said
    flicker = at.dataframe[0].value["Flicker (×10⁻³) ↓"]
    assert all(re.fullmatch(r"-?\d+\.\d\d", v) for v in flicker)  # two decimals
    assert any("windows of" in t for t in inside_details(at))


def test_the_flicker_conclusion_compares_what_is_shown():
    from ui.video_view import flicker_conclusion

    said = flicker_conclusion({"bicubic": {"flicker": -0.0386}, "BasicVSR_REDS4": {"flicker": -0.0473}})
    assert said == "BasicVSR_REDS4 flickers least (-0.05: steadier than the true clip); bicubic most (-0.04)."
    assert flicker_conclusion({"a": {"flicker": 0.012}, "b": {"flicker": 0.009}}).startswith("They flicker about")


@pytest.mark.parametrize("width,font", [(520, 14), (1100, 22)])
def test_a_crowded_trade_off_names_only_the_points_that_matter_and_no_two_names_overlap(width, font):
    """How it works at 1920: Set5's 49 points each numbered (the numbers ran together) beside a 49-line legend.
    Past charts.MAX_LABELLED points: the frontier and the lesson's landmarks named, a legend of kinds only."""
    from core.quality import charts
    from ui.lesson_text import load_set5

    scores = load_set5()
    assert len(scores) > charts.MAX_LABELLED
    named = charts.labelled(scores)
    assert set(charts.frontier(scores)) <= set(named) and {"bicubic", "RealESRGAN_x4plus"} <= set(named)
    assert len(named) <= charts.MAX_LABELLED
    svg = charts.svg(charts.tradeoff_scatter(scores, font_size=font).properties(width=width))
    texts = re.findall(r'text-anchor="(start|end)" transform="translate\(([\d.]+),([\d.]+)\)"[^>]*>([^<]+)</text>',
                       _marks(svg))
    assert sorted(t for *_, t in texts) == sorted(named)  # every name once, no number
    legend = re.findall(r'role-legend-label"[^>]*>(.*?)</g>', svg, re.S)
    assert len(re.findall(r"<text", "".join(legend))) <= 3  # the kinds, not 49 methods
    boxes = []
    for anchor, x, y, text in texts:  # as drawn: ~0.6 em a character (bold sans-serif), one line tall
        w, x, y = 0.6 * font * len(text), float(x), float(y)
        boxes.append(((x, x + w) if anchor == "start" else (x - w, x), (y - font, y), text))
    for i, (ax, ay, a) in enumerate(boxes):
        for bx, by, b in boxes[i + 1:]:
            assert ax[1] <= bx[0] or bx[1] <= ax[0] or ay[1] <= by[0] or by[1] <= ay[0], (a, b)


def _marks(svg: str) -> str:
    """The chart's marks (its names), without the axes' and the legend's labels."""
    return "".join(re.findall(r'role-mark layer_\d+_marks"(.*?)</g>', svg, re.S))
