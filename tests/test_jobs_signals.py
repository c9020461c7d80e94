"""`ybz worker` under SIGTERM: the job it is running finishes and is recorded, nothing else starts,
and the process exits cleanly (a deploy restarting the worker loses no work)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from yibenzhang import jobs
from yibenzhang.access import Actor

# The child registers a slow job kind, then runs the real worker command (its signal handling).
CHILD = """
import sys, time
from pathlib import Path
from yibenzhang import jobs, jobs_cli

@jobs.register("test.slow")
def _slow(db, job):
    Path(sys.argv[1]).write_text("started")
    time.sleep(1.5)
    Path(sys.argv[1]).write_text("finished")
    return {"slept": 1.5}

jobs_cli.worker_command(once=False, max_jobs=None, poll=0.1, as_json=True)
"""


def _status(db, job_id: int) -> str:
    with db.read() as s:
        return s.get(jobs.Job, job_id).status


def test_sigterm_lets_the_running_job_finish_and_starts_no_other(sqlite_db, tmp_path: Path):
    db = sqlite_db
    with db.write() as s:
        first = jobs.enqueue(s, Actor.system(), "test.slow", {}).id
        second = jobs.enqueue(s, Actor.system(), "test.slow", {}).id
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(marker)], env=dict(os.environ),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text() == "started"):
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.02)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert json.loads(out)["jobs_run"] == 1
    assert marker.read_text() == "finished"
    assert _status(db, first) == "成功"
    assert _status(db, second) == "排队"  # not started after the signal


def test_jobs_page_shows_failures_and_retries(world, client):
    from tests.web.conftest import csrf_of, login

    db = world.db
    police = world.orgs["police"].id
    with db.write() as s:
        failed = jobs.enqueue(s, world.actor("police_steward"), "test.unknown-kind", {}, org_id=police,
                              max_attempts=1).id
        other = jobs.enqueue(s, Actor.system(), "test.unknown-kind", {}, org_id=world.orgs["market"].id,
                             max_attempts=1).id
    jobs.Worker(db, run_tickers=False).run(once=True)
    assert login(client, "police_steward").status_code == 303
    page = client.get("/console/jobs")
    assert page.status_code == 200
    assert f'id="job-{failed}"' in page.text and f'id="job-{other}"' not in page.text  # own org only
    assert "job_kind_unknown" in page.text or "任务类型" in page.text  # the failure is visible
    assert "放弃" in page.text
    csrf = csrf_of(page.text)
    done = client.post(f"/console/jobs/{failed}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert _status(db, failed) == "排队"
    denied = client.post(f"/console/jobs/{other}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert denied.status_code == 404
    english = client.get("/console/jobs?lang=en&show=all")
    assert "Background jobs" in english.text and "Retry" not in english.text.split("<tbody>")[1]


FAILING_CHILD = """
from yibenzhang import jobs, jobs_cli

@jobs.register("test.flaky")
def _flaky(db, job):
    raise RuntimeError("the source system is down")

@jobs.register("test.fine")
def _fine(db, job):
    return {"rows": 3}

jobs_cli.worker_command(once=True, max_jobs=None, poll=0.1, log_format="json", as_json=True)
"""


def test_the_worker_logs_json_lines_with_the_job_fields(sqlite_db):
    """Issue 14: `ybz worker` logs as `ybz serve` does — JSON lines on stderr — each job's outcome
    with its id, kind and attempt as fields, never its payload."""
    with sqlite_db.write() as s:
        fine = jobs.enqueue(s, Actor.system(), "test.fine", {"secret": "990101199003071234"}).id
        flaky = jobs.enqueue(s, Actor.system(), "test.flaky", {"secret": "990101199003071234"}).id
    done = subprocess.run([sys.executable, "-c", FAILING_CHILD], env=dict(os.environ), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(x) for x in lines)
    by_job = {(x.get("job_id"), x["level"]) for x in lines if x.get("job_kind")}
    assert (fine, "INFO") in by_job and (flaky, "WARNING") in by_job
    finished = next(x for x in lines if x.get("job_id") == fine and x["level"] == "INFO")
    assert finished["job_kind"] == "test.fine" and finished["status"] == jobs.JobStatus.SUCCEEDED.value == "成功"
    assert finished["attempt"] == 1
    assert "990101199003071234" not in done.stderr
