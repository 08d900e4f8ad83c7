"""Fetching pinned weights, against a loopback HTTP server (127.0.0.1 only; no internet here or in CI)."""
import hashlib
import http.server
import re
import subprocess
import sys
import threading
import time

import pytest

from core.weights import fetch as fetching
from core.weights.fetch import MANIFEST, FetchError, WeightFile, fetch
from tests.conftest import ROOT

PAYLOAD = bytes(range(256)) * 4096 * 3  # 3 MB, three chunks


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    cut_after: int | None = None      # close the connection after this many bytes (an interrupted transfer)
    requests: list[str]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.headers.get("Range", "full"))
        start = 0
        if rng := self.headers.get("Range"):
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.server.cut_after is not None and not rng:
            self.wfile.write(body[:self.server.cut_after])
            self.wfile.flush()
            self.connection.close()
            return
        time.sleep(0.2)  # long enough for a second client to arrive while this one downloads
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    srv.requests = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


def manifest_for(server, sha=None, size=len(PAYLOAD)):  # noqa: B008  (a constant)
    url = f"http://127.0.0.1:{server.server_address[1]}/weights.pth"
    entry = WeightFile("weights.pth", url, sha or hashlib.sha256(PAYLOAD).hexdigest(), size, "test", "test file")
    return {"test": (entry,)}


def test_success_is_verified_and_renamed_into_place(server, tmp_path):
    seen = []
    paths = fetch("test", folder=tmp_path, manifest=manifest_for(server), on_bytes=lambda d, t, s: seen.append((d, t)))
    assert paths == [tmp_path / "weights.pth"] and paths[0].read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and len(seen) >= 3
    assert not list(tmp_path.glob(".*.part"))
    fetch("test", folder=tmp_path, manifest=manifest_for(server))  # present: nothing downloaded again
    assert server.requests == ["full"]


def test_an_interrupted_transfer_resumes_with_a_range_request(server, tmp_path):
    server.cut_after = 1_000_000
    with pytest.raises(FetchError, match="run the fetch again: it resumes"):
        fetch("test", folder=tmp_path, manifest=manifest_for(server))
    assert (tmp_path / ".weights.pth.part").stat().st_size == 1_000_000
    fetch("test", folder=tmp_path, manifest=manifest_for(server))
    assert server.requests == ["full", "bytes=1000000-"]
    assert (tmp_path / "weights.pth").read_bytes() == PAYLOAD


def test_a_wrong_hash_is_refused_and_the_file_deleted(server, tmp_path):
    with pytest.raises(FetchError, match="does not match its pinned size and sha256.*it was deleted"):
        fetch("test", folder=tmp_path, manifest=manifest_for(server, sha="0" * 64))
    assert list(tmp_path.iterdir()) == [tmp_path / ".weights.pth.lock"]


def test_server_down_is_one_clear_line_within_the_timeout(tmp_path):
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens on this port now
    entry = WeightFile("w.pth", f"http://127.0.0.1:{port}/w.pth", "0" * 64, None, "test", "test")
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"cannot reach 127.0.0.1:\d+ .*check the network or proxy"):
        fetch("test", folder=tmp_path, manifest={"test": (entry,)}, timeout=3)
    assert time.monotonic() - start < 5


def test_a_proxy_set_after_the_first_fetch_is_honoured(server, tmp_path, monkeypatch):
    """urllib's shared opener (urlopen) keeps the proxy variables of the process's first request: a server whose
    proxy was set or fixed later ignored it until restarted, and one test's dead proxy leaked into later tests.
    Each fetch reads them anew."""
    for name in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    assert fetch("test", folder=tmp_path / "a", manifest=manifest_for(server))  # the first request: no proxy
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(FetchError, match="check the network or proxy"):
        fetch("test", folder=tmp_path / "b", manifest=manifest_for(server), timeout=3)
    monkeypatch.delenv("http_proxy")
    assert fetch("test", folder=tmp_path / "c", manifest=manifest_for(server))


def test_two_sessions_at_once_download_once(server, tmp_path):
    manifest = manifest_for(server)
    errors = []

    def session():
        try:
            fetch("test", folder=tmp_path, manifest=manifest)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and server.requests == ["full"]
    assert (tmp_path / "weights.pth").read_bytes() == PAYLOAD


def test_the_real_manifest_is_well_formed_and_never_fetched_here():
    for group, entries in MANIFEST.items():
        for f in entries:
            assert f.url.startswith("https://github.com/") and f.url.endswith("/" + f.name)
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256) and f.licence
    assert {f.name for f in MANIFEST["face"]} == {"GFPGANv1.4.pth", "detection_Resnet50_Final.pth",
                                                  "parsing_parsenet.pth"}
    assert fetching.CONNECT_TIMEOUT_S <= 15


def test_without_network_the_cli_says_how_in_one_line(tmp_path, astronaut_lr):
    import cv2

    img = tmp_path / "in.png"
    cv2.imwrite(str(img), astronaut_lr)
    env = {"SRLAB_WEIGHTS_DIR": str(tmp_path / "w"), "PATH": "/usr/bin:/bin", "https_proxy": "http://127.0.0.1:9",
           "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", img, "-o", tmp_path / "out", "--face", "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1 and "python -m core fetch face" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    start = time.monotonic()  # the proxy on port 9 refuses: like no network, within the timeout
    proc = subprocess.run([sys.executable, "-m", "core", "fetch", "face", "-q"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 1 and "cannot reach github.com" in proc.stderr and "Traceback" not in proc.stderr
    assert time.monotonic() - start < 30
