"""fcc_train: a fast long-tailed trainer reproducing FCC's Tables 1-2 (raw methods and +FCC)."""
