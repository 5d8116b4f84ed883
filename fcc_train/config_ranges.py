"""The allowed range of every numeric config key, checked once when a config is built.

A value outside its range is a :class:`~fcc_train.config.ConfigError` naming the key, the value and
what is allowed — never a silent fallback (a batch of 0 training at batch 1, a negative rounding
giving τ = 0) or a traceback deep in training. Each key of :class:`~fcc_train.config.Config` with a
number in it is listed here; a test checks that none is forgotten.

>>> from fcc_train.config import load_config
>>> check_ranges(load_config(None, ["optim.momentum=5"]))
Traceback (most recent call last):
...
fcc_train.config.ConfigError: config key 'optim.momentum' is 5.0; it must be in [0, 1)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from fcc_train.config import ConfigError, config_to_dict, flatten_config

__all__ = ["RANGES", "Range", "check_ranges", "check_run_name"]

MAX_EPOCHS = 100_000  # far beyond any recipe (400), small enough that a typo like 1e9 is caught
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit seed


@dataclass(frozen=True)
class Range:
    """``low`` ≤ value ≤ ``high`` (``None``: unbounded); ``open_low`` / ``open_high`` make that end strict."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def holds(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self.low is not None and (v < self.low or (self.open_low and v == self.low)):
            return False
        return not (self.high is not None and (v > self.high or (self.open_high and v == self.high)))

    def text(self) -> str:
        def num(x: float | None, inf: str) -> str:
            return inf if x is None else f"{x:g}"

        lo, hi = num(self.low, "-inf"), num(self.high, "inf")
        if self.low is not None and self.high is None:
            return f"{'>' if self.open_low else '>='} {lo}"
        if self.high is not None and self.low is None:
            return f"{'<' if self.open_high else '<='} {hi}"
        return f"in {'(' if self.open_low else '['}{lo}, {hi}{')' if self.open_high else ']'}"


POSITIVE = Range(0, None, open_low=True)
NON_NEGATIVE = Range(0, None)
AT_LEAST_1 = Range(1, None)
UNIT = Range(0, 1)  # [0, 1]
UNIT_OPEN_HIGH = Range(0, 1, open_high=True)  # [0, 1)
UNIT_OPEN_LOW = Range(0, 1, open_low=True)  # (0, 1]

RANGES: dict[str, Range] = {
    "data.imbalance_factor": AT_LEAST_1,  # whether every class keeps an image is checked with the data
    "data.step_ratio": Range(0, 1, open_low=True, open_high=True),
    "data.subset_seed": Range(0, 2**32 - 1),  # numpy's RandomState seed
    "data.test_per_class": AT_LEAST_1,
    "data.synthetic_train_size": AT_LEAST_1,
    "data.synthetic_test_size": AT_LEAST_1,
    "data.num_classes": Range(2, None),
    "data.image_size": AT_LEAST_1,
    "data.crop_padding": NON_NEGATIVE,
    "data.cutout": Range(0, 1024),
    "data.short_side": AT_LEAST_1,
    "data.workers": NON_NEGATIVE,
    "data.color_jitter": NON_NEGATIVE,
    "data.rrc_min_scale": UNIT_OPEN_LOW,
    "model.cosine_scale": POSITIVE,
    "model.num_experts": Range(1, 64),
    "model.shared_stages": Range(0, 3),
    "model.expert_width": Range(0, 4, open_low=True),
    "fcc.gamma": NON_NEGATIVE,
    "fcc.beta": Range(0, 1),  # 0 or 1 (an int key)
    "fcc.round_decimals": Range(0, 12),
    "fcc.start_epoch": NON_NEGATIVE,
    "method.focal_gamma": NON_NEGATIVE,
    "method.cb_beta": UNIT_OPEN_HIGH,
    "method.label_smoothing": UNIT_OPEN_HIGH,
    "method.celas_head": UNIT,
    "method.celas_tail": UNIT,
    "method.ldam_max_m": POSITIVE,
    "method.ldam_s": POSITIVE,
    "method.ldam_linear_s": POSITIVE,
    "method.cdt_gamma": NON_NEGATIVE,
    "method.drw_start_epoch": NON_NEGATIVE,
    "method.drw_beta": UNIT_OPEN_HIGH,
    "method.drs_start_epoch": NON_NEGATIVE,
    "method.mixup_alpha": POSITIVE,
    "method.remix_kappa": POSITIVE,
    "method.remix_tau": UNIT,
    "method.distill_temperature": POSITIVE,
    "method.distill_alpha": UNIT,
    "method.distill_power": POSITIVE,
    "method.sade_tau": NON_NEGATIVE,
    "method.sade_test_time_epochs": NON_NEGATIVE,
    "method.sade_test_time_lr": POSITIVE,
    "method.ride_diversity_factor": Range(-10, 10),
    "method.ride_diversity_temperature": POSITIVE,
    "method.ride_reweight_factor": UNIT_OPEN_HIGH,
    "method.ride_router_epochs": AT_LEAST_1,
    "method.ride_router_lr": POSITIVE,
    "method.ride_router_batch_size": AT_LEAST_1,
    "method.ride_router_top_k": AT_LEAST_1,
    "method.ride_router_pos_weight": POSITIVE,
    "method.ncl_hcm_k": AT_LEAST_1,
    "method.ncl_nbod_factor": NON_NEGATIVE,
    "method.ncl_nbod_hcm_factor": NON_NEGATIVE,
    "method.ncl_hcm_ratio": NON_NEGATIVE,
    "stage.tau_norm_p": NON_NEGATIVE,
    "stage.max_norm": POSITIVE,
    "optim.epochs": Range(1, MAX_EPOCHS),
    "optim.batch_size": AT_LEAST_1,
    "optim.lr": POSITIVE,
    "optim.momentum": UNIT_OPEN_HIGH,
    "optim.weight_decay": NON_NEGATIVE,
    "optim.warmup_epochs": NON_NEGATIVE,
    "optim.warmup_start_factor": UNIT_OPEN_LOW,
    "optim.milestones": AT_LEAST_1,  # each milestone
    "optim.lr_decay": UNIT_OPEN_LOW,
    "train.seed": Range(0, MAX_SEED),
    "train.eval_every": AT_LEAST_1,
    "train.threads": AT_LEAST_1,
    "train.eval_batch_size": AT_LEAST_1,
    "train.checkpoint_every": AT_LEAST_1,
}

# a run name becomes a folder under runs/: one plain path component
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def check_run_name(name: str) -> str:
    """``name`` if it is one safe folder name (no separators, no ``..``, not absolute), else a ConfigError."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise ConfigError(f"config key 'name' is {name!r}; use letters, digits and . _ + - only (it names a folder under runs/)")
    return name


def check_ranges(cfg: Any) -> Any:
    """``cfg`` if every numeric key lies in its :data:`RANGES` entry, else a one-line ConfigError."""
    check_run_name(cfg.name)
    flat = flatten_config(config_to_dict(cfg))
    for key, rng in RANGES.items():
        value = flat.get(key)
        for v in value if isinstance(value, list) else [value]:
            if v is None or isinstance(v, bool):
                continue
            if not rng.holds(float(v)):
                raise ConfigError(f"config key '{key}' is {v!r}; it must be {rng.text()}")
    return cfg
