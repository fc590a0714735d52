"""Metrics, registered by name in `gankit.registry.METRICS` (formula) with an evaluation (metrics.base).

Images: fid, kid, prdc, classifier_score, conditional_accuracy, class_spread, class_coverage (feature
networks in features.py / inception.py; attribute classifiers in attributes.py); stacked-fashion runs:
stacked_modes. 2D toy data: modes, w2.
"""
from gankit.metrics import (  # noqa: F401  (registration)
    class_coverage,
    class_spread,
    classifier_score,
    fid,
    kid,
    modes,
    pairs,
    prdc,
    stacked_classifier,
    stacked_modes,
    wasserstein,
)
