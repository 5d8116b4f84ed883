"""One :class:`Method` built from ``cfg.method``: a loss × a sampler (± DRS) × a mixup, ± DRW.

Loss reductions follow the official code, because they change the effective
learning rate:

* weighted CE-type losses (CBCE, and CELAS / LDAM / CE after a DRW start)
  use PyTorch's weighted mean Σ_i w_{y_i}·l_i / Σ_i w_{y_i}
  (``F.cross_entropy(weight=...)``, as BoT and LDAM-DRW);
* focal losses (and CB Focal's w_y factor) sum over the batch and divide by
  the batch size, as BoT's focal loss does.

DRW (deferred re-weighting; Cao et al., NeurIPS 2019) is active in epochs
``epoch > method.drw_start_epoch``. What it defers depends on the loss:

* ``bsce``, ``cdt``: the logit adjustment itself — plain CE until the start,
  then z + log n (BSCE) or z / a (CDT), as BoT's DRW configs;
* every other loss (``ldam``, ``celas``, ``ce``, ``ce_ls``, ``focal``): CB
  weights w_j = (1−β)/(1−β^{n_j}) with β = ``method.drw_beta`` multiply each
  sample's loss after the start (LDAM-DRW's rule). For **CELAS**,
  ``method.celas_drw`` chooses: BoT's ``CrossEntropyLabelAwareSmooth`` ignores
  the DRW weight list, so the official "CELAS+DRW" trains exactly like CELAS
  (``ignored``, what the paper's CELAS+DRW cell ran); ``reweight`` applies the
  CB weights (docs/recipes.md, "Differences").
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from fcc_theory.errors import UserError
from fcc_train.methods import losses as L
from fcc_train.methods.base import Batch, DataInfo, Method
from fcc_train.methods.mixup import (
    MIXUPS,
    LambdaSource,
    ManifoldSlot,
    install_manifold_hook,
    mix_pair,
    mixed_batch,
    remix_label_weights,
)
from fcc_train.methods.samplers import SAMPLERS, class_probabilities, sampler_active

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["LOSSES", "ConfiguredMethod", "check_method_config"]

LOSSES = ("ce", "focal", "cb_focal", "cbce", "bsce", "ce_ls", "celas", "ldam", "cdt")
ADJUST_DRW = ("bsce", "cdt")  # DRW defers the adjustment itself; the others get CB weights after the start


def check_method_config(cfg: Config) -> None:
    """Refuse unknown method names with one line naming the valid ones."""
    m = cfg.method
    if m.loss not in LOSSES:
        raise UserError(
            f"unknown method.loss '{m.loss}'; use one of {', '.join(LOSSES + ('dive', 'sade', 'ride', 'ncl', 'bbn'))}"
        )
    if m.sampler not in SAMPLERS:
        raise UserError(f"unknown method.sampler '{m.sampler}'; use one of {', '.join(SAMPLERS)}")
    if m.mixup not in MIXUPS:
        raise UserError(f"unknown method.mixup '{m.mixup}'; use one of {', '.join(MIXUPS)}")
    if m.focal_form not in ("sigmoid", "softmax"):
        raise UserError(f"unknown method.focal_form '{m.focal_form}'; use sigmoid or softmax")
    if m.remix_weighting not in ("per_sample", "batch_mean"):
        raise UserError(f"unknown method.remix_weighting '{m.remix_weighting}'; use per_sample or batch_mean")
    if cfg.fcc.mix_tau not in ("first", "mixed"):
        raise UserError(f"unknown fcc.mix_tau '{cfg.fcc.mix_tau}'; use first or mixed")


class ConfiguredMethod(Method):
    """Every single-model method of Table 1 except DiVe (see :mod:`fcc_train.methods.distill`)."""

    def __init__(self, cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> None:
        super().__init__(cfg, info, device)
        check_method_config(cfg)
        m = cfg.method
        self.m = m
        self.name = m.loss
        dev = self.device
        counts = info.class_counts
        self.log_counts = torch.log(self.counts)
        self.cb_w = L.cb_weights(counts, m.cb_beta).to(dev)
        self.drw_w = L.cb_weights(counts, m.drw_beta).to(dev)
        self.ldam_m = L.ldam_margins(counts, m.ldam_max_m).to(dev)
        self.cdt_a = L.cdt_temperatures(counts, m.cdt_gamma).to(dev)
        self.celas_eps = L.celas_epsilons(counts, m.celas_head, m.celas_tail).to(dev)
        self.cosine = cfg.model.head == "cosine"
        self.lam_source = LambdaSource(m.mixup_alpha, cfg.train.seed)
        self._probs_cache: dict[Any, torch.Tensor | None] = {}
        self.manifold_slot = ManifoldSlot()  # this method's model's pending hidden-layer mix
        if m.loss == "ldam" and self.cosine and abs(cfg.model.cosine_scale - m.ldam_s) > 1e-9:
            warnings.warn(
                f"LDAM: model.cosine_scale {cfg.model.cosine_scale} differs from method.ldam_s {m.ldam_s}; "
                "the loss rescales the cosine logits to s = method.ldam_s",
                stacklevel=2,
            )

    # -- sampling -------------------------------------------------------------------
    def epoch_sampling(self, epoch: int) -> torch.Tensor | None:
        m = self.m
        if m.sampler == "instance" or not sampler_active(epoch, m.drs_start_epoch):
            return None
        key = (m.sampler, epoch if m.sampler == "pb" else 0)
        if key not in self._probs_cache:
            p = class_probabilities(m.sampler, self.info.class_counts, epoch, self.info.epochs)
            self._probs_cache[key] = None if p is None else p.to(self.device)
        return self._probs_cache[key]

    # -- mixing -----------------------------------------------------------------------
    def attach(self, model: torch.nn.Module) -> None:
        if self.m.mixup == "manifold":
            install_manifold_hook(model, self.m.manifold_layer, self.manifold_slot)

    def on_epoch_start(self, epoch: int) -> None:
        self.lam_source.start_epoch(epoch)

    def draw_mix(self, n: int, device: torch.device, gen: torch.Generator | None) -> tuple[float, torch.Tensor] | None:
        if self.m.mixup == "none":
            return None
        from fcc_train.methods.mixup import _perm

        return self.lam_source.draw(), _perm(n, device, gen)

    def apply_mix(self, batch: Batch, lam: float | torch.Tensor, perm: torch.Tensor) -> Batch:
        kind = self.m.mixup
        if kind == "none":
            return batch
        if kind == "manifold":
            if self.m.manifold_layer == "pool":
                return batch.with_(extra={"manifold": (lam, perm)})
            self.manifold_slot.arm(lam, perm)  # the hook inside model.features mixes the hidden layer
            return mixed_batch(batch, lam, perm).with_(extra={"manifold_hook": True})
        images = mix_pair(batch.images, lam, perm)
        out = mixed_batch(batch.with_(images=images), lam, perm)
        if kind == "remix":
            assert out.labels_b is not None
            w = remix_label_weights(lam, self.counts, out.labels, out.labels_b, self.m.remix_kappa, self.m.remix_tau)
            if self.m.remix_weighting == "batch_mean":  # BoT's quirk: λ_y vector × a batch-mean CE
                w = w.mean().expand_as(w)
            out = out.with_(lam=w)
        return out

    def mix_features(self, feats: torch.Tensor, batch: Batch, gen: torch.Generator | None) -> tuple[torch.Tensor, Batch]:
        extra = batch.extra or {}
        if "manifold" in extra:
            lam, perm = extra["manifold"]
            return mix_pair(feats, lam, perm), mixed_batch(batch.with_(extra=None), lam, perm)
        if extra.get("manifold_hook"):
            if not self.manifold_slot.consumed:
                raise RuntimeError(
                    f"manifold mixup at '{self.m.manifold_layer}' needs its hook in the model; "
                    "call method.attach(model) before training (the engine does)"
                )
            self.manifold_slot.consumed = False
        return feats, batch

    # -- loss ---------------------------------------------------------------------------
    def drw_on(self, epoch: int) -> bool:
        s = self.m.drw_start_epoch
        return s is not None and epoch > s

    def adjusted_logits(self, logits: torch.Tensor, labels: torch.Tensor, epoch: int) -> torch.Tensor:
        """The logits the CE-type loss sees (BSCE, CDT, LDAM change them)."""
        z = logits.float()
        loss = self.m.loss
        if loss == "bsce" and (self.m.drw_start_epoch is None or self.drw_on(epoch)):
            return L.bsce_logits(z, self.log_counts)
        if loss == "cdt" and (self.m.drw_start_epoch is None or self.drw_on(epoch)):
            return z / self.cdt_a
        if loss == "ldam":
            # LDAM's loss is CE(s·(x − m_y·e_y)) with x the cosine; a cosine head already returns cosine_scale·x
            x = z / self.cfg.model.cosine_scale if self.cosine else z
            s = self.m.ldam_s if self.cosine else self.m.ldam_linear_s
            return s * (x - self.ldam_m[labels][:, None] * F.one_hot(labels, z.shape[1]).to(z.dtype))
        return z

    def per_sample_loss(self, logits: torch.Tensor, labels: torch.Tensor, epoch: int) -> torch.Tensor:
        m, loss = self.m, self.m.loss
        if loss in ("focal", "cb_focal"):
            fn = L.focal_sigmoid if m.focal_form == "sigmoid" else L.focal_softmax
            return fn(logits, labels, m.focal_gamma)
        if loss == "ce_ls":
            return L.smoothed_ce(logits, labels, m.label_smoothing)
        if loss == "celas":
            return L.smoothed_ce(logits, labels, self.celas_eps[labels])
        return F.cross_entropy(self.adjusted_logits(logits, labels, epoch), labels, reduction="none")

    def sample_weights(self, labels: torch.Tensor, epoch: int) -> torch.Tensor | None:
        """Per-sample weights w_{y_i} (None = unweighted)."""
        loss = self.m.loss
        if loss in ("cb_focal", "cbce"):
            return self.cb_w[labels]
        if loss not in ADJUST_DRW and self.drw_on(epoch) and not (loss == "celas" and self.m.celas_drw == "ignored"):
            return self.drw_w[labels]
        return None

    def weighted_mean(self) -> bool:
        """True: divide by Σ w (PyTorch's weighted CE); False: divide by N (BoT's focal)."""
        return self.m.loss not in ("focal", "cb_focal")

    def loss(self, logits: torch.Tensor, batch: Batch, epoch: int) -> torch.Tensor:
        la = self.per_sample_loss(logits, batch.labels, epoch)
        wa = self.sample_weights(batch.labels, epoch)
        n = la.shape[0]
        if batch.labels_b is None:
            if wa is None:
                return la.mean()
            return (wa * la).sum() / (wa.sum() if self.weighted_mean() else n)
        lb = self.per_sample_loss(logits, batch.labels_b, epoch)
        wb = self.sample_weights(batch.labels_b, epoch)
        lam = batch.lam
        assert lam is not None, "a mixed batch carries its λ"
        if wa is None:
            return (lam * la + (1 - lam) * lb).mean()
        assert wb is not None  # both labels are weighted when one is
        num = (lam * wa * la + (1 - lam) * wb * lb).sum()
        return num / ((lam * wa + (1 - lam) * wb).sum() if self.weighted_mean() else n)

    def describe(self) -> dict[str, Any]:
        m = self.m
        return {
            "name": self.name,
            "loss": m.loss,
            "sampler": m.sampler,
            "drs_start_epoch": m.drs_start_epoch,
            "drw_start_epoch": m.drw_start_epoch,
            "mixup": m.mixup,
        }
