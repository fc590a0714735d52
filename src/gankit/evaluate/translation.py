"""`gankit evaluate RUN` for a translation run (pix2pix, CycleGAN): scores against the ground truth.

The built-in translation data knows the exact answer for every test input, so each direction a run
has (pix2pix: AtoB; CycleGAN: AtoB with G and BtoA with F) is scored on the first n test inputs:
    pixels       L1, PSNR, SSIM of each output against its target          (paired test data)
    labels       an output that is a label map in the palette (photo -> labels): decoded to class
                 ids, per-pixel / per-class accuracy and class IoU against the true map
    fcn          an output that is a shapes photo (labels -> photo, edges -> photo, recolour,
                 reshape): the FCN-score, the same table from a segmenter trained on real shapes
                 photos (metrics/segmenter.py), with its score on real photos as the ceiling
    attributes   recolour / reshape: the attribute judge (metrics/attributes.py) reads every
                 attribute of each output: target-attribute accuracy (the colour or shape asked
                 for) and content preservation (every other attribute as in the input's scene)
    domain       Fashion-MNIST outputs: the domain classifier's class for each output (the target
                 class for sneaker -> boot; the input's class for edges -> garment)
    fid          FID of the outputs against the real test images of the output side, in the
                 features of the judge of that domain (shapes: attribute judge; fashion: classifier)
    cycle        CycleGAN: mean |x - F(G(x))| in [0, 1] units
Each judge's own accuracy on real images is recorded beside the scores it made.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from gankit.data.base import TensorData
from gankit.errors import UserError

DEFAULT_N = 5000
FASHION = ("fashion-edges", "fashion-sneaker2boot")
SNEAKER, BOOT = 7, 9


def _mean_std(values: Tensor) -> dict[str, float]:
    return {"mean": float(values.double().mean()), "std": float(values.double().std(correction=0))}


def test_data(cfg: Any) -> tuple[TensorData, str]:
    """The run's test split (its training data with a note when the dataset has none)."""
    from gankit.train.loop import load_data

    try:
        return load_data(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, split="test"))), "test"
    except UserError:
        return load_data(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, split="train"))), "train"


def fashion_view(x: Tensor) -> Tensor:
    """Fashion-MNIST images as the domain classifier reads them: 28 x 28, one channel. Translation
    data pads 28 px garments with 2 black pixels to 32 (resized for 64), so this undoes exactly that."""
    from gankit.data.transforms import convert_channels, resize_batch

    x = convert_channels(x, 1)
    if x.shape[-1] != 32:
        x = resize_batch(x, 32)
    return x[..., 2:30, 2:30].contiguous()


def plain(data_cfg: Any, name: str) -> Any:
    """The train split of dataset `name` with the run's resolution (and objects): what a judge is trained on."""
    return dataclasses.replace(data_cfg, name=name, split="train", text_encoder="", paired=True, direction="AtoB",
                               limit=0)


def _fid(features: Any, fake: Tensor, real: Tensor) -> float:
    from gankit.metrics.fid import fid_from_features

    return float(fid_from_features(features(fake), features(real)))


def score_direction(cfg: Any, test: TensorData, source: str, target: str, out: Tensor, paired: bool,
                    n: int) -> dict[str, Any]:
    """Every score that applies to outputs `out` made from test field `source`, imitating field `target`."""
    from gankit.data.translation import labels_from_image
    from gankit.metrics import translation as tm

    spec = test.spec[target]
    real = test.column(target)[:n] if paired else test.column(target)
    scores: dict[str, Any] = {"n": len(out)}
    truth = test.fields.get("label_map")
    if paired:
        want = real[: len(out)]
        scores["pixels"] = {"l1": _mean_std(tm.l1(out, want)), "psnr": _mean_std(tm.psnr(out, want)),
                            "ssim": _mean_std(tm.ssim(out, want))}
    if spec.classes and truth is not None:  # the output is a label map in the palette
        scores["labels"] = tm.segmentation_scores(labels_from_image(out), truth[: len(out)].long(), spec.classes,
                                                  spec.names)
    shapes_photo = cfg.data.name.startswith("shapes-") and not spec.classes and spec.shape[0] == 3
    if shapes_photo:
        from gankit.metrics.attributes import attribute_judge
        from gankit.metrics.segmenter import fcn_score, segmenter_for

        shapes_cfg = plain(cfg.data, "shapes")
        # the test split's label map and attributes are the target side's (x_b); scoring the way back (x_b -> x)
        # needs x's: the same map except where the change is the shape itself (reshape)
        back = target == "x"
        changed = _changed(cfg.data.name)
        if truth is not None and not (back and changed == "shape"):
            scores["fcn"] = fcn_score(segmenter_for(shapes_cfg), out, truth[: len(out)].long())
        judge = attribute_judge(shapes_cfg)
        scores["fid"] = {"value": _fid(judge.net.features, out, real), "features": judge.net.name,
                         "n_real": len(real)}
        scores.update(_attribute_scores(cfg, judge, test, out, back))
    if cfg.data.name in FASHION:
        from gankit.metrics.features import domain_classifier

        net = domain_classifier(dataclasses.replace(plain(cfg.data, "fashion-mnist"), resolution=0, channels=0))
        view = fashion_view(out)
        classes = net.logits(view).argmax(1)
        scores["fid"] = {"value": _fid(net.features, view, fashion_view(real)), "features": net.name,
                         "n_real": len(real)}
        scores["domain"] = _domain_scores(cfg.data.name, target, classes, test, source, net)
    return scores


def _changed(name: str) -> str | None:
    from gankit.data.translation_shapes import CHANGES

    return CHANGES[name][0] if name in CHANGES else None


def _attribute_scores(cfg: Any, judge: Any, test: TensorData, out: Tensor, back: bool) -> dict[str, Any]:
    """Recolour / reshape: the changed attribute as asked, everything else as in the scene. The test split
    records the target side's value of the changed attribute; the way back (`back`) asks for the input
    side's, which is one value for the whole set (red, circle)."""
    from gankit.data.translation_shapes import CHANGES

    changed = _changed(cfg.data.name)
    if changed is None or changed not in test.fields:
        return {}
    pred = judge.predict(out)
    kept = [a for a in judge.kinds if a != changed and a in test.fields and judge.kinds[a] == "label"]
    truth = {a: test.fields[a][: len(out)].cpu() for a in (changed, *kept)}
    if back:  # x's value: A's when the data runs AtoB, B's when data.direction swapped the sides
        _, value_a, value_b = CHANGES[cfg.data.name]
        truth[changed] = torch.full_like(truth[changed], value_a if cfg.data.direction == "AtoB" else value_b)
    right = {a: (pred[a].cpu() == truth[a]) for a in (changed, *kept)}
    content = torch.stack([right[a] for a in kept]).all(0) if kept else torch.ones(len(out), dtype=torch.bool)
    return {"attributes": {"target": changed, "target_accuracy": float(right[changed].double().mean()),
                           "content_preservation": float(content.double().mean()), "kept": kept,
                           "accuracy_by_attribute": {a: float(r.double().mean()) for a, r in right.items()},
                           "judge_accuracy_on_real": judge.test_accuracy}}


def _domain_scores(name: str, target: str, classes: Tensor, test: TensorData, source: str, net: Any) -> dict[str, Any]:
    from gankit.data.images import FASHION_CLASSES

    info = {"classifier_test_accuracy": net.info.get("test_accuracy")}
    if name == "fashion-sneaker2boot":
        want = BOOT if _goes_to_boots(test, target) else SNEAKER
        return {"target_class": FASHION_CLASSES[want], "target_class_rate": float((classes == want).double().mean()),
                **info}
    labels = test.fields.get("y")
    if labels is None:
        return info
    return {"same_class_as_input": float((classes == labels[: len(classes)].cpu()).double().mean()), **info}


def _goes_to_boots(test: TensorData, target: str) -> bool:
    """Whether field `target` of sneaker2boot data holds the boots (its label field says, whatever the direction)."""
    label = "y_b" if target == "x_b" else "y"
    owner = test._owner(label) if label in test.spec else None
    return owner is not None and int(owner.fields[label][0]) == BOOT
