"""--control: a token only its hash is stored of, signed commands, pause that holds the step counter,
phases stepped by hand, and commands from anyone else ignored."""
from __future__ import annotations

import json
import os
import signal
import stat
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
import torch

from gankit.errors import UserError
from gankit.live import control as control_file
from gankit.live import snapshots, status
from gankit.train import session
from gankit.train.rundir import METRICS_FILE, read_rows
from tests.conftest import tiny_toy

TOKEN = "test-token-not-secret"


def _wait(check: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise TimeoutError("the trainer did not get there in time")
        time.sleep(0.02)


def test_the_token_file_holds_a_hash_readable_by_the_owner_only(tmp_path: Path) -> None:
    token = control_file.new_token(tmp_path, ["D", "G"])
    stored = (tmp_path / control_file.TOKEN_FILE).read_text()
    assert token not in stored and len(stored.strip()) == 64
    assert stat.S_IMODE((tmp_path / control_file.TOKEN_FILE).stat().st_mode) == 0o600
    assert control_file.phases(tmp_path) == ["D", "G"]
    first = control_file.write_command(tmp_path, token, "pause")
    second = control_file.write_command(tmp_path, token, "step", "G")
    assert (first["seq"], second["seq"]) == (1, 2) and control_file.read_command(tmp_path) == second
    assert second["mac"] == control_file.command_mac(token, 2, "step", "G") and token not in json.dumps(second)


def test_wrong_tokens_and_bad_commands_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PermissionError, match="takes no commands"):
        control_file.write_command(tmp_path, "anything", "pause")
    assert control_file.phases(tmp_path) == []
    token = control_file.new_token(tmp_path, ["D", "G"])
    for wrong in ("", token[:-1], token + "x", None):
        with pytest.raises(PermissionError, match="wrong control token"):
            control_file.write_command(tmp_path, wrong, "pause")
    with pytest.raises(ValueError, match="unknown control command 'stop'"):  # also a UserError: one line
        control_file.write_command(tmp_path, token, "stop")
    with pytest.raises(UserError, match="one of D, G; got 'E'"):
        control_file.write_command(tmp_path, token, "step", "E")
    with pytest.raises(UserError, match="one of D, G; got None"):
        control_file.write_command(tmp_path, token, "step")
    with pytest.raises(UserError, match="takes no phase"):
        control_file.write_command(tmp_path, token, "pause", "D")
    assert control_file.read_command(tmp_path) is None  # nothing refused was written
    control_file.remove(tmp_path)
    with pytest.raises(PermissionError):
        control_file.write_command(tmp_path, token, "pause")


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.slow
def test_pause_holds_the_step_and_phases_step_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(control_file.secrets, "token_urlsafe", lambda n=None: TOKEN)
    run, seen, errors, trainers = tmp_path / "run", {}, [], []

    def manual_rows() -> list[dict]:
        return [r for r in read_rows(run / METRICS_FILE) if "manual_phase" in r]

    def drive() -> None:
        try:
            _wait(lambda: status.read_status(run).get("paused") is True)
            trainer = trainers[0]
            seen["held_at"] = status.read_status(run)["step"]
            _wait(lambda: len(manual_rows()) == 1)  # "step D" sent while running: pause, then D once
            g, d = _params(trainer.players["G"]), _params(trainer.players["D"])
            time.sleep(1.0)
            seen["after_1s"] = trainer.step
            control_file.write_command(run, TOKEN, "step", "G")
            _wait(lambda: len(manual_rows()) == 2)
            _wait(lambda: snapshots.latest(run)["manual"] == ["D", "G"])
            seen["G moved"] = not _same(g, _params(trainer.players["G"]))
            seen["D kept"] = _same(d, _params(trainer.players["D"]))
            seen["step"] = trainer.step
        except Exception as exc:  # noqa: BLE001  (reported by the test below)
            errors.append(exc)
        finally:
            control_file.write_command(run, TOKEN, "resume")

    thread = threading.Thread(target=drive)

    def at_step(trainer) -> None:
        if trainer.step == 5 and not trainers:
            trainers.append(trainer)
            control_file.write_command(run, TOKEN, "step", "D")
            thread.start()

    result = session.train_new(tiny_toy(**{"train.live_every": "5"}), run, hooks=[at_step], control=True)
    thread.join()
    assert not errors, errors
    assert capsys.readouterr().out.count(f"control token: {TOKEN}  (dashboard: Pause/Step need it)\n") == 1
    assert seen == {"held_at": 5, "after_1s": 5, "G moved": True, "D kept": True, "step": 5}
    rows = read_rows(run / METRICS_FILE)
    manual = [r for r in rows if "manual_phase" in r]
    assert [(r["step"], r["manual_phase"]) for r in manual] == [(5, "D"), (5, "G")]
    assert "loss_D" in manual[0] and "loss_G" in manual[1]
    times = {r["step"]: r["time"] for r in rows if "time" in r}
    assert times[10] - times[5] < 0.8, "the second held was not counted as training time"
    assert result.step == 20 and status.read_status(run)["state"] == "finished"
    assert not (run / control_file.TOKEN_FILE).exists()  # the session ended: nobody listens
    with pytest.raises(PermissionError):
        control_file.write_command(run, TOKEN, "pause")


def test_sigterm_stops_a_paused_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_file.secrets, "token_urlsafe", lambda n=None: TOKEN)
    run = tmp_path / "run"

    def terminate() -> None:
        try:
            _wait(lambda: status.read_status(run).get("paused") is True)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would; the trainer's handler takes it

    thread = threading.Thread(target=terminate)

    def at_step(trainer) -> None:
        if trainer.step == 4:
            control_file.write_command(run, TOKEN, "pause")
            thread.start()

    result = session.train_new(tiny_toy(**{"train.ckpt_every": "2"}), run, hooks=[at_step], control=True)
    thread.join()
    assert (result.step, result.stopped_by) == (4, "interrupted")
    assert {k: status.read_status(run)[k] for k in ("state", "reason", "step")} == {
        "state": "stopped", "reason": "interrupted", "step": 4}


def test_commands_not_signed_with_the_token_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_file.secrets, "token_urlsafe", lambda n=None: TOKEN)
    run = tmp_path / "run"
    replayed = {}

    def at_step(trainer) -> None:
        path = run / control_file.COMMAND_FILE
        if trainer.step == 3:  # someone with write access to the run but without the token
            path.write_text(json.dumps({"seq": 1, "command": "pause", "phase": None, "mac": "0" * 64}))
        if trainer.step == 6:  # a genuine command (resume: nothing to do) ...
            control_file.write_command(run, TOKEN, "resume")
            replayed.update(json.loads(path.read_text()), command="resume")
        if trainer.step == 9:  # ... replayed later as a new file with the same seq and signature
            path.unlink()
            path.write_text(json.dumps(replayed))

    with pytest.warns(UserWarning) as warned:
        result = session.train_new(tiny_toy(**{"train.steps": "12"}), run, hooks=[at_step], control=True)
    messages = [str(w.message) for w in warned]
    assert any("not signed with this session's control token" in m for m in messages)
    assert any("is not newer" in m for m in messages)
    assert result.step == 12 and status.read_status(run)["state"] == "finished"


def test_a_resume_without_control_drops_the_earlier_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stop(trainer) -> None:
        if trainer.step == 4:
            assert (trainer.run_dir / control_file.TOKEN_FILE).exists()
            trainer.request_stop()

    run = session.train_new(tiny_toy(**{"train.ckpt_every": "2", "train.steps": "6"}), tmp_path / "run",
                            hooks=[stop], control=True).run_dir
    (run / control_file.TOKEN_FILE).write_text("stale\n")  # as a killed session would leave it
    session.resume(run, hooks=[lambda t: None])
    assert control_file.phases(run) == [] and not (run / control_file.TOKEN_FILE).exists()
