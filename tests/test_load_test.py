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


def test_a_closed_tabs_job_is_matched_to_its_gone_record_and_who_waited_behind_it_too_long_is_stalled():
    gone_after = 10  # + 5 s between the server's checks of the tabs + 2 s of Cancel: ended by 17 s after the close
    # tab A closed at 100 s: found gone at 112 s, its job's record ends 0.5 s later; tab B closed at 200 s: found
    # gone at 219 s, its job ended at 220 s, 3 s late
    rows = [{"kind": "gone", "t": 112.0, "job_id": "jA"}, {"kind": "job", "job_id": "jA", "t": 112.5, "seconds": 20},
            {"kind": "gone", "t": 219.0, "job_id": "jB"}, {"kind": "job", "job_id": "jB", "t": 220.0, "seconds": 30},
            _job("j1", 101.0, 11.6, 5.0),   # waited behind A until it ended, within A's bound: not stalled
            _job("j2", 205.0, 15.5, 5.0),   # waited behind B until 220.5 s, past B's 217 s: stalled
            _job("j3", 221.0, 0.0, 5.0)]    # came after B had ended
    out = load_test.closed_tab_figures(rows, [200.0, 100.0], gone_after)
    assert out["cancelled"] == 2 and out["not_cancelled"] == 0 and out["job_ids"] == ["jA", "jB"]
    assert out["gone_after_close_s"] == [12.0, 19.0] and out["stopped_after_gone_s"] == [0.5, 1.0]
    assert out["late_s"] == [0.0, 3.0] and out["waited_behind_after_bound"] == 1 and out["bound_s"] == 17
    # a tab whose job the server never cancelled: every job waiting after its bound waited behind it
    out = load_test.closed_tab_figures([_job("j1", 101.0, 30.0, 5.0)], [100.0], gone_after)
    assert out["not_cancelled"] == 1 and out["gone_after_close_s"] == [None] and out["waited_behind_after_bound"] == 1
    # a job taken out of the line (it never ran, so no 'job' record): it ended when found gone
    out = load_test.closed_tab_figures([{"kind": "gone", "t": 113.0, "job_id": "jC"}], [100.0], gone_after)
    assert out["stopped_after_gone_s"] == [0.0] and out["late_s"] == [0.0]


def test_the_line_after_a_cancelled_clip_is_read_from_the_next_job_that_waited():
    rows = [_job("j1", 50.0, 0.0, 1.0),    # long over at the press (60 s)
            _job("j2", 55.0, 6.2, 3.0),    # waiting at the press, began 1.2 s after it
            _job("j3", 58.0, 6.2, 3.0),    # waiting too, began later
            _job("jx", 50.0, 10.5, 1.0)]   # the closed tab's: left out
    assert load_test.line_after_press(rows, 60.0, leave_out={"jx"}) == 1.2
    assert load_test.line_after_press(rows, 70.0) is None  # nobody was waiting


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
