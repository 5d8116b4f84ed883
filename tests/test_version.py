"""``fcc --version``, ``fcc.__version__`` and the installed package metadata have one source."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import fcc


def test_version_has_one_source() -> None:
    out = subprocess.run([sys.executable, "-m", "fcc", "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"fcc {fcc.__version__}"
    try:
        installed = importlib.metadata.version("fcc")
    except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
        return
    assert installed == fcc.__version__
