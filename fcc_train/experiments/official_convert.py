"""Converters of the official-config rows (:mod:`fcc_train.experiments.official_rows`): official value → our keys.

Each takes the official value and a :class:`Ctx` (the whole official config, defaults filled in, so
that a row can read the keys it depends on) and returns the keys it sets here, ``{}`` where it does not
apply, or raises a one-line refusal for a feature this trainer does not have. Sources: the official
code's ``lib/`` (losses' ``update``, the combiner, samplers, transforms, ``get_optimizer``,
``get_scheduler``) as noted at each rule.

>>> _drw(True, Ctx({"LOSS.LOSS_TYPE": "LDAMLoss", "TRAIN.TWO_STAGE.START_EPOCH": 160}, quirks=True))
{'method.drw_start_epoch': 159, 'method.drw_beta': 0.9999}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from fcc_train.config import ConfigError

Flat = dict[str, Any]


@dataclass(frozen=True)
class Ctx:
    cfg: Flat  # the official config, defaults filled in, dotted keys
    quirks: bool


Convert = Callable[[Any, Ctx], Flat]


def refuse(key: str, value: Any, why: str) -> ConfigError:
    return ConfigError(f"official key {key} = {value!r} has no counterpart here: {why}")


def _const(target: str, fn: Callable[[Any], Any] = lambda v: v) -> Convert:
    return lambda v, c: {target: fn(v)}


def _only(allowed: Any, key: str, why: str) -> Convert:
    """No effect as long as the value is ``allowed`` (a feature this trainer does not have otherwise)."""

    def convert(v: Any, c: Ctx) -> Flat:
        if v != allowed:
            raise refuse(key, v, why)
        return {}

    return convert


# ---- losses ----------------------------------------------------------------------------------------
LOSSES = {
    "CrossEntropy": "ce",
    "FocalLoss": "focal",
    "ClassBalanceFocal": "cb_focal",
    "ClassBalanceCE": "cbce",
    "BalancedSoftmaxCE": "bsce",
    "CrossEntropyLabelSmooth": "ce_ls",
    "CrossEntropyLabelAwareSmooth": "celas",
    "LDAMLoss": "ldam",
    "CDT": "cdt",
    "DiVEKLD": "dive",
}
DRW_NOOP = ("CrossEntropy", "CrossEntropyLabelSmooth", "CrossEntropyLabelAwareSmooth")  # official update() ignores DRW


def _loss(v: Any, c: Ctx) -> Flat:
    if v not in LOSSES:
        raise refuse("LOSS.LOSS_TYPE", v, f"use one of {', '.join(LOSSES)}")
    out: Flat = {"method.loss": LOSSES[v]}
    if v in ("FocalLoss", "ClassBalanceFocal"):
        out["method.focal_form"] = "sigmoid"  # the official focal loss: per-class sigmoid BCE
    if c.cfg["TRAIN.TWO_STAGE.DRW"] and v in ("ClassBalanceCE", "ClassBalanceFocal"):
        # official CB losses under DRW: unweighted until the start, CB weights after = CE / focal with DRW weights
        out["method.loss"] = "ce" if v == "ClassBalanceCE" else "focal"
    if v == "DiVEKLD" and c.cfg["TRAIN.COMBINER.TYPE"] != "dive":
        raise refuse("LOSS.LOSS_TYPE", v, "DiVEKLD needs TRAIN.COMBINER.TYPE 'dive' (the teacher's logits)")
    return out


def _when(loss: str, target: str, fn: Callable[[Any], Any] = float) -> Convert:
    return lambda v, c: {target: fn(v)} if c.cfg["LOSS.LOSS_TYPE"] == loss else {}


def _cb_beta(loss: str) -> Convert:
    def convert(v: Any, c: Ctx) -> Flat:
        if c.cfg["LOSS.LOSS_TYPE"] != loss:
            return {}
        return {"method.drw_beta" if c.cfg["TRAIN.TWO_STAGE.DRW"] else "method.cb_beta": float(v)}

    return convert


def _celas_shape(v: Any, c: Ctx) -> Flat:
    if c.cfg["LOSS.LOSS_TYPE"] == "CrossEntropyLabelAwareSmooth" and v != "concave":
        raise refuse("LOSS.CrossEntropyLabelAwareSmooth.SHAPE", v, "CELAS here uses the concave profile only")
    return {}


def _dive_base(v: Any, c: Ctx) -> Flat:
    if c.cfg["LOSS.LOSS_TYPE"] == "DiVEKLD" and v != "BalancedSoftmaxCE":
        raise refuse("LOSS.DiVEKLD.BASELOSS", v, "the DiVe student here adds BSCE (BalancedSoftmaxCE) only")
    return {}


def _dive_power(v: Any, c: Ctx) -> Flat:
    if c.cfg["LOSS.LOSS_TYPE"] != "DiVEKLD":
        return {}
    return {"method.distill_power": float(c.cfg["LOSS.DiVEKLD.POWER"]) if v else 1.0}


def _ldam_scale(v: Any, c: Ctx) -> Flat:
    if c.cfg["LOSS.LOSS_TYPE"] != "LDAMLoss":
        return {}
    out: Flat = {"method.ldam_s": float(v)}
    if c.cfg["CLASSIFIER.TYPE"] == "FCNorm":
        out["model.cosine_scale"] = float(v)
    else:
        out["method.ldam_linear_s"] = float(v)  # the official LDAM scales by s whatever the head
    return out


# ---- deferred re-weighting / re-sampling -------------------------------------------------------------
def _drw(v: Any, c: Ctx) -> Flat:
    if not v:
        return {}
    loss, start = c.cfg["LOSS.LOSS_TYPE"], int(c.cfg["TRAIN.TWO_STAGE.START_EPOCH"])
    if loss == "FocalLoss":
        raise refuse(
            "TRAIN.TWO_STAGE.DRW", v, "the official FocalLoss re-weights by min(n)/n_j after the start; no key here does"
        )
    if loss in ("CostSensitiveCE",) or loss not in LOSSES:
        return {}  # the loss row refuses it
    if loss == "DiVEKLD":
        raise refuse("TRAIN.TWO_STAGE.DRW", v, "DRW is not defined for the DiVe student here")
    if c.quirks and loss in DRW_NOOP:
        return {}  # the official update() of these losses ignores DRW: they train as without it
    out: Flat = {"method.drw_start_epoch": start}
    if loss == "CrossEntropyLabelAwareSmooth":
        out["method.celas_drw"] = "ignored"  # the official CELAS update ignores the DRW weights
    if loss == "LDAMLoss":
        out["method.drw_beta"] = 0.9999  # hard-coded in the official LDAM loss
        out["method.drw_start_epoch"] = start - 1  # official LDAM: CB weights from epoch START_EPOCH itself
    return out


def _drs(v: Any, c: Ctx) -> Flat:
    if not v:
        return {}
    if c.cfg["TRAIN.SAMPLER.TYPE"] != "weighted sampler":
        raise refuse("TRAIN.TWO_STAGE.DRS", v, "DRS needs TRAIN.SAMPLER.TYPE 'weighted sampler'")
    return {"method.drs_start_epoch": int(c.cfg["TRAIN.TWO_STAGE.START_EPOCH"])}


SAMPLERS = {"balance": "cb", "square": "sr", "progressive": "pb"}


def _sampler(v: Any, c: Ctx) -> Flat:
    if v == "default":
        return {"method.sampler": "instance"}
    if v != "weighted sampler":
        raise refuse("TRAIN.SAMPLER.TYPE", v, "use 'default' or 'weighted sampler' (BBN's reverse sampler is not here)")
    kind = c.cfg["TRAIN.SAMPLER.WEIGHTED_SAMPLER.TYPE"]
    if kind not in SAMPLERS:
        raise refuse("TRAIN.SAMPLER.WEIGHTED_SAMPLER.TYPE", kind, f"use one of {', '.join(SAMPLERS)}")
    return {"method.sampler": SAMPLERS[kind]}


# ---- combiner (mixup, FCC, DiVe) ---------------------------------------------------------------------
COMBINERS = {
    "default": "none",
    "fcc": "none",
    "mix_up": "input",
    "manifold_mix_up": "manifold",
    "remix": "remix",
    "remix_fcc": "remix",
    "dive": "none",
}
FCC_COMBINERS = ("fcc", "remix_fcc")  # the official code compresses features only in these


def _combiner(v: Any, c: Ctx) -> Flat:
    if v not in COMBINERS:
        raise refuse("TRAIN.COMBINER.TYPE", v, f"use one of {', '.join(COMBINERS)}")
    if v == "dive" and c.cfg["LOSS.LOSS_TYPE"] != "DiVEKLD":
        raise refuse("TRAIN.COMBINER.TYPE", v, "the DiVe combiner needs LOSS.LOSS_TYPE 'DiVEKLD'")
    out: Flat = {"method.mixup": COMBINERS[v]}
    if COMBINERS[v] == "remix":
        out["method.remix_weighting"] = "batch_mean"  # the official Remix: batch-mean λ_y times a mean CE
    if v == "remix_fcc" and c.cfg["FCC.WORK"]:
        out["fcc.mix_tau"] = "first"  # the official remix_fcc compresses by the first label's τ
    return out


def _mixing(target: str, fn: Callable[[Any], Any]) -> Convert:
    return lambda v, c: {target: fn(v)} if COMBINERS.get(c.cfg["TRAIN.COMBINER.TYPE"]) not in (None, "none") else {}


def _manifold_layer(v: Any) -> str:
    layers = {"pool": "pool", "layer1": "stage1", "layer2": "stage2", "layer3": "stage3", "layer4": "stage4"}
    if v not in layers:
        raise refuse("TRAIN.COMBINER.MANIFOLD_MIX_UP.LOCATION", v, f"use one of {', '.join(layers)}")
    return layers[v]


def _remix(target: str) -> Convert:
    return lambda v, c: {target: float(v)} if COMBINERS.get(c.cfg["TRAIN.COMBINER.TYPE"]) == "remix" else {}


def _fcc_work(v: Any, c: Ctx) -> Flat:
    on = bool(v) and c.cfg["TRAIN.COMBINER.TYPE"] in FCC_COMBINERS
    out: Flat = {"fcc.enabled": on}
    if on:
        out.update({"fcc.strategy": "edc", "fcc.order": "label" if c.quirks else "frequency"})
        out["fcc.round_decimals"] = 2  # official: round(1 + γ - kγ/C, 2) on binary floats
    return out


def _fcc(target: str, fn: Callable[[Any], Any]) -> Convert:
    return lambda v, c: {target: fn(v)} if c.cfg["FCC.WORK"] and c.cfg["TRAIN.COMBINER.TYPE"] in FCC_COMBINERS else {}


def _fcc_type(v: Any, c: Ctx) -> Flat:
    if c.cfg["FCC.WORK"] and v != "edc":
        raise refuse("FCC.C_TYPE", v, "the official code knows 'edc' only (fcc.strategy here also has uniform, half)")
    return {}


# ---- data, model, schedule ---------------------------------------------------------------------------
CIFARS = {"IMBALANCECIFAR10": "cifar10", "IMBALANCECIFAR100": "cifar100"}


def _dataset(v: Any, c: Ctx) -> Flat:
    if v in CIFARS:
        return {"data.dataset": CIFARS[v]}
    if v != "iNaturalist":
        raise refuse("DATASET.DATASET", v, "use IMBALANCECIFAR10, IMBALANCECIFAR100 or iNaturalist (the JSON reader)")
    train = str(c.cfg["DATASET.TRAIN_JSON"]).lower()
    if "imagenet" in train:
        return {"data.dataset": "imagenet_lt"}
    if "inat" in train:
        return {"data.dataset": "inat18"}
    raise refuse("DATASET.TRAIN_JSON", c.cfg["DATASET.TRAIN_JSON"], "name the ImageNet_LT_train.json or iNat18_train.json list")


def _valid_json(v: Any, c: Ctx) -> Flat:
    if c.cfg["DATASET.DATASET"] != "iNaturalist":
        return {}
    # the official ImageNet_LT_val.json is converted from ImageNet_LT_test.txt (50k); iNat18's val is its test set
    return {"data.test_split": "test" if "imagenet" in str(c.cfg["DATASET.TRAIN_JSON"]).lower() else "val"}


def _cifar(target: str, fn: Callable[[Any], Any]) -> Convert:
    return lambda v, c: {target: fn(v)} if c.cfg["DATASET.DATASET"] in CIFARS else {}


def _input_size(v: Any, c: Ctx) -> Flat:
    if len(v) != 2 or v[0] != v[1]:
        raise refuse("INPUT_SIZE", v, "square inputs only")
    return {"data.image_size": int(v[0])}


def _train_transforms(v: Any, c: Ctx) -> Flat:
    names = tuple(v)
    known = {"random_crop", "random_resized_crop", "random_horizontal_flip", "color_jitter"}
    if not set(names) <= known or ("random_crop" in names) == ("random_resized_crop" in names):
        raise refuse(
            "TRANSFORMS.TRAIN_TRANSFORMS",
            v,
            "use random_crop (CIFAR) or random_resized_crop, + random_horizontal_flip, + color_jitter",
        )
    cifar = c.cfg["DATASET.DATASET"] in CIFARS
    if cifar != ("random_crop" in names) or (cifar and "color_jitter" in names):
        raise refuse(
            "TRANSFORMS.TRAIN_TRANSFORMS", v, "CIFAR runs use random_crop (+ flip) here, the JSON sets random_resized_crop"
        )
    out: Flat = {"data.augment": "standard", "data.flip": "random_horizontal_flip" in names}
    if cifar:
        out["data.crop_padding"] = int(c.cfg["TRANSFORMS.PROCESS_DETAIL.RANDOM_CROP.PADDING"])
    else:
        out["data.color_jitter"] = 0.4 if "color_jitter" in names else 0.0  # the official ColorJitter(0.4, 0.4, 0.4)
        out["data.rrc_min_scale"] = float(c.cfg["TRANSFORMS.PROCESS_DETAIL.RANDOM_RESIZED_CROP.SCALE"][0])
    return out


def _test_transforms(v: Any, c: Ctx) -> Flat:
    names = tuple(v)
    if c.cfg["DATASET.DATASET"] in CIFARS and names == ():
        return {}
    if c.cfg["DATASET.DATASET"] not in CIFARS and names == ("shorter_resize_for_crop", "center_crop"):
        return {"data.short_side": int(c.cfg["INPUT_SIZE"][0] / 0.875)}  # the official resize: int(size / 0.875)
    raise refuse(
        "TRANSFORMS.TEST_TRANSFORMS",
        v,
        "CIFAR tests untransformed (), the JSON sets with ('shorter_resize_for_crop', 'center_crop')",
    )


def _rrc_ratio(v: Any, c: Ctx) -> Flat:
    if abs(v[0] - 0.75) > 1e-6 or abs(v[1] - 4 / 3) > 1e-6:
        raise refuse("TRANSFORMS.PROCESS_DETAIL.RANDOM_RESIZED_CROP.RATIO", v, "the crop's aspect ratios are (3/4, 4/3) here")
    return {}


def _rrc_scale(v: Any, c: Ctx) -> Flat:
    if abs(v[1] - 1.0) > 1e-9:
        raise refuse("TRANSFORMS.PROCESS_DETAIL.RANDOM_RESIZED_CROP.SCALE", v, "the largest crop area is 1.0 here")
    return {}  # the smallest area goes to data.rrc_min_scale with TRAIN_TRANSFORMS


ARCHS = {"res32_cifar": "resnet32", "res10": "resnet10", "res50": "resnet50", "resnext50": "resnext50"}


def _arch(v: Any, c: Ctx) -> Flat:
    if v not in ARCHS:
        raise refuse("BACKBONE.TYPE", v, f"use one of {', '.join(ARCHS)}")
    return {"model.arch": ARCHS[v]}


def _classifier(v: Any, c: Ctx) -> Flat:
    if v == "FC":
        return {"model.head": "linear"}
    if v == "FCNorm":
        # BoT's FCNorm returns plain cosines; LDAM multiplies them by its SCALE (the LOSS.LDAMLoss.SCALE row sets it)
        return (
            {"model.head": "cosine"}
            if c.cfg["LOSS.LOSS_TYPE"] == "LDAMLoss"
            else {"model.head": "cosine", "model.cosine_scale": 1.0}
        )
    if v == "cRT":
        return {"model.head": "linear", "stage.reset_head": True, "stage.freeze_backbone": True}
    if v == "LWS":
        return {"model.head": "linear", "stage.lws": True, "stage.freeze_backbone": True}
    raise refuse("CLASSIFIER.TYPE", v, "use FC, FCNorm, cRT or LWS")


def _schedule(v: Any, c: Ctx) -> Flat:
    if v == "warmup":
        return {
            "optim.schedule": "step",
            "optim.warmup_epochs": int(c.cfg["TRAIN.LR_SCHEDULER.WARM_EPOCH"]),
            "optim.warmup_start_factor": 1 / 3,
        }
    if v == "multistep":
        return {"optim.schedule": "step", "optim.warmup_epochs": 0}
    raise refuse(
        "TRAIN.LR_SCHEDULER.TYPE",
        v,
        "use warmup or multistep (the official cosine, eta_min 1e-4 and no warmup, is not optim.schedule: cosine)",
    )


def _optimizer(v: Any, c: Ctx) -> Flat:
    if v != "SGD":
        raise refuse("TRAIN.OPTIMIZER.TYPE", v, "SGD only")
    return {"optim.nesterov": True}  # the official get_optimizer hard-codes nesterov=True


def _valid_step(v: Any, c: Ctx) -> Flat:
    if v < 1:
        raise refuse("VALID_STEP", v, "runs here evaluate every train.eval_every >= 1 epochs")
    return {"train.eval_every": int(v)}


def _fixed_seed(v: Any, c: Ctx) -> Flat:
    return {"name": str(v), "train.seed": 42}  # the official train.py seeds random / numpy / torch with 42
