"""Ray stays optional at run time: without RNN_EXPLORER_RAY_ADDRESS the app never imports it,
and an install without it (here: ``import ray`` made to fail) trains as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WITHOUT_RAY = """
import sys
sys.modules["ray"] = None  # what an install without Ray gives: `import ray` raises
from streamlit.testing.v1 import AppTest

at = AppTest.from_file("app.py", default_timeout=120)
at.run()
at.switch_page("views/playground.py").run()
assert not at.exception, at.exception
at.button(key="train_step").click().run()  # ten steps, on the in-process pool
from ui import session

(job,) = [j for j in session.job_manager().jobs() if j.state != "idle"]
assert job.wait_paused(60) and job.steps_done == 10, (job.state, job.reason, job.steps_done)
print("trained", job.steps_done, type(session.job_manager()).__module__)
# The worker keeps the run in the store after it gives its slot back: let it finish before
# the interpreter exits (a thread killed inside a torch call aborts the process).
import threading

for thread in threading.enumerate():
    if thread.name.startswith("job-"):
        thread.join(60)
"""


def test_the_app_without_a_cluster_address_runs_without_ray(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RNN_EXPLORER_RAY")}
    env["RNN_EXPLORER_RUN_STORE"] = str(tmp_path / "runs")
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ["trained", "10", "rnn_core.jobs"]
