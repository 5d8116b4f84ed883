"""The ``fcc`` console script: one door to both wings (fcc_theory, fcc_train)."""
