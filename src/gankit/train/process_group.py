"""The process group of a torchrun job: joining it, and what a failed collective does.

`start` joins the job (gloo for CPU tensors, nccl for CUDA ones) once per process; every collective of
gankit goes through `_collective`, which turns a failure (another process ended, or hangs past TIMEOUT)
into `PeerLost`, and the excepthook installed by `start` ends the process on it with one line and status
PEER_LOST instead of a traceback (train/launch.py names the process that failed first).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch import Tensor

from gankit.errors import UserError
from gankit.train.launch import LAUNCHER_ENV, PEER_LOST, PEER_LOST_FILE

TIMEOUT = timedelta(minutes=30)  # a collective waiting longer than this (a stuck process) fails
PEER_LOST_GRACE_S = 3.0  # how long a process that lost its peers waits before it exits


def launched() -> bool:
    """True in a process that torchrun started with a world of more than one process."""
    return env_int("WORLD_SIZE", 1) > 1


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise UserError(f"environment variable {name}={value!r} is not an integer (torchrun sets it)") from None


def start(control: bool = False) -> int:
    """Join the torchrun job this process belongs to (once) and return its rank; 0 when not launched by
    torchrun with several processes. gloo for CPU tensors, nccl for CUDA tensors where available; a
    process on a GPU machine takes the GPU of its LOCAL_RANK."""
    if not launched():
        return 0
    if control:
        raise UserError("--control pauses and steps one process; it cannot drive a run of several (drop --control)")
    if not dist.is_available():
        raise UserError("this PyTorch build has no torch.distributed: train with one process")
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        local = env_int("LOCAL_RANK", 0)
        if cuda and local < torch.cuda.device_count():
            torch.cuda.set_device(local)
        backend = "cpu:gloo,cuda:nccl" if cuda and dist.is_nccl_available() else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT)
        atexit.register(end)
        sys.excepthook = _peer_lost_hook(sys.excepthook)
    return dist.get_rank()


class PeerLost(RuntimeError):
    """A collective failed: another process of the job ended, or hangs past TIMEOUT."""


@contextlib.contextmanager
def _collective() -> Iterator[None]:
    try:
        yield
    except PeerLost:
        raise
    except RuntimeError as exc:  # gloo: "Connection closed by peer", nccl: DistBackendError, timeouts
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise PeerLost(f"process {dist.get_rank()} of {dist.get_world_size()} stopped: another process of the job "
                       f"ended or hangs ({type(exc).__name__}: {first})") from exc


def all_reduce(t: Tensor, op: Any = None) -> None:
    with _collective():
        dist.all_reduce(t, op=dist.ReduceOp.SUM if op is None else op)


def _peer_lost_hook(default: Any) -> Any:
    """An excepthook: a PeerLost ends this process with one line and status PEER_LOST, not a traceback.
    Under `gankit train --nproc`, rank 0 writes its line to the launcher's folder instead of the terminal:
    the launcher names the process that failed first and shows this line only if no other did."""
    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        if not issubclass(kind, PeerLost):
            default(kind, exc, tb)
            return
        folder = os.environ.get(LAUNCHER_ENV)
        if folder and dist.get_rank() == 0:
            with contextlib.suppress(OSError):
                (Path(folder) / PEER_LOST_FILE).write_text(f"{exc}\n")
        else:
            print(f"gankit: error: {exc}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # the process that ended first is still exiting (a UserError's line printed, finalisation under way):
        # give torchrun the time to see its status before ours, so that the job is reported by its cause
        time.sleep(PEER_LOST_GRACE_S)
        os._exit(PEER_LOST)
    return hook


def end() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def broadcast(t: Tensor) -> None:
    """Rank 0's values of `t` on every process."""
    with _collective():
        dist.broadcast(t, src=0)


def broadcast_object(obj: Any) -> Any:
    """Rank 0's `obj` (picklable) on every process."""
    shared = [obj]
    with _collective():
        dist.broadcast_object_list(shared, src=0)
    return shared[0]


__all__ = ["PeerLost", "TIMEOUT", "active", "all_reduce", "broadcast", "broadcast_object", "end", "env_int", "launched",
           "start"]
