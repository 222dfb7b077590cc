# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Tests of the test runner itself (``tools/run-tests``): a run ends when its
process ends, whatever that process left running."""

import importlib.machinery
import importlib.util
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

RUN_TESTS = Path(__file__).resolve().parent.parent / "tools" / "run-tests"

# exits at once, leaving a child that holds its output open for 10 minutes (as
# the Chromium of a tour that Odoo skipped, which Odoo never stops)
ORPHAN = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("left", child.pid, flush=True)
"""


@pytest.fixture(scope="module")
def run_tests():
    loader = importlib.machinery.SourceFileLoader("run_tests_tool", str(RUN_TESTS))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run_in_thread(function, *args, **kwargs):
    """``function``'s result, or ``None`` when it takes more than 60 s."""
    result = []
    thread = threading.Thread(
        target=lambda: result.append(function(*args, **kwargs)), daemon=True
    )
    thread.start()
    thread.join(60)
    return result[0] if result else None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def orphan_alive(log_path):
    """Whether the orphan ``ORPHAN`` printed the pid of is alive 5 s on."""
    orphan = int(log_path.read_text().split()[1])
    for _ in range(50):
        if not alive(orphan):
            return False
        time.sleep(0.1)
    return True


def test_run_ends_with_its_process_and_kills_what_it_left(run_tests, tmp_path):
    log_path = tmp_path / "run.log"
    started = time.monotonic()
    result = run_in_thread(
        run_tests.run_logged, [sys.executable, "-c", ORPHAN], log_path
    )
    assert result == (0, False), "the run waited for its orphan's output to close"
    assert time.monotonic() - started < 30
    assert not orphan_alive(log_path), "the orphan was left running"


def test_run_ends_when_a_process_outside_its_group_holds_its_output(
    run_tests, tmp_path
):
    # as Chromium's crash handler does: a session of its own, the pipe kept
    code = ORPHAN.replace("])", "], start_new_session=True)")
    log_path = tmp_path / "run.log"
    result = run_in_thread(run_tests.run_logged, [sys.executable, "-c", code], log_path)
    assert result == (0, False)
    assert not orphan_alive(log_path), "what held the output was left running"


def test_timeout_dumps_then_aborts_the_process(run_tests, tmp_path):
    log_path = tmp_path / "run.log"
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGQUIT, lambda *a: print('dumped', flush=True))\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n"
    )
    result = run_in_thread(
        run_tests.run_logged,
        [sys.executable, "-c", code],
        log_path,
        timeout=8,
        dump_signal=signal.SIGQUIT,
    )
    assert result == (-signal.SIGABRT, True)
    assert log_path.read_text().split() == ["started", "dumped"]


def test_timeout_zero_is_no_timeout(run_tests, tmp_path):
    code = "import time; time.sleep(1); print('done')"
    result = run_in_thread(
        run_tests.run_logged,
        [sys.executable, "-c", code],
        tmp_path / "run.log",
        timeout=0,
        dump_signal=signal.SIGQUIT,
    )
    assert result == (0, False)
    assert (tmp_path / "run.log").read_text() == "done\n"


def test_skipped_tests_are_listed_with_their_reason(run_tests, tmp_path):
    log_path = tmp_path / "odoo.log"
    prefix = "2026-12-02 03:41:35,159 8767 INFO db "
    lines = [
        "odoo.addons.x.tests.test_y: Starting TestTours.test_a ...",
        "odoo.addons.x.tests.test_y: skipped test_a (TestTours.test_a) : "
        + "Failed to detect chrome devtools port after 10.0s.",
        "odoo.tests.result: 0 failed, 0 error(s) of 1 tests when loading database 'db'",
    ]
    log_path.write_text("".join(f"{prefix}{line}\n" for line in lines))
    run, failed, skipped, problems = run_tests.parse_odoo_log(log_path)
    assert (run, failed, problems) == (1, 0, [])
    assert len(skipped) == 1 and "chrome devtools port" in skipped[0]
