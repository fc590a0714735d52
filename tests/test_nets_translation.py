"""Image-to-image nets: pix2pix's U-Net, CycleGAN's ResNet generator and the PatchGAN discriminator."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import ConditionSpec, NetSpec, build_net
from gankit.nets.patchgan import patch_grid, receptive_field
from gankit.nets.unet import levels


def translator(arch: str, c_in: int, c_out: int, side: int, **cfg) -> nn.Module:
    torch.manual_seed(0)
    return build_net(NetConfig(arch=arch, **cfg), "translator", NetSpec((c_in, side, side), (c_out, side, side)))


def patchgan(c: int, side: int, depth: int, c_cond: int = 0, **cfg) -> nn.Module:
    torch.manual_seed(0)
    cond = ConditionSpec("image", c_cond, shape=(c_cond, side, side)) if c_cond else None
    return build_net(NetConfig(arch="patchgan", depth=depth, **{"width": 8, **cfg}), "discriminator",
                     NetSpec((c, side, side), (), cond))


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("side", [16, 32, 64])
@pytest.mark.parametrize("arch, cfg", [("unet", {"depth": 0, "norm": "batch"}),
                                       ("unet", {"depth": 3, "norm": "instance"}),
                                       ("resnet", {"depth": 2, "norm": "instance"})])
@pytest.mark.parametrize("c_in, c_out", [(1, 3), (3, 3), (3, 1)])
def test_translator_shapes(side: int, arch: str, cfg: dict, c_in: int, c_out: int) -> None:
    G = translator(arch, c_in, c_out, side, width=4, **cfg)
    y = G(torch.randn(2, c_in, side, side))
    assert y.shape == (2, c_out, side, side)
    assert y.abs().max() <= 1


@pytest.mark.parametrize("side, depth, expected", [(16, 0, 4), (32, 0, 5), (32, 99, 5), (32, 2, 2), (64, 6, 6),
                                                   (256, 0, 8), (28, 0, 2)])
def test_unet_levels(side: int, depth: int, expected: int) -> None:
    assert levels(side, depth) == expected


def test_unet_layout_is_pix2pix() -> None:
    G = translator("unet", 3, 3, 256, width=64, depth=0, norm="batch")
    downs = [m for m in G.down.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in downs] == [64, 128, 256, 512, 512, 512, 512, 512]
    ups = [m for m in G.up.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in reversed(ups)] == [
        (512, 512), (1024, 512), (1024, 512), (1024, 512), (1024, 256), (512, 128), (256, 64), (128, 3)]
    # norm neither on the first nor on the innermost (1x1) encoder layer; dropout in the 3 innermost decoder blocks
    assert [any(isinstance(m, nn.BatchNorm2d) for m in d) for d in G.down] == [False] + [True] * 6 + [False]
    assert [any(isinstance(m, nn.Dropout) for m in u) for u in G.up] == [False] * 5 + [True] * 3
    assert n_params(G) == pytest.approx(54.41e6, rel=1e-3)  # pix2pix's unet_256: 54.414 M


def test_unet_skips_carry_the_input_past_the_bottleneck() -> None:
    G = translator("unet", 1, 1, 32, width=4, depth=0, norm="batch").eval()  # eval: per-pixel norm, no dropout
    x = torch.randn(1, 1, 32, 32, requires_grad=True)

    def corner_gradient(cut_from: int) -> torch.Tensor:
        """d G(x)[0, 0] / dx with every encoder level from `cut_from` down giving zeros."""
        hooks = [d.register_forward_hook(lambda module, args, out: torch.zeros_like(out)) for d in G.down[cut_from:]]
        x.grad = None
        G(x)[0, 0, 0, 0].backward()
        for h in hooks:
            h.remove()
        return x.grad[0, 0]

    assert (corner_gradient(len(G.down)) != 0).all()  # the whole net: 1x1 bottleneck, every pixel counts
    # the bottleneck carries nothing: the corner still depends on the input, through the skips
    assert corner_gradient(len(G.down) - 1)[0, 0] != 0
    # only the outermost skip left: the corner sees just the pixels under its 4x4 conv and transposed conv
    footprint = corner_gradient(1) != 0
    assert footprint[:3, :3].all() and footprint.sum() == 9


def test_unet_dropout_is_noise_in_train_mode_only() -> None:
    G = translator("unet", 3, 3, 32, width=8, depth=0, norm="batch")
    x = torch.randn(4, 3, 32, 32)
    G.train()
    assert not torch.equal(G(x), G(x))
    G.eval()
    assert torch.equal(G(x), G(x))
    shallow = translator("unet", 3, 3, 32, width=8, depth=1, norm="batch")  # no decoder block but the output layer
    assert not any(isinstance(m, nn.Dropout) for m in shallow.modules())
    assert torch.equal(shallow(x), shallow(x))
    cyclegan_style = translator("unet", 3, 3, 32, width=8, depth=0, norm="instance", dropout=0.0).train()
    assert not any(isinstance(m, nn.Dropout) for m in cyclegan_style.modules())
    assert torch.equal(cyclegan_style(x), cyclegan_style(x))


def test_resnet_layout_and_reflection_padding() -> None:
    G = translator("resnet", 3, 3, 256, width=64, depth=9, norm="instance")
    convs = [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [m.kernel_size[0] for m in convs] == [7, 3, 3] + [3] * 18 + [3, 3, 7]
    assert [m.out_channels for m in convs] == [64, 128, 256] + [256] * 18 + [128, 64, 3]
    # stride-1 convs pad by reflection only: no zero padding in them
    assert all(m.padding == (0, 0) for m in convs if m.stride == (1, 1))
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in G.modules()) == 2 + 2 * 9
    # CycleGAN's code has 11.378 M with non-affine instance norm and conv biases; ours: affine norm, no biases
    assert n_params(G) == 11_378_179 + (10 + 8 * 9) * 64
    small = translator("resnet", 1, 3, 16, width=4, depth=1, norm="instance")
    x = torch.randn(2, 1, 16, 16)
    assert small.body[:10](x).shape[-1] == 4  # 16 px keeps both downsamplings: a 4x4 bottleneck
    assert small(x).shape == (2, 3, 16, 16)


@pytest.mark.parametrize("arch", ["unet", "resnet"])
def test_translator_refusals(arch: str) -> None:
    with pytest.raises(UserError, match="same size"):
        build_net(NetConfig(arch=arch), "translator", NetSpec((3, 32, 32), (3, 64, 64)))
    with pytest.raises(UserError, match="square"):
        build_net(NetConfig(arch=arch), "translator", NetSpec((3, 32, 16), (3, 32, 16)))
    with pytest.raises(UserError, match="side"):
        build_net(NetConfig(arch=arch, width=4), "translator", NetSpec((3, 7, 7), (3, 7, 7)))


@pytest.mark.parametrize("n_layers, expected", [(1, 16), (2, 34), (3, 70), (4, 142)])
def test_receptive_field_formula(n_layers: int, expected: int) -> None:
    assert receptive_field(n_layers) == expected == 9 * 2 ** n_layers - 2


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_receptive_field_matches_gradient_footprint(n_layers: int) -> None:
    D = patchgan(1, 128, n_layers, norm="none")
    g = patch_grid(128, n_layers)
    x = torch.randn(1, 1, 128, 128, requires_grad=True)
    D(x).view(g, g)[g // 2, g // 2].backward()  # a central patch: its field lies inside the image
    rows = x.grad[0, 0].abs().sum(1).nonzero().flatten()
    cols = x.grad[0, 0].abs().sum(0).nonzero().flatten()
    assert 0 < rows[0] and rows[-1] < 127
    assert rows[-1] - rows[0] + 1 == cols[-1] - cols[0] + 1 == receptive_field(n_layers)


@pytest.mark.parametrize("side, depth, grid",
                         [(16, 1, 6), (16, 2, 2), (32, 1, 14), (32, 3, 2), (64, 2, 14), (64, 3, 6)])
@pytest.mark.parametrize("norm", ["batch", "instance", "none", "layer"])
def test_patchgan_shapes(side: int, depth: int, grid: int, norm: str) -> None:
    D = patchgan(3, side, depth, norm=norm)
    assert D(torch.randn(2, 3, side, side)).shape == (2, grid * grid)
    assert D.patches == grid * grid


@pytest.mark.parametrize("side, depth", [(16, 3), (32, 4), (64, 5), (32, 0)])
def test_patchgan_refuses_depth_without_patches(side: int, depth: int) -> None:
    message = rf"patchgan depth {depth} leaves no output patch at {side} px; use depth 1 to"
    with pytest.raises(UserError, match=message) as e:
        patchgan(3, side, depth)
    assert "\n" not in str(e.value)


def test_patchgan_70_layout() -> None:
    D = patchgan(3, 256, 3, c_cond=3, width=64, norm="batch")
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (6, 64, 2), (64, 128, 2), (128, 256, 2), (256, 512, 1), (512, 1, 1)]
    assert n_params(D) == pytest.approx(2.769e6, rel=1e-3)  # pix2pix's 70x70 D on (A, B) pairs: 2.769 M


def test_conditional_patchgan_uses_c_and_checks_it() -> None:
    D = patchgan(3, 32, 1, c_cond=1, norm="instance")
    x, c = torch.randn(2, 3, 32, 32), torch.randn(2, 1, 32, 32)
    assert D(x, c).shape == (2, 196)
    assert not torch.allclose(D(x, c), D(x, -c))
    message = r"patchgan condition c must be \(N, 1, H, W\) like x \(2, 3, 32, 32\), got \(2, 3, 32, 32\)"
    with pytest.raises(UserError, match=message):
        D(x, torch.randn(2, 3, 32, 32))
    with pytest.raises(UserError, match="conditional"):
        D(x)
    plain = patchgan(3, 32, 1)
    assert torch.equal(plain(x, c), plain(x))
    with pytest.raises(UserError, match="conditioned on an image"):
        build_net(NetConfig(arch="patchgan", depth=1), "discriminator",
                  NetSpec((3, 32, 32), (), ConditionSpec("label", 10)))


def test_patchgan_spectral_norm() -> None:
    D = patchgan(3, 32, 2, spectral_norm=True)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert all(torch.nn.utils.parametrize.is_parametrized(c, "weight") for c in convs)
    assert D(torch.randn(2, 3, 32, 32)).shape == (2, 36)


def test_init_is_pix2pix() -> None:
    G = translator("unet", 3, 3, 64, width=32, depth=0, norm="instance")
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert w.std().item() == pytest.approx(0.02, rel=0.05) and abs(w.mean().item()) < 1e-3
    scales = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.InstanceNorm2d)])
    assert scales.mean().item() == pytest.approx(1, abs=0.01) and 0.01 < scales.std().item() < 0.03


@pytest.mark.parametrize("net, n_inputs", [
    (lambda: translator("unet", 3, 1, 32, width=4, depth=0, norm="batch"), 1),
    (lambda: translator("resnet", 3, 1, 32, width=4, depth=2, norm="instance"), 1),
    (lambda: patchgan(3, 32, 2, c_cond=3, norm="batch"), 2)])
def test_channels_last_input(net, n_inputs: int) -> None:
    m = net().eval()
    args = tuple(torch.randn(2, 3, 32, 32) for _ in range(n_inputs))
    cl = tuple(a.contiguous(memory_format=torch.channels_last) for a in args)
    assert torch.allclose(m(*args), m(*cl), atol=1e-5)
    m.to(memory_format=torch.channels_last)  # as the trainer does on the CPU
    assert torch.allclose(m(*args), m(*cl), atol=1e-5)


@pytest.mark.parametrize("arch, cfg", [("unet", {"depth": 0, "norm": "batch"}),
                                       ("resnet", {"depth": 1, "norm": "instance"})])
def test_a_few_adam_steps_reduce_l1(arch: str, cfg: dict) -> None:
    G = translator(arch, 1, 3, 16, width=8, **cfg)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(4, 1, 16, 16, generator=gen) * 2 - 1
    y = torch.cat([x, -x, x.roll(1, dims=3)], dim=1) * 0.8  # edges -> RGB stand-in: a fixed pixelwise map
    opt = torch.optim.Adam(G.parameters(), lr=5e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(30):
        loss = (G(x) - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]
