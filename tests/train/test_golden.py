"""Golden runs: four short digits-LT runs whose checkpoints and metrics must not change under a refactor.

CE+FCC, Remix+FCC, LDAM-DRW and cRT (on the CE+FCC run's backbone) train a few epochs on one CPU
thread with a fixed seed, with FCC and DRW switched on inside the run so every phase is exercised.
Each run is reduced to a digest: the SHA-256 of every tensor of ``last.pt`` (model and momentum) and
of ``best.pt``'s model, and every value of ``metrics.jsonl`` except wall-clock seconds. The digests
in ``golden/digits_golden.json`` were written by the trainer before its core was redesigned:

    python tests/train/test_golden.py --write

Bit-identity holds for one platform (torch build, CPU instruction set); on another one the stored
numbers are compared with a tolerance instead of their hashes, and the test says so.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden") / "digits_golden.json"
FAST = ["train.progress=none", "train.device=cpu", "train.threads=1", "train.seed=3"]
RUNS: dict[str, tuple[str, list[str]]] = {
    "ce_fcc": ("configs/digits/ce_fcc.yaml", ["optim.epochs=4", "fcc.start_epoch=1"]),
    "remix_fcc": ("configs/digits/remix_fcc.yaml", ["optim.epochs=3", "fcc.start_epoch=1"]),
    "ldam_drw": ("configs/digits/ldam_drw.yaml", ["optim.epochs=4", "method.drw_start_epoch=2"]),
    "crt": ("configs/digits/crt.yaml", ["optim.epochs=3"]),  # stage.init_from is the ce_fcc run
}


def _platform() -> str:
    return f"torch {torch.__version__} / {platform.machine()} / {torch.backends.cpu.get_cpu_capability()}"


def _tensors(obj: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    out: dict[str, torch.Tensor] = {}
    if isinstance(obj, dict):
        for k in sorted(obj, key=str):
            out.update(_tensors(obj[k], f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(_tensors(v, f"{prefix}[{i}]"))
    return out


def _digest(run_dir: Path) -> dict[str, Any]:
    last = torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu")
    best = torch.load(run_dir / "checkpoints" / "best.pt", map_location="cpu")
    tensors = _tensors({"model": last["model"], "momentum": last["optimizer"]["momentum_buffer"]})
    tensors.update(_tensors({"best_model": best["model"]}))
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for r in records:
        r.pop("seconds", None)
    return {
        "epoch": int(last["epoch"]),
        "best_epoch": int(best["epoch"]),
        "sha256": {k: hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest() for k, t in tensors.items()},
        "sums": {k: float(t.double().sum()) for k, t in tensors.items()},
        "metrics": records,
    }


def _train_all(root: Path) -> dict[str, Any]:
    from fcc_train.config import load_config
    from fcc_train.train.loop import run_training

    torch.set_num_threads(1)
    out: dict[str, Any] = {}
    for name, (config, extra) in RUNS.items():
        sets = FAST + extra + ([f"stage.init_from={root / 'ce_fcc'}"] if name == "crt" else [])
        assert run_training(load_config(REPO / config, sets), root / name, log=lambda _msg: None) == 0
        out[name] = _digest(root / name)
    return out


def test_golden_runs_are_unchanged(tmp_path: Path) -> None:
    stored = json.loads(GOLDEN.read_text())
    got = _train_all(tmp_path)
    same_platform = stored["platform"] == _platform()
    for name, want in stored["runs"].items():
        have = got[name]
        assert have["epoch"] == want["epoch"] and have["best_epoch"] == want["best_epoch"], name
        assert set(have["sha256"]) == set(want["sha256"]), name
        if same_platform:
            assert have["sha256"] == want["sha256"], f"{name}: tensors differ from the golden run"
            assert have["metrics"] == want["metrics"], f"{name}: metrics differ from the golden run"
        else:  # another torch build or CPU: float round-off may differ, the training must not
            for k, v in want["sums"].items():
                assert have["sums"][k] == pytest.approx(v, rel=1e-4, abs=1e-4), f"{name}: {k}"
            for a, b in zip(have["metrics"], want["metrics"], strict=True):
                assert a["epoch"] == b["epoch"] and a["lr"] == pytest.approx(b["lr"])
                assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-3)


def test_digest_tells_runs_apart(tmp_path: Path) -> None:
    """The digest is sensitive: a one-ulp change of one weight changes its hash (so the golden test can fail)."""
    t = torch.linspace(-1, 1, 7)
    a = _tensors({"m": {"w": t}})
    b = _tensors({"m": {"w": torch.nextafter(t, torch.full_like(t, 2.0))}})
    ha = hashlib.sha256(a["m.w"].numpy().tobytes()).hexdigest()
    hb = hashlib.sha256(b["m.w"].numpy().tobytes()).hexdigest()
    assert ha != hb


if __name__ == "__main__":
    import tempfile

    if "--write" not in sys.argv:
        raise SystemExit("usage: python tests/train/test_golden.py --write")
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        runs = _train_all(Path(tmp))
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({"platform": _platform(), "runs": runs}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
