"""train.tensorboard = true: every metrics.jsonl row's numbers and every sample picture also go to
TensorBoard event files in RUN/tensorboard/ (torch.utils.tensorboard.SummaryWriter).

metrics.jsonl stays the run's record; this is a copy for people who live in TensorBoard. A resumed
session purges the events of the cut-short session after the step it resumes from (SummaryWriter's
purge_step), as `rundir.read_rows` drops its rows. Rows of phases run by hand (--control) go under
manual/PHASE/KEY, so they do not zig-zag the training curves.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import Config
from gankit.errors import UserError
from gankit.train.rundir import MetricsLog

TENSORBOARD_DIR = "tensorboard"
_SKIP = {"step", "manual_phase"}


def require(cfg: Config) -> None:
    """Refuse, before anything is written, a run asking for TensorBoard where the package is missing."""
    if not cfg.train.tensorboard:
        return
    try:
        importlib.import_module("tensorboard")
        importlib.import_module("torch.utils.tensorboard")
    except ImportError:
        raise UserError("train.tensorboard=true needs the tensorboard package: pip install tensorboard "
                        "(or pip install 'gankit[tensorboard]'), or set train.tensorboard=false") from None


class TensorBoardLog:
    """A MetricsLog that also writes each row's numbers as TensorBoard scalars, and sample pictures as images."""

    def __init__(self, log: MetricsLog, run_dir: Path, resume_step: int | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.log = log
        purge = resume_step + 1 if resume_step is not None else None  # the resumed step's own events stay
        self.writer = SummaryWriter(str(run_dir / TENSORBOARD_DIR), purge_step=purge, flush_secs=30)

    def write(self, row: dict[str, Any]) -> None:
        self.log.write(row)
        step = row.get("step")
        if not isinstance(step, int):
            return  # a resume marker
        prefix = f"manual/{row['manual_phase']}/" if "manual_phase" in row else ""
        for key, value in row.items():
            if key not in _SKIP and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(prefix + key, value, step)

    def picture(self, path: Path, step: int) -> None:
        """A sample picture (PNG) as the image "samples" at `step`."""
        from PIL import Image

        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB"))
        self.writer.add_image("samples", pixels, step, dataformats="HWC")

    def close(self) -> None:
        """Close metrics.jsonl (the schedule is over); the event file stays open for the last picture."""
        self.log.close()
        self.writer.flush()

    def end(self) -> None:
        self.writer.close()
