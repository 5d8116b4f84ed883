"""Sampler class probabilities (CB, SR, PB) and the DRS switch against their formulas (docs/recipes.md, "Samplers")."""

from __future__ import annotations

import math

import pytest
import torch

from fcc_train.config import load_config
from fcc_train.methods import DataInfo, build_method
from fcc_train.methods.samplers import class_probabilities, sampler_active

COUNTS = [400, 100, 30, 9]


def test_instance_is_none():
    assert class_probabilities("instance", COUNTS) is None


def test_cb_uniform():
    assert class_probabilities("cb", COUNTS).tolist() == pytest.approx([0.25] * 4)


def test_sr_square_root():
    s = sum(math.sqrt(n) for n in COUNTS)
    assert class_probabilities("sr", COUNTS).tolist() == pytest.approx([math.sqrt(n) / s for n in COUNTS], rel=1e-6)


@pytest.mark.parametrize("t", [0, 1, 50, 161, 200])
def test_pb_interpolates(t):
    N, C, T = sum(COUNTS), len(COUNTS), 200
    want = [(t / T) / C + (1 - t / T) * n / N for n in COUNTS]
    got = class_probabilities("pb", COUNTS, epoch=t, total_epochs=T).tolist()
    assert got == pytest.approx(want, rel=1e-6)
    assert sum(got) == pytest.approx(1.0)


def test_unknown_sampler():
    with pytest.raises(ValueError, match=r"unknown method\.sampler"):
        class_probabilities("balanced", COUNTS)


def test_drs_switch_rule():
    assert sampler_active(1, None)
    assert not sampler_active(160, 160)
    assert sampler_active(161, 160)


def test_method_epoch_sampling_with_drs_and_pb_schedule():
    cfg = load_config(None, ["method.sampler=pb", "method.drs_start_epoch=160"])
    m = build_method(cfg, DataInfo(class_counts=COUNTS, epochs=200))
    assert m.epoch_sampling(160) is None
    p = m.epoch_sampling(161)
    # PB+DRS keeps the official t/T schedule with T = 200: at epoch 161 the draw is 80.5 % balanced
    N = sum(COUNTS)
    assert p.tolist() == pytest.approx([0.805 / 4 + 0.195 * n / N for n in COUNTS], rel=1e-5)
    cb = build_method(load_config(None, ["method.sampler=cb"]), DataInfo(class_counts=COUNTS, epochs=200))
    assert torch.allclose(cb.epoch_sampling(1), torch.full((4,), 0.25))
