"""DeviceLoader under torchrun (gloo, 2 CPU processes): both ranks shard ONE global epoch list.

run.py seeds each rank's loader generator differently (so crops and flips differ per rank); the
epoch's index list must nevertheless be the same on every rank before sharding, or the ranks'
shards overlap and some images are never seen. Checked for instance and class-probability sampling.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from fcc_train.config import load_config
    from fcc_train.data import build_datasets
    from fcc_train.data.loader import DeviceLoader

    rank, out = int(sys.argv[1]), sys.argv[2]
    dist.init_process_group("gloo", rank=rank, world_size=2)
    cfg = load_config(None, ["data.dataset=digits", "optim.batch_size=16"])
    loader = DeviceLoader.from_data(build_datasets(cfg), cfg, "cpu", rank=rank, world_size=2)
    gen = torch.Generator().manual_seed(42 + 1000 * rank)  # as run.py: a different generator per rank
    probs = torch.full((10,), 0.1)
    lists = [loader.epoch_indices(None, gen).tolist(), loader.epoch_indices(probs, gen).tolist()]
    json.dump({"lists": lists, "n": loader.num_train}, open(f"{out}.{rank}.json", "w"))
    dist.destroy_process_group()
    """
)


def test_ranks_shard_one_global_list(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = [subprocess.Popen([sys.executable, str(script), str(r), str(tmp_path / "out")], env=env) for r in (0, 1)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    r0, r1 = (json.loads((tmp_path / f"out.{r}.json").read_text()) for r in (0, 1))
    n = r0["n"]
    # instance sampling: a permutation split in two disjoint halves
    a, b = r0["lists"][0], r1["lists"][0]
    assert len(a) == len(b) == n // 2
    assert not set(a) & set(b)
    # class-probability sampling (with replacement): interleaved shards of one list, so position i of
    # rank 0 and rank 1 are consecutive draws; the two shards must differ (independent lists would
    # coincide only by chance, identical lists would mean both ranks train on the same images)
    assert r0["lists"][1] != r1["lists"][1]
