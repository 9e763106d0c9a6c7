"""The local supervisor's restart policy (deploy/local/stack.py), on real short-lived processes."""
import dataclasses
import shutil
import sys
import time
import uuid

import pytest

from tests.support import load_stack, wait_until


@pytest.fixture
def supervisor():
    module = load_stack()
    profile = dataclasses.replace(module.PROFILES["test"], name=f"test-supervisor-{uuid.uuid4().hex[:6]}")
    supervisor = module.Supervisor(profile, prefix="unit")
    yield supervisor
    supervisor.stop(timeout=10)
    shutil.rmtree(profile.dir, ignore_errors=True)


def run(supervisor, name, code):
    supervisor._commands[name] = ([sys.executable, "-c", code], {})
    supervisor._launch(name)


def test_a_process_that_keeps_dying_is_restarted_with_a_doubling_backoff(supervisor):
    run(supervisor, "crasher", "raise SystemExit(3)")
    starts = []

    def restarted():
        if supervisor.revive():
            starts.append(time.monotonic())
        return len(starts) == 3
    wait_until(restarted, 30, interval=0.05, what="three restarts")
    first, second = starts[1] - starts[0], starts[2] - starts[1]
    assert first >= 1.8 and second >= 3.8, (first, second)  # 1 s, then 2 s, then 4 s…
    assert supervisor.restarts == {"crasher": 3}


def test_a_dead_process_does_not_stop_the_others(supervisor):
    run(supervisor, "crasher", "raise SystemExit(1)")
    run(supervisor, "steady", "import time; time.sleep(60)")
    wait_until(lambda: supervisor.revive() == ["crasher"], 10, interval=0.05, what="the crasher restarted")
    assert supervisor.procs["steady"].poll() is None and supervisor.restarts == {"crasher": 1}


def test_nothing_is_restarted_once_stopping(supervisor):
    run(supervisor, "sleeper", "import time; time.sleep(60)")
    supervisor.stop(timeout=10)
    assert supervisor.dead() == ["sleeper"]
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert supervisor.revive() == []
        time.sleep(0.1)
