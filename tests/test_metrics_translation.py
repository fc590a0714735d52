"""Translation scores (metrics/translation.py) on cases with known answers: L1, PSNR, SSIM against
scikit-image's definition, and the FCN-score table on crafted label maps."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gankit.errors import UserError
from gankit.metrics.translation import PSNR_CAP_DB, cycle_error, l1, psnr, segmentation_scores, ssim


def images(n: int = 3, c: int = 3, side: int = 16, seed: int = 0) -> torch.Tensor:
    """Smooth-ish random images in [-0.8, 0.8] (room for a shift without leaving [-1, 1])."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, side // 4, side // 4, generator=g)
    x = torch.nn.functional.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
    return (x * 1.6 - 0.8).float()


def checkerboard(n: int, c: int, side: int) -> torch.Tensor:
    """+1 / -1 alternating pixels, (n, c, side, side)."""
    i = torch.arange(side)
    return ((i[:, None] + i[None, :]) % 2 * 2 - 1).float().expand(n, c, side, side)


# ---------------------------------------------------------------- L1, PSNR, cycle error

def test_l1_of_a_constant_shift_is_the_shift_in_unit_pixels() -> None:
    x = images()
    assert torch.allclose(l1(x, x + 0.2), torch.full((3,), 0.1, dtype=torch.float64), atol=1e-6)  # 0.2 in [-1,1] = 0.1
    assert torch.equal(l1(x, x), torch.zeros(3, dtype=torch.float64))
    assert cycle_error(x, x - 0.5) == pytest.approx(0.25, abs=1e-6)


def test_psnr_identical_is_the_cap_and_known_noise_the_known_value() -> None:
    x = images()
    assert torch.equal(psnr(x, x), torch.full((3,), PSNR_CAP_DB, dtype=torch.float64))
    # +-0.1 in [0, 1] units on every pixel: MSE = 0.01, PSNR = 10 log10(1 / 0.01) = 20 dB.
    noisy = x + 0.2 * checkerboard(3, 3, 16)
    assert torch.allclose(psnr(x, noisy), torch.full((3,), 20.0, dtype=torch.float64), atol=1e-4)
    # data_range R: 10 log10(R^2 / MSE)
    expected = torch.full((3,), 20.0 + 20 * math.log10(2), dtype=torch.float64)
    assert torch.allclose(psnr(x, noisy, data_range=2.0), expected, atol=1e-4)
    # Per image: the second image is noisier
    twice = noisy.clone()
    twice[1] = x[1] + 0.4 * checkerboard(1, 3, 16)[0]  # MSE 0.04: 13.98 dB
    assert psnr(x, twice)[1].item() == pytest.approx(10 * math.log10(25), abs=1e-4)


def test_shape_mismatch_is_one_line() -> None:
    with pytest.raises(UserError, match="differ in shape"):
        l1(images(), images(n=2))
    with pytest.raises(UserError, match=r"\(N, C, H, W\)"):
        psnr(torch.zeros(3, 4), torch.zeros(3, 4))
    with pytest.raises(UserError, match="at least 11x11"):
        ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))


# ---------------------------------------------------------------- SSIM

def _ssim_reference(a: np.ndarray, b: np.ndarray) -> float:
    """scikit-image's structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=0), written out with scipy: Gaussian
    filter (truncate 3.5: radius 5, window 11) with reflect padding, then 5 pixels cropped off
    every side, the map averaged, the channels averaged."""
    from scipy.ndimage import gaussian_filter

    def one(x: np.ndarray, y: np.ndarray) -> float:
        f = lambda t: gaussian_filter(t, sigma=1.5, truncate=3.5, mode="reflect")  # noqa: E731
        ux, uy, uxx, uyy, uxy = f(x), f(y), f(x * x), f(y * y), f(x * y)
        vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
        return float(s[5:-5, 5:-5].mean())

    return float(np.mean([one(a[c], b[c]) for c in range(a.shape[0])]))


def test_ssim_of_identical_images_is_one_and_falls_with_noise() -> None:
    x = images(side=32)
    assert torch.allclose(ssim(x, x), torch.ones(3, dtype=torch.float64), atol=1e-12)
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(x.shape, generator=g)
    values = [ssim(x, x + s * noise).mean().item() for s in (0.02, 0.1, 0.3, 1.0)]
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert values[0] < 1


def test_ssim_of_constant_images_is_the_luminance_term() -> None:
    # No variance anywhere: SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1), the same at every window.
    a, b = torch.full((1, 1, 12, 12), 0.2), torch.full((1, 1, 12, 12), -0.4)  # 0.6 and 0.3 in [0, 1]
    c1 = 0.01 ** 2
    expected = (2 * 0.6 * 0.3 + c1) / (0.6 ** 2 + 0.3 ** 2 + c1)
    assert ssim(a, b).item() == pytest.approx(expected, abs=1e-6)


def test_ssim_matches_scikit_image() -> None:
    x = images(n=2, side=32, seed=2)
    y = 0.6 * x + 0.4 * images(n=2, side=32, seed=3)  # related, not equal
    mine = ssim(x, y)
    try:
        from skimage.metrics import structural_similarity
    except ImportError:  # not a gankit dependency: the same algorithm written out with scipy
        pytest.importorskip("scipy")
        ref = [_ssim_reference((x[i].double().numpy() + 1) / 2, (y[i].double().numpy() + 1) / 2) for i in range(2)]
    else:
        ref = [structural_similarity((x[i].double().numpy() + 1) / 2, (y[i].double().numpy() + 1) / 2,
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1,
                                     channel_axis=0) for i in range(2)]
    assert mine.tolist() == pytest.approx(ref, abs=1e-6)
    assert 0.1 < min(ref) and max(ref) < 0.95  # a real case, not a trivial 1 or 0


# ---------------------------------------------------------------- FCN-score table

NAMES = ("background", "circle", "square", "star")


def test_segmentation_all_right_is_one() -> None:
    truth = torch.randint(0, 4, (2, 8, 8), generator=torch.Generator().manual_seed(0))
    s = segmentation_scores(truth.clone(), truth, 4, NAMES)
    assert s["per_pixel_accuracy"] == s["per_class_accuracy"] == s["class_iou"] == 1.0
    assert set(s["iou_by_class"]) == set(NAMES) and s["absent_classes"] == [] and s["pixels"] == 128


def test_segmentation_one_class_wrong_gives_the_hand_computed_scores() -> None:
    # 100 pixels: 60 background, 30 circle, 10 square; the square is read as a circle.
    truth = torch.tensor([0] * 60 + [1] * 30 + [2] * 10).reshape(1, 10, 10)
    pred = truth.clone()
    pred[truth == 2] = 1
    s = segmentation_scores(pred, truth, 4, NAMES)
    assert s["per_pixel_accuracy"] == pytest.approx(0.9)
    assert s["accuracy_by_class"] == {"background": 1.0, "circle": 1.0, "square": 0.0, "star": None}
    # circle: 30 right / (30 true + 40 predicted - 30) = 0.75; square 0 / (10 + 0 - 0) = 0
    assert s["iou_by_class"] == {"background": 1.0, "circle": pytest.approx(0.75), "square": 0.0, "star": None}
    # star never occurs in the truth: left out of both means
    assert s["absent_classes"] == ["star"]
    assert s["per_class_accuracy"] == pytest.approx(2 / 3)
    assert s["class_iou"] == pytest.approx((1 + 0.75 + 0) / 3)


def test_absent_class_predicted_lowers_others_but_is_not_averaged() -> None:
    truth = torch.zeros(1, 4, 4, dtype=torch.int64)
    truth[0, :2] = 1  # 8 background, 8 circle
    pred = truth.clone()
    pred[0, 0, 0] = 3  # one circle pixel called a star (absent from the truth)
    s = segmentation_scores(pred, truth, 4, NAMES)
    assert s["absent_classes"] == ["square", "star"]
    assert s["iou_by_class"]["circle"] == pytest.approx(7 / 8) and s["iou_by_class"]["star"] is None
    assert s["class_iou"] == pytest.approx((1 + 7 / 8) / 2)
    assert s["per_class_accuracy"] == pytest.approx((1 + 7 / 8) / 2)
    assert s["per_pixel_accuracy"] == pytest.approx(15 / 16)


def test_segmentation_bad_input_is_one_line() -> None:
    t = torch.zeros(1, 4, 4, dtype=torch.int64)
    with pytest.raises(UserError, match="differ in shape"):
        segmentation_scores(t, torch.zeros(1, 4, 5, dtype=torch.int64), 4, NAMES)
    with pytest.raises(UserError, match="expected 0..3"):
        segmentation_scores(t + 4, t, 4, NAMES)
    with pytest.raises(UserError, match="4 names"):
        segmentation_scores(t, t, 3, NAMES)
    with pytest.raises(UserError, match="integer class ids"):
        segmentation_scores(t.float(), t, 4, NAMES)
