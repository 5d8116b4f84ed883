"""Typed experiment configuration: YAML file + ``--set key=value`` overrides.

One YAML per experiment (``configs/``). Every key is declared below with its
type and default, so a misspelt key is rejected with the closest valid name,
and the resolved config (defaults filled in) is written next to the results
and stored in every checkpoint.

Recipe defaults are the paper's CIFAR-LT recipe (the official code's): SGD,
momentum 0.9, Nesterov, wd 2e-4, LR 0.1 with a 5-epoch linear warmup from
LR/3, ×0.01 at epochs 160 and 180, batch 128 with drop_last, 200 epochs.

>>> cfg = load_config(None, ["fcc.enabled=true", "optim.epochs=2"])
>>> cfg.fcc.enabled, cfg.optim.epochs, cfg.optim.milestones
(True, 2, [160, 180])
>>> load_config(None, ["optim.epoch=2"])
Traceback (most recent call last):
...
fcc_train.config.ConfigError: unknown config key 'optim.epoch' (did you mean 'optim.epochs'?)

A key with a fixed set of values is typed as a ``Literal`` of them (:data:`CHOICES` lists them all) and
refuses any other:

>>> load_config(None, ["train.precision=fp8"])
Traceback (most recent call last):
...
fcc_train.config.ConfigError: config key 'train.precision' is 'fp8'; use one of auto, bf16, fp32
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fcc_theory.errors import UserError

__all__ = ["CHOICES", "Config", "ConfigError", "config_from_dict", "config_to_dict", "flatten_config", "load_config"]


class ConfigError(UserError):
    """A bad config file, key or value (one line)."""


# The keys with a fixed set of values, as the code that reads them handles them (tests/train/test_method_configs.py
# checks them against the registries that exist): anything else is a ConfigError when the config is built (YAML
# and --set alike), not a traceback or a silent fallback deep in training. Keys whose own registry already
# refuses an unknown value in one line (data.dataset, method.loss, method.sampler, model.arch, train.device) and
# free-form ones (method.manifold_layer: pool | stem | stageK) stay plain strings.
ImbalanceType = Literal["exp", "step"]  # data/longtail.py class_profile
Augment = Literal["standard", "none"]  # data/loader.py, data/large.py
AutoAugmentPolicy = Literal["none", "cifar10"]  # data/autoaugment.py (device-resident data sets)
HeadKind = Literal["linear", "cosine"]  # models/heads.py build_head
Strategy = Literal["uniform", "edc", "half"]  # fcc_theory/tau.py STRATEGIES
TauOrder = Literal["frequency", "label"]  # fcc.py ORDERS
MixTau = Literal["first", "mixed"]  # methods/base.py fcc_tau
FocalForm = Literal["sigmoid", "softmax"]  # methods/configured.py
Mixup = Literal["none", "input", "manifold", "remix"]  # methods/mixup.py MIXUPS
RemixWeighting = Literal["per_sample", "batch_mean"]  # methods/configured.py
CelasDrw = Literal["reweight", "ignored"]  # methods/configured.py sample_weights
HeadInit = Literal["pytorch", "kaiming"]  # models/heads.py LinearHead
ExpertLayout = Literal["none", "split", "independent", "bilateral"]  # models/multi_expert.py EXPERT_LAYOUTS
Placement = Literal["features", "shared", "logits"]  # methods/experts/forward.py: where FCC scales a multi-expert model
TauNormCheckpoint = Literal["ce_best", "own_best"]  # methods/two_stage.py selection_model
HeadTransform = Literal["none", "tau_norm"]  # methods/two_stage.py
Schedule = Literal["step", "cosine"]  # train/engine.py lr_at
Precision = Literal["auto", "bf16", "fp32"]  # train/engine.py
CompileMode = Literal["auto", "none", "eager", "graphs", "compile", "compile_graphs"]  # train/engine.py
Progress = Literal["auto", "bar", "lines", "none"]  # train/runlog.py RunLog
# "auto" exactly, else a true/false spelling in any case (a YAML boolean arrives as "True" / "False"; the
# consumers lower-case it), so the stored value may differ from these in case
ChannelsLast = Literal["auto", "true", "false", "1", "0", "yes", "no", "on", "off"]


@dataclass
class DataConfig:
    dataset: str = "digits"  # digits | cifar10 | cifar100 | synthetic | imagenet_lt | inat18
    root: str | None = None  # folder holding the data set (--data-root)
    imbalance_factor: float = 100.0  # N_max / N_min of the training set
    imbalance_type: ImbalanceType = "exp"  # exp (Cao et al.) | step
    step_ratio: float = 0.5  # step profile: fraction of classes that are minority
    subset_seed: int = 0  # numpy seed of the long-tailed draw (0 = the published one)
    test_per_class: int = 30  # digits: balanced held-out test images per class
    synthetic_train_size: int = 12406  # synthetic: images (shaped like CIFAR-10-LT-100)
    synthetic_test_size: int = 10000  # synthetic: test images (balanced)
    num_classes: int = 10  # synthetic only; real data sets know their own
    image_size: int = 32  # synthetic / imagenet-style crop size
    augment: Augment = "standard"  # standard (crop+flip) | none
    crop_padding: int = 4  # random crop: zero padding on each side (paper: 4; digits configs use 1)
    flip: bool = True  # random horizontal flips (off for digits: they are not flip-invariant)
    autoaugment: AutoAugmentPolicy = "none"  # after crop + flip: none | cifar10 (AutoAugment's CIFAR-10 policy, as NCL)
    cutout: int = 0  # after AutoAugment: side of one zeroed square per image, clipped at the borders (NCL: 16; 0 = off)
    store: str | None = None  # imagenet_lt / inat18: decode-once uint8 store folder
    test_split: str = "test"  # imagenet_lt: test (50k, BoT/FCC) | val (20k); inat18: val (the official val is the test set)
    short_side: int = 256  # imagenet_lt / inat18: resize short side (store, Pillow path, test resize before the centre crop)
    workers: int = 0  # imagenet_lt / inat18: host threads assembling batches (0: min(8, cores))
    color_jitter: float = 0.4  # imagenet_lt / inat18: ColorJitter strength (BoT's iNat18 recipe: 0)
    rrc_min_scale: float = 0.08  # imagenet_lt / inat18: RandomResizedCrop smallest area fraction


@dataclass
class ModelConfig:
    arch: str = "resnet32"  # resnet32 | resnet_small | resnet10 | resnet50 | resnext50
    head: HeadKind = "linear"  # linear (W f + b) | cosine (normalised features and weights, scale cosine_scale)
    bias: bool = True  # linear head bias (FCC's CIFAR configs: True)
    cosine_scale: float = 30.0  # s of a cosine (normalised) head
    head_init: HeadInit = "pytorch"  # linear head: pytorch (nn.Linear's default, as BoT/FCC) | kaiming (Kaiming-normal)
    # multi-expert models (models/multi_expert.py): none (one model) | split (RIDE/SADE: shared early stages, per-expert
    # later stages) | independent (NCL: E full backbones) | bilateral (BBN: two branches and one head)
    experts: ExpertLayout = "none"
    num_experts: int = 3  # E of split / independent
    shared_stages: int = 1  # split: stages shared after the stem (CIFAR ResNet-32: 1, ImageNet ResNets: 2, as RIDE/SADE)
    expert_width: float = 1.0  # split: width factor of the per-expert stages (RIDE/SADE reduce_dimension: 0.75)


@dataclass
class FCCConfig:
    enabled: bool = False  # multiply each training feature by its class's τ (paper Eq. 1)
    strategy: Strategy = "edc"  # uniform (Eq. 2) | edc (Eq. 3) | half (Eq. 4)
    gamma: float = 0.5  # γ, the compression strength of Eqs. 2-4
    beta: int = 0  # half compression: 0 = compress the top 50 % classes, 1 = the bottom 50 %
    order: TauOrder = "frequency"  # frequency (rank by training count, majority first) | label (official: label id)
    round_decimals: int | None = None  # 2 = the official round(1 + γ − k·γ/C, 2) on binary floats; None = exact Eq. value
    start_epoch: int = 50  # FCC active when epoch > start_epoch (epochs count from 1)
    mix_tau: MixTau = "first"  # with mixed samples: first (official: τ of label a) | mixed (λτ_a + (1-λ)τ_b)
    # multi-expert models: features (each expert's pooled feature before its head, as the paper's FCC; cancels in
    # a cosine head) | shared (the map before the expert-specific layers) | logits (each expert's logits)
    placement: Placement = "features"


@dataclass
class MethodConfig:
    loss: str = "ce"  # ce | focal | cb_focal | cbce | bsce | ce_ls | celas | ldam | cdt
    focal_gamma: float = 2.0  # focal loss γ (Lin et al.)
    focal_form: FocalForm = "sigmoid"  # sigmoid (BoT/official) | softmax (LDAM-DRW's)
    cb_beta: float = 0.9999  # class-balanced weights (1-β)/(1-β^n)
    label_smoothing: float = 0.1  # CE-LS ε
    celas_head: float = 0.4  # CELAS ε of the most frequent class
    celas_tail: float = 0.1  # CELAS ε of the least frequent class
    ldam_max_m: float = 0.5  # LDAM: the largest margin (the rarest class's), margins ∝ n_j^(-1/4)
    ldam_s: float = 30.0  # LDAM: logit scale of the cosine head
    ldam_linear_s: float = 1.0  # LDAM with a linear head (model.head: linear): logit scale (official code: s either way)
    cdt_gamma: float = 0.2  # CDT: logits divided by (N_max / n_j)^γ
    drw_start_epoch: int | None = None  # DRW: plain CE until this epoch, the method's reweighting after
    drw_beta: float = 0.9999  # LDAM-DRW: CB weights after the DRW start
    sampler: str = "instance"  # instance | cb | sr | pb
    drs_start_epoch: int | None = None  # DRS: instance sampling until this epoch, then `sampler`
    mixup: Mixup = "none"  # none | input (Zhang et al.) | manifold (Verma et al.) | remix (Chou et al.)
    mixup_alpha: float = 1.0  # λ ~ Beta(α, α), one per batch
    manifold_layer: str = "pool"  # manifold mixup: where to mix, pool | stem | stageK
    remix_kappa: float = 3.0  # Remix κ: the count ratio beyond which the label goes to the rarer class
    remix_tau: float = 0.5  # Remix τ: the λ threshold of that rule
    celas_drw: CelasDrw = "reweight"  # CELAS after a DRW start: reweight (CB weights) | ignored (official: DRW is a no-op)
    remix_weighting: RemixWeighting = "per_sample"  # per_sample (paper) | batch_mean (BoT quirk: batch-mean λ_y times a mean CE)
    teacher: str | None = None  # DiVe: teacher checkpoint (a run folder or .pt)
    distill_temperature: float = 2.0  # DiVe: distillation temperature T
    distill_alpha: float = 0.5  # DiVe: weight α of the distillation term
    distill_power: float = 0.5  # DiVe: power of the teacher's softened probabilities
    # multi-expert methods (methods/experts/): SADE, RIDE, NCL, BBN
    sade_tau: float = 2.0  # SADE: inverse-softmax expert CE(z + log π - τ log π_inv) (official tau 2)
    sade_test_time_epochs: int = (
        0  # SADE: epochs of test-time self-supervised aggregation before the last evaluation (authors: 5)
    )
    sade_test_time_lr: float = (
        0.1  # SADE test-time aggregation: SGD LR (authors: 0.1, momentum 0.9, Nesterov, wd 5e-4, batch 128)
    )
    ride_diversity_factor: float = -0.2  # RIDE: weight of the KL(mean || expert) diversity term (negative: rewards diversity)
    ride_diversity_temperature: float = 1.0  # RIDE: base diversity temperature T
    ride_reweight_factor: float = 0.05  # RIDE: after method.drw_start_epoch, T_j = T * (C π_j f + 1 - f) / max
    ride_router: bool = False  # RIDE-EA: after the last epoch, train the expert router on the frozen experts; evaluate routed
    ride_router_epochs: int = 5  # RIDE-EA router: epochs (authors: 5, cosine LR to 0, class-balanced sampling)
    ride_router_lr: float = 0.01  # RIDE-EA router: SGD LR (authors: 0.01, momentum 0.9, Nesterov, wd 5e-4)
    ride_router_batch_size: int = 512  # RIDE-EA router: batch (authors: 512)
    ride_router_top_k: int = (
        30  # RIDE-EA router: top-k of the running mean logits it reads (authors: 30 CIFAR-100, 50 ImageNet-LT)
    )
    ride_router_pos_weight: float = 100.0  # RIDE-EA router: BCE weight of "the next expert helps" (authors: 100)
    ncl_hcm_k: int = 30  # NCL: hard classes per sample (top-k of expert 1's logits, the label included; HCM_N)
    ncl_nbod_factor: float = 0.6  # NCL: NBOD weight on all classes (DIVERSITY_FACTOR)
    ncl_nbod_hcm_factor: float = 0.6  # NCL: NBOD weight on the hard classes (DIVERSITY_FACTOR_HCM)
    ncl_hcm_ratio: float = 1.0  # NCL: weight of the hard-class balanced CE (HCM_RATIO)


@dataclass
class StageConfig:
    """Two-stage methods (cRT, LWS, τ-norm, LTR-WB): stage 2 starts from a stage-1 checkpoint."""

    init_from: str | None = None  # stage-1 run folder or checkpoint
    freeze_backbone: bool = False  # train only the head (cRT, LWS); BatchNorm statistics keep updating
    reset_head: bool = False  # cRT: re-initialise the classifier
    lws: bool = False  # learnable weight scaling of the classifier
    head_transform: HeadTransform = "none"  # tau_norm: test-time w_j / ||w_j||^p
    tau_norm_p: float = 1.0  # τ-norm: the power p
    tau_norm_checkpoint: TauNormCheckpoint = (
        "ce_best"  # best epoch chosen on: ce_best (the raw head, official) | own_best (the normalised head)
    )
    max_norm: float | None = None  # LTR-WB: per-class weight norm bound (PGD)
    depends_on: str | None = None  # `fcc sweep`: config (same folder) whose run is stage 1 / the teacher; sets init_from/teacher


@dataclass
class OptimConfig:
    epochs: int = 200  # training epochs (counted from 1)
    batch_size: int = 128  # training batch (the last incomplete batch is dropped)
    lr: float = 0.1  # base learning rate (SGD)
    momentum: float = 0.9  # SGD momentum
    nesterov: bool = True  # Nesterov momentum
    weight_decay: float = 2e-4  # L2 weight decay
    warmup_epochs: int = 5  # linear warmup epochs
    warmup_start_factor: float = 1 / 3  # warmup starts at lr × this factor
    schedule: Schedule = "step"  # step (×lr_decay at each milestone) | cosine
    milestones: list[int] = field(
        default_factory=lambda: [160, 180]
    )  # step schedule: from each of these epochs on, the LR is multiplied by lr_decay
    lr_decay: float = 0.01  # factor at each milestone


@dataclass
class TrainConfig:
    seed: int = 42  # torch / numpy / Python seed of the run (42: the official seed)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: Precision = "auto"  # auto: bf16 on GPU, fp32 on CPU
    channels_last: ChannelsLast = "auto"  # auto: on GPU
    # auto (graphs on CUDA when allowed, else eager) | none (= eager) | graphs (step captured as a CUDA graph)
    # | compile (torch.compile'd forward, eager loop) | compile_graphs (Inductor-compiled step captured as a
    # CUDA graph; runs uncaptured on CPU)
    compile: CompileMode = "auto"
    eval_every: int = 1  # evaluate on the test set every N epochs (and after the last)
    threads: int = 1  # CPU threads (one is fastest on a shared 2-core machine)
    eval_batch_size: int = 1024  # test batch size
    tensorboard: bool = False  # event files in <run>/tensorboard (pip install -e '.[train,tb]')
    wandb: str | None = None  # W&B project to log to (true: "fcc"); null / false: off (train/trackers.py)
    progress: Progress = "auto"  # auto: tqdm bars on a terminal, else lines (every tenth of an epoch or 30 s)
    sync_bn: bool = False  # DDP: synchronise BatchNorm statistics across processes
    checkpoint_every: int = 1  # write checkpoints/last.pt every N epochs (and at the end; best.pt whenever it improves)


@dataclass
class Config:
    name: str = "experiment"  # the run's name: default output folder runs/<name>
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    fcc: FCCConfig = field(default_factory=FCCConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    stage: StageConfig = field(default_factory=StageConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _choice_keys(cls: type = Config, prefix: str = "") -> dict[str, tuple[str, ...]]:
    """``{"section.key": allowed values}`` of every ``Literal``-typed key (nullable ones included)."""
    out: dict[str, tuple[str, ...]] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        t = hints[f.name]
        if isinstance(t, type) and dataclasses.is_dataclass(t):
            out.update(_choice_keys(t, f"{prefix}{f.name}."))
            continue
        literal = _literal_of(t)
        if literal is not None:
            out[f"{prefix}{f.name}"] = literal
    return out


def _literal_of(tp: Any) -> tuple[str, ...] | None:
    """The values of a ``Literal[...]`` type (or of ``Literal[...] | None``), else None."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _literal_of(inner[0]) if len(inner) == 1 else None
    return typing.get_args(tp) if typing.get_origin(tp) is Literal else None


CHOICES: dict[str, tuple[str, ...]] = _choice_keys()
"""The allowed values of every key typed as a ``Literal`` (read from the types, so they cannot drift apart)."""
# keys whose values (these ones) may come in any case; the rest of the key's values must match exactly
_ANY_CASE: dict[str, tuple[str, ...]] = {"train.channels_last": CHOICES["train.channels_last"][1:]}


def _check_choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed`` (the values of the key's ``Literal`` type)."""
    if value in allowed or value.lower() in _ANY_CASE.get(key, ()):
        return value
    raise ConfigError(f"config key '{key}' is {value!r}; use one of {', '.join(allowed)}")


def _all_keys(cls: type, prefix: str = "") -> list[str]:
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        t = hints[f.name]
        if isinstance(t, type) and dataclasses.is_dataclass(t):
            keys += _all_keys(t, f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def _unknown(key: str) -> ConfigError:
    close = difflib.get_close_matches(key, _all_keys(Config), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else "; run with a valid key, see fcc_train/config.py"
    return ConfigError(f"unknown config key '{key}'{hint}")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none", "~")):
            return None
        return _coerce(value, args[0], key)
    if origin is list:
        (inner,) = typing.get_args(tp)
        if isinstance(value, str):
            text = value.strip().strip("[]")
            value = [v for v in text.split(",") if v.strip()] if text else []
        if not isinstance(value, list):
            raise ConfigError(f"config key '{key}' needs a list, got {value!r}; write e.g. [160, 180]")
        return [_coerce(v, inner, key) for v in value]
    if typing.get_origin(tp) is Literal:
        return _check_choice(key, _coerce(value, str, key), typing.get_args(tp))
    if value is None:
        raise ConfigError(f"config key '{key}' may not be null; give a {tp.__name__}")
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if tp is float:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str) and "/" in value:
                p, q = value.split("/")
                return float(p) / float(q)
            return float(value)
        if tp is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (ValueError, TypeError, OverflowError, ZeroDivisionError):  # 1e400 for an int, 1/0 for a float
        raise ConfigError(f"config key '{key}' needs a {tp.__name__}, got {value!r}") from None
    raise ConfigError(f"config key '{key}' has an unsupported type {tp}")


def config_from_dict(data: dict[str, Any], cls: type = Config, prefix: str = "") -> Any:
    """Build a (nested) config dataclass from a dict, rejecting unknown keys and values outside a key's ``Literal``."""
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.') or '<top>'}' must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k in data:
        if k not in names:
            raise _unknown(f"{prefix}{k}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        tp = hints[f.name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            kwargs[f.name] = config_from_dict(data[f.name] or {}, tp, f"{prefix}{f.name}.")
        else:
            key = f"{prefix}{f.name}"
            kwargs[f.name] = _coerce(data[f.name], tp, key)
    return cls(**kwargs)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def flatten_config(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as ``{"section.key": value}`` (the spelling of ``--set`` overrides)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten_config(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r} is not key=value; write e.g. --set optim.epochs=10")
    key, raw = item.split("=", 1)
    import yaml

    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (or start from defaults), apply ``key=value`` overrides, validate."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file '{p}' does not exist; pass a YAML file from configs/, e.g. configs/digits/ce.yaml")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file '{p}' is not UTF-8 text (byte {exc.start}); save it as UTF-8 YAML") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file '{p}' is not valid YAML ({str(exc).splitlines()[0]}); fix the syntax") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file '{p}' must hold a mapping of sections (data, model, fcc, ...)")
        data = loaded or {}
    for item in overrides or []:
        keys, value = _parse_override(item)
        node = data
        for k in keys[:-1]:
            if not isinstance(node.get(k, {}), dict):
                raise _unknown(".".join(keys))
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    from fcc_train.config_ranges import check_ranges

    return check_ranges(config_from_dict(data))
