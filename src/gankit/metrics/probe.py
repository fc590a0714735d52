"""How good are features for classification? A linear probe and 1-nearest-neighbour accuracy.

The standard test of a representation learnt without labels (BiGAN, Donahue et al. 2017, section 4;
ALI, Dumoulin et al. 2017): freeze the features, fit the simplest classifier on the training split's
features and labels, report its accuracy on the test split.

linear probe:  multinomial logistic regression on standardised features (train mean and std),
               min_W,b  mean_i CE(W f_i + b, y_i) + weight_decay/2 |W|^2, full-batch L-BFGS
               (deterministic: no sampling, one thread), then accuracy of argmax(W f + b) on test.
1-NN:          each test feature takes the label of its nearest training feature (Euclidean, standardised).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

WEIGHT_DECAY = 1e-4
MAX_ITER = 200
CHUNK = 1024  # test rows per distance block of the 1-NN search: 1024 x 60,000 floats = 245 MB


def _standardise(train: Tensor, test: Tensor) -> tuple[Tensor, Tensor]:
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    return (train - mean) / std, (test - mean) / std


def linear_probe(train_f: Tensor, train_y: Tensor, test_f: Tensor, test_y: Tensor,
                 weight_decay: float = WEIGHT_DECAY, max_iter: int = MAX_ITER) -> float:
    """Test accuracy in [0, 1] of a logistic-regression classifier fitted on the training features."""
    train_f, test_f = _standardise(train_f.double(), test_f.double())
    k = int(max(train_y.max(), test_y.max())) + 1
    W = torch.zeros(train_f.shape[1], k, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(train_f @ W + b, train_y) + 0.5 * weight_decay * (W**2).sum()
        loss.backward()
        return loss

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # the same float order, so the same accuracy, on every machine
        opt.step(closure)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        return float(((test_f @ W + b).argmax(1) == test_y).double().mean())


def nearest_neighbour(train_f: Tensor, train_y: Tensor, test_f: Tensor, test_y: Tensor) -> float:
    """Test accuracy in [0, 1] of the 1-nearest-neighbour classifier on standardised features."""
    train_f, test_f = _standardise(train_f.float(), test_f.float())
    sq = (train_f**2).sum(1)
    hits = 0
    for i in range(0, len(test_f), CHUNK):
        block = test_f[i : i + CHUNK]
        # |a - b|^2 = |a|^2 - 2 a.b + |b|^2; |a|^2 is the same for every candidate of one row
        nearest = (sq[None, :] - 2 * block @ train_f.T).argmin(1)
        hits += int((train_y[nearest] == test_y[i : i + CHUNK]).sum())
    return hits / len(test_f)
