"""Docstring examples of the search package are checked here (pytest collects doctests under tests/ only)."""

import doctest

import pytest

from fcc_theory.search import falsifier, properties, runner, strategies


@pytest.mark.parametrize("module", [strategies, properties, runner, falsifier])
def test_doctests(module) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0
