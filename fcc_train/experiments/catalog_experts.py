"""The catalogue's multi-expert entries (SADE, NCL, RIDE, BBN), merged into :data:`fcc_train.experiments.catalog.METHODS`.

Recipes from the authors' CIFAR configs (docs/recipes.md, "Multi-expert methods"); digits-LT runs a 30-epoch
version of the digits recipe (LR steps at 4/5 and 9/10 of the run, as every digits config) so that three experts
train in under a minute on one CPU core. NCL's CIFAR configs add the authors' AutoAugment (CIFAR-10 policy) and
Cutout(16) after crop + flip (``data.autoaugment``, ``data.cutout``); its digits configs keep the digits
augmentation. FCC keeps ``fcc.placement: features`` (the paper's "features" fed to the
classifier), which cancels exactly in SADE's and RIDE's cosine heads; ``shared`` and ``logits`` are one key away.
"""

from __future__ import annotations

from typing import Any

from fcc_train.experiments.catalog_entry import MethodEntry

__all__ = ["EXPERT_ENTRIES", "EXPERT_GAMMAS"]

_DIGITS = {"optim.epochs": 30, "optim.milestones": [24, 27], "fcc.start_epoch": 8}  # FCC after 1/4 of the run, as 50 of 200
_SPLIT3 = {  # RIDE / SADE on the CIFAR ResNet-32: shared stem + stage 1, per-expert stages 2-3 at 24/48 channels, cosine heads
    "model.experts": "split",
    "model.num_experts": 3,
    "model.shared_stages": 1,
    "model.expert_width": 0.75,
    "model.head": "cosine",
    "model.cosine_scale": 30.0,
}
_NCL: dict[str, Any] = {
    "model.experts": "independent",
    "model.num_experts": 3,
    "method.loss": "ncl",
    "method.ncl_hcm_k": 30,
    "method.ncl_nbod_factor": 0.6,
    "method.ncl_nbod_hcm_factor": 0.6,
    "method.ncl_hcm_ratio": 1.0,
    "optim.epochs": 400,
    "optim.batch_size": 64,
    "optim.weight_decay": 2e-4,
    "optim.milestones": [320, 360],
    "optim.lr_decay": 0.1,
}
# NCL's CIFAR augmentation after the split's crop + flip; the 8x8 digits keep theirs (a 16-pixel hole would cover them)
_NCL_AUG = {"data.autoaugment": "cifar10", "data.cutout": 16}
_CIFAR = ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50")

EXPERT_ENTRIES: tuple[MethodEntry, ...] = (
    MethodEntry(
        "sade",
        "SADE",
        "multi-expert",
        "Zhang et al., Self-Supervised Aggregation of Diverse Experts for Test-Agnostic Long-Tailed Recognition, NeurIPS 2022",
        {
            **_SPLIT3,
            "method.loss": "sade",
            "method.sade_tau": 2.0,
            "method.sade_test_time_epochs": 5,
            "method.sade_test_time_lr": 0.1,
            "optim.weight_decay": 5e-4,
            "optim.lr_decay": 0.1,
        },
        digits=_DIGITS,
        table_row="SADE",
        notes="3 experts: CE, balanced softmax, inverse softmax (tau 2), summed; test-time self-supervised aggregation (5 epochs) before the last evaluation",
    ),
    MethodEntry(
        "ncl",
        "NCL",
        "multi-expert",
        "Li et al., Nested Collaborative Learning for Long-Tailed Visual Recognition, CVPR 2022",
        _NCL,
        per_split={split: {**_NCL_AUG, **({"method.ncl_hcm_k": 3} if split.startswith("cifar10_") else {})} for split in _CIFAR},
        digits={**_DIGITS, "method.ncl_hcm_k": 3},
        table_row="NCL",
        notes="3 ResNet-32 experts: balanced-softmax CE on all and on the top-k hard classes + NBOD (pairwise KL, 0.6 on each); "
        "AutoAugment (CIFAR-10 policy) + Cutout(16) on CIFAR, one view for all experts",
    ),
    MethodEntry(
        "ride",
        "RIDE",
        "multi-expert",
        "Wang et al., Long-tailed Recognition by Routing Diverse Distribution-Aware Experts, ICLR 2021",
        {
            **_SPLIT3,
            "method.loss": "ride",
            "method.ldam_max_m": 0.5,
            "method.ldam_s": 30.0,
            "method.drw_start_epoch": 160,
            "method.drw_beta": 0.9999,
            "method.ride_diversity_factor": -0.2,
            "method.ride_diversity_temperature": 1.0,
            "method.ride_reweight_factor": 0.05,
            "optim.weight_decay": 5e-4,
        },
        digits={**_DIGITS, "method.drw_start_epoch": 24},
        notes="3 experts, LDAM per expert (CB weights after epoch 160) + distribution-aware diversity KL (-0.2); expert router (RIDE-EA) off, method.ride_router: true trains it",
    ),
    MethodEntry(
        "bbn",
        "BBN",
        "multi-expert",
        "Zhou et al., BBN: Bilateral-Branch Network with Cumulative Learning for Long-Tailed Visual Recognition, CVPR 2020",
        {"model.experts": "bilateral", "method.loss": "bbn", "optim.milestones": [120, 160]},
        digits=_DIGITS,
        notes="uniform + reversed sampler branches, cumulative learning a = 1 - ((T-1)/T_max)^2, test 0.5/0.5",
    ),
)

# the paper's Table 1 marks SADE+FCC and NCL+FCC with * (γ = 0.1)
EXPERT_GAMMAS = {
    (key, split): 0.1 for key in ("sade", "ncl") for split in ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50")
}
