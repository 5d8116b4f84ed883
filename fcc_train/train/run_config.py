"""Which config a run folder may resume with, and on which device a run trains.

Resuming with a config that differs in anything but the cosmetic keys (:data:`COSMETIC_KEYS`) is
refused with one line. ``fcc train --extend`` also lets :data:`EXTEND_KEYS` change: more epochs, and LR
milestones after the run's last epoch (:func:`check_extension`), so the epochs already trained keep their
schedule.

>>> config_differences({"train": {"device": "cpu"}, "optim": {"lr": 0.1}}, {"train": {"device": "cuda"}, "optim": {"lr": 0.2}})
['optim.lr']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from fcc_theory.errors import UserError
from fcc_train.config import config_from_dict, config_to_dict, flatten_config

__all__ = [
    "COSMETIC_KEYS",
    "EXTEND_KEYS",
    "check_extension",
    "check_stage_inputs",
    "check_stored_config",
    "config_differences",
    "refuse_if_different",
    "resolve_device",
]

# keys that may change between a run and its resumption (they do not change what is trained)
COSMETIC_KEYS = {
    "train.device",
    "train.progress",
    "train.tensorboard",
    "train.wandb",
    "train.threads",
    "train.eval_batch_size",
    "train.compile",
    "train.checkpoint_every",
    "data.root",
    "data.store",
}


def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    """``auto`` → the local CUDA device when there is one, else CPU; ``cuda`` / ``cuda:N`` / ``cpu`` as given."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device '{spec}' asked for but CUDA is not available here; use --device cpu")
        if spec == "cuda":
            return torch.device(f"cuda:{local_rank}")
        index = spec.removeprefix("cuda:")
        count = torch.cuda.device_count()
        if not spec.startswith("cuda:") or not index.isdigit() or int(index) >= count:
            raise UserError(
                f"device '{spec}' does not exist here ({count} CUDA device(s): cuda:0 to cuda:{count - 1}); use cuda or cuda:N"
            )
        return torch.device(spec)
    if spec != "cpu":
        raise UserError(f"unknown device '{spec}'; use auto, cpu, cuda or cuda:N")
    return torch.device("cpu")


def check_stage_inputs(cfg: Any) -> None:
    """Refuse a second-stage config (``stage.depends_on``) whose first stage is not given.

    Without it cRT / LWS would train a head on a frozen random backbone and DiVe would have no teacher.
    """
    dep = cfg.stage.depends_on
    if not dep:
        return
    if cfg.method.loss == "dive":
        if not cfg.method.teacher:
            raise UserError(f"'{cfg.name}' distils from the run of {dep}.yaml; pass --set method.teacher=RUN_FOLDER of that run")
    elif not cfg.stage.init_from:
        raise UserError(
            f"'{cfg.name}' is stage 2 of {dep}.yaml (it would train on an untrained backbone); "
            "pass --set stage.init_from=RUN_FOLDER of that run, or run fcc sweep, which chains them"
        )


# keys ``--extend`` may change: the epochs count, and milestones after the run's last epoch (a schedule that
# decays again in the new epochs); everything the trained epochs depended on stays as it was
EXTEND_KEYS = ("optim.epochs", "optim.milestones")


def config_differences(old: dict[str, Any], new: dict[str, Any], allowed: tuple[str, ...] = ()) -> list[str]:
    """Non-cosmetic keys whose values differ between two resolved configs (``allowed`` keys left out).

    A key that a config lacks counts as its default: a run stored before the key existed trained as the default
    does (a new key's default keeps the earlier behaviour), so an upgrade does not turn finished runs into others.
    """
    return _differences(_with_defaults(old), _with_defaults(new), allowed)


def _differences(old: dict[str, Any], new: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    a, b = flatten_config(old), flatten_config(new)
    return sorted(k for k in set(a) | set(b) if k not in COSMETIC_KEYS and k not in allowed and a.get(k) != b.get(k))


def _with_defaults(cfg: dict[str, Any]) -> dict[str, Any]:
    try:
        return config_to_dict(config_from_dict(cfg))
    except Exception:  # not a loadable config (e.g. a damaged file): compare it as it is
        return cfg


def check_extension(run_dir: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse an ``--extend`` that would shorten the run or move a milestone the run has already passed."""
    a, b = flatten_config(old), flatten_config(new)
    e_old, e_new = int(a["optim.epochs"]), int(b["optim.epochs"])
    if e_new < e_old:
        raise UserError(
            f"--extend cannot shorten the run in '{run_dir}' ({e_old} -> {e_new} epochs); pass more epochs, e.g. --extend {2 * e_old}"
        )
    passed_old = [m for m in a["optim.milestones"] if m <= e_old]
    passed_new = [m for m in b["optim.milestones"] if m <= e_old]
    if passed_old != passed_new:
        raise UserError(
            f"--extend keeps the milestones the run in '{run_dir}' trained through ({passed_old} up to epoch {e_old}); "
            f"it got {passed_new}: add only milestones after epoch {e_old}"
        )


def check_stored_config(run_dir: Path, cfg_dict: dict[str, Any], extend: bool = False) -> None:
    """Refuse a run folder whose ``config.yaml`` holds a different run (an unreadable one is rewritten later)."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        return
    import yaml

    try:
        old = yaml.safe_load(path.read_text()) or {}
        old = config_to_dict(config_from_dict(old))  # fill defaults so older files compare fairly
    except Exception:
        return  # an unreadable config.yaml is rewritten; the checkpoint's own config is checked below
    refuse_if_different(run_dir, old, cfg_dict, extend)


def refuse_if_different(run_dir: Path, old: dict[str, Any], new: dict[str, Any], extend: bool = False) -> None:
    """One line naming the first differing keys when ``old`` and ``new`` differ in anything but the cosmetic keys
    (and, with ``extend``, :data:`EXTEND_KEYS` within :func:`check_extension`'s rules)."""
    old, new = _with_defaults(old), _with_defaults(new)  # the shown values and --extend's checks see every key
    diff = _differences(old, new, EXTEND_KEYS if extend else ())
    if diff:
        a, b = flatten_config(old), flatten_config(new)
        shown = ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in diff[:4]) + (" ..." if len(diff) > 4 else "")
        if extend:
            fix = "--extend changes only optim.epochs and later optim.milestones; use another --out for other changes"
        elif set(diff) <= set(EXTEND_KEYS):
            fix = "to train this run for more epochs add --extend (fcc train ... --extend N), or use another --out"
        else:
            fix = "use another --out or delete the folder"
        raise UserError(f"run folder '{run_dir}' holds a run with a different config ({shown}); {fix}")
    if extend:
        check_extension(run_dir, old, new)
