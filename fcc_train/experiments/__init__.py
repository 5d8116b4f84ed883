"""Planning and running experiment sweeps: where runs execute (a local process pool or a Slurm cluster) and their states."""
