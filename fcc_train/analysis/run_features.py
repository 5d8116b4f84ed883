"""A trained run read back for analysis: its checkpoint applied to one split's unaugmented batches, giving
the pooled features f, the labels, and the head (W, b) the evaluation uses (``fcc analyze``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, cast

import numpy as np

from fcc_theory.errors import UserError

if TYPE_CHECKING:
    from fcc_train.models.base import StagedNet

__all__ = ["LoadedRun", "effective_head", "load_run"]


@dataclass
class LoadedRun:
    """A run's checkpoint applied to one split: unscaled features, labels and the evaluated head."""

    path: Path
    cfg: Any
    epoch: int
    features: np.ndarray  # float32 (N, d)
    labels: np.ndarray  # int64 (N,)
    class_counts: list[int]
    weight: np.ndarray | None  # effective linear head (C, d) float32, None for a non-linear head
    bias: np.ndarray | None
    head_kind: str
    float_head: Callable[[np.ndarray], np.ndarray]
    stored_error: float | None
    dataset: str


def effective_head(head: Any, cfg: Any) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """(W, b) of the head the evaluation uses: plain linear, LWS (diag(s)·W, s·b) or τ-norm (w_j/||w_j||^p)."""
    import torch

    if cfg.model.head == "cosine" or not isinstance(getattr(head, "weight", None), torch.Tensor):
        return None, None, type(head).__name__
    W = head.weight.detach().float()
    b = getattr(head, "bias", None)
    b = None if b is None else b.detach().float()
    kind = "linear"
    if hasattr(head, "scale") and isinstance(head.scale, torch.Tensor):  # LWS: logits_j = s_j (w_j·f + b_j)
        s = head.scale.detach().float()
        W, b, kind = W * s[:, None], None if b is None else b * s, "linear (LWS scales folded in)"
    if cfg.stage.head_transform == "tau_norm":
        from fcc_train.methods.two_stage import tau_normalise

        W, kind = tau_normalise(W, cfg.stage.tau_norm_p), "linear (tau-normalised weights)"
    return W.numpy().astype(np.float32), None if b is None else b.numpy().astype(np.float32), kind


def load_run(run_dir: str | Path, checkpoint: str = "best", split: str = "test", device: str = "cpu") -> LoadedRun:
    """Rebuild a run's data and model from its checkpoint and extract features on ``split``."""
    p = Path(run_dir)
    if not p.is_dir():
        raise UserError(f"run folder '{p}' does not exist; pass a folder written by fcc train (e.g. runs/digits_ce_fcc)")
    ck = p / "checkpoints" / f"{checkpoint}.pt"
    if not ck.is_file():
        have = sorted(x.stem for x in (p / "checkpoints").glob("*.pt")) if (p / "checkpoints").is_dir() else []
        hint = f" (it has: {', '.join(have)}; use --checkpoint {have[0]})" if have else "; train it first with fcc train"
        raise UserError(f"run folder '{p}' has no checkpoints/{checkpoint}.pt{hint}")
    import torch

    from fcc_train.data import build_datasets, make_loader
    from fcc_train.methods import eval_head
    from fcc_train.train.restore import restore_model

    dev = torch.device(device)
    model, cfg, state, _ = restore_model(ck, device=dev)
    from fcc_train.models.multi_expert import refuse_multi_expert

    refuse_multi_expert(model, "the feature analysis (fcc analyze)")
    torch.set_num_threads(max(1, cfg.train.threads))
    data = build_datasets(cfg)
    net = eval_head(model, cfg)
    # the loader's own unaugmented, normalised batches (the same preprocessing as evaluation)
    loader = make_loader(data, cfg, dev)
    batches = loader.eval_batches() if split == "test" else loader.train_eval_batches()
    backbone = cast("StagedNet", model)  # every model the trainer builds is a StagedNet (.features before the head)
    feats, labs = [], []
    with torch.no_grad():
        for x, y in batches:
            feats.append(backbone.features(x).float().cpu())
            labs.append(y.cpu())
    labels = torch.cat(labs) if labs else torch.zeros(0, dtype=torch.long)
    F = torch.cat(feats).numpy().astype(np.float32) if feats else np.zeros((0, 0), np.float32)
    head: Any = getattr(net, "model", net).head
    W, b, kind = effective_head(head, cfg)
    if cfg.stage.head_transform == "tau_norm":  # the evaluated head is TauNormModel's functional linear map
        Wt = torch.from_numpy(W).to(dev)
        bt = None if b is None else torch.from_numpy(b).to(dev)

        def fh(x: np.ndarray) -> np.ndarray:
            return torch.nn.functional.linear(torch.from_numpy(x).to(dev), Wt, bt).cpu().numpy()
    else:

        def fh(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return head(torch.from_numpy(np.ascontiguousarray(x)).to(dev)).float().cpu().numpy()

    stored = None
    if split == "test":
        rec = state.get("best") if checkpoint == "best" else state.get("last_eval")
        stored = (rec or {}).get("top1_error")
    return LoadedRun(
        p,
        cfg,
        int(state.get("epoch", 0)),
        F,
        labels.numpy().astype(np.int64),
        list(map(int, data.class_counts)),
        W,
        b,
        kind,
        fh,
        stored,
        data.name,
    )
