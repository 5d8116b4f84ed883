"""Several runs in one process (experimental until measured on a GPU): CUDA streams and stacked networks."""
