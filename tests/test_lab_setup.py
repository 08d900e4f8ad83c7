"""scripts/lab.py, the set-up behind `make run` / `make test`, as it would run on Windows, macOS and Linux: its paths,
the pip command lines for each system and torch build, what a second run skips. Nothing is installed: a recorder
stands in for the commands."""
import builtins
import os
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from scripts import lab

VERSIONS = {"torch": "2.14.1", "torchvision": "0.29.1", "numpy": "2.4.6"}


def test_the_venv_python_is_in_scripts_on_windows_and_in_bin_elsewhere():
    win = PureWindowsPath(r"C:\Users\teacher\sr-lab\.venv")
    assert lab.venv_python(win, "Windows") == PureWindowsPath(r"C:\Users\teacher\sr-lab\.venv\Scripts\python.exe")
    assert str(lab.venv_python(win, "Windows")) == r"C:\Users\teacher\sr-lab\.venv\Scripts\python.exe"
    for system in ("Linux", "Darwin"):
        assert lab.venv_python(PurePosixPath("/home/t/sr-lab/.venv"), system) == PurePosixPath(
            "/home/t/sr-lab/.venv/bin/python")
    assert lab.pip_command(lab.venv_python(win, "Windows"), ["install", "-q", "wheel"]) == [
        r"C:\Users\teacher\sr-lab\.venv\Scripts\python.exe", "-m", "pip", "install", "-q", "wheel"]


def test_the_pins_are_read_from_the_requirements_file():
    assert lab.pins((Path(lab.ROOT) / "requirements.txt").read_text())["torch"] == "2.14.1"
    assert lab.pins("# a comment\nTorch==1.0  # why\nx>=2\n\nnumpy == 2.4.6\n") == {"torch": "1.0", "numpy": "2.4.6"}


@pytest.mark.parametrize("system", ["Windows", "Darwin"])
@pytest.mark.parametrize("build", ["cpu", "cuda"])
def test_windows_and_macos_take_the_registry_torch_and_never_ask_the_cpu_index(system, build):
    (choice,) = lab.torch_choices(build, system, VERSIONS)
    assert choice.installs == (("install", "-q", "torch==2.14.1", "torchvision==0.29.1", "numpy==2.4.6"),)
    assert choice.after == ()
    assert "index-url" not in " ".join(a for args in choice.installs for a in args)
    assert ("CUDA" in choice.says) == (build == "cuda"), choice.says  # cuda: said there is none for it
    if system == "Darwin":
        assert "mps" in choice.says


def test_linux_cpu_tries_pytorchs_cpu_index_in_5_s_then_the_registry_less_triton():
    first, fallback = lab.torch_choices("cpu", "Linux", VERSIONS)
    assert first.installs[0] == ("install", "-q", "--no-deps", "--timeout", "5", "--retries", "0", "--index-url",
                                 lab.CPU_INDEX, "torch==2.14.1+cpu", "torchvision==0.29.1+cpu")
    assert first.installs[1] == ("install", "-q", *lab.TORCH_NEEDS, "numpy==2.4.6")
    assert fallback.installs == (("install", "-q", "torch==2.14.1", "torchvision==0.29.1", "numpy==2.4.6"),)
    assert fallback.after == (("uninstall", "-q", "-y", "triton"),)
    (cuda,) = lab.torch_choices("cuda", "Linux", VERSIONS)
    assert cuda.installs == fallback.installs and cuda.after == ()
    with pytest.raises(ValueError, match="rocm"):
        lab.torch_choices("rocm", "Linux", VERSIONS)


def test_a_stamp_counts_only_with_the_same_files_and_build():
    files = {"requirements.txt": b"torch==2.14.1\n", "scripts/lab.py": b"x"}
    d = lab.digest(files, "cpu")
    assert lab.is_current(d + "\n", d)
    assert not lab.is_current(None, d) and not lab.is_current("", d)  # no stamp; the old Makefile's empty one
    assert lab.digest({**files, "requirements.txt": b"torch==2.14.2\n"}, "cpu") != d
    assert lab.digest({**files, "scripts/lab.py": b"y"}, "cpu") != d
    assert lab.digest(files, "cuda") != d
    assert lab.other_builds([".installed-cuda", ".installed-dev"], "cpu") == ["cuda"]
    assert lab.other_builds([".installed-cpu", ".installed-dev"], "cpu") == []


class Recorder:
    """Runs nothing: records each command; `fail` names a word whose commands exit 1."""

    def __init__(self, fail: str | None = None):
        self.commands, self.fail = [], fail

    def __call__(self, cmd, cwd, quiet=False, env=None):
        self.commands.append(cmd)
        return 1 if self.fail and self.fail in cmd else 0

    def pip(self):
        return [c[c.index("pip") + 1:] for c in self.commands if "pip" in c]


@pytest.fixture
def checkout(tmp_path):
    for name in ("requirements.txt", "requirements-nodeps.txt", "requirements-dev.txt"):
        (tmp_path / name).write_text((Path(lab.ROOT) / name).read_text())
    return tmp_path


@pytest.fixture
def no_proc(monkeypatch):
    """Any look at /proc fails the test (macOS and Windows have none)."""
    def guarded(real):
        def look(path, *args, **kwargs):
            assert not os.fspath(path).startswith("/proc"), f"looked at {path}"
            return real(path, *args, **kwargs)
        return look

    for module, name in ((builtins, "open"), (os, "open"), (os, "stat"), (os, "scandir"), (os, "listdir")):
        monkeypatch.setattr(module, name, guarded(getattr(module, name)))


@pytest.mark.parametrize("system", ["Windows", "Darwin", "Linux"])
def test_the_setup_from_scratch_then_a_second_run_skips_it(checkout, no_proc, system):
    runner = Recorder()
    said = []
    box = lab.Lab(root=checkout, system=system, runner=runner, python="python3.11", env={}, say=said.append)
    (checkout / ".venv").mkdir()  # the recorder makes no venv: the stamps need its folder
    box.setup()
    py = str(lab.venv_python(checkout / ".venv", system))
    assert runner.commands[0] == ["python3.11", "-m", "venv", str(checkout / ".venv")]
    assert all(c[0] == py for c in runner.commands[1:]), runner.commands
    pip = runner.pip()
    assert pip[0] == ["install", "-q", "setuptools", "wheel"]
    assert ["install", "-q", "--no-build-isolation", "-r", "requirements.txt"] in pip
    assert ["install", "-q", "--no-build-isolation", "--no-deps", "-r", "requirements-nodeps.txt"] in pip
    assert runner.commands[-1] == [py, "-c", lab.TORCH_CHECK]
    asked_cpu_index = any("--index-url" in c for c in pip)
    assert asked_cpu_index == (system == "Linux")
    assert (checkout / ".venv" / ".installed-cpu").is_file()

    runner.commands.clear()
    box.setup()
    assert runner.commands == [], "a second run set up again"
    box.dev()
    assert runner.pip() == [["install", "-q", "-r", "requirements-dev.txt"]]
    runner.commands.clear()
    box.dev()
    assert runner.commands == []

    (checkout / "requirements.txt").write_text((checkout / "requirements.txt").read_text() + "tqdm==4.70.1\n")
    box.dev()  # a changed requirements file: the setup again, and the test tools after it
    assert ["install", "-q", "--no-build-isolation", "-r", "requirements.txt"] in runner.pip()
    assert runner.pip()[-1] == ["install", "-q", "-r", "requirements-dev.txt"]


def test_linux_falls_back_to_the_registry_when_the_cpu_index_does_not_answer(checkout, no_proc):
    runner = Recorder(fail="torch==2.14.1+cpu")
    said = []
    (checkout / ".venv").mkdir()
    lab.Lab(root=checkout, system="Linux", runner=runner, env={}, say=said.append).setup()
    pip = runner.pip()
    assert ["install", "-q", "torch==2.14.1", "torchvision==0.29.1", "numpy==2.4.6"] in pip
    assert pip.index(["uninstall", "-q", "-y", "triton"]) > pip.index(
        ["install", "-q", "--no-build-isolation", "--no-deps", "-r", "requirements-nodeps.txt"])
    assert any("did not answer" in line for line in said) and "less triton" in said[-1]


def test_switching_builds_uninstalls_the_other_torch_first(checkout, tmp_path):
    venv = checkout / ".venv"
    python = Path(lab.venv_python(venv, "Linux"))
    python.parent.mkdir(parents=True)
    python.write_text("")  # an existing venv
    (venv / ".installed-cpu").write_text("old\n")
    runner = Recorder()
    lab.Lab(root=checkout, system="Linux", build="cuda", runner=runner, env={}, say=lambda _: None).setup()
    assert runner.pip()[0] == ["uninstall", "-q", "-y", "torch", "torchvision"]
    assert not (venv / ".installed-cpu").exists() and (venv / ".installed-cuda").is_file()


def test_the_commands_run_the_tools_through_the_venv_python(checkout, no_proc, monkeypatch):
    runner = Recorder()
    box = lab.Lab(root=checkout, system="Windows", runner=runner, env={}, say=lambda _: None)
    monkeypatch.setattr(box, "setup", lambda: None)
    monkeypatch.setattr(box, "dev", lambda: None)
    monkeypatch.setattr(lab, "find_chromium", lambda *a, **k: r"C:\Program Files\Google\Chrome\Application\chrome.exe")
    py = str(lab.venv_python(checkout / ".venv", "Windows"))
    assert box.test(["tests/test_docs.py", "-x"]) == 0
    assert runner.commands == [[py, "-m", "ruff", "check", "."], [py, "-m", "core", "prepare", "--no-measure"],
                               [py, "-m", "pytest", "tests/test_docs.py", "-x"]]
    runner.commands.clear()
    box.run(8611)
    assert runner.commands == [[py, "-m", "core", "prepare"],
                               [py, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", "8611"]]


def test_main_passes_what_follows_the_double_dash_to_pytest_only(monkeypatch):
    seen = {}

    class Fake:
        def __init__(self, build):
            seen["build"] = build

        def test(self, args):
            seen["args"] = args
            return 0

        def run(self, port):
            seen["port"] = port
            return 0

    monkeypatch.delenv("TORCH", raising=False)
    assert lab.main(["test", "--", "tests/test_docs.py", "-k", "readme"], lab_factory=Fake) == 0
    assert seen == {"build": "cpu", "args": ["tests/test_docs.py", "-k", "readme"]}
    monkeypatch.setenv("TORCH", "cuda")
    assert lab.main(["run", "--port", "8611"], lab_factory=Fake) == 0
    assert seen["build"] == "cuda" and seen["port"] == 8611
    with pytest.raises(SystemExit):
        lab.main(["run", "--", "-x"], lab_factory=Fake)


def test_chromium_is_looked_for_where_windows_and_macos_keep_it():
    env = {"PROGRAMFILES": r"C:\Program Files", "PROGRAMFILES(X86)": r"C:\Program Files (x86)",
           "LOCALAPPDATA": r"C:\Users\t\AppData\Local"}
    win = lab.chromium_candidates("Windows", env, PureWindowsPath(r"C:\Users\t"))
    assert PureWindowsPath(r"C:\Program Files\Google\Chrome\Application\chrome.exe") in win
    assert PureWindowsPath(r"C:\Users\t\AppData\Local\Chromium\Application\chrome.exe") in win
    assert PureWindowsPath(r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe") in win
    assert all(isinstance(p, PureWindowsPath) for p in win)
    mac = lab.chromium_candidates("Darwin", {}, PurePosixPath("/Users/t"))
    assert PurePosixPath("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome") in mac
    assert PurePosixPath("/Users/t/Applications/Chromium.app/Contents/MacOS/Chromium") in mac
    assert lab.playwright_browsers("Windows", env, PureWindowsPath(r"C:\Users\t")) == PureWindowsPath(
        r"C:\Users\t\AppData\Local\ms-playwright")
    assert lab.playwright_browsers("Darwin", {}, PurePosixPath("/Users/t")) == PurePosixPath(
        "/Users/t/Library/Caches/ms-playwright")


def test_chromium_is_found_in_playwrights_folder_or_not_at_all(tmp_path, no_proc):
    nothing = lambda name: None  # noqa: E731
    assert lab.find_chromium("Darwin", {}, tmp_path, which=nothing) is None
    chrome = tmp_path / "Library/Caches/ms-playwright/chromium-1200/chrome-mac-arm64/Google Chrome for Testing.app"
    chrome = chrome / "Contents/MacOS/Google Chrome for Testing"
    chrome.parent.mkdir(parents=True)
    chrome.write_text("")
    assert lab.find_chromium("Darwin", {}, tmp_path, which=nothing) == str(chrome)
    mine = tmp_path / "my-chromium"
    mine.write_text("")
    assert lab.find_chromium("Darwin", {"SRLAB_CHROMIUM": str(mine)}, tmp_path, which=nothing) == str(mine)


def test_the_script_prints_on_any_console():
    """ASCII only: a Windows console in cp1252 prints every line the set-up says."""
    assert (Path(lab.ROOT) / "scripts" / "lab.py").read_bytes().isascii()
