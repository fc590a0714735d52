"""The standard FID Inception v3 (TensorFlow's 2015-12-05 graph, ported to PyTorch), from a local file.

Published FIDs (Heusel et al. 2017, TTUR code) use this network's 2048-d pool3 features with
this preprocessing, which gankit reproduces exactly (as torch-fidelity does):
    images -> uint8 (as a saved PNG would be) -> bilinear resize to 299x299 the TensorFlow 1.x
    way (source = dest * in/out, no half-pixel offset) -> (x - 128) / 128 -> network.
Gray images are repeated to 3 channels. Architecture = torchvision's Inception3 with the FID
patches (pytorch-fid's FIDInceptionA/C/E_1/E_2: average pools exclude padding, the last block
max-pools), so the state dict of pytorch-fid (pt_inception-2015-12-05-6726825d.pth) and of
torch-fidelity (weights-inception-2015-12-05-6726825d.pth) load unchanged.

The weights are never downloaded unless asked (`download=True`, the CLI's --download-inception)
and never replaced by other weights: a file whose SHA-256 does not start with 6726825d (the
torch.hub convention in its name) is refused.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import UserError
from gankit.metrics.features import FeatureNet, Log, cache_dir, log_stderr
from gankit.files import sha256_file

FILE_NAME = "pt_inception-2015-12-05-6726825d.pth"
FIDELITY_FILE_NAME = "weights-inception-2015-12-05-6726825d.pth"
URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FILE_NAME}"
HASH_PREFIX = "6726825d"
ENV = "GANKIT_INCEPTION_WEIGHTS"
MISSING = (f"Inception FID needs the weights file {FILE_NAME} (TensorFlow's FID Inception, 91 MB); "
           f"download it from {URL} and pass --inception-weights PATH or set {ENV}=PATH "
           "(or pass --download-inception to let gankit fetch it once into its cache)")


class Conv(nn.Module):  # torchvision's BasicConv2d: conv without bias, BN (eps 1e-3), ReLU
    def __init__(self, cin: int, cout: int, **kw) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg3(x: Tensor) -> Tensor:  # TensorFlow's average pool ignores the zero padding
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class BlockA(nn.Module):
    def __init__(self, cin: int, pool: int) -> None:
        super().__init__()
        self.branch1x1 = Conv(cin, 64, kernel_size=1)
        self.branch5x5_1, self.branch5x5_2 = Conv(cin, 48, kernel_size=1), Conv(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = Conv(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = Conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, kernel_size=3, padding=1)
        self.branch_pool = Conv(cin, pool, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(_avg3(x))], 1)


class BlockB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = Conv(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = Conv(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = Conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, stride=2)], 1)


class BlockC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        h, v = {"kernel_size": (1, 7), "padding": (0, 3)}, {"kernel_size": (7, 1), "padding": (3, 0)}
        self.branch1x1 = Conv(cin, 192, kernel_size=1)
        self.branch7x7_1 = Conv(cin, c7, kernel_size=1)
        self.branch7x7_2, self.branch7x7_3 = Conv(c7, c7, **h), Conv(c7, 192, **v)
        self.branch7x7dbl_1, self.branch7x7dbl_2 = Conv(cin, c7, kernel_size=1), Conv(c7, c7, **v)
        self.branch7x7dbl_3, self.branch7x7dbl_4 = Conv(c7, c7, **h), Conv(c7, c7, **v)
        self.branch7x7dbl_5 = Conv(c7, 192, **h)
        self.branch_pool = Conv(cin, 192, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg3(x))], 1)


class BlockD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = Conv(cin, 192, kernel_size=1), Conv(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = Conv(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = Conv(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = Conv(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = Conv(192, 192, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class BlockE(nn.Module):
    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        h, v = {"kernel_size": (1, 3), "padding": (0, 1)}, {"kernel_size": (3, 1), "padding": (1, 0)}
        self.max_pool = max_pool  # FID graph quirk: Mixed_7c max-pools where the paper average-pools
        self.branch1x1 = Conv(cin, 320, kernel_size=1)
        self.branch3x3_1 = Conv(cin, 384, kernel_size=1)
        self.branch3x3_2a, self.branch3x3_2b = Conv(384, 384, **h), Conv(384, 384, **v)
        self.branch3x3dbl_1 = Conv(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = Conv(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a, self.branch3x3dbl_3b = Conv(384, 384, **h), Conv(384, 384, **v)
        self.branch_pool = Conv(cin, 192, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(b3), self.branch3x3_2b(b3),
                          self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d), self.branch_pool(pooled)], 1)


class FIDInception(nn.Module):
    """(N, 3, 299, 299) in [-1, 1] -> (N, 2048) pool3 features. Module names = the weights file's keys."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = Conv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = Conv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = Conv(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = Conv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = Conv(80, 192, kernel_size=3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = BlockA(192, 32), BlockA(256, 64), BlockA(288, 64)
        self.Mixed_6a = BlockB(288)
        self.Mixed_6b, self.Mixed_6c = BlockC(768, 128), BlockC(768, 160)
        self.Mixed_6d, self.Mixed_6e = BlockC(768, 160), BlockC(768, 192)
        self.Mixed_7a = BlockD(768)
        self.Mixed_7b, self.Mixed_7c = BlockE(1280, max_pool=False), BlockE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)  # in the file; unused for FID

    def forward(self, x: Tensor) -> Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, stride=2)))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean(dim=(2, 3))


def resize_tf1(x: Tensor, size: int) -> Tensor:
    """Bilinear resize as TensorFlow 1.x's resize_bilinear(align_corners=False) computes it.

    For output index i the source coordinate is s = i * in / out (no half-pixel offset), then
    out = lerp(x[floor(s)], x[min(floor(s) + 1, in - 1)], s - floor(s)), rows then columns.
    """
    def axis(n_in: int) -> tuple[Tensor, Tensor, Tensor]:
        s = torch.arange(size, dtype=torch.float32) * torch.tensor(n_in / size, dtype=torch.float32)
        lo = s.long()
        return lo, (lo + 1).clamp_max(n_in - 1), s - lo.float()

    ylo, yhi, dy = axis(x.shape[2])
    xlo, xhi, dx = axis(x.shape[3])
    top, bottom = x[:, :, ylo], x[:, :, yhi]
    rows = top + (bottom - top) * dy.view(1, 1, -1, 1)
    left, right = rows[..., xlo], rows[..., xhi]
    return left + (right - left) * dx.view(1, 1, 1, -1)


def preprocess(x: Tensor) -> Tensor:
    """Images in [-1, 1] (N, 1|3, H, W) -> the FID network's input (N, 3, 299, 299)."""
    levels = ((x.float().clamp(-1, 1) + 1) * 127.5).round()  # the uint8 a saved image would hold
    if levels.shape[1] == 1:
        levels = levels.expand(-1, 3, -1, -1)
    return (resize_tf1(levels, 299) - 128) / 128


def find_weights(path: str | None = None) -> Path | None:
    """An explicit path, else $GANKIT_INCEPTION_WEIGHTS, else the file in gankit's or torch.hub's cache
    (where pytorch-fid and torch-fidelity keep it). None when there is none: never a download."""
    explicit = path or os.environ.get(ENV)
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            what = "are not a regular file" if p.exists() else "do not exist"
            raise UserError(f"Inception weights {p} {what}; {MISSING}")
        return p
    dirs = [cache_dir() / "inception", Path(torch.hub.get_dir()) / "checkpoints"]
    for d in dirs:
        for name in (FILE_NAME, FIDELITY_FILE_NAME):
            if (d / name).is_file():
                return d / name
    return None


def download(log: Log = log_stderr) -> Path:
    """Fetch the weights once into gankit's cache (only on the user's explicit request)."""
    target = cache_dir() / "inception" / FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"downloading {URL} -> {target}")
    torch.hub.download_url_to_file(URL, str(target), hash_prefix=HASH_PREFIX, progress=False)
    return target


def inception(path: str | None = None, allow_download: bool = False, check_hash: bool = True,
              log: Log = log_stderr) -> FeatureNet:
    """The FID Inception as a FeatureNet; UserError with how to get the weights when absent."""
    found = find_weights(path)
    if found is None:
        if not allow_download:
            raise UserError(MISSING)
        found = download(log)
    digest = sha256_file(found)
    if check_hash and not digest.startswith(HASH_PREFIX):
        raise UserError(f"{found} is not {FILE_NAME}: its SHA-256 starts {digest[:8]}, not {HASH_PREFIX}; "
                        "other weights would give FIDs that cannot be compared with published ones")
    try:
        state = torch.load(found, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (pickle, zip and torch errors all mean "not this file")
        raise UserError(f"cannot read Inception weights {found}: {str(exc).splitlines()[0]}") from None
    model = FIDInception()
    state = {k: v for k, v in state.items() if not k.startswith("AuxLogits.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise UserError(f"{found} does not hold the FID Inception weights "
                        f"(missing {missing[:2]}, unexpected {unexpected[:2]})")
    model.eval().requires_grad_(False)
    log(f"FID Inception: {found} (sha256 {digest[:12]}...)")
    return FeatureNet(name="inception-v3-fid (TF 2015-12-05, pool3)", sha256=digest,
                      embed=lambda x: model(preprocess(x)), batch_size=50,
                      info={"weights_file": str(found), "features": "pool3, 2048-d",
                            "preprocessing": "uint8 levels, TF1 bilinear resize to 299, (x-128)/128"})
