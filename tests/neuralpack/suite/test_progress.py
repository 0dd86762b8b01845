import os
import signal

from neuralpack.suite import progress


def test_a_first_ctrl_c_is_a_flag_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGINT)
    with progress.ctrl_c_at_records() as pressed:
        assert not pressed()
        os.kill(os.getpid(), signal.SIGINT)
        assert pressed()
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_ctrl_c_stays_ignored(monkeypatch):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with progress.ctrl_c_at_records() as pressed:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and not pressed()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_bar_counts_to_its_total(capsys):
    with progress.bar(10, "run", "step") as bar:
        bar.update(10)
    assert "10/10" in capsys.readouterr().err
