"""The ``fcc`` console script: one door to both wings (fcc_theory, fcc_train).

``__version__`` is the project's one version number (pyproject.toml reads it from here).
"""

__version__ = "0.2.0"
