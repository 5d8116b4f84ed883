"""The catalogue of single-model methods (Table 1, plus LDAM-DRW, τ-norm, LWS): source, hyperparameters, config keys.

One entry per config stem; ``configs/<split>/<stem>.yaml`` and
``<stem>_fcc.yaml`` are rendered from it (:func:`render_config`) on top of
that split's ``ce.yaml`` (the shared recipe), so every method differs from
the baseline only in the keys listed here. ``fcc methods`` prints it and
``fcc sweep`` runs it. Re-render every catalogue config after a change with

    python -m fcc_train.experiments.catalog

(tests/train/test_method_configs.py checks that the shipped files equal the
rendered ones). Values: the official BoT/FCC configs (docs/recipes.md,
"Methods"); each default that reproduces a paper cell is the official code's
behaviour, and the corrections are config switches (docs/recipes.md,
"Differences").

FCC settings (docs/recipes.md, "FCC in the official code"): equal-difference
τ (Eq. 3) rounded as the official ``round(1 + γ − k·γ/C, 2)``
(``fcc.round_decimals: 2``; ``null`` for the exact value), γ 0.5 on
CIFAR-10-LT and 1.0 on CIFAR-100-LT, active after epoch 50; γ 0.1 where the
paper's Table 1 marks the FCC cell with * (the paper's value, not the
official config's); SR+DRS on CIFAR-100-LT-100 uses 0.5 as the official
config does. Stage-2 runs (cRT, LWS, LTR-WB's classifier stage) apply FCC
from their first epoch, as the official cRT+FCC. Mixed samples use τ of the
first label (``fcc.mix_tau: first``, the official Remix+FCC); ``mixed`` is
one key away.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fcc_train.experiments.catalog_entry import MethodEntry
from fcc_train.experiments.catalog_experts import EXPERT_ENTRIES, EXPERT_GAMMAS

__all__ = [
    "ALL_SPLITS",
    "METHODS",
    "SPLITS",
    "MethodEntry",
    "config_overrides",
    "config_path",
    "fcc_gamma",
    "fcc_start_epoch",
    "method_entry",
    "render_config",
    "stale_configs",
    "write_configs",
]

SPLITS = ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50")
ALL_SPLITS = SPLITS + ("digits",)
DRS_DRW = 160  # sampler / reweighting active from epoch 161 (BoT START_EPOCH 160)
LDAM_DRW = 159  # BoT's LDAM reweights when epoch >= START (160), one epoch before its other DRW losses
MIX = {"optim.epochs": 400, "optim.milestones": [320, 360]}  # the mixup family's schedule
MIX_DIGITS = {"optim.epochs": 120, "optim.milestones": [96, 108]}  # 400/320/360 scaled like 200 -> 60
STAGE2 = {
    "optim.epochs": 30,
    "optim.lr": 0.1,
    "optim.weight_decay": 5e-4,
    "optim.milestones": [10, 20],
    "optim.lr_decay": 0.1,
    "optim.batch_size": 128,
    "optim.warmup_epochs": 5,  # the official CIFAR cRT/LWS configs keep BoT's warmup: 5 epochs from LR/3
    "stage.freeze_backbone": True,
}


def _drw(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "method.drw_start_epoch": DRS_DRW}


_C10 = ("cifar10_lt100", "cifar10_lt50")
_C100 = ("cifar100_lt100", "cifar100_lt50")

METHODS: tuple[MethodEntry, ...] = (
    MethodEntry(
        "ce",
        "Baseline (CE)",
        "baseline",
        "He et al., Deep Residual Learning (ResNet-32), CVPR 2016",
        {"method.loss": "ce"},
        table_row="Baseline (Vanilla ResNet32)",
        writes_config=False,
        notes="plain softmax cross-entropy",
    ),
    MethodEntry(
        "focal",
        "Focal loss",
        "re-weighting",
        "Lin et al., Focal Loss for Dense Object Detection, ICCV 2017",
        {"method.loss": "focal", "method.focal_form": "sigmoid", "method.focal_gamma": 2.0},
        table_row="Focal loss",
        notes="BoT's sigmoid form (per-class BCE x modulating factor, summed over classes, / batch); method.focal_form: softmax gives LDAM-DRW's (1-p_y)^g CE",
    ),
    MethodEntry(
        "cb_focal",
        "CB Focal loss",
        "re-weighting",
        "Cui et al., Class-Balanced Loss Based on Effective Number of Samples, CVPR 2019",
        {"method.loss": "cb_focal", "method.focal_form": "sigmoid"},
        per_split={
            "cifar10_lt100": {"method.cb_beta": 0.9999, "method.focal_gamma": 1.0},
            "cifar10_lt50": {"method.cb_beta": 0.9999, "method.focal_gamma": 2.0},
            "cifar100_lt100": {"method.cb_beta": 0.9, "method.focal_gamma": 1.0},
            "cifar100_lt50": {"method.cb_beta": 0.99, "method.focal_gamma": 1.0},
        },
        digits={"method.cb_beta": 0.999, "method.focal_gamma": 1.0},
        table_row="CB Focal loss",
        notes="sigmoid focal x w_y, w_j = (1-b)/(1-b^n_j) normalised to sum C",
    ),
    MethodEntry(
        "cbce",
        "CBCE",
        "re-weighting",
        "Cui et al., Class-Balanced Loss Based on Effective Number of Samples, CVPR 2019",
        {"method.loss": "cbce"},
        per_split={**{s: {"method.cb_beta": 0.9999} for s in _C10}, **{s: {"method.cb_beta": 0.9} for s in _C100}},
        digits={"method.cb_beta": 0.999},
        table_row="CBCE",
        notes="CE with CB weights, PyTorch weighted mean",
    ),
    MethodEntry(
        "bsce",
        "BSCE",
        "re-weighting",
        "Ren et al., Balanced Meta-Softmax for Long-Tailed Visual Recognition, NeurIPS 2020",
        {"method.loss": "bsce"},
        table_row="BSCE",
        notes="CE on z_j + log n_j",
    ),
    MethodEntry(
        "ce_ls",
        "CE-LS",
        "re-weighting",
        "Szegedy et al., Rethinking the Inception Architecture, CVPR 2016",
        {"method.loss": "ce_ls", "method.label_smoothing": 0.1},
        table_row="CELS",
        notes="target (1-e) one-hot + e/C",
    ),
    MethodEntry(
        "celas",
        "CELAS",
        "re-weighting",
        "Zhong et al., Improving Calibration for Long-Tailed Recognition (MiSLAS), CVPR 2021",
        {"method.loss": "celas", "method.celas_head": 0.4, "method.celas_tail": 0.1},
        table_row="CELAS",
        notes="concave e_y = e_tail + (e_head - e_tail) sin(pi (n_y - N_min) / (2 (N_max - N_min)))",
    ),
    MethodEntry(
        "ldam",
        "LDAM",
        "re-weighting",
        "Cao et al., Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss, NeurIPS 2019",
        {
            "method.loss": "ldam",
            "method.ldam_max_m": 0.5,
            "method.ldam_s": 30.0,
            "model.head": "cosine",
            "model.cosine_scale": 30.0,
        },
        table_row="LDAM",
        notes="cosine head (BoT's FCNorm): FCC cancels (the run's start-up line 'fcc: FCC cancels here ...' says so); see ldam_linear for a head where FCC acts",
    ),
    MethodEntry(
        "ldam_linear",
        "LDAM (linear head)",
        "re-weighting",
        "Cao et al., NeurIPS 2019 (project variant: linear head so FCC acts)",
        {"method.loss": "ldam", "method.ldam_max_m": 0.5, "method.ldam_linear_s": 1.0, "model.head": "linear"},
        notes="margins subtracted from the raw linear logits (scale method.ldam_linear_s = 1); not a paper row",
    ),
    MethodEntry(
        "ldam_drw",
        "LDAM-DRW",
        "re-weighting",
        "Cao et al., NeurIPS 2019",
        {
            "method.loss": "ldam",
            "method.ldam_max_m": 0.5,
            "method.ldam_s": 30.0,
            "method.drw_start_epoch": LDAM_DRW,
            "method.drw_beta": 0.9999,
            "model.head": "cosine",
            "model.cosine_scale": 30.0,
        },
        digits={"method.drw_start_epoch": 47, "method.drw_beta": 0.999},
        notes="LDAM + CB weights (b 0.9999) from epoch 160 as BoT's LDAM (LDAM-DRW's own code: from 161, method.drw_start_epoch: 160); cosine head, so FCC cancels (see ldam_linear)",
    ),
    MethodEntry(
        "cdt",
        "CDT",
        "re-weighting",
        "Ye et al., Identifying and Compensating for Feature Deviation in Imbalanced Deep Learning, arXiv 2020",
        {"method.loss": "cdt", "method.cdt_gamma": 0.2},
        table_row="CDT",
        notes="CE on z_j / a_j, a_j = (N_max/n_j)^g",
    ),
    MethodEntry(
        "cb_sampling",
        "CB sampling",
        "re-sampling",
        "Kang et al., Decoupling Representation and Classifier, ICLR 2020",
        {"method.sampler": "cb"},
        table_row="CB sampling",
        notes="p_j = 1/C",
    ),
    MethodEntry(
        "sr_sampling",
        "SR sampling",
        "re-sampling",
        "Kang et al., ICLR 2020",
        {"method.sampler": "sr"},
        table_row="SR sampling",
        notes="p_j proportional to sqrt(n_j)",
    ),
    MethodEntry(
        "pb_sampling",
        "PB sampling",
        "re-sampling",
        "Kang et al., ICLR 2020",
        {"method.sampler": "pb"},
        table_row="PB sampling",
        notes="p_j(t) = (t/T)/C + (1 - t/T) n_j/N, T = the run's 200 epochs",
    ),
    MethodEntry(
        "input_mixup",
        "Input Mixup",
        "mixup",
        "Zhang et al., mixup: Beyond Empirical Risk Minimization, ICLR 2018",
        {"method.mixup": "input", "method.mixup_alpha": 1.0, **MIX},
        digits=MIX_DIGITS,
        table_row="Input Mixup",
        notes="one l ~ Beta(a, a) per batch; 400 epochs, steps 320/360",
    ),
    MethodEntry(
        "manifold_mixup",
        "Manifold Mixup",
        "mixup",
        "Verma et al., Manifold Mixup, ICML 2019",
        {"method.mixup": "manifold", "method.manifold_layer": "pool", "method.mixup_alpha": 1.0, **MIX},
        digits=MIX_DIGITS,
        table_row="Manifold Mixup",
        notes="mixes the pooled feature by default (layer pool | stem | stageK)",
    ),
    MethodEntry(
        "remix",
        "Remix",
        "mixup",
        "Chou et al., Remix: Rebalanced Mixup, ECCV 2020 (workshops)",
        {
            "method.mixup": "remix",
            "method.mixup_alpha": 1.0,
            "method.remix_kappa": 3.0,
            "method.remix_tau": 0.5,
            "method.remix_weighting": "batch_mean",
            **MIX,
        },
        digits=MIX_DIGITS,
        table_row="Remix",
        notes="BoT's weighting: the lambda_y vector times a batch-mean CE, i.e. the batch-mean lambda_y for every sample (each sample's own: method.remix_weighting: per_sample)",
    ),
    MethodEntry(
        "cb_drs",
        "CB sampling + DRS",
        "re-sampling",
        "Cao et al., NeurIPS 2019 (DRS) with Kang et al.'s CB sampler",
        {"method.sampler": "cb", "method.drs_start_epoch": DRS_DRW},
        digits={"method.drs_start_epoch": 48},
        table_row="CB sampling+DRS",
        notes="instance sampling until epoch 160, CB after",
    ),
    MethodEntry(
        "sr_drs",
        "SR sampling + DRS",
        "re-sampling",
        "Cao et al., NeurIPS 2019 (DRS) with an SR sampler",
        {"method.sampler": "sr", "method.drs_start_epoch": DRS_DRW},
        digits={"method.drs_start_epoch": 48},
        table_row="SR sampling+DRS",
    ),
    MethodEntry(
        "pb_drs",
        "PB sampling + DRS",
        "re-sampling",
        "Cao et al., NeurIPS 2019 (DRS) with a PB sampler",
        {"method.sampler": "pb", "method.drs_start_epoch": DRS_DRW},
        digits={"method.drs_start_epoch": 48},
        table_row="PB sampling+DRS",
        notes="the PB schedule keeps t/T with T = 200 (official), so it starts 80 % balanced",
    ),
    MethodEntry(
        "bsce_drw",
        "BSCE + DRW",
        "re-weighting",
        "Ren et al., NeurIPS 2020 with Cao et al.'s DRW",
        _drw({"method.loss": "bsce"}),
        digits={"method.drw_start_epoch": 48},
        table_row="BSCE+DRW",
        notes="plain CE until epoch 160, BSCE after",
    ),
    MethodEntry(
        "celas_drw",
        "CELAS + DRW",
        "re-weighting",
        "Zhong et al., CVPR 2021 with Cao et al.'s DRW",
        _drw(
            {
                "method.loss": "celas",
                "method.celas_head": 0.4,
                "method.celas_tail": 0.1,
                "method.drw_beta": 0.9999,
                "method.celas_drw": "ignored",
            }
        ),
        digits={"method.drw_start_epoch": 48, "method.drw_beta": 0.999},
        table_row="CELAS+DRW",
        notes="as the official code, DRW is a no-op for CELAS (its loss ignores the weights), so it trains as CELAS; CB-weighted CELAS (b 0.9999) after epoch 160: method.celas_drw: reweight",
    ),
    MethodEntry(
        "cdt_drw",
        "CDT + DRW",
        "re-weighting",
        "Ye et al., 2020 with Cao et al.'s DRW",
        _drw({"method.loss": "cdt", "method.cdt_gamma": 0.2}),
        digits={"method.drw_start_epoch": 48},
        table_row="CDT+DRW",
        notes="plain CE until epoch 160, CDT after",
    ),
    MethodEntry(
        "crt",
        "cRT",
        "two-stage",
        "Kang et al., Decoupling Representation and Classifier, ICLR 2020",
        {**STAGE2, "stage.reset_head": True, "method.sampler": "cb"},
        table_row="cRT",
        depends_on="ce",
        fcc_start_epoch=0,
        notes="stage 2 from the CE run's last (epoch-200) checkpoint: frozen backbone, re-initialised FC, CB sampling, 30 epochs (5 of warmup from LR/3)",
    ),
    MethodEntry(
        "lws",
        "LWS",
        "two-stage",
        "Kang et al., ICLR 2020",
        {**STAGE2, "stage.lws": True, "method.sampler": "cb"},
        depends_on="ce",
        fcc_start_epoch=0,
        notes="stage 2: only a per-class logit scale is learned (cRT's schedule, warmup included)",
    ),
    MethodEntry(
        "tau_norm",
        "tau-norm",
        "two-stage",
        "Kang et al., ICLR 2020",
        {"stage.head_transform": "tau_norm", "stage.tau_norm_p": 1.0, "stage.tau_norm_checkpoint": "ce_best"},
        notes="trained as CE (+FCC); evaluated with w_j/||w_j||^p, p = 1, on the epoch the raw head scores best (the CE run's best checkpoint, official; stage.tau_norm_checkpoint: own_best selects on the normalised head)",
    ),
    MethodEntry(
        "dive_teacher",
        "DiVe teacher (BSCE)",
        "two-stage",
        "He et al., Distilling Virtual Examples, ICCV 2021",
        {"method.loss": "bsce", "optim.milestones": [120, 160]},
        digits={"optim.milestones": [36, 48]},
        notes="BSCE with DiVe's schedule (steps 120/160 x0.01); the teacher of dive",
    ),
    MethodEntry(
        "dive",
        "DiVe",
        "two-stage",
        "He et al., Distilling Virtual Examples for Long-tailed Recognition, ICCV 2021",
        {
            "method.loss": "dive",
            "method.distill_temperature": 2.0,
            "method.distill_alpha": 0.5,
            "method.distill_power": 0.5,
            "optim.milestones": [120, 160],
        },
        digits={"optim.milestones": [36, 48]},
        table_row="DiVe",
        depends_on="dive_teacher",
        fcc_on_student=False,
        notes="student: a T^2 KL(p_t || p_s) + (1-a) BSCE, p_t ~ softmax(z_t/T)^0.5; +FCC = the teacher trained with FCC (official)",
    ),
    MethodEntry(
        "ltr_wb_stage1",
        "LTR-WB stage 1 (CE + WD)",
        "two-stage",
        "Alshammari et al., Long-Tailed Recognition via Weight Balancing, CVPR 2022",
        {"optim.weight_decay": 5e-3, "optim.lr": 0.01, "optim.schedule": "cosine", "optim.epochs": 320, "optim.batch_size": 64},
        digits={"optim.epochs": 96, "optim.batch_size": 32},
        notes="CE with tuned weight decay 5e-3, LR 0.01, cosine, 320 epochs, batch 64 (the repo's ResNet-34 replaced by ResNet-32)",
    ),
    MethodEntry(
        "ltr_wb",
        "LTR-WB +WD&Max",
        "two-stage",
        "Alshammari et al., CVPR 2022",
        {
            "method.loss": "cbce",
            "method.cb_beta": 0.9999,
            "stage.freeze_backbone": True,
            "stage.max_norm": 0.1,
            "optim.weight_decay": 0.1,
            "optim.lr": 0.01,
            "optim.schedule": "cosine",
            "optim.epochs": 10,
            "optim.batch_size": 64,
            "optim.warmup_epochs": 0,
        },
        digits={"method.cb_beta": 0.999, "optim.batch_size": 32},
        table_row="LTR-WB +WD&Max",
        depends_on="ltr_wb_stage1",
        fcc_start_epoch=0,
        notes="classifier only: CB-weighted CE (b 0.9999), WD 0.1, MaxNorm 0.1 (PGD after each step), 10 epochs",
    ),
)

METHODS = METHODS + EXPERT_ENTRIES

# (stem, split) -> γ where the paper's Table 1 marks the +FCC cell with * (γ = 0.1: the paper's value, where the
# official configs keep the split's 0.5 / 1.0), or where the official config differs from its siblings
_GAMMA_EXCEPTIONS = {
    ("bsce", "cifar100_lt50"): 0.1,
    ("cdt", "cifar100_lt100"): 0.1,
    ("pb_sampling", "cifar10_lt100"): 0.1,
    ("manifold_mixup", "cifar10_lt100"): 0.1,
    ("cdt_drw", "cifar100_lt50"): 0.1,
    ("cdt_drw", "cifar100_lt100"): 0.1,
    ("ltr_wb", "cifar100_lt100"): 0.1,
    ("ltr_wb_stage1", "cifar100_lt100"): 0.1,
    ("sr_drs", "cifar100_lt100"): 0.5,
    **EXPERT_GAMMAS,
}


def method_entry(key: str) -> MethodEntry:
    for m in METHODS:
        if m.key == key:
            return m
    raise KeyError(key)


def fcc_gamma(key: str, split: str) -> float:
    """FCC's γ for a method on a split (0.5 for 10 classes, 1.0 for CIFAR-100, the paper's * cells 0.1)."""
    if (key, split) in _GAMMA_EXCEPTIONS:
        return _GAMMA_EXCEPTIONS[(key, split)]
    return 1.0 if split.startswith("cifar100") else 0.5


# FCC's start epoch in each split's hand-written ce_fcc.yaml (the +FCC configs are rendered onto it; the suite
# checks these against the files): the paper's 50 of 200 epochs on CIFAR-LT, 15 of the 60-epoch digits-LT recipe
SPLIT_FCC_START_EPOCH = {"digits": 15}
DEFAULT_FCC_START_EPOCH = 50


def fcc_start_epoch(key: str, split: str) -> int:
    """The epoch after which the +FCC config of a method on a split compresses features (``fcc.start_epoch``)."""
    entry = method_entry(key)
    if entry.fcc_start_epoch is not None:
        return entry.fcc_start_epoch
    # an entry may set it among its keys for a split (the multi-expert digits recipes do)
    own = {**entry.keys, **(entry.digits if split == "digits" else entry.per_split.get(split, {}))}
    if "fcc.start_epoch" in own:
        return int(own["fcc.start_epoch"])
    return SPLIT_FCC_START_EPOCH.get(split, DEFAULT_FCC_START_EPOCH)


def config_overrides(entry: MethodEntry, split: str, fcc: bool) -> dict[str, Any]:
    """Dotted config keys that turn the split's ce.yaml into this method (raw or +FCC)."""
    over = dict(entry.keys)
    if split == "digits":
        # digits-LT short recipe: batch 64, 60 epochs; stage-2 runs keep their own short schedules but a smaller batch
        if entry.keys.get("optim.batch_size") == 128:
            over["optim.batch_size"] = 64
        over.update(entry.digits)
    else:
        over.update(entry.per_split.get(split, {}))
    if entry.depends_on:
        over["stage.depends_on"] = entry.depends_on + ("_fcc" if fcc else "")
    if fcc and entry.fcc_on_student:
        over["fcc.enabled"] = True
        over["fcc.strategy"] = "edc"
        over["fcc.gamma"] = fcc_gamma(entry.key, split)
        over["fcc.order"] = "frequency"
        over["fcc.round_decimals"] = 2
        if entry.fcc_start_epoch is not None:
            over["fcc.start_epoch"] = entry.fcc_start_epoch
        if entry.keys.get("method.mixup", "none") != "none":
            over["fcc.mix_tau"] = "first"
    return over


def config_path(root: str | Path, split: str, key: str, fcc: bool) -> Path:
    return Path(root) / split / f"{key}{'_fcc' if fcc else ''}.yaml"


def _set(d: dict[str, Any], dotted: str, value: Any) -> None:
    node = d
    *parents, last = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value


def render_config(root: str | Path, split: str, key: str, fcc: bool) -> str:
    """The YAML text of ``configs/<split>/<key>[_fcc].yaml``: the split's ce.yaml plus the method's keys."""
    import yaml

    global _Dumper
    if _Dumper is None:
        _Dumper = _dumper()
    entry = method_entry(key)
    base_name = "ce_fcc.yaml" if fcc and entry.fcc_on_student else "ce.yaml"
    base_path = Path(root) / split / base_name
    base = yaml.safe_load(base_path.read_text())
    cfg = copy.deepcopy(base)
    if not (fcc and entry.fcc_on_student):
        cfg["fcc"] = {"enabled": False}
    for k, v in config_overrides(entry, split, fcc).items():
        _set(cfg, k, v)
    cfg["name"] = f"{split}_{key}{'_fcc' if fcc else ''}"
    # the YAML sections in the usual order
    order = ["name", "data", "model", "fcc", "method", "stage", "optim", "train"]
    cfg = {k: cfg[k] for k in order if k in cfg}
    head = [
        f"# {split}: {entry.title}{' + FCC' if fcc else ''} ({entry.source}).",
        f"# {entry.notes}" if entry.notes else None,
        '# Recipe: the split\'s ce.yaml (docs/recipes.md, "Shared recipe") with only the keys below changed.',
        "# Rendered by fcc_train/experiments/catalog.py (python -m fcc_train.experiments.catalog); edit the catalogue, not this file.",
        f"# FCC: edc, gamma {cfg.get('fcc', {}).get('gamma')}, active after epoch {cfg.get('fcc', {}).get('start_epoch', 'default')},"
        " tau rounded as the official round(1 + gamma - k*gamma/C, 2)."
        if fcc and entry.fcc_on_student
        else None,
        "# FCC: only the teacher (stage.depends_on) was trained with FCC, as the official DiVe+FCC."
        if fcc and not entry.fcc_on_student
        else None,
        f"# Stage 1 / teacher: the run of {cfg['stage']['depends_on']}.yaml; fcc sweep sets stage.init_from / method.teacher to its run folder."
        if entry.depends_on
        else None,
        f"# Run: fcc train --config {config_path('configs', split, key, fcc)} --data-root DATA"
        + (" --set stage.init_from=RUN1" if entry.depends_on and key != "dive" else "")
        + (" --set method.teacher=RUN1" if key == "dive" else ""),
    ]
    return "\n".join(h for h in head if h) + "\n" + yaml.dump(cfg, Dumper=_Dumper, sort_keys=False, width=130)


def _dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    # block style for sections, flow style for lists ([160, 180]) as the hand-written configs
    Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
    return Dumper


_Dumper: Any = None


def write_configs(root: str | Path = "configs", splits: tuple[str, ...] = ALL_SPLITS) -> list[Path]:
    """(Re)write every method's raw and +FCC config for ``splits`` (needs each split's ce.yaml / ce_fcc.yaml)."""
    written = []
    for split in splits:
        for entry in METHODS:
            if not entry.writes_config:
                continue
            for fcc in (False, True):
                p = config_path(root, split, entry.key, fcc)
                p.write_text(render_config(root, split, entry.key, fcc))
                written.append(p)
    return written


def stale_configs(root: str | Path = "configs", splits: tuple[str, ...] = ALL_SPLITS) -> list[Path]:
    """The catalogue configs under ``root`` whose text differs from what :func:`render_config` gives now."""
    stale = []
    for split in splits:
        for entry in METHODS:
            if not entry.writes_config:
                continue
            for fcc in (False, True):
                p = config_path(root, split, entry.key, fcc)
                if not p.is_file() or p.read_text() != render_config(root, split, entry.key, fcc):
                    stale.append(p)
    return stale


if __name__ == "__main__":  # python -m fcc_train.experiments.catalog: regenerate configs/
    for p in write_configs():
        print(p)
