"""``fcc demo`` — the main job on a fresh machine.

1. ``fcc verify``: decide every claim of the paper's Eqs. 5-9 exactly (theory
   only, no torch). Skipped with a note if this checkout has no verifier yet.
2. If torch is importable: train digits-LT (scikit-learn's bundled 8×8 digits,
   imbalance factor 10) raw and +FCC on the CPU with one thread
   (``configs/digits/ce.yaml`` and ``ce_fcc.yaml``, about half a minute each)
   and print both top-1 errors side by side, best and last epoch.
   Without torch it says how to install the ``train`` extra.

The runs go to ``runs/demo/<config name>``; re-running the demo reuses
finished runs (``--fresh`` trains again in a temporary folder).
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from pathlib import Path

from fcc_theory.errors import UserError

__all__ = ["add_arguments", "run"]

CONFIGS = (("CE (raw)", "ce.yaml"), ("CE + FCC", "ce_fcc.yaml"))
INSTALL_HINT = "pip install torch==2.13.0 && pip install -e '.[train]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip-verify", action="store_true", help="do not run fcc verify first")
    parser.add_argument("--skip-train", action="store_true", help="only run fcc verify")
    parser.add_argument("--out", default="runs/demo", help="folder for the two digits runs (default runs/demo)")
    parser.add_argument("--fresh", action="store_true", help="train again in a temporary folder instead of reusing runs")
    parser.add_argument("--seed", type=int, default=None, help="train.seed of both runs (default: the configs' 42)")


def _verify() -> int:
    try:
        verify = importlib.import_module("fcc_theory.commands.verify")
    except ModuleNotFoundError as exc:
        if exc.name != "fcc_theory.commands.verify":
            raise
        print("fcc demo: fcc verify is not in this checkout yet; skipping the theory part")
        return 0
    p = argparse.ArgumentParser(prog="fcc verify")
    verify.add_arguments(p)
    print("== fcc verify ==", flush=True)
    return int(verify.run(p.parse_args([])) or 0)


def _config_dir() -> Path:
    d = Path(__file__).resolve().parents[1] / "configs" / "digits"
    if not (d / "ce.yaml").is_file():
        raise UserError(f"the digits configs are not at {d}; run fcc demo from a checkout of the repository")
    return d


def _fmt(v: object) -> str:
    return "-" if v is None else f"{v:.2f}"


def _train(out_root: Path, seed: int | None) -> int:
    from fcc_train.config import load_config
    from fcc_train.results.summary import read_summary
    from fcc_train.train.loop import run_training

    cdir = _config_dir()
    rows, rc = [], 0
    print("== digits-LT (imbalance 10), CPU, one thread: raw vs FCC ==", flush=True)
    for label, fname in CONFIGS:
        over = ["train.device=cpu", "train.threads=1", "train.progress=none", "train.compile=none"]
        if seed is not None:
            over.append(f"train.seed={seed}")
        cfg = load_config(cdir / fname, over)
        out = out_root / cfg.name
        t0 = time.perf_counter()
        code = run_training(cfg, out, log=lambda s: None)
        rc = max(rc, code)
        s = read_summary(out) if (out / "summary.json").is_file() else None
        rows.append((label, s, time.perf_counter() - t0, out))
        print(f"  {label:9} done in {time.perf_counter() - t0:5.1f} s  ({out})", flush=True)
    print()
    print(
        f"{'method':10} {'best err %':>10} {'(epoch)':>7} {'last err %':>10} {'many %':>7} {'medium %':>8} {'few %':>6} {'seconds':>7}"
    )
    for label, s, _, _ in rows:
        if s is None:
            print(f"{label:10} {'-':>10} {'-':>7} {'-':>10} {'-':>7} {'-':>8} {'-':>6} {'-':>7}")
            continue
        last = s.last
        print(
            f"{label:10} {_fmt(s.best_top1_error):>10} {s.best_epoch!s:>7} {_fmt(s.last_top1_error):>10} "
            f"{_fmt(last.many):>7} {_fmt(last.medium):>8} {_fmt(last.few):>6} {_fmt(s.seconds):>7}"
        )
    print("\n(many/medium/few: accuracy of classes with >100 / 20-100 / <20 training images, last epoch; one seed —")
    print(" see docs/results.md for the mean ± std over seeds)")
    return rc


def run(args: argparse.Namespace) -> int:
    rc = 0 if args.skip_verify else _verify()
    if args.skip_train:
        return rc
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"fcc demo: the training half needs torch (the train extra); install it with: {INSTALL_HINT}")
        return rc
    if args.fresh:
        with tempfile.TemporaryDirectory(prefix="fcc-demo-") as tmp:
            return max(rc, _train(Path(tmp), args.seed))
    return max(rc, _train(Path(args.out), args.seed))
