import pytest
import torch

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import ConditionSpec, NetSpec, build_net
from gankit.nets.dcgan import stages


def gd(cfg_g: NetConfig, cfg_d: NetConfig, shape: tuple[int, ...], z_dim: int, classes: int = 0):
    """G and D for data of `shape`, conditioned on `classes` labels when > 0."""
    cond = ConditionSpec("label", classes) if classes else None
    return (build_net(cfg_g, "generator", NetSpec((z_dim,), shape, cond)),
            build_net(cfg_d, "discriminator", NetSpec(shape, (), cond)))


@pytest.mark.parametrize("resolution, expected", [(28, (2, 7)), (32, (3, 4)), (64, (4, 4)), (8, (1, 4))])
def test_stages(resolution: int, expected: tuple[int, int]) -> None:
    assert stages(resolution) == expected


@pytest.mark.parametrize("resolution", [8, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("num_classes", [0, 10])
def test_dcgan_shapes(resolution: int, channels: int, num_classes: int) -> None:
    G, D = gd(NetConfig(arch="dcgan", width=8, norm="batch"),
              NetConfig(arch="dcgan", width=8, norm="batch", spectral_norm=True),
              (channels, resolution, resolution), 16, num_classes)
    y = torch.randint(0, 10, (4,)) if num_classes else None
    x = G(torch.randn(4, 16), y)
    assert x.shape == (4, channels, resolution, resolution)
    assert x.abs().max() <= 1
    assert D(x, y).shape == (4,)


def test_reference_dcgan_28_layout() -> None:
    G, D = gd(NetConfig(arch="dcgan", width=64, norm="batch"), NetConfig(arch="dcgan", width=64, norm="batch"),
              (1, 28, 28), 100)
    convs_G = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in convs_G] == [(128, 64), (64, 1)]
    convs_D = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs_D] == [(1, 64), (64, 128)]
    assert G.project.out_features == 128 * 7 * 7


def test_mlp_conditional_and_sn() -> None:
    G, D = gd(NetConfig(width=8, depth=2), NetConfig(width=8, depth=2, spectral_norm=True), (2,), 2, 8)
    y = torch.arange(5) % 8
    assert D(G(torch.randn(5, 2), y), y).shape == (5,)
    assert torch.nn.utils.parametrize.is_parametrized(D.head, "weight")
    assert not torch.nn.utils.parametrize.is_parametrized(G.net[0], "weight")


def test_bad_shapes_are_user_errors() -> None:
    with pytest.raises(UserError, match="even resolution"):
        build_net(NetConfig(arch="dcgan"), "generator", NetSpec((4,), (1, 7, 7)))
    with pytest.raises(UserError, match="square images"):
        build_net(NetConfig(arch="dcgan"), "discriminator", NetSpec((2,), ()))
    with pytest.raises(UserError, match="net arch 'mlp' cannot build a translator; it builds: discriminator, encoder, "
                                        "features, generator, joint"):
        build_net(NetConfig(), "translator", NetSpec((2,), (2,)))
    with pytest.raises(UserError, match="unknown net arch 'vit'"):
        build_net(NetConfig(arch="vit"), "generator", NetSpec((2,), (4,)))
    with pytest.raises(UserError, match="net arch 'resnet' cannot build a generator; it builds: translator"):
        build_net(NetConfig(arch="resnet"), "generator", NetSpec((2,), (4,)))


def test_tags_and_text_conditions_use_the_same_nets() -> None:
    """One encoder per condition kind: tags (multi-hot) and a sentence embedding go through the same G and D."""
    for cond, c in ((ConditionSpec("multi_hot", 5), torch.tensor([[1.0, 0, 1, 0, 0]] * 3)),
                    (ConditionSpec("embedding", 6), torch.randn(3, 6))):
        G = build_net(NetConfig(width=8, depth=2), "generator", NetSpec((2,), (2,), cond))
        D = build_net(NetConfig(width=8, depth=2), "discriminator", NetSpec((2,), (), cond))
        x = G(torch.randn(3, 2), c)
        assert D(x, c).shape == (3,)
        other = c.flip(1)  # (not c + 1: the sentence encoder's LayerNorm ignores a shift, as it should)
        assert not torch.allclose(D(x, c), D(x, other))  # D's verdict depends on the condition


def test_skip_refiner_starts_as_stage_one_upsampled_and_learns_a_correction() -> None:
    torch.manual_seed(0)
    spec = NetSpec((3, 16, 16), (3, 32, 32), ConditionSpec("embedding", 6))
    R = build_net(NetConfig(arch="stackgan-skip", width=8, norm="batch"), "refiner", spec).eval()
    image, c = torch.rand(2, 3, 16, 16) * 2 - 1, torch.randn(2, 6)
    up = torch.nn.functional.interpolate(image, size=(32, 32), mode="bilinear", align_corners=False)
    out = R(image, c)
    assert out.shape == (2, 3, 32, 32) and torch.allclose(out, 0.999 * up, atol=1e-5)  # step 0: stage I, upsampled
    out.sub(1).square().mean().backward()  # a loss that wants a change reaches the correction's last conv
    assert R.up[-1].weight.grad.abs().sum() > 0
    paper = build_net(NetConfig(arch="stackgan", width=8, norm="batch"), "refiner", spec).eval()
    assert not torch.allclose(paper(image, c), 0.999 * up, atol=1e-2)  # the paper's refiner draws anew
