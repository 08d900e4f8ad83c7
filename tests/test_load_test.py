"""The load test's own arithmetic and its one intervention in the OS (bench/load_test.py): what it reports about
the class's line, and that the clients' sessions really get the lower share it says they get."""
import subprocess
import sys
from pathlib import Path

import pytest

from bench import load_test


def _job(job_id: str, submitted: float, waited: float, ran: float) -> dict:
    """A server 'job' record as ui/jobs.py writes it: t is when it ended."""
    return {"kind": "job", "job_id": job_id, "t": submitted + waited + ran, "seconds": ran, "waited_s": waited}


def test_the_line_and_the_arrivals_are_read_from_the_server_records():
    jobs = [_job("j1", 0.0, 0.0, 3.0), _job("j2", 1.0, 2.0, 1.0), _job("j3", 1.5, 2.5, 1.0), _job("j4", 9.0, 0.2, 1.0)]
    # j2 and j3 wait together from 1.5 s to 3 s; j4 arrives after the line has emptied
    assert load_test._arrivals(jobs) == {"jobs_submitted_over_s": 9.0, "longest_line": 2}
    shown = [{"kind": "fragment_run", "place_shown": "j2"}, {"kind": "page_run", "place_shown": "j2"}]
    # j2 and j3 waited (>= 0.5 s), only j2's place was drawn; j4's 0.2 s is no wait in line
    assert load_test._places(shown + jobs, jobs) == {"jobs_that_waited_in_line": 2, "of_which_shown_their_place": 1}


@pytest.mark.skipif(load_test.autogroup_of("self") is None,
                    reason="autogroups do not apply here (kernel without them, or a cgroup of our own)")
def test_a_client_in_a_session_of_its_own_gets_the_lower_share():
    """As Playwright starts Chromium: a child in a new session, so in an autogroup of its own."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        group = Path(f"/proc/{child.pid}/autogroup")  # Popen returns once the child has made its session
        assert load_test.autogroup_of(child.pid) not in (None, load_test.autogroup_of("self"))
        assert load_test.lower_clients_autogroups("idle", 10) >= 1  # (any other child session of ours too)
        assert group.read_text().split()[-1] == "10"
        assert load_test.lower_clients_autogroups("same", 10) == 0  # --clients-at same: left as it is
    finally:
        child.kill()
        child.wait()


def test_where_autogroups_do_not_apply_nothing_is_lowered(monkeypatch):
    """In a cgroup of its own (a CI runner) /proc/<pid>/autogroup exists but reads empty."""
    monkeypatch.setattr(load_test, "autogroup_of", lambda pid: None)
    assert load_test.lower_clients_autogroups("idle", 10) == 0
