"""The one-line warning when a step schedule's LR milestones fall after the run's last epoch."""

from __future__ import annotations

import io
import itertools
import math
from pathlib import Path

from fcc_train.config import load_config
from fcc_train.train.loop import run_training
from fcc_train.train.schedule import lr_at, milestone_warning

REPO = Path(__file__).resolve().parents[2]
FAST = ["optim.batch_size=64", "train.progress=none", "train.device=cpu", "train.threads=1"]


def test_warning_exactly_when_a_milestone_is_never_reached():
    for epochs, ms, schedule in itertools.product((2, 10, 60, 200), ([48, 54], [160, 180], [5], []), ("step", "cosine")):
        o = load_config(None, [f"optim.epochs={epochs}", f"optim.milestones={ms}", f"optim.schedule={schedule}"]).optim
        # independent: how many decays has the last epoch's LR had, against the milestones asked for?
        f, w_ep = o.warmup_start_factor, o.warmup_epochs
        warm = f + (1 - f) * epochs / w_ep if epochs < w_ep else 1.0
        applied = round(math.log(lr_at(o, epochs) / (o.lr * warm)) / math.log(o.lr_decay))
        decays_missed = schedule == "step" and applied < len(ms)
        w = milestone_warning(o)
        assert (w is not None) == decays_missed, (epochs, ms, schedule, w)
        if w is not None:
            assert w.startswith(f"warning: optim.epochs is {epochs} but the LR milestones ") and "\n" not in w


def test_run_start_prints_it_once(tmp_path):
    out = io.StringIO()
    cfg = load_config(REPO / "configs/digits/ce.yaml", FAST + ["optim.epochs=1"])
    assert run_training(cfg, tmp_path / "a", stream=out, log=lambda s: print(s, file=out)) == 0
    lines = [line for line in out.getvalue().splitlines() if line.startswith("warning:")]
    assert lines == [
        "warning: optim.epochs is 1 but the LR milestones 48, 54 come after it: the learning rate never decays (set optim.milestones)"
    ]
    out2 = io.StringIO()
    cfg2 = load_config(REPO / "configs/digits/ce.yaml", FAST + ["optim.epochs=1", "optim.milestones=[1]"])
    assert run_training(cfg2, tmp_path / "b", stream=out2, log=lambda s: print(s, file=out2)) == 0
    assert "warning:" not in out2.getvalue()
