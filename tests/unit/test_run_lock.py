"""The folder lock of preprocess.py and train.py: one holder at a time, and the refusal names it."""

import json
import os
import socket

import pytest

from src.core import run_lock
from src.core.errors import UserError


def test_the_holder_writes_its_pid_and_host_and_a_second_taker_is_told_who_holds_it(tmp_path):
    lock = tmp_path / "run" / ".train.lock"
    with run_lock.exclusive(lock, "train.py"):
        assert json.loads(lock.read_text()) == {"pid": os.getpid(), "host": socket.gethostname()}
        with pytest.raises(UserError) as error, run_lock.exclusive(lock, "train.py"):
            pass
        message = str(error.value)
        assert message.startswith(f"another train.py is writing to {lock.parent} (pid {os.getpid()} on ")
        assert socket.gethostname() in message and "wait for it or stop it first" in message
        with pytest.raises(UserError, match=f"pid {os.getpid()}"):
            run_lock.check_free(lock, "train.py")
    with run_lock.exclusive(lock, "train.py"):  # released when the block ends
        pass


def test_check_free_creates_nothing_and_passes_a_lock_nobody_holds(tmp_path):
    run_lock.check_free(tmp_path / "absent" / ".train.lock", "train.py")
    assert not (tmp_path / "absent").exists()
    left = tmp_path / ".train.lock"
    left.write_text(json.dumps({"pid": 1, "host": "gone"}))  # left by a process that ended
    run_lock.check_free(left, "train.py")


def test_a_holder_that_has_not_named_itself_yet_is_still_reported(tmp_path):
    lock = tmp_path / ".preprocess.lock"
    with run_lock.exclusive(lock, "preprocess.py"):
        lock.write_text("")
        with pytest.raises(UserError, match="another preprocess.py is writing to .*a process that has not named"):
            run_lock.check_free(lock, "preprocess.py")
