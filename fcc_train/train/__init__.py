"""The training core: the step, CUDA graphs, the LR schedule, the run loop, checkpoints, the run log, torchrun."""
