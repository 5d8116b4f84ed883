"""Long-tailed training subsets: the class-count profiles and the draw of Cao et al. (LDAM-DRW, NeurIPS 2019).

The same construction is used by BoT, FCC, LDAM-DRW and SADE (docs/recipes.md, "Long-tailed subsets"), so the
per-class counts *and the images* match the peers':

* exponential profile: ``n_i = int(n_max * (1/IF) ** (i / (C - 1)))`` for label ``i`` (label 0 largest);
* step profile: the first classes keep ``n_max``, the minority ones ``int(n_max / IF)``;
* draw: ``np.random.seed(subset_seed)`` once, then class by class in label order the class's
  indices are shuffled and the first ``n_i`` kept.

>>> exp_profile(5000, 10, 100)
[5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
>>> sum(exp_profile(500, 100, 50))
12608
>>> step_profile(500, 4, 10)
[500, 500, 50, 50]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "FEW_MAX",
    "MANY_MIN",
    "SHOTS",
    "class_profile",
    "draw_subset",
    "exp_profile",
    "profile_fields",
    "require_every_class",
    "shot_of",
    "shot_split",
    "step_profile",
]

# Shot thresholds (docs/recipes.md, "Evaluation"; SADE/RIDE/OLTR): many > 100, medium 20..100, few < 20 training images.
MANY_MIN = 100
FEW_MAX = 20
SHOTS = ("many", "medium", "few")


def exp_profile(n_max: int, num_classes: int, imbalance_factor: float) -> list[int]:
    """Cao et al.'s exponential profile ``int(n_max * (1/IF) ** (i / (C-1)))``, label 0 the largest.

    Computed in the same floating-point order as the official code (``img_max * (imb_factor ** (i / (C - 1.0)))``
    with ``imb_factor = 1/IF``), so truncation lands on the same integers.
    """
    _check_profile_args(n_max, num_classes, imbalance_factor)
    if num_classes == 1:
        return [int(n_max)]
    ratio = 1.0 / float(imbalance_factor)
    return [int(n_max * (ratio ** (i / (num_classes - 1.0)))) for i in range(num_classes)]


def step_profile(n_max: int, num_classes: int, imbalance_factor: float, minority_fraction: float = 0.5) -> list[int]:
    """Step profile: ``C - round(C·fraction)`` majority classes with ``n_max``, the rest with ``int(n_max / IF)``.

    With the default fraction 0.5 and even C this is Cao et al.'s step imbalance (first half ``n_max``).
    """
    _check_profile_args(n_max, num_classes, imbalance_factor)
    if not 0.0 <= minority_fraction <= 1.0:
        raise ValueError(f"step minority fraction must lie in [0, 1], got {minority_fraction}")
    n_minor = round(num_classes * minority_fraction)
    low = int(n_max * (1.0 / float(imbalance_factor)))
    return [int(n_max)] * (num_classes - n_minor) + [low] * n_minor


def class_profile(kind: str, n_max: int, num_classes: int, imbalance_factor: float, minority_fraction: float = 0.5) -> list[int]:
    """Dispatch on ``data.imbalance_type`` (``exp`` or ``step``)."""
    if kind == "exp":
        return exp_profile(n_max, num_classes, imbalance_factor)
    if kind == "step":
        return step_profile(n_max, num_classes, imbalance_factor, minority_fraction)
    raise ValueError(f"unknown imbalance type '{kind}'; use exp or step")


def require_every_class(counts: list[int], n_max: int, imbalance_factor: float) -> list[int]:
    """``counts`` itself when every class keeps a training image; else ``ValueError`` naming how many do not.

    A class without training images has no recall to learn and makes the shot split meaningless; the smallest
    class is ``int(n_max / IF)``, so a factor above ``n_max`` empties it.

    >>> require_every_class(exp_profile(50, 4, 10), 50, 10)
    [50, 23, 10, 5]
    >>> require_every_class(exp_profile(50, 4, 1e9), 50, 1e9)
    Traceback (most recent call last):
    ...
    ValueError: imbalance factor 1e+09 leaves 3 of 4 classes without a training image (the largest class has 50); use a factor of at most 50
    """
    empty = sum(1 for n in counts if n < 1)
    if empty:
        raise ValueError(
            f"imbalance factor {imbalance_factor:g} leaves {empty} of {len(counts)} classes without a training image "
            f"(the largest class has {n_max}); use a factor of at most {n_max}"
        )
    return counts


def _check_profile_args(n_max: int, num_classes: int, imbalance_factor: float) -> None:
    if n_max < 1 or num_classes < 1:
        raise ValueError(f"need n_max >= 1 and at least one class, got n_max={n_max}, C={num_classes}")
    if not imbalance_factor >= 1.0:  # also rejects NaN
        raise ValueError(f"imbalance factor must be >= 1 (N_max / N_min), got {imbalance_factor}")


def draw_subset(labels: np.ndarray, counts: list[int], seed: int = 0) -> np.ndarray:
    """Indices of the long-tailed subset, grouped class by class in label order (Cao et al.'s draw).

    ``np.random.seed(seed)`` followed by ``np.random.shuffle`` is the legacy global ``RandomState``;
    a private ``RandomState(seed)`` gives the same stream without touching numpy's global state.
    """
    labels = np.asarray(labels)
    rng = np.random.RandomState(seed)
    keep = []
    for c, n in enumerate(counts):
        idx = np.where(labels == c)[0]
        if n > len(idx):
            raise ValueError(f"class {c} has {len(idx)} images, the profile asks for {n}")
        rng.shuffle(idx)
        keep.append(idx[:n])
    return np.concatenate(keep).astype(np.int64) if keep else np.zeros(0, dtype=np.int64)


def shot_of(count: int) -> str:
    """The shot split of a class with ``count`` training images: 'many' (> 100), 'medium' (20..100) or 'few' (< 20).

    >>> [shot_of(n) for n in (101, 100, 20, 19)]
    ['many', 'medium', 'medium', 'few']
    """
    return "many" if count > MANY_MIN else "few" if count < FEW_MAX else "medium"


def shot_split(counts: list[int]) -> dict[str, list[int]]:
    """Label ids of the many (> 100), medium (20..100) and few (< 20) shot classes."""
    return {s: [c for c, n in enumerate(counts) if shot_of(n) == s] for s in SHOTS}


def profile_fields(base: str, dc: Any, n_max: int, **extra: Any) -> dict[str, Any]:
    """``name`` and ``info`` of a long-tailed data set drawn with ``dc``'s profile (``LTData`` keywords).

    >>> from fcc_train.config import DataConfig
    >>> profile_fields("digits", DataConfig(imbalance_factor=10.0), 180)["name"]
    'digits-lt-exp10'
    """
    info = {"profile": dc.imbalance_type, "imbalance_factor": dc.imbalance_factor, "n_max": n_max, "subset_seed": dc.subset_seed}
    return {"name": f"{base}-lt-{dc.imbalance_type}{dc.imbalance_factor:g}", "info": {**info, **extra}}
