"""Rebuilding a model from a checkpoint: the one path resume, ``fcc analyze``, DiVe's teacher and stage 2 take.

A checkpoint stores its run's resolved config, so the model is rebuilt from that config (its
architecture, head and an LWS wrapper for LWS runs), never from the caller's. ``source`` is a run
folder (``checkpoints/<which>.pt``) or a ``.pt`` file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import torch
import torch.nn as nn

from fcc_theory.errors import UserError
from fcc_train.train.checkpoint import checkpoint_config, load_checkpoint

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["Restored", "checkpoint_path", "load_state", "load_weights", "restore_model"]

Which = Literal["best", "last"]


class Restored(NamedTuple):
    """A model rebuilt from a checkpoint, with the checkpoint's config, its whole state and its path."""

    model: nn.Module
    config: Config
    state: dict[str, Any]
    path: Path


def checkpoint_path(source: str | Path, which: Which = "best", what: str = "checkpoint") -> Path:
    """``source`` itself when it is a file, else the run folder's ``checkpoints/<which>.pt``; one clear line if neither exists."""
    p = Path(source)
    if p.is_file():
        return p
    if p.is_dir():
        cand = p / "checkpoints" / f"{which}.pt"
        if cand.is_file():
            return cand
        have = sorted(x.stem for x in (p / "checkpoints").glob("*.pt")) if (p / "checkpoints").is_dir() else []
        hint = f" (it has: {', '.join(have)})" if have else "; train that run first"
        raise UserError(f"{what} '{source}' is a run folder without checkpoints/{which}.pt{hint}")
    raise UserError(f"{what} '{source}' does not exist; give a run folder written by fcc train or a .pt checkpoint")


def load_state(source: str | Path, which: Which = "best", what: str = "checkpoint") -> tuple[dict[str, Any], Path]:
    """The checkpoint's state dict (on the CPU) and its path."""
    path = checkpoint_path(source, which, what)
    return load_checkpoint(path, map_location="cpu"), path


def load_weights(model: nn.Module, weights: dict[str, Any], path: Path, fix: str) -> None:
    """Load ``weights`` into ``model``; a mismatch is one line naming the checkpoint and ``fix``."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise UserError(f"checkpoint '{path}' does not fit this model ({str(exc).splitlines()[0]}); {fix}") from None


def restore_model(
    source: str | Path, *, device: torch.device | str = "cpu", which: Which = "best", what: str = "checkpoint"
) -> Restored:
    """The model of a checkpoint, rebuilt from the checkpoint's own config, in eval mode on ``device``."""
    from fcc_train.config import config_from_dict
    from fcc_train.models import build_model

    state, path = load_state(source, which, what)
    cfg = config_from_dict(checkpoint_config(state, path))
    weights = state["model"]
    convs = [v for v in weights.values() if hasattr(v, "dim") and v.dim() == 4]
    in_channels = int(convs[0].shape[1]) if convs else 3
    counts = state.get("class_counts")
    head_w = [v for k, v in weights.items() if k.startswith("head.") and k.endswith("weight")]
    num_classes = len(counts) if counts else int(head_w[0].shape[0])
    model = build_model(cfg, num_classes, in_channels)
    if cfg.stage.lws:
        from fcc_train.methods.two_stage import LWSHead

        model.head = LWSHead(model.head, num_classes)  # type: ignore[arg-type]  # head is a Module
    load_weights(model, weights, path, "train that run again")
    return Restored(model.to(device).eval(), cfg, state, path)
