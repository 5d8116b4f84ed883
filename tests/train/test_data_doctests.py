"""Docstring examples of the data modules."""

import doctest

import fcc_train.data.longtail


def test_longtail_doctests():
    assert doctest.testmod(fcc_train.data.longtail).failed == 0
