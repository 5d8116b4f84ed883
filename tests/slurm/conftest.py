"""The ``slurm`` tests' cluster: one local single-node Slurm for the whole session (tests/slurm/slurm_cluster.py).

Skipped only where the Slurm / munge binaries are absent (``apt-get install slurm-wlm munge``); ``.ci/run``
installs them, so CI runs these tests against a real slurmctld and slurmd.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slurm_cluster import LocalSlurm, missing_binaries


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSlurm]:
    missing = missing_binaries()
    if missing:
        pytest.skip(f"Slurm is not installed here (missing {', '.join(missing)}); apt-get install slurm-wlm munge")
    pytest.importorskip("submitit")
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"), cpus=2, memory_mb=4000).start()
    try:
        yield cluster
    finally:
        cluster.stop()
