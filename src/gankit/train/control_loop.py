"""The trainer's side of --control: obey pause, resume and "step one phase" between training steps.

After every step the schedule calls `Controller.between_steps()`. It costs one stat() of RUN/control.json
unless the file changed; a changed file is read, its signature checked against this session's token
(held in memory only; see gankit/live/control.py), and its seq must be new. Commands:

    pause    hold after this step: sleep POLL_S at a time, reading commands; Ctrl-C / SIGTERM still stop
             the run. The time held counts neither against train.minutes nor in the metrics' time and img/s.
    resume   go on training.
    step P   (pauses first when running) run phase P once, its `repeat` times, without moving the step
             counter or the EMA; its stats become a metrics.jsonl row {"step": S, "manual_phase": P, ...}, and
             the live snapshot of step S is rewritten at once (with "manual": the phases run by hand so far).

status.json says "paused": true while held, so a page can show it.
"""
from __future__ import annotations

import hmac
import os
import time
import warnings
from typing import TYPE_CHECKING, Any

from gankit.live import control as control_file
from gankit.live import status
from gankit.train import speed
from gankit.train.meter import Meter

if TYPE_CHECKING:
    from gankit.train.live2d import LiveWriter
    from gankit.train.loop import Trainer

POLL_S = 0.1


class Controller:
    def __init__(self, trainer: Trainer, token: str, log: Any, live: LiveWriter | None, started: float) -> None:
        self.trainer, self.token, self.log, self.live, self.started = trainer, token, log, live, started
        self.path = trainer.run_dir / control_file.COMMAND_FILE
        self.phases = {phase.name: phase for phase in trainer.game.phases}
        self.paused = False
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime, size) of the control.json last read
        self._seq = 0
        self._manual: list[str] = []  # phases run by hand at self._manual_step
        self._manual_step = -1

    def between_steps(self) -> float:
        """Obey new commands; while paused, hold here. Returns the wall seconds held (0 when not paused)."""
        self._poll()
        if not self.paused:
            return 0.0
        trainer = self.trainer
        wall, clock = time.monotonic(), trainer.clock()
        status.write_running(trainer.run_dir, trainer.step, control=True, paused=True, started=self.started)
        if self.live is not None and self.live.written_at != trainer.step:
            self.live.write(tuple(self._manual_at(trainer.step)))  # the page shows exactly where it holds
        while self.paused and not trainer._stop_requested:
            time.sleep(POLL_S)
            self._poll()
        if trainer._session_start is not None:  # a pause is not training time (train.minutes)
            trainer._session_start += trainer.clock() - clock
        status.write_running(trainer.run_dir, trainer.step, control=True, paused=False, started=self.started)
        return time.monotonic() - wall

    def _poll(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            return
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._seen:
            return
        self._seen = key
        record = control_file.read_command(self.trainer.run_dir)
        if record is None:
            return  # replaced while being read: the next poll sees the new file
        command = self._verified(record)
        if command is None:
            return
        name, phase = command
        if name == "pause":
            self.paused = True
        elif name == "resume":
            self.paused = False
        else:
            self.paused = True
            self._step_by_hand(phase)

    def _verified(self, record: dict[str, Any]) -> tuple[str, str | None] | None:
        """(command, phase) of a record signed with this session's token and newer than the last one."""
        seq, name, phase, mac = (record.get(k) for k in ("seq", "command", "phase", "mac"))
        signed = (isinstance(seq, int) and isinstance(name, str) and isinstance(mac, str)
                  and (phase is None or isinstance(phase, str))
                  and hmac.compare_digest(control_file.command_mac(self.token, seq, name, phase), mac))
        if not signed:
            warnings.warn(f"ignored {self.path}: not signed with this session's control token", stacklevel=3)
            return None
        if seq <= self._seq:
            warnings.warn(f"ignored {self.path}: command {seq} is not newer than {self._seq} (a replay)", stacklevel=3)
            return None
        self._seq = seq
        if name not in control_file.COMMANDS or (name == "step" and phase not in self.phases):
            warnings.warn(f"ignored control command {name!r} (phase {phase!r}): this run's phases are "
                          f"{', '.join(self.phases)}", stacklevel=3)
            return None
        return name, phase

    def _manual_at(self, step: int) -> list[str]:
        if step != self._manual_step:
            self._manual, self._manual_step = [], step
        return self._manual

    def _step_by_hand(self, name: str) -> None:
        trainer = self.trainer
        meter = Meter()
        trainer.game.begin_step(trainer.step)  # the game's schedules as for the step it holds at
        speed.mark_step(trainer.cfg.train.compile, trainer.device)  # a phase run by hand is an iteration too
        trainer.run_phase(self.phases[name], meter)
        self.log.write({"step": trainer.step, "manual_phase": name, **meter.flush()})  # flush: refuses NaN
        manual = self._manual_at(trainer.step)
        manual.append(name)
        if self.live is not None:
            self.live.write(tuple(manual))
