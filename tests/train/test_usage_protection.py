"""docs/usage.md, "How runs are protected": its example opens a real run's checkpoint with plain ``torch.load``."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from fcc_train.config import load_config
from fcc_train.train.loop import run_training

REPO = Path(__file__).resolve().parents[2]


def _example() -> str:
    page = (REPO / "docs/usage.md").read_text(encoding="utf-8")
    section = page.split("## How runs are protected", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return code


def test_the_plain_torch_load_example_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    cfg = load_config(REPO / "configs/digits/ce_fcc.yaml", ["optim.epochs=1", "train.progress=none", "train.device=cpu"])
    assert run_training(cfg, tmp_path / "runs" / cfg.name) == 0
    capsys.readouterr()
    real = torch.load
    calls: list[dict] = []

    def load(*a, **k):  # weights_only=True whatever this torch's default: the example must not need more
        calls.append(k)
        return real(*a, **{**k, "weights_only": True})

    monkeypatch.setattr(torch, "load", load)
    monkeypatch.chdir(tmp_path)
    code = _example()
    namespace: dict = {}
    exec(compile(code, "docs/usage.md", "exec"), namespace)
    assert calls and calls[0] == {}  # plain torch.load(path), no weights_only=False
    epoch, err, name = capsys.readouterr().out.split()
    assert (int(epoch), name) == (1, "digits_ce_fcc") and 0 <= float(err) <= 100
    assert namespace["logits"].shape == (1, 10) and not namespace["model"].training
