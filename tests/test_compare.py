"""Comparing methods: every network ranked within a time budget, a degradation sweep, the frequency view, the
charts as data and the offline handout (the browser's print check is tests/test_report_browser.py)."""
import math
import subprocess
import sys
import time
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest

from core.methods import get
from core.pipeline.engine import Cancelled, Request
from core.quality import charts, ranking, report
from core.quality.degrade import Degradation, make_pair
from core.quality.metrics import METRICS
from core.quality.scoring import score_and_keep, score_methods
from core.quality.spectrum import READING, compare_spectra, radial_power
from core.quality.sweep import KNOBS, sweep
from tests.conftest import ROOT

FAST_NETWORKS = ["realesr-animevideov3", "SPAN_x4", "waifu2x_upconv7_photo_x2"]  # waifu2x: ×2, then Lanczos
CLASSICAL = ["bicubic", "nearest", "lanczos"]


@pytest.fixture(scope="module")
def clean(astronaut) -> np.ndarray:
    return np.ascontiguousarray(astronaut[60:252, 150:342])  # 192×192: the face, hair and a patch


@pytest.fixture(scope="module")
def pair(clean):
    return make_pair(clean, Degradation(scale=4))  # 48×48 input, 192×192 reference


@pytest.fixture(scope="module")
def ranked(pair):
    return ranking.try_networks(pair.lr, 4, FAST_NETWORKS, reference=pair.hr, budget_s=300, full_size=(512, 512))


# ---------------------------------------------------------------- ranking
def test_the_ranking_shows_its_rows_in_the_order_of_their_scores(ranked):
    assert ranked.question == "for this image, at this scale, on this computer"
    assert {r.name for r in ranked.rows} == set(FAST_NETWORKS) and not ranked.skipped and not ranked.errors
    assert ranked.measure.name == "psnr_db" and not ranked.caveat
    shown = [r.scores["psnr_db"] for r in ranked.rows]
    assert shown == sorted(shown, reverse=True)
    for r in ranked.rows:
        assert r.family == get(r.name).family and r.seconds > 0 and r.full_seconds > r.seconds
        assert set(r.scores) >= {"psnr_db", "ssim", "lpips"}
    expected = [r.expected_s for r in sorted(ranked.rows, key=lambda r: ranked.run_order.index(r.name))]
    if None not in expected:  # measured on this machine: tried fastest first
        assert expected == sorted(expected)
    assert "tiles" in ranked.extrapolation and "per input pixel" in ranked.extrapolation


def test_the_full_image_time_is_seconds_per_pixel_times_the_full_images_tiled_pixels(ranked):
    from core.runtime.tiling import tiled_area

    for r in ranked.rows:
        method = get(r.name)
        plan = method.plan(48, 48)
        full = method.plan(512, 512, backend=plan.backend)
        assert r.full_tiles == full.tiles
        assert r.full_seconds == pytest.approx(r.seconds / tiled_area(48, 48, plan.tile) *
                                               tiled_area(512, 512, full.tile))


def test_without_a_reference_it_ranks_by_a_no_reference_measure_and_says_so(pair):
    result = ranking.try_networks(pair.lr, 4, FAST_NETWORKS[:2], measure="psnr_db", budget_s=300)
    assert result.measure.name == "niqe" and not result.reference
    assert "no true reference" in result.caveat and "PSNR needs a true reference" in result.notes[0]
    shown = [r.scores["niqe"] for r in result.rows]
    assert shown == sorted(shown)  # lower is better
    with pytest.raises(ValueError, match="cannot rank"):
        ranking.try_networks(pair.lr, 4, FAST_NETWORKS[:1], measure="sharpness")


def test_a_budget_shorter_than_the_slowest_network_lists_what_was_skipped(pair, monkeypatch):
    # the calibration's expectations stood in for, so the test is the same on every machine
    times = {"realesr-animevideov3": 0.01, "SPAN_x4": 0.02, "RealESRGAN_x4plus": 500.0, "RealSR_DF2K_x4": 900.0}
    monkeypatch.setattr(ranking, "expected_time", lambda method, h, w: times.get(method.name))
    names = ["RealSR_DF2K_x4", "RealESRGAN_x4plus", "waifu2x_upconv7_photo_x2", "SPAN_x4", "realesr-animevideov3"]
    result = ranking.try_networks(pair.lr, 4, names, reference=pair.hr, budget_s=120)
    assert result.run_order == ["realesr-animevideov3", "SPAN_x4", "waifu2x_upconv7_photo_x2"]  # unmeasured last
    assert "not measured on this machine" in result.assumption
    assert [(s.name, s.expected_s) for s in result.skipped] == [("RealESRGAN_x4plus", 500.0), ("RealSR_DF2K_x4", 900.0)]
    assert all("budget" in s.why for s in result.skipped)
    assert {r.name for r in result.rows} | {s.name for s in result.skipped} == set(names)  # none dropped


def test_the_rankings_handout_holds_the_crop_the_networks_the_ranking_and_the_frequencies(ranked, pair):
    page = report.ranking_html(ranked, pair.lr, pair.hr, name="astronaut", pipeline=pair.pipeline())
    assert page.count("<svg") == 1 and "Frequency view: astronaut" in page
    for row in ranked.rows:
        assert row.name in page and get(row.name).provenance in page  # weights sha256 of each network
    assert "Every network, ranked by PSNR" in page and pair.pipeline().split(" → ")[0] in page
    table = page.index("Every network, ranked")
    where = [page.index(r.name, table) for r in ranked.rows]
    assert where == sorted(where)  # in the ranking's order
    assert report.ranking_spectra(ranked, pair.lr, pair.hr).curves[-1].label == "bicubic"


def test_the_rankings_progress_follows_time_not_the_count_of_networks(pair):
    """Issue 40: counted by networks, a ranking sat at 90 % while the slowest one, run last, took most of its time
    ("about 1 s left" for 5 s). By time, the share shown is close to the share of the time spent."""
    names = ["realesr-animevideov3", "SPAN_x4", "RealESRGAN_x4plus"]  # x4plus ~20x the others' cost, run last
    if None in [ranking.expected_time(get(n), 48, 48) for n in names]:
        pytest.skip("needs this machine's measurements of the three networks (python -m core prepare)")
    ranking.try_networks(pair.lr[:16, :16], 4, names, budget_s=300)  # loaded first: a first load is not timed
    seen = []
    start = time.perf_counter()
    ranking.try_networks(pair.lr, 4, names, reference=pair.hr, budget_s=300,
                         on_step=lambda f: seen.append((time.perf_counter() - start, f)))
    total = time.perf_counter() - start
    at = next(t for t, f in seen if f >= 0.6)
    assert total - at < 0.6 * total, (at, total)  # counting networks: 2/3 shown after ~15 % of the time
    assert [f for _, f in seen] == sorted(f for _, f in seen)  # never backwards


def test_the_rankings_handout_reads_as_a_handout_first_and_a_record_after(ranked, pair):
    """Issue 40: page 1 was licences and sha256, the measures and "s expected" unexplained, a note ran into the
    next ("…makes it an overestimate RGB; border crop 4 px"), the crops from a region of its own."""
    import re

    window = (40, 24, 30, 3)  # x, y, side, magnification of the region the app showed
    page = report.ranking_html(ranked, pair.lr, pair.hr, name="astronaut", pipeline=pair.pipeline(), window=window)
    order = [page.index(h) for h in ("What was done", "Every network, ranked", "Zoomed crops",
                                     "What the measures mean", "For the record")]
    assert order == sorted(order)
    record = page.index("For the record")
    for row in ranked.rows:
        assert page.index(get(row.name).provenance) > record  # sha256 after the student's pages
    meanings = page[page.index("What the measures mean"):record]
    for m in ranked.metrics:
        assert f"{m.heading}: {m.about}" in meanings
    assert "s expected: what this machine" in meanings
    notes = re.findall(r'<p class="small">(.*?)</p>', page, re.S)
    assert notes and all(n.strip()[-1] in ".)" for n in notes), notes  # each a sentence: none runs into the next
    assert "overestimate RGB" not in page.replace("\n", " ")
    assert "30×30 px at (40, 24) of the output grid, the region chosen in the app, enlarged ×3" in page


def test_a_raise_from_on_step_cancels_the_ranking(pair):
    def cancel(fraction):
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        ranking.try_networks(pair.lr, 4, FAST_NETWORKS[:1], reference=pair.hr, on_step=cancel)


def test_network_sets():
    assert set(ranking.network_set("native", 4)) >= {"SPAN_x4", "RealESRGAN_x4plus"}
    assert all(get(n).native_scale == 2 for n in ranking.network_set("native", 2))
    assert set(ranking.network_set("family", 4, "SPAN")) == {"SPAN_x2", "SPAN_x4"}
    with pytest.raises(ValueError, match="unknown family"):
        ranking.network_set("family", 4, "ESRGAN-ish")


# ---------------------------------------------------------------- sweep
@pytest.fixture(scope="module")
def noise_sweep(clean):
    cache = {}
    result = sweep(clean, ["bicubic", "nearest"], "noise_sigma", values=(0, 10, 20), cache=cache,
                   metrics=["psnr_db", "ssim"])
    return result, cache


def test_the_sweeps_point_at_the_default_knob_value_is_a_single_scoring(clean, noise_sweep):
    result, _ = noise_sweep
    assert result.default_index == 0 and result.steps[0] == Degradation(scale=4)
    single = score_methods(make_pair(clean, Degradation(scale=4)).lr, make_pair(clean, Degradation(scale=4)).hr,
                           [Request.make(m, outscale=4) for m in ("bicubic", "nearest")], crop_border=4,
                           metrics=["psnr_db", "ssim"])
    for row in single.rows:
        for name in ("psnr_db", "ssim"):
            assert result.series_for(row.method, name).values[0] == row.values[name]
    assert len(result.series) == 4 and result.series_for("bicubic", "psnr_db").x == [0, 10, 20]
    psnr = result.series_for("bicubic", "psnr_db").values
    assert psnr[0] > psnr[1] > psnr[2]  # more noise, further from the truth


def test_a_sweep_run_again_with_its_cache_runs_nothing(clean, noise_sweep, monkeypatch):
    from core.quality import sweep as sweep_module

    first, cache = noise_sweep

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored a cached step")

    monkeypatch.setattr(sweep_module, "score_methods", no_scoring)
    again = sweep(clean, ["bicubic", "nearest"], "noise_sigma", values=(0, 10, 20), cache=cache,
                  metrics=["psnr_db", "ssim"])
    assert again.cached_steps == 6
    assert [s.values for s in again.series] == [s.values for s in first.series]


def test_a_sweep_of_jpeg_quality_finds_its_default_and_says_what_is_fixed(clean):
    base = Degradation(scale=4, noise_sigma=5, jpeg_quality=60)
    result = sweep(clean[:96, :96], ["bicubic"], "jpeg_quality", base=base, metrics=["psnr_db"])
    assert [s.jpeg_quality for s in result.steps] == list(KNOBS["jpeg_quality"].steps)
    assert result.default_index == 2 and "Gaussian noise σ 5" in result.fixed and "JPEG" not in result.fixed
    with pytest.raises(ValueError, match="unknown knob"):
        sweep(clean, ["bicubic"], "gamma")


# ---------------------------------------------------------------- spectrum
def test_a_sinusoids_spectrum_peaks_at_its_frequency_with_its_power():
    n, k0, amplitude = 128, 16, 0.4
    x = np.arange(n)
    img = np.repeat((0.5 + amplitude * np.sin(2 * np.pi * k0 * x / n))[None, :], n, axis=0)
    spectrum = radial_power(img)
    assert spectrum.frequency[int(np.argmax(spectrum.power))] == pytest.approx(k0 / n)
    # a direct numpy computation: the Hann-windowed periodogram, and its rings counted here
    window = np.outer(np.hanning(n), np.hanning(n))
    periodogram = np.abs(np.fft.fft2((img - img.mean()) * window)) ** 2 / np.sum(window ** 2)
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    in_ring = np.abs(np.hypot(fy, fx) * n - k0) < 0.5
    assert spectrum.power[k0] == pytest.approx(periodogram[in_ring].mean(), rel=1e-9)
    # Parseval: the rings' total is the windowed sinusoid's power, A²/2
    counts = np.bincount(np.floor(np.hypot(fy, fx) * n + 0.5).astype(int).ravel())[:len(spectrum.power)]
    assert np.sum(spectrum.power * counts) / n ** 2 == pytest.approx(amplitude ** 2 / 2, rel=0.02)


def test_white_noise_reads_its_variance_at_every_frequency():
    sigma = 0.1
    noise = np.random.default_rng(0).normal(0, sigma, (256, 256))
    power = radial_power(noise).power[8:]
    assert np.median(power) == pytest.approx(sigma ** 2, rel=0.05)


def test_a_blurred_image_lies_below_the_sharp_one_at_high_frequencies(clean):
    blurred = cv2.GaussianBlur(clean, (0, 0), 1.5)
    view = compare_spectra({"blurred": blurred}, reference=clean, scale=4)
    sharp, soft = (next(c for c in view.curves if c.label == label) for label in ("reference", "blurred"))
    high = sharp.frequency >= 0.25
    assert np.all(soft.power[high] < sharp.power[high])
    assert view.reading == READING and view.input_nyquist == pytest.approx(0.125)
    without = compare_spectra({"blurred": blurred}, bicubic=blurred, scale=4)  # no true image: no such curve
    assert "reference" not in without.reading and not without.bands and without.reading.startswith("no true")
    bands = view.bands[0]
    assert [b.verdict for b in bands.bands if b.low >= 0.125] == ["below", "below"]
    assert "detail lost" in bands.sentence and "invented" not in bands.sentence
    sharpened = np.clip(clean.astype(np.float32) * 2 - blurred, 0, 255).astype(np.uint8)  # unsharp mask
    above = compare_spectra({"sharpened": sharpened}, reference=clean).bands[0]
    assert above.bands[-1].verdict == "above" and "detail invented" in above.sentence


# ---------------------------------------------------------------- charts and the handout
def test_charts_are_colour_blind_safe_specs_with_a_font_size(noise_sweep, clean):
    colours, shapes, _ = charts.palette([f"m{i}" for i in range(20)])
    assert set(colours) <= set(charts.OKABE_ITO) and len(set(zip(colours, shapes))) == 20
    spec = charts.sweep_chart(noise_sweep[0], font_size=22).to_dict()
    assert spec["config"]["axis"]["labelFontSize"] == 22
    view = compare_spectra({"bicubic": clean}, reference=clean)
    spec = charts.spectrum_chart(view).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    svg = charts.svg(charts.spectrum_chart(view))
    assert svg.startswith("<svg") and "frequency" in svg


def _axis_labels(svg: str) -> list[list[tuple[float, str, float]]]:
    """Each axis's labels as drawn: (x, text, font px)."""
    import re

    groups = re.findall(r'role-axis-label"[^>]*>(.*?)</g>', svg, re.S)
    return [[(float(x), text, float(px)) for x, px, text in re.findall(
        r'translate\(([\d.]+),[\d.]+\)"[^>]*font-size="([\d.]+)px"[^>]*>([^<]*)</text>', g)] for g in groups]


@pytest.mark.parametrize("width,font", [(520, 14), (1100, 22)])
def test_the_frequency_charts_x_labels_do_not_run_together(clean, astronaut, width, font):
    """Issue 40: on a projector its x labels read "0.0030.004"."""
    for image in (clean, astronaut):
        view = compare_spectra({"bicubic": image}, reference=image)
        xs = max(_axis_labels(charts.svg(charts.spectrum_chart(view, font_size=font, width=width))),
                 key=lambda g: len({round(x) for x, _, _ in g}))  # the x axis: labels spread across
        xs.sort()
        for (x0, t0, px), (x1, t1, _) in zip(xs, xs[1:]):
            assert x0 + 0.3 * px * len(t0) + 0.3 * px * len(t1) + px * 0.5 < x1, (t0, t1, x0, x1)


def test_the_trade_offs_axis_labels_do_not_run_together_on_a_projector():
    """Issue 40's walkthrough, in projector mode: the trade-off's x labels read "23.7523.85…" at 22 px."""
    import pandas as pd

    points = pd.DataFrame({"method": ["bicubic", "lanczos", "SPAN_x4", "realesr-animevideov3", "RealESRGAN_x4plus"],
                           "kind": ["interpolation"] * 2 + ["network"] * 3,
                           "psnr_db": [25.53, 25.55, 25.21, 24.91, 23.88],
                           "lpips": [0.5187, 0.5248, 0.4158, 0.2751, 0.1796]})
    svg = charts.svg(charts.tradeoff_scatter(points, font_size=22).properties(width=1100))
    for labels in _axis_labels(svg):
        labels.sort()
        spread = len({round(x) for x, _, _ in labels}) > 1
        for (x0, t0, px), (x1, t1, _) in zip(labels, labels[1:]) if spread else []:
            assert x0 + 0.3 * px * len(t0) + 0.3 * px * len(t1) < x1, (t0, t1, x0, x1)


def test_no_two_methods_get_okabe_itos_yellow_and_orange():
    """Issue 40: bicubic and RealESRGAN_x4plus in similar yellows on a projector."""
    colours, _, _ = charts.palette([f"m{i}" for i in range(20)])
    assert "#F0E442" not in colours and "#E69F00" in colours


def test_the_trade_offs_numbers_of_close_points_are_set_apart():
    """Issue 40: bicubic's "1" and lanczos's "2" overprinted in the lesson's chart."""
    import pandas as pd

    points = pd.DataFrame({"method": ["bicubic", "lanczos", "SPAN_x4", "RealESRGAN_x4plus"],
                           "kind": ["classical", "classical", "network", "network"],
                           "psnr_db": [25.53, 25.60, 26.4, 24.1], "lpips": [0.452, 0.449, 0.38, 0.21]})
    spec = charts.tradeoff_scatter(points).to_dict()
    texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    offsets = {(layer["mark"]["dx"], layer["mark"]["dy"]) for layer in texts}
    shown = {}
    for layer in texts:
        for row in spec["datasets"][layer["data"]["name"]]:
            shown[row["number"]] = (layer["mark"]["dx"], layer["mark"]["dy"])
    assert len(offsets) == 2 and shown["1"] != shown["2"]  # lanczos's number on the other side of its point


def test_no_method_in_the_frequency_view_is_drawn_like_the_truth(clean):
    """Seven methods and the reference: the 7th took Okabe-Ito's black, the truth's solid black line (a
    walkthrough could not tell RealESRGAN_x4plus from the reference)."""
    view = compare_spectra({f"m{i}": clean for i in range(9)}, reference=clean)
    scale = charts.spectrum_chart(view).to_dict()["layer"][0]["encoding"]
    colours = dict(zip(scale["color"]["scale"]["domain"], scale["color"]["scale"]["range"]))
    dashes = dict(zip(scale["strokeDash"]["scale"]["domain"], scale["strokeDash"]["scale"]["range"]))
    truth = next(name for name in colours if name.startswith("reference"))
    drawn = {name: (colours[name], tuple(dashes[name])) for name in colours}
    assert all(drawn[f"m{i}"] != drawn[truth] for i in range(9))
    assert len(set(drawn.values())) == len(drawn)  # every line its own look


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.links += [(tag, k, v) for k, v in attrs if k in ("src", "href", "xlink:href")]

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def handout(pair, ranked, noise_sweep):
    requests = [Request.make(m, outscale=4) for m in [*CLASSICAL, FAST_NETWORKS[0]]]
    run = score_and_keep("astronaut face", pair.lr, pair.hr, requests, pair.pipeline(), crop_border=4)
    return run, report.comparison_html(run, scale=4, ranking=ranked, sweep=noise_sweep[0])


def test_the_handout_opens_offline_and_names_every_method_its_hash_and_its_scores(handout):
    run, page = handout
    parsed = _Links()
    parsed.feed(page)
    assert parsed.links, "no image at all"
    for tag, attr, value in parsed.links:
        assert not value.lower().startswith(("http://", "https://", "//")), (tag, attr, value[:80])
        assert value.startswith(("data:", "#")), (tag, attr, value[:80])
    text = " ".join(parsed.text)
    for request in run.requests:
        method = get(request.method)
        assert method.name in text and method.provenance in text
    assert get(FAST_NETWORKS[0]).sha256 in text
    for row in run.scores.rows:
        for m in run.scores.metrics:
            assert m.format(row.values[m.name]) in text, (row.method, m.name)
    assert run.pipeline in text and "for this image, at this scale, on this computer" in text
    assert "above the reference's curve" in text and "Machine and libraries" in text
    assert page.count("<svg") >= 5 and "@page { size: A4" in page and "break-inside: avoid" in page


def test_every_inline_chart_keeps_its_own_ids(handout):
    import re

    _, page = handout
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_bench_cli_writes_the_report(tmp_path, clean):
    hr = tmp_path / "hr"
    hr.mkdir()
    cv2.imwrite(str(hr / "face.png"), cv2.cvtColor(clean[:128, :128], cv2.COLOR_RGB2BGR))
    out = tmp_path / "bench.html"
    proc = subprocess.run([sys.executable, "-m", "core", "bench", "--hr", hr, "--scale", "4", "--methods",
                           f"bicubic,{FAST_NETWORKS[0]}", "--report", out, "-q"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert get(FAST_NETWORKS[0]).sha256 in page and "Summary: mean over the images" in page
    assert "Zoomed crops: face.png" in page and "Frequency view: face.png" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    psnr = METRICS.get("psnr_db")
    assert not math.isnan(float(proc.stdout.splitlines()[-2].split()[1])) and psnr.heading in proc.stdout


def test_on_a_machine_busier_than_when_it_was_measured_the_budget_counts_todays_pace(pair, monkeypatch):
    """Issue 48: under load the lesson's '… within 60 s' ran 91 s: each network was started on the quiet-machine
    measurement. The pace seen so far now stretches the next one's expectation."""
    times = {"realesr-animevideov3": 1e-6, "SPAN_x4": 1.0}  # the first really takes ≥ 1000× this (ms at least)
    monkeypatch.setattr(ranking, "expected_time", lambda method, h, w: times.get(method.name))
    result = ranking.try_networks(pair.lr, 4, ["SPAN_x4", "realesr-animevideov3"], reference=pair.hr, budget_s=20)
    assert result.run_order == ["realesr-animevideov3"]
    assert [s.name for s in result.skipped] == ["SPAN_x4"] and "slower now" in result.skipped[0].why
