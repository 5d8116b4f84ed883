"""The method catalogue and sweeps: which configs make a table, how they are planned, where they run (a local process pool or a Slurm cluster) and their states."""
