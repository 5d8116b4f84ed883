"""Cao et al.'s long-tailed profiles and draw, checked against published counts and independent computations."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fcc_train.data.longtail import class_profile, draw_subset, exp_profile, shot_split, step_profile


def _exp_reference(n_max: int, C: int, IF: int) -> list[int]:
    """floor(n_max · IF^(−i/(C−1))) in 60-digit arithmetic (independent of the float formula)."""
    with mpmath.workdps(60):
        return [int(mpmath.floor(mpmath.mpf(n_max) * mpmath.power(mpmath.mpf(IF), -mpmath.mpf(i) / (C - 1)))) for i in range(C)]


# (n_max, C, IF) -> published training size and smallest class (recipes.md §2; LDAM-DRW / BoT)
PUBLISHED = [((5000, 10, 100), 12406, 50), ((5000, 10, 50), 13996, 100), ((500, 100, 100), 10847, 5), ((500, 100, 50), 12608, 10)]


@pytest.mark.parametrize(("args", "total", "smallest"), PUBLISHED)
def test_exp_profile_matches_published_sizes(args, total, smallest):
    counts = exp_profile(*args)
    assert sum(counts) == total
    assert counts[0] == args[0] and counts[-1] == smallest
    assert counts == _exp_reference(*args)


def test_mutated_exponent_is_caught():
    # i/C instead of i/(C-1) (a plausible slip) changes the CIFAR-10-LT-100 size
    wrong = [int(5000 * (0.01 ** (i / 10))) for i in range(10)]
    assert sum(wrong) != 12406 and sum(exp_profile(5000, 10, 100)) == 12406


@pytest.mark.parametrize(("IF", "many", "medium", "few"), [(100, 35, 35, 30), (50, 41, 41, 18)])
def test_cifar100_shot_split_sizes(IF, many, medium, few):
    s = shot_split(exp_profile(500, 100, IF))
    assert (len(s["many"]), len(s["medium"]), len(s["few"])) == (many, medium, few)


def test_shot_thresholds_are_strict_at_100_and_20():
    s = shot_split([101, 100, 20, 19])
    assert s == {"many": [0], "medium": [1, 2], "few": [3]}


def test_balanced_and_step_profiles():
    assert exp_profile(37, 7, 1) == [37] * 7
    assert step_profile(5000, 10, 100) == [5000] * 5 + [50] * 5
    assert step_profile(100, 10, 10, minority_fraction=0.3) == [100] * 7 + [10] * 3
    assert class_profile("step", 10, 2, 1) == [10, 10]
    with pytest.raises(ValueError):
        class_profile("linear", 10, 2, 2)
    with pytest.raises(ValueError):
        exp_profile(10, 3, 0.5)


@given(st.integers(1, 6000), st.integers(2, 120), st.integers(1, 300))
def test_exp_profile_properties(n_max, C, IF):
    counts = exp_profile(n_max, C, IF)
    assert len(counts) == C and counts[0] == n_max
    assert all(a >= b for a, b in itertools.pairwise(counts))
    # the last class is n_max/IF up to one unit of float truncation
    assert counts[-1] in (math.floor(Fraction(n_max, IF)), math.floor(Fraction(n_max, IF)) - 1)


def _cao_reference(labels: np.ndarray, counts: list[int], seed: int) -> np.ndarray:
    """The official code verbatim in spirit: global np.random.seed once, shuffle each class's indices."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        out = []
        for c, n in zip(np.unique(labels), counts, strict=True):
            idx = np.where(labels == c)[0]
            np.random.shuffle(idx)
            out.extend(idx[:n])
        return np.array(out)
    finally:
        np.random.set_state(state)


@pytest.mark.parametrize("seed", [0, 3])
def test_draw_matches_the_official_global_seed_draw(seed):
    labels = np.random.RandomState(5).randint(0, 10, size=2000)
    counts = exp_profile(int(np.bincount(labels).min()), 10, 20)
    got = draw_subset(labels, counts, seed)
    assert np.array_equal(got, _cao_reference(labels, counts, seed))
    assert np.array_equal(np.bincount(labels[got], minlength=10), counts)
    before = np.random.get_state()[1].copy()
    draw_subset(labels, counts, seed)
    assert np.array_equal(before, np.random.get_state()[1])  # global numpy state untouched


def test_draw_depends_on_seed_and_refuses_too_many():
    labels = np.repeat(np.arange(3), 50)
    assert not np.array_equal(draw_subset(labels, [40, 20, 5], 0), draw_subset(labels, [40, 20, 5], 1))
    with pytest.raises(ValueError):
        draw_subset(labels, [51, 1, 1], 0)
