"""Run a CLI module in this process and SIGKILL it right after the checkpoint of epoch K (resume-after-kill tests).

    python tests/train/kill_runner.py K MODULE ARGS...   # e.g. 2 fcc_train train --config ...

Every :class:`~fcc_train.train.loop.TrainingRun` the command creates gets an ``on_checkpoint`` callback
that kills the process when its epoch-K checkpoint is on disk; the library itself has no kill switch.
"""

import os
import runpy
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's packages, as `python -m` from its root

from fcc_train.train import loop


def main() -> None:
    kill_after, module, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    real_init = loop.TrainingRun.__init__

    def kill_at(epoch: int, run: loop.TrainingRun) -> None:
        if epoch == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    def init(self, *a, **k):
        if k.get("on_checkpoint") is None:
            k["on_checkpoint"] = kill_at
        real_init(self, *a, **k)

    loop.TrainingRun.__init__ = init
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
