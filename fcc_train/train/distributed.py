"""torchrun / DDP helpers: one process per GPU, rank 0 writes files.

``torchrun --standalone --nproc_per_node=N -m fcc_train ...`` sets RANK,
WORLD_SIZE and LOCAL_RANK; without them everything runs as a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "all_gather_cat",
    "barrier",
    "cleanup",
    "epoch_indices",
    "is_main",
    "rank",
    "setup",
    "shared_seed",
    "world_size",
]


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device_kind: str = "auto") -> DistInfo:
    """Initialise the process group when launched by torchrun (nccl on CUDA, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(0, 1, 0)
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_kind != "cpu"
    if not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local)


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        # every rank reaches the teardown before any destroys the group: a gloo process group torn down while
        # a peer still talks to it can abort that peer ("terminate called without an active exception")
        dist.barrier()
        dist.destroy_process_group()


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def all_gather_cat(t: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor's first dimension across ranks (sizes may differ)."""
    if world_size() == 1:
        return t
    n = torch.tensor([t.shape[0]], device=t.device)
    sizes = [torch.zeros_like(n) for _ in range(world_size())]
    dist.all_gather(sizes, n)
    m = int(max(s.item() for s in sizes))
    pad = torch.zeros((m - t.shape[0],) + tuple(t.shape[1:]), dtype=t.dtype, device=t.device)
    buf = [torch.zeros((m,) + tuple(t.shape[1:]), dtype=t.dtype, device=t.device) for _ in sizes]
    dist.all_gather(buf, torch.cat([t, pad]))
    return torch.cat([b[: int(s.item())] for b, s in zip(buf, sizes, strict=True)])


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def shared_seed(generator: torch.Generator | None) -> int:
    """A 62-bit seed drawn from rank 0's ``generator`` and broadcast, so every rank gets the same one.

    Each rank draws from its own generator (keeping their states in step); only rank 0's value is used.
    Because the run checkpoints rank 0's generator state, a resumed run draws the same epoch lists,
    also with a different number of processes.
    """
    dev = generator.device if generator is not None else torch.device("cpu")
    t = torch.randint(0, 2**62, (1,), generator=generator, device=dev)
    if world_size() > 1:
        t = t.to("cuda" if dist.get_backend() == "nccl" else "cpu")
        dist.broadcast(t, src=0)
    return int(t.item())


def epoch_indices(
    labels: torch.Tensor,
    class_counts: torch.Tensor,
    class_probs: torch.Tensor | None,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
) -> torch.Tensor:
    """Distributed instance / class-probability sampling: the same global epoch list on every rank, then its shard.

    ``class_probs=None``: a random permutation of the N training images (instance sampling, as
    ``DistributedSampler``). Otherwise N draws with replacement where image i has weight
    ``p[y_i] / n[y_i]``, so class j is drawn with probability ``p_j`` and uniformly among its images
    (class-balanced, square-root, progressively-balanced sampling and DRS, via ``Method.epoch_sampling``).
    Rank r keeps ``idx[r::world_size]`` truncated to ``N // world_size``: disjoint shards of one
    global list, equal lengths so all ranks take the same number of steps. CPU int64.
    """
    g = torch.Generator().manual_seed(int(seed))
    N = int(labels.shape[0])
    if class_probs is None:
        idx = torch.randperm(N, generator=g)
    else:
        p = class_probs.detach().to("cpu", torch.float64)
        w = (p / class_counts.to(torch.float64).clamp_min(1.0))[labels.to("cpu", torch.long)]
        idx = torch.multinomial(w, N, replacement=True, generator=g)
    if world_size > 1:
        idx = idx[rank::world_size][: N // world_size]
    return idx
