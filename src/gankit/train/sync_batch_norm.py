"""Batch norm over the global batch of a torchrun job, on any device (torch.nn.SyncBatchNorm is CUDA only)."""
from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from gankit.train.process_group import active, all_reduce


class _AllReduceSum(torch.autograd.Function):
    """Sum over the processes; its gradient is the sum of the processes' gradients (itself differentiable)."""

    @staticmethod
    def forward(ctx: Any, t: Tensor) -> Tensor:  # noqa: ARG004
        t = t.clone(memory_format=torch.contiguous_format)
        all_reduce(t)
        return t

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # noqa: ARG004
        return _AllReduceSum.apply(grad)


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are the global batch's: per channel, mean = sum_all(x) / N and
    var = sum_all((x - mean)^2) / N (N = examples x positions over all processes), each sum an all_reduce
    that autograd differentiates, so output, gradients and running statistics (unbiased var, momentum)
    equal one process's BatchNorm on the whole batch. Eval mode uses the running statistics, locally."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (N, C, ...), got {x.dim()}D")

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and active()):
            return super().forward(x)
        factor = 0.0
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        dims = [0, *range(2, x.dim())]
        shape = (1, -1) + (1,) * (x.dim() - 2)
        count = x.numel() // x.size(1) * dist.get_world_size()
        mean = _AllReduceSum.apply(x.sum(dims)) / count
        centred = x - mean.view(shape)
        var = _AllReduceSum.apply((centred * centred).sum(dims)) / count
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                self.running_var.mul_(1 - factor).add_(var.detach() * (count / max(count - 1, 1)), alpha=factor)
        return out


def sync_batch_norm(module: nn.Module) -> nn.Module:
    """Every BatchNorm1d/2d/3d under `module` replaced by a SyncBatchNorm holding the same parameter and
    buffer tensors (optimisers, EMAs and state_dict keys are unchanged)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, SyncBatchNorm):
        synced = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        if module.affine:
            synced.weight, synced.bias = module.weight, module.bias
        if module.track_running_stats:
            synced.running_mean, synced.running_var = module.running_mean, module.running_var
            synced.num_batches_tracked = module.num_batches_tracked
        synced.train(module.training)
        return synced
    for name, child in module.named_children():
        converted = sync_batch_norm(child)
        if converted is not child:
            module.add_module(name, converted)
    return module


__all__ = ["SyncBatchNorm", "sync_batch_norm"]
