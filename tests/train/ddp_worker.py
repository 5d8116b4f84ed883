"""One process of the DDP equivalence test (tests/train/test_ddp.py): ``python ddp_worker.py RANK WORLD PORT OUT``.

Trains a small ResNet (BatchNorm in eval mode: running statistics fixed, so no per-rank batch statistics)
for a few SGD steps on a fixed synthetic set, the global batch of each step drawn by
:func:`fcc_train.train.distributed.epoch_indices` from a seed shared with :func:`~fcc_train.train.distributed.shared_seed`
and split over the ranks; then evaluates a test set sharded over the ranks and gathers the predictions
with ``all_gather_cat`` before the per-class metrics. Rank 0 (or the single process) writes OUT (JSON).
"""

from __future__ import annotations

import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, RANK=str(rank), WORLD_SIZE=str(world))
        dist.init_process_group("gloo", rank=rank, world_size=world)
    from fcc_train.models.resnet_cifar import resnet_small
    from fcc_train.train.distributed import all_gather_cat, epoch_indices, shared_seed
    from fcc_train.train.metrics import compute_metrics

    data_gen = torch.Generator().manual_seed(123)
    N, C, B = 32, 4, 8  # global batch B, 4 steps per epoch
    X = torch.randn(N, 3, 8, 8, generator=data_gen)
    Y = torch.tensor([0] * 16 + [1] * 8 + [2] * 6 + [3] * 2)
    Xt = torch.randn(13, 3, 8, 8, generator=data_gen)  # 13: shards of unequal size (7 + 6)
    Yt = torch.arange(13) % C
    counts = torch.bincount(Y, minlength=C).double()

    torch.manual_seed(0)
    model = resnet_small(num_classes=C, in_channels=3)
    model.eval()  # BN uses its running statistics: the forward of a sample does not depend on its batch mates
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)

    gen = torch.Generator().manual_seed(42 + 1000 * rank)  # per-rank generators, as fcc_train.train.loop seeds them
    losses, seeds = [], []
    probs = [None, torch.tensor([0.25, 0.25, 0.25, 0.25])]  # epoch 1 instance sampling, epoch 2 class-balanced
    for p in probs:
        seed = shared_seed(gen)
        seeds.append(seed)
        idx = epoch_indices(Y, counts, p, seed, rank, world)
        local_b = B // world
        for s in range(len(idx) // local_b):
            j = idx[s * local_b : (s + 1) * local_b]
            loss = F.cross_entropy(net(X[j]), Y[j])
            opt.zero_grad()
            loss.backward()  # DDP averages the gradients over ranks: the gradient of the global-batch mean loss
            opt.step()
            glob = loss.detach().clone()
            if world > 1:
                dist.all_reduce(glob)
                glob /= world
            losses.append(float(glob))
    per = -(-len(Yt) // world)
    lo, hi = min(rank * per, len(Yt)), min((rank + 1) * per, len(Yt))
    with torch.no_grad():
        logits = model(Xt[lo:hi])
    logits_all = all_gather_cat(logits)
    labels_all = all_gather_cat(Yt[lo:hi])
    m = compute_metrics(logits_all.argmax(1), labels_all, counts.long().tolist())
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    seeds_all = [None] * world
    if world > 1:
        dist.all_gather_object(seeds_all, seeds)
    else:
        seeds_all = [seeds]
    if rank == 0:
        res = {
            "losses": losses,
            "logits": logits_all.tolist(),
            "labels": labels_all.tolist(),
            "top1_error": m["top1_error"],
            "per_class_recall": m["per_class_recall"],
            "params": flat[::97].tolist(),
            "param_norm": float(flat.norm()),
            "seeds": seeds_all,
        }
        with open(out, "w") as f:
            json.dump(res, f)
    if world > 1:
        dist.barrier()  # as fcc_train.train.distributed.cleanup: no rank tears gloo down under a peer
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
