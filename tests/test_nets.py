import pytest
import torch

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import NetSpec
from gankit.nets.dcgan import stages
from gankit.registry import NETS


@pytest.mark.parametrize("resolution, expected", [(28, (2, 7)), (32, (3, 4)), (64, (4, 4)), (8, (1, 4))])
def test_stages(resolution: int, expected: tuple[int, int]) -> None:
    assert stages(resolution) == expected


@pytest.mark.parametrize("resolution", [8, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("num_classes", [0, 10])
def test_dcgan_shapes(resolution: int, channels: int, num_classes: int) -> None:
    spec = NetSpec((channels, resolution, resolution), z_dim=16, num_classes=num_classes)
    G = NETS.get("dcgan")("G", NetConfig(arch="dcgan", width=8, norm="batch"), spec)
    D = NETS.get("dcgan")("D", NetConfig(arch="dcgan", width=8, norm="batch", spectral_norm=True), spec)
    y = torch.randint(0, 10, (4,)) if num_classes else None
    x = G(torch.randn(4, 16), y)
    assert x.shape == (4, channels, resolution, resolution)
    assert x.abs().max() <= 1
    assert D(x, y).shape == (4,)


def test_reference_dcgan_28_layout() -> None:
    spec = NetSpec((1, 28, 28), z_dim=100)
    G = NETS.get("dcgan")("G", NetConfig(arch="dcgan", width=64, norm="batch"), spec)
    D = NETS.get("dcgan")("D", NetConfig(arch="dcgan", width=64, norm="batch"), spec)
    convs_G = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in convs_G] == [(128, 64), (64, 1)]
    convs_D = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs_D] == [(1, 64), (64, 128)]
    assert G.project.out_features == 128 * 7 * 7


def test_mlp_conditional_and_sn() -> None:
    spec = NetSpec((2,), z_dim=2, num_classes=8)
    G = NETS.get("mlp")("G", NetConfig(width=8, depth=2), spec)
    D = NETS.get("mlp")("D", NetConfig(width=8, depth=2, spectral_norm=True), spec)
    y = torch.arange(5) % 8
    assert D(G(torch.randn(5, 2), y), y).shape == (5,)
    assert torch.nn.utils.parametrize.is_parametrized(D.head, "weight")
    assert not torch.nn.utils.parametrize.is_parametrized(G.net[0], "weight")


def test_bad_shapes_are_user_errors() -> None:
    with pytest.raises(UserError, match="even resolution"):
        NETS.get("dcgan")("G", NetConfig(arch="dcgan"), NetSpec((1, 7, 7), z_dim=4))
    with pytest.raises(UserError, match="square images"):
        NETS.get("dcgan")("D", NetConfig(arch="dcgan"), NetSpec((2,), z_dim=4))
    with pytest.raises(UserError, match="cannot be a E"):
        NETS.get("mlp")("E", NetConfig(), NetSpec((2,), z_dim=4))
