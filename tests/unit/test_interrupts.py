"""Ctrl-C (and the SIGTERM MindSpore makes of it) in training: KeyboardInterrupt, never inside a critical block."""

import os
import signal

import pytest

from src.training.interrupts import stop_at_safe_points


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_raises_keyboard_interrupt(signum):
    with pytest.raises(KeyboardInterrupt), stop_at_safe_points():
        os.kill(os.getpid(), signum)


def test_a_signal_inside_a_critical_block_waits_for_its_end():
    done = []
    with pytest.raises(KeyboardInterrupt), stop_at_safe_points() as interrupts:
        with interrupts.critical():
            with interrupts.critical():
                os.kill(os.getpid(), signal.SIGINT)
                done.append("inner")
            done.append("outer")
        done.append("after")
    assert done == ["inner", "outer"]


def test_the_previous_handlers_come_back():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with stop_at_safe_points():
        assert signal.getsignal(signal.SIGTERM) is not before[1]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
