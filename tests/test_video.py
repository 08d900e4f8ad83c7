"""Clips: decode → process → encode with real parts (PyAV's FFmpeg, the engine, basicsr's BasicVSR with the
official weights), on small clips made here."""
import dataclasses
import json
import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest

from core.io.video import VideoError, Writer, open_clip
from core.methods import VIDEO_METHODS, for_clips
from core.pipeline.engine import Request, run
from core.video import builtin
from core.video.measures import ClipScorer, flicker_pair
from core.video.processing import process
from tests.conftest import ROOT, use_settings

# irregular timestamps (ms): a variable-rate clip, so a kept frame rate alone would not pass
PTS_MS = [0, 40, 90, 130, 170, 230, 270, 310, 360, 400, 440, 480]  # _make_mp4 writes 12 frames


def _make_mp4(path, frames=12, size=(64, 48), audio=True, pts=PTS_MS):
    import av

    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt, v.time_base = size[0], size[1], "yuv420p", Fraction(1, 1000)
        v.codec_context.time_base = Fraction(1, 1000)  # else the encoder rounds timestamps to 1/25 s
        a = out.add_stream("aac", rate=16000) if audio else None
        rng = np.random.default_rng(0)
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(rng.integers(0, 255, (size[1], size[0], 3), np.uint8), format="rgb24")
            f.pts, f.time_base = pts[i] if pts else i * 40, Fraction(1, 1000)
            for p in v.encode(f):
                out.mux(p)
        if a is not None:
            t = np.arange(16000) / 16000
            af = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                            format="flt", layout="mono")
            af.sample_rate, af.pts = 16000, 0
            for p in [*a.encode(af), *a.encode(None)]:
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return path


def test_decode_then_encode_keeps_frame_count_timestamps_and_audio(tmp_path):
    clip = open_clip(_make_mp4(tmp_path / "in.mp4"))
    assert clip.info.frames == len(PTS_MS) and clip.info.audio
    seen = [f.seconds for f in clip.frames()]
    assert seen == pytest.approx([p / 1000 for p in PTS_MS])
    writer = Writer(tmp_path / "out.mp4", clip.info.time_base, clip.info.rate, audio_from=clip.path)
    for f in clip.frames():
        writer.write(np.repeat(np.repeat(f.pixels, 2, 0), 2, 1), f.pts)
    writer.close()
    again = open_clip(tmp_path / "out.mp4")
    assert again.info.frames == len(PTS_MS) and again.info.audio and (again.info.width, again.info.height) == (128, 96)
    assert [f.seconds for f in again.frames()] == pytest.approx(seen, abs=1e-3)
    assert any("audio stream (aac) copied" in n for n in writer.notes)


def test_an_animated_gif_streams_with_its_frame_durations(tmp_path):
    from PIL import Image

    frames = [Image.fromarray(np.full((20, 30, 3), 40 * i, np.uint8)) for i in range(4)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=[50, 100, 70, 80])
    clip = open_clip(tmp_path / "a.gif")
    got = list(clip.frames())
    assert [f.seconds for f in got] == pytest.approx([0, 0.05, 0.15, 0.22])
    assert got[2].pixels.shape == (20, 30, 3) and abs(int(got[2].pixels[0, 0, 0]) - 80) <= 2


@pytest.mark.parametrize("suffix, codec", [(".webm", "libvpx-vp9"), (".mov", "libx264"), (".mkv", "libx264")])
def test_webm_mov_and_mkv_stream_with_their_timestamps(tmp_path, suffix, codec):
    import av

    path = tmp_path / f"c{suffix}"
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=10)
        v.width, v.height, v.pix_fmt = 32, 24, "yuv420p"
        for i in range(5):
            f = av.VideoFrame.from_ndarray(np.full((24, 32, 3), 50 * i, np.uint8), format="rgb24")
            f.pts = i
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    got = list(open_clip(path).frames())
    assert [round(f.seconds, 3) for f in got] == [0, 0.1, 0.2, 0.3, 0.4]
    assert abs(int(got[3].pixels.mean()) - 150) <= 3


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_animated_png_and_webp_stream_with_their_durations(tmp_path, suffix):
    from PIL import Image

    frames = [Image.fromarray(np.full((16, 24, 3), 60 * i, np.uint8)) for i in range(3)]
    frames[0].save(tmp_path / f"a{suffix}", save_all=True, append_images=frames[1:], duration=[40, 60, 80],
                   **({"lossless": True} if suffix == ".webp" else {}))
    got = list(open_clip(tmp_path / f"a{suffix}").frames())
    assert [f.seconds for f in got] == pytest.approx([0, 0.04, 0.1])
    assert [int(f.pixels[0, 0, 0]) for f in got] == [0, 60, 120]


@pytest.mark.parametrize("setting, value, words", [
    ("video_max_frames", 5, "SRLAB_VIDEO_MAX_FRAMES"),
    ("video_max_seconds", 0.2, "SRLAB_VIDEO_MAX_SECONDS"),
    ("video_max_frame_pixels", 1000, "SRLAB_VIDEO_MAX_FRAME_PIXELS"),
])
def test_a_clip_over_each_bound_gets_one_line(tmp_path, monkeypatch, setting, value, words):
    path = _make_mp4(tmp_path / "in.mp4", audio=False)
    use_settings(monkeypatch, **{setting: value})
    with pytest.raises(VideoError) as err:
        list(open_clip(path).frames())
    assert words in str(err.value) and "\n" not in str(err.value) and "in.mp4" in str(err.value)


def test_a_bound_the_header_does_not_tell_is_checked_as_frames_come(monkeypatch):
    from core.io.video import clip_from_arrays

    use_settings(monkeypatch, video_max_frames=3)
    clip = clip_from_arrays("stream", lambda: (np.zeros((8, 8, 3), np.uint8) for _ in range(10)))  # no count
    with pytest.raises(VideoError, match="more than 3 frames"):
        list(clip.frames())


@pytest.mark.parametrize("content", [b"", b"\x00" * 5000, b"ftyp" + bytes(range(256)) * 20])
def test_a_broken_file_gets_one_line(tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError) as err:
        list(open_clip(path).frames())
    assert str(err.value).startswith("broken.mp4: ") and "\n" not in str(err.value)


def test_a_truncated_clip_gets_one_line(tmp_path):
    good = _make_mp4(tmp_path / "good.mp4", audio=False).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(good[: len(good) // 2])
    with pytest.raises(VideoError) as err:
        list(open_clip(tmp_path / "cut.mp4").frames())
    assert str(err.value).startswith("cut.mp4: ") and "\n" not in str(err.value)


RSS = textwrap.dedent("""
    import resource, sys
    from fractions import Fraction
    import numpy as np
    from core.io.video import Writer, open_clip
    from core.video.processing import process
    from tests.test_video import _make_mp4
    n, tmp = int(sys.argv[1]), sys.argv[2]
    _make_mp4(f"{tmp}/in{n}.mp4", frames=n, size=(64, 48), audio=False, pts=None)
    clip = open_clip(f"{tmp}/in{n}.mp4")
    w = Writer(f"{tmp}/out{n}.mp4", clip.info.time_base, clip.info.rate)
    done = 0
    for frame, out in process(clip, "bicubic"):
        w.write(out, frame.pts); done += 1
    w.close()
    # VmHWM: this program's own peak (ru_maxrss starts at the parent's size at fork: pytest's GBs after a suite)
    hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")]
    print(done, (hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) // 1024)
""")


def test_peak_memory_of_a_long_clip_does_not_grow_with_its_length(tmp_path):
    """600 frames vs 60 (64×48 → 256×192, bicubic, H.264 out): the peak RSS differs by under 25 MB (600 frames
    held would be 600 × (9 KB in + 147 KB out) = 94 MB more), and stays under 600 MB."""
    peaks = {}
    for n in (60, 600):
        out = subprocess.run([sys.executable, "-c", RSS, str(n), str(tmp_path)], cwd=ROOT, capture_output=True,
                             text=True, timeout=600, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
        assert out.returncode == 0, out.stderr[-2000:]
        done, peak = map(int, out.stdout.split())
        assert done == n
        peaks[n] = peak
    assert peaks[600] - peaks[60] < 25, peaks
    assert peaks[600] < 600, peaks


@pytest.mark.parametrize("method", ["bicubic", "realesr-animevideov3"])
def test_each_frame_of_a_clip_equals_the_image_path_on_that_frame(method):
    clip = builtin.clip(3)
    outs = list(process(clip, method, outscale=4))
    assert len(outs) == 3
    for frame, out in outs:
        alone = run(frame.pixels, Request.make(method, outscale=4)).pixels
        assert np.array_equal(out, alone)


def test_basicvsr_equals_basicsrs_basicvsr_fed_directly_with_the_same_weights():
    import torch
    from basicsr.archs.basicvsr_arch import BasicVSR

    spec = VIDEO_METHODS.get("BasicVSR_REDS4")
    assert spec.consumes == "sequence" and for_clips("bicubic").consumes == "frame"
    state = torch.load(spec.weights_path(), map_location="cpu", weights_only=True)["params"]
    direct = BasicVSR(num_feat=64, num_block=30, spynet_path=None)
    direct.load_state_dict(state, strict=True)
    direct.eval()
    hr = builtin.reference(3)
    frames = [f.pixels[:64, 100:164].astype(np.float32) / 255 for f in hr.frames()]  # 64×64 crops
    ours = list(spec.upscale_sequence(iter(frames)))
    with torch.inference_mode():
        theirs = direct(torch.from_numpy(np.stack([f.transpose(2, 0, 1) for f in frames]))[None])[0]
    theirs = theirs.clamp(0, 1).numpy().transpose(0, 2, 3, 1)
    assert len(ours) == 3 and ours[0].shape == (256, 256, 3)
    np.testing.assert_allclose(np.stack(ours), theirs, atol=1e-6)


def test_basicvsr_windows_bound_memory_and_give_every_frame_inner_context(monkeypatch):
    """The windowing without the network: each window holds at most `window` frames, every frame is output once
    in order, and an output frame has `overlap` frames of context on each side that is not the clip's end."""
    spec = VIDEO_METHODS.get("BasicVSR_REDS4")
    windows = []

    def forward(self, frames, on_step=None):
        windows.append([int(f[0, 0, 0]) for f in frames])
        return [np.full((4, 4, 3), f[0, 0, 0], np.float32) for f in frames]

    monkeypatch.setattr(type(spec), "forward", forward)
    n = 40
    out = [int(o[0, 0, 0]) for o in spec.upscale_sequence(np.full((1, 1, 3), i, np.float32) for i in range(n))]
    assert out == list(range(n))
    assert max(map(len, windows)) <= spec.window and len(windows) > 1
    for i in range(n):
        window = next(w for w in windows if i in w and (min(w) + spec.overlap <= i or min(w) == 0)
                      and (i + spec.overlap <= max(w) or max(w) == n - 1))
        assert window


def test_a_video_network_at_another_scale_is_its_x4_then_a_lanczos_resize_said(monkeypatch):
    spec = VIDEO_METHODS.get("BasicVSR_Vimeo90K_BI")
    monkeypatch.setattr(type(spec), "forward", lambda self, frames, on_step=None: [np.repeat(np.repeat(f, 4, 0), 4, 1)
                                                                      for f in frames])
    from core.video.processing import ClipRun

    record = ClipRun("")
    outs = list(process(builtin.clip(3), spec.name, outscale=2, record=record))
    assert [o.shape for _, o in outs] == [(128, 192, 3)] * 3 and [f.index for f, _ in outs] == [0, 1, 2]
    assert "×4 over the sequence" in record.how and "×0.5 Lanczos resize (384×256 → 192×128)" in record.how


def test_flicker_is_zero_for_a_static_scene_and_four_d_squared_for_a_jitter_of_d():
    photo = builtin.reference(1).frames().__next__().pixels[:64, :96].astype(np.float32) / 255
    photo = 0.1 + 0.8 * photo  # no clipping under the jitter
    static = ClipScorer(full=["psnr_db"])
    for _ in range(4):
        static.add((photo * 255 + 0.5).astype(np.uint8), (photo * 255 + 0.5).astype(np.uint8))
    assert static.summary()["flicker"] == 0.0
    d = 0.02
    values = [flicker_pair(photo + d * (-1) ** t, photo + d * (-1) ** (t + 1), photo, photo) for t in range(3)]
    assert values == pytest.approx([1000 * (2 * d) ** 2] * 3, rel=1e-3)


def test_an_output_exactly_as_steady_as_a_moving_reference_scores_zero_and_a_jittered_one_more():
    ref = [f.pixels.astype(np.float32) / 255 for f in builtin.reference(4).frames()]
    assert flicker_pair(ref[0], ref[1], ref[0], ref[1]) == 0.0
    rng = np.random.default_rng(0)
    noisy = [np.clip(r + rng.normal(0, 0.02, r.shape).astype(np.float32), 0, 1) for r in ref]
    assert flicker_pair(noisy[1], noisy[2], ref[1], ref[2]) > 0.5  # ≈ 1000·2·0.02² = 0.8 of invented change


def test_side_by_side_is_one_clip_of_the_outputs_left_to_right(tmp_path):
    from core.video.job import side_by_side

    a = _make_mp4(tmp_path / "a.mp4", frames=5, audio=False, pts=None)
    b = _make_mp4(tmp_path / "b.mp4", frames=5, audio=False, pts=None)
    both = open_clip(side_by_side([a, b], tmp_path / "both.mp4"))
    assert (both.info.width, both.info.height, both.info.frames) == (128, 48, 5)
    left, one = next(both.frames()).pixels, next(open_clip(a).frames()).pixels
    assert np.abs(left[:, :64].astype(int) - one).mean() < 8  # H.264 twice: close, not equal


def test_the_cli_writes_video_scores_and_frames_and_a_rerun_skips(tmp_path, capsys):
    from core.cli import main

    args = ["video", "builtin:pan", "--builtin-frames", "3", "-m", "bicubic", "-o", str(tmp_path), "--frames"]
    assert main(args) == 0
    report = json.loads((tmp_path / "builtin-pan__bicubic.json").read_text())
    assert report["run"]["frames"] == 3 and report["summary"]["psnr_db"] > 20 and "flicker" in report["summary"]
    assert len(list((tmp_path / "builtin-pan__bicubic_frames").glob("*.png"))) == 3
    assert open_clip(tmp_path / "builtin-pan__bicubic.mp4").info.frames == 3
    assert (tmp_path / "builtin-pan__bicubic.csv").read_text().count("\n") == 4
    capsys.readouterr()
    assert main(args) == 0
    assert "already done" in capsys.readouterr().out


def test_a_bad_clip_in_the_cli_is_one_line_and_the_others_go_on(tmp_path, capsys):
    from core.cli import main

    (tmp_path / "bad.mp4").write_bytes(b"not a clip")
    code = main(["video", str(tmp_path / "bad.mp4"), "builtin:pan", "--builtin-frames", "2", "-m", "bicubic",
                 "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "error: bad.mp4: not a clip FFmpeg can read" in err
    assert (tmp_path / "out" / "builtin-pan__bicubic.mp4").exists()


def test_two_clips_of_one_name_get_two_outputs_and_the_same_clip_twice_is_refused(tmp_path, capsys):
    """Issue 48.1 for clips: a/x.mp4 and b/x.mp4 used to share x__nearest.*, the second "already done, skipped"."""
    from core.cli import main

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _make_mp4(tmp_path / folder / "x.mp4", frames=2, audio=False, pts=None)
    a, b = str(tmp_path / "a" / "x.mp4"), str(tmp_path / "b" / "x.mp4")
    assert main(["video", a, b, "-m", "nearest", "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == ["a-x-mp4__nearest.json",
                                                                         "b-x-mp4__nearest.json"]
    assert "skipped" not in capsys.readouterr().out
    assert main(["video", a, a, "-m", "nearest", "-o", str(tmp_path / "again")]) == 2
    assert "given twice" in capsys.readouterr().err and not (tmp_path / "again").exists()


def test_frame_at_decodes_one_frame_of_an_mp4_held_as_bytes(tmp_path):
    from core.io.video import frame_at

    path = _make_mp4(tmp_path / "a.mp4", frames=5, audio=False, pts=None)
    frames = [f.pixels for f in open_clip(path).frames()]
    data = path.read_bytes()
    assert all(np.array_equal(frame_at(data, i), frames[i]) for i in (0, 3, 4))
    assert np.array_equal(frame_at(data, 99), frames[-1])  # past the end: the last
    with pytest.raises(VideoError, match="not a clip FFmpeg can read"):
        frame_at(b"not a clip", 0)


def test_a_degraded_clip_keeps_its_frames_divides_the_size_and_repeats_with_its_seed():
    from core.quality.degrade import Degradation, make_pair
    from core.video.degrade import degrade_clip

    truth = builtin.clip(3)  # 96×64
    d = Degradation(scale=4, blur_sigma=0.8, noise_sigma=8, jpeg_quality=70, seed=5)
    lr, hr = degrade_clip(truth, d)
    a, b = [f.pixels for f in lr.frames()], [f.pixels for f in degrade_clip(truth, d)[0].frames()]
    assert len(a) == 3 and (lr.info.width, lr.info.height) == (24, 16) and a[0].shape == (16, 24, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # same seed, same pixels
    assert not np.array_equal(a[0], degrade_clip(truth, dataclasses.replace(d, seed=6))[0].frames().__next__().pixels)
    first = next(truth.frames()).pixels
    assert np.array_equal(a[0], make_pair(first, d).lr)  # the lab's one degradation, frame 0 with the seed itself
    assert [f.pts for f in lr.frames()] == [f.pts for f in truth.frames()]
    assert [f.pixels.shape for f in hr.frames()] == [(64, 96, 3)] * 3
    odd = degrade_clip(truth, Degradation(scale=3))  # 96×64 cut to 96×63
    assert (odd[1].info.width, odd[1].info.height, odd[0].info.width, odd[0].info.height) == (96, 63, 32, 21)


def test_a_cancelled_compare_keeps_the_methods_it_finished_and_the_same_call_runs_only_the_rest(tmp_path):
    from core.video.job import ClipJob, compare, finished

    job = ClipJob(source="builtin:pan", methods=("nearest", "bicubic"), builtin_frames=2)
    steps = []

    def cancel_on_the_second(fraction, message):
        steps.append((fraction, message))
        if message.startswith("bicubic"):
            raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt):
        compare(job, cancel_on_the_second, folder=tmp_path / "run")
    assert finished(job, tmp_path / "run") == ["nearest"]
    assert "1 frame left in all" in steps[0][1] or "frames left in all" in steps[0][1]
    assert not list((tmp_path / "run" / "out").glob("*bicubic*.mp4"))  # the interrupted one: no part left
    again = []
    result = compare(job, lambda f, m: again.append(m), folder=tmp_path / "run")
    assert result.methods["nearest"].resumed and not result.methods["bicubic"].resumed
    assert not any(m.startswith("nearest") for m in again)  # only what was left ran
    assert not (tmp_path / "run").exists()  # done: the result holds the bytes
    assert result.reference is not None and result.scale == 4


def test_time_left_is_the_frames_left_at_the_pace_measured(monkeypatch):
    from types import SimpleNamespace

    from core.video import job as J

    clock = iter([0.0, 10.0, 0.0])
    monkeypatch.setattr(J, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    pace = J._Pace(methods_left=3, count=10)  # started at 0
    left, frames = pace.left(done=5, fps=0.5)  # 10 s in, 5 frames run: this method 5 more at 0.5 fps, 20 later at 0.5
    assert frames == 25 and left == pytest.approx(5 / 0.5 + 20 / 0.5)
    assert J._Pace(1, None).left(3, 1.0) == (None, None)  # frames not in the header: no promise


def test_old_run_folders_are_pruned_newest_kept(tmp_path, monkeypatch):
    import os

    from core.video import job as J

    monkeypatch.setattr(J, "runs_root", lambda: tmp_path)
    for i in range(5):
        (tmp_path / f"r{i}").mkdir()
        os.utime(tmp_path / f"r{i}", (i, i))
    J.prune_runs(keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r3", "r4"]
    one = J.ClipJob(source="a.mp4", methods=("bicubic",))
    assert J.run_folder("s", one, b"x") == J.run_folder("s", J.ClipJob(source="a.mp4", methods=("nearest",)), b"x")
    assert J.run_folder("s", one, b"x") != J.run_folder("s", one, b"y") != J.run_folder("t", one, b"y")


def test_the_video_handout_holds_frames_curves_and_means():
    from core.video.handout import video_html
    from core.video.job import ClipJob, compare

    result = compare(ClipJob(source="builtin:pan", methods=("nearest", "bicubic"), builtin_frames=3), lambda f, m: None)
    html = video_html(result, name="pan", headings={"psnr_db": "PSNR (dB)", "flicker": "Flicker"})
    assert html.count("<h2>Frame ") == 3 and "Frame 2 of 0–2" in html  # first, middle, last
    assert html.count('<img src="data:image/png') == 3 * 4  # two results, the reference, the input
    assert "reference (the truth)" in html and "nearest (classical ×4 per frame)" in html
    assert html.count("<svg") >= 2 and "Means over the clip" in html and "PSNR (dB)" in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing fetched


@pytest.mark.ray
def test_clips_on_a_ray_cluster_one_task_per_clip(head, tmp_path):
    from core.serve import distributed
    from core.video.job import ClipJob, run_clips

    _make_mp4(tmp_path / "a.mp4", frames=4, audio=True, pts=None)
    jobs = [ClipJob(source=str(tmp_path / "a.mp4"), methods=("bicubic",)),
            ClipJob(source="builtin:pan", methods=("bicubic",), builtin_frames=2)]
    done = run_clips(jobs, tmp_path / "out", pool=distributed.RayPool())
    assert [d.error for d in done] == [None, None]
    assert open_clip(tmp_path / "out" / "a__bicubic.mp4").info.audio
    assert json.loads((tmp_path / "out" / "builtin-pan__bicubic.json").read_text())["run"]["frames"] == 2
    again = run_clips(jobs, tmp_path / "out", pool=distributed.RayPool())
    assert all(d.skipped for d in again)


if "pytest" in sys.modules:  # the Ray head fixture, shared with tests/test_ray.py (not run by these tests alone)
    try:
        from tests.test_ray import head  # noqa: F401
    except ImportError:  # ray not installed: the marked test is deselected or skipped anyway
        pass
