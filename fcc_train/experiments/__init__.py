"""The method catalogue and sweeps: which configs make a table, how they are planned and run."""
