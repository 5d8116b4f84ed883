"""Docstring examples of the theory modules run as tests (pytest collects doctests under tests/ only)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "fcc_theory.rational",
    "fcc_theory.network",
    "fcc_theory.margins",
    "fcc_theory.tau",
    "fcc_theory.symbolic",
    "fcc_theory.decide",
    "fcc_theory.lemmas",
    "fcc_theory.claims",
    "fcc_theory.activations",
    "fcc_theory.hypotheses",
    "fcc_theory.hypotheses_relu",
    "fcc_theory.crosscheck",
    "fcc_theory.plane_readings",
    "fcc_theory.cosine",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0
