"""The rows of :data:`fcc_train.experiments.official_config.ROWS`: every key of the official ``config/default.py``.

One row per key, in the official file's order: the official default, the keys it sets here and how,
or why it has no effect here. A row's converter returns the keys it sets (``{}`` when it does not
apply, e.g. a loss's parameter under another loss) or raises a one-line refusal.

>>> from fcc_train.experiments.official_config import ROWS
>>> len(ROWS) > 90, len({r.key for r in ROWS}) == len(ROWS)
(True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fcc_train.experiments.official_config import Row

SPEED = "speed or logging only; results do not depend on it"


def rows() -> tuple[Row, ...]:
    from fcc_train.experiments import official_convert as o
    from fcc_train.experiments.official_config import Row as R

    loss, cifar, fcc, mixing, remix, const, only = o._when, o._cifar, o._fcc, o._mixing, o._remix, o._const, o._only
    cam = "CAM-based sampling is not in this trainer"
    ckpt = "an official checkpoint does not load here; give the stage-1 / teacher run with --set (see the import's notes), or --depends-on for fcc sweep"
    return (
        # ----- basic settings -----
        R(
            "NAME",
            "default",
            "name, train.seed",
            "the run's name; the official train.py seeds everything with 42 (train.seed 42)",
            o._fixed_seed,
        ),
        R("OUTPUT_DIR", "/home/cifar10/output", "", "the run folder is fcc train's --out"),
        R("VALID_STEP", 5, "train.eval_every", "evaluate every N epochs", o._valid_step),
        R(
            "SAVE_STEP",
            5,
            "",
            "checkpoints here are last.pt (train.checkpoint_every) and best.pt; SAVE_STEP only thins the official epoch_N.pth files",
        ),
        R("SHOW_STEP", 20, "", SPEED),
        R("PIN_MEMORY", True, "", SPEED),
        R("INPUT_SIZE", (224, 224), "data.image_size", "the (square) training crop", o._input_size),
        R("COLOR_SPACE", "RGB", "", "images are RGB here", only("RGB", "COLOR_SPACE", "images are RGB here")),
        R("RESUME_MODEL", "", "", "fcc train resumes from its run folder when re-run"),
        R("RESUME_MODE", "all", "", "fcc train resumes optimiser, schedule and model together"),
        R(
            "EVAL_MODE",
            False,
            "",
            "training here keeps BatchNorm in train mode",
            only(False, "EVAL_MODE", "training here keeps BatchNorm in train mode"),
        ),
        # ----- dataset -----
        R("DATASET.GENERATE_CAM_BASED_DATASET", False, "", cam, only(False, "DATASET.GENERATE_CAM_BASED_DATASET", cam)),
        R("DATASET.USE_CAM_BASED_DATASET", False, "", cam, only(False, "DATASET.USE_CAM_BASED_DATASET", cam)),
        R("DATASET.CAM_DATA_JSON_SAVE_PATH", "", "", "read only by CAM-based sampling"),
        R("DATASET.CAM_DATA_SAVE_PATH", "", "", "read only by CAM-based sampling"),
        R("DATASET.CAM_NUMBER_THRES", 0, "", "read only by CAM-based sampling"),
        R(
            "DATASET.DATASET",
            "IMBALANCECIFAR10",
            "data.dataset",
            "IMBALANCECIFAR10/100 → cifar10/100; iNaturalist (the JSON reader) → imagenet_lt or inat18 by TRAIN_JSON",
            o._dataset,
        ),
        R("DATASET.ROOT", "/home/cifar10/data", "", "a machine path: give the data folder with --data-root"),
        R(
            "DATASET.TRAIN_JSON",
            "",
            "data.dataset",
            "with DATASET iNaturalist: ImageNet_LT_train.json → imagenet_lt, iNat18_train.json → inat18 (the DATASET.DATASET row)",
        ),
        R(
            "DATASET.VALID_JSON",
            "",
            "data.test_split",
            "ImageNet_LT_val.json is converted from ImageNet_LT_test.txt → test (50k); iNat18's val → val",
            o._valid_json,
        ),
        R(
            "DATASET.IMBALANCECIFAR.RATIO",
            0.01,
            "data.imbalance_factor",
            "1 / RATIO (0.01 → 100), CIFAR only",
            cifar("data.imbalance_factor", lambda v: round(1 / v, 6)),
        ),
        R(
            "DATASET.IMBALANCECIFAR.RANDOM_SEED",
            0,
            "data.subset_seed",
            "numpy seed of the long-tailed draw, CIFAR only",
            cifar("data.subset_seed", int),
        ),
        R("NETWORK.PRETRAINED", False, "", "starts stage 2 from NETWORK.PRETRAINED_MODEL: " + ckpt),
        R("NETWORK.PRETRAINED_MODEL", "", "", ckpt),
        # ----- model -----
        R(
            "BACKBONE.TYPE",
            "res50",
            "model.arch",
            "res32_cifar → resnet32, res10 → resnet10, res50 → resnet50, resnext50",
            o._arch,
        ),
        R(
            "BACKBONE.FREEZE",
            False,
            "stage.freeze_backbone",
            "train the classifier only",
            lambda v, c: {"stage.freeze_backbone": True} if v else {},
        ),
        R(
            "BACKBONE.PRETRAINED_MODEL",
            "",
            "",
            "backbones train from scratch here",
            only("", "BACKBONE.PRETRAINED_MODEL", "backbones train from scratch here"),
        ),
        R(
            "MODULE.TYPE",
            "GAP",
            "",
            "global average pooling is the only pooling here",
            only("GAP", "MODULE.TYPE", "global average pooling only"),
        ),
        R(
            "CLASSIFIER.TYPE",
            "FC",
            "model.head, stage.reset_head, stage.lws, stage.freeze_backbone",
            "FC → linear; FCNorm → cosine; cRT → linear, reset_head, frozen backbone; LWS → lws, frozen backbone",
            o._classifier,
        ),
        R("CLASSIFIER.BIAS", True, "model.bias", "the linear head's bias", const("model.bias")),
        # ----- losses -----
        R(
            "LOSS.LOSS_TYPE",
            "CrossEntropy",
            "method.loss, method.focal_form",
            "CrossEntropy ce, FocalLoss focal (sigmoid), ClassBalanceFocal cb_focal, ClassBalanceCE cbce, BalancedSoftmaxCE bsce, CrossEntropyLabelSmooth ce_ls, CrossEntropyLabelAwareSmooth celas, LDAMLoss ldam, CDT cdt, DiVEKLD dive; ClassBalanceCE / ClassBalanceFocal with DRW → ce / focal with DRW weights",
            o._loss,
        ),
        R(
            "LOSS.CostSensitiveCE.GAMMA",
            1.0,
            "",
            "read only by CostSensitiveCE, which is not here (the LOSS_TYPE row refuses it)",
        ),
        R(
            "LOSS.ClassBalanceCE.BETA",
            0.999,
            "method.cb_beta",
            "with ClassBalanceCE (method.drw_beta under DRW)",
            o._cb_beta("ClassBalanceCE"),
        ),
        R(
            "LOSS.ClassBalanceFocal.BETA",
            0.999,
            "method.cb_beta",
            "with ClassBalanceFocal (method.drw_beta under DRW)",
            o._cb_beta("ClassBalanceFocal"),
        ),
        R(
            "LOSS.ClassBalanceFocal.GAMMA",
            0.5,
            "method.focal_gamma",
            "with ClassBalanceFocal",
            loss("ClassBalanceFocal", "method.focal_gamma"),
        ),
        R(
            "LOSS.CrossEntropyLabelSmooth.EPSILON",
            0.1,
            "method.label_smoothing",
            "with CrossEntropyLabelSmooth",
            loss("CrossEntropyLabelSmooth", "method.label_smoothing"),
        ),
        R(
            "LOSS.CrossEntropyLabelAwareSmooth.SMOOTH_HEAD",
            0.4,
            "method.celas_head",
            "with CrossEntropyLabelAwareSmooth",
            loss("CrossEntropyLabelAwareSmooth", "method.celas_head"),
        ),
        R(
            "LOSS.CrossEntropyLabelAwareSmooth.SMOOTH_TAIL",
            0.1,
            "method.celas_tail",
            "with CrossEntropyLabelAwareSmooth",
            loss("CrossEntropyLabelAwareSmooth", "method.celas_tail"),
        ),
        R(
            "LOSS.CrossEntropyLabelAwareSmooth.SHAPE",
            "concave",
            "",
            "CELAS here is the concave profile; other shapes are refused",
            o._celas_shape,
        ),
        R("LOSS.FocalLoss.GAMMA", 2.0, "method.focal_gamma", "with FocalLoss", loss("FocalLoss", "method.focal_gamma")),
        R(
            "LOSS.LDAMLoss.SCALE",
            30.0,
            "method.ldam_s, model.cosine_scale, method.ldam_linear_s",
            "with LDAMLoss: s (the cosine head's scale with FCNorm, method.ldam_linear_s with FC)",
            o._ldam_scale,
        ),
        R("LOSS.LDAMLoss.MAX_MARGIN", 0.5, "method.ldam_max_m", "with LDAMLoss", loss("LDAMLoss", "method.ldam_max_m")),
        R("LOSS.CDT.GAMMA", 0.2, "method.cdt_gamma", "with CDT", loss("CDT", "method.cdt_gamma")),
        R("LOSS.SEQL.GAMMA", 0.9, "", "read only by SEQL, which is not here (the LOSS_TYPE row refuses it)"),
        R("LOSS.SEQL.LAMBDA", 0.005, "", "read only by SEQL, which is not here"),
        R("LOSS.InfluenceBalancedLoss.ALPHA", 1000.0, "", "read only by InfluenceBalancedLoss, which is not here"),
        R(
            "LOSS.DiVEKLD.POWER_NORM",
            False,
            "method.distill_power",
            "with DiVEKLD: the teacher's power POWER if set, else 1",
            o._dive_power,
        ),
        R("LOSS.DiVEKLD.POWER", 0.5, "method.distill_power", "with DiVEKLD and POWER_NORM (the POWER_NORM row)"),
        R(
            "LOSS.DiVEKLD.TEMPERATURE",
            3.0,
            "method.distill_temperature",
            "with DiVEKLD",
            loss("DiVEKLD", "method.distill_temperature"),
        ),
        R("LOSS.DiVEKLD.ALPHA", 0.5, "method.distill_alpha", "with DiVEKLD", loss("DiVEKLD", "method.distill_alpha")),
        R("LOSS.DiVEKLD.BASELOSS", "BSCE", "", "the DiVe student adds BSCE here; BalancedSoftmaxCE is required", o._dive_base),
        # ----- training -----
        R(
            "TRAIN.BATCH_SIZE",
            32,
            "optim.batch_size",
            "the (global) batch, drop_last as the official loader",
            const("optim.batch_size"),
        ),
        R("TRAIN.MAX_EPOCH", 60, "optim.epochs", "epochs", const("optim.epochs")),
        R(
            "TRAIN.SHUFFLE",
            True,
            "",
            "training batches are shuffled here",
            only(True, "TRAIN.SHUFFLE", "training batches are shuffled here"),
        ),
        R("TRAIN.NUM_WORKERS", 8, "", SPEED + " (data.workers)"),
        R("TRAIN.TENSORBOARD.ENABLE", True, "", SPEED + " (--set train.tensorboard=true to log)"),
        R(
            "TRAIN.COMBINER.TYPE",
            "default",
            "method.mixup, method.remix_weighting, fcc.mix_tau",
            "default / fcc / dive → none, mix_up → input, manifold_mix_up → manifold, remix / remix_fcc → remix (batch-mean label weight, as the official code); FCC acts only with fcc / remix_fcc",
            o._combiner,
        ),
        R("TRAIN.COMBINER.ALPHA", 1.0, "method.mixup_alpha", "Beta(α, α) of the mixups", mixing("method.mixup_alpha", float)),
        R(
            "TRAIN.COMBINER.MANIFOLD_MIX_UP.LOCATION",
            "pool",
            "method.manifold_layer",
            "pool → pool, layerK → stageK",
            mixing("method.manifold_layer", o._manifold_layer),
        ),
        R("TRAIN.COMBINER.REMIX.KAPPA", 3.0, "method.remix_kappa", "with Remix", remix("method.remix_kappa")),
        R("TRAIN.COMBINER.REMIX.TAU", 0.5, "method.remix_tau", "with Remix", remix("method.remix_tau")),
        R("TRAIN.COMBINER.DIVE.TEACHER_MODEL", "", "", ckpt),
        R(
            "TRAIN.TWO_STAGE.DRW",
            False,
            "method.drw_start_epoch, method.drw_beta",
            "DRW from START_EPOCH (LDAM: β 0.9999 and weights from START_EPOCH itself, as the official loss; CELAS: method.celas_drw ignored, its official update ignores DRW); FocalLoss's min(n)/n DRW is refused; --official-quirks: no DRW keys at all for CE / CE-LS / CELAS",
            o._drw,
        ),
        R(
            "TRAIN.TWO_STAGE.DRS",
            False,
            "method.drs_start_epoch",
            "instance sampling until START_EPOCH, then the weighted sampler",
            o._drs,
        ),
        R(
            "TRAIN.TWO_STAGE.START_EPOCH",
            1,
            "method.drw_start_epoch, method.drs_start_epoch",
            "the epoch of DRW / DRS (those rows)",
        ),
        R(
            "TRAIN.SAMPLER.TYPE",
            "default",
            "method.sampler",
            "default → instance; weighted sampler → by WEIGHTED_SAMPLER.TYPE",
            o._sampler,
        ),
        R(
            "TRAIN.SAMPLER.WEIGHTED_SAMPLER.TYPE",
            "balance",
            "method.sampler",
            "balance → cb, square → sr, progressive → pb (the SAMPLER.TYPE row)",
        ),
        R(
            "TRAIN.SAMPLER.BBN_SAMPLER.TYPE",
            "reverse",
            "",
            "read only by the BBN sampler, which is not here (the SAMPLER.TYPE row refuses it)",
        ),
        R(
            "TRAIN.OPTIMIZER.TYPE",
            "SGD",
            "optim.nesterov",
            "SGD with Nesterov momentum (hard-coded in the official get_optimizer); ADAM is refused",
            o._optimizer,
        ),
        R("TRAIN.OPTIMIZER.BASE_LR", 0.001, "optim.lr", "the base learning rate", const("optim.lr", float)),
        R("TRAIN.OPTIMIZER.MOMENTUM", 0.9, "optim.momentum", "SGD momentum", const("optim.momentum", float)),
        R("TRAIN.OPTIMIZER.WEIGHT_DECAY", 1e-4, "optim.weight_decay", "weight decay", const("optim.weight_decay", float)),
        R(
            "TRAIN.LR_SCHEDULER.TYPE",
            "multistep",
            "optim.schedule, optim.warmup_epochs, optim.warmup_start_factor",
            "warmup → step with WARM_EPOCH linear warmup from LR/3; multistep → step, no warmup; cosine is refused",
            o._schedule,
        ),
        R(
            "TRAIN.LR_SCHEDULER.LR_STEP",
            (40, 50),
            "optim.milestones",
            "epochs of the LR steps",
            const("optim.milestones", lambda v: [int(x) for x in v]),
        ),
        R("TRAIN.LR_SCHEDULER.LR_FACTOR", 0.1, "optim.lr_decay", "factor at each step", const("optim.lr_decay", float)),
        R("TRAIN.LR_SCHEDULER.WARM_EPOCH", 5, "optim.warmup_epochs", "read only with TYPE warmup (the TYPE row)"),
        R("TRAIN.LR_SCHEDULER.COSINE_DECAY_END", 0, "", "read only by the cosine schedule, which is refused"),
        R(
            "TRAIN.DISTRIBUTED",
            False,
            "train.sync_bn",
            "official DDP runs convert BatchNorm to SyncBN; launching several processes is torchrun's job here",
            const("train.sync_bn", bool),
        ),
        R("TRAIN.APEX", True, "", "numeric precision is train.precision here (auto: bf16 on a GPU), not apex fp16"),
        R("TRAIN.SYNCBN", False, "", "read nowhere by the official code (SyncBN follows TRAIN.DISTRIBUTED)"),
        # ----- testing -----
        R("TEST.BATCH_SIZE", 32, "", SPEED + " (train.eval_batch_size)"),
        R("TEST.NUM_WORKERS", 8, "", SPEED),
        R("TEST.MODEL_FILE", "", "", "the checkpoint the official valid.py evaluates; runs here report best and last"),
        R(
            "TEST.TAU_NORM.USE_TAU_NORM",
            False,
            "stage.head_transform",
            "τ-norm at test time",
            const("stage.head_transform", lambda v: "tau_norm" if v else "none"),
        ),
        R(
            "TEST.TAU_NORM.TAU",
            1.0,
            "stage.tau_norm_p",
            "the τ-norm power",
            lambda v, c: {"stage.tau_norm_p": float(v)} if c.cfg["TEST.TAU_NORM.USE_TAU_NORM"] else {},
        ),
        # ----- transforms -----
        R(
            "TRANSFORMS.TRAIN_TRANSFORMS",
            ("random_resized_crop", "random_horizontal_flip"),
            "data.augment, data.flip, data.crop_padding, data.color_jitter, data.rrc_min_scale",
            "random_crop (CIFAR, padding below) or random_resized_crop; flip; color_jitter → ColorJitter 0.4",
            o._train_transforms,
        ),
        R(
            "TRANSFORMS.TEST_TRANSFORMS",
            ("shorter_resize_for_crop", "center_crop"),
            "data.short_side",
            "() on CIFAR; resize the short side to int(size / 0.875) then centre crop",
            o._test_transforms,
        ),
        R("TRANSFORMS.PROCESS_DETAIL.RANDOM_CROP.PADDING", 4, "data.crop_padding", "with random_crop (the TRAIN_TRANSFORMS row)"),
        R(
            "TRANSFORMS.PROCESS_DETAIL.RANDOM_RESIZED_CROP.SCALE",
            (0.08, 1.0),
            "data.rrc_min_scale",
            "the smallest crop area, with random_resized_crop (the TRAIN_TRANSFORMS row)",
            o._rrc_scale,
        ),
        R(
            "TRANSFORMS.PROCESS_DETAIL.RANDOM_RESIZED_CROP.RATIO",
            (0.75, 1.333333333),
            "",
            "the crop's aspect ratios are (3/4, 4/3) here",
            o._rrc_ratio,
        ),
        # ----- FCC -----
        R(
            "FCC.WORK",
            False,
            "fcc.enabled, fcc.strategy, fcc.order, fcc.round_decimals",
            "FCC on with COMBINER fcc / remix_fcc; τ rounded to 2 decimals as the official code, ranked by frequency (--official-quirks: by label id)",
            o._fcc_work,
        ),
        R("FCC.START_EPOCH", 50, "fcc.start_epoch", "FCC acts when epoch > START_EPOCH", fcc("fcc.start_epoch", int)),
        R("FCC.GAMMA", 0.5, "fcc.gamma", "γ of Eq. 3", fcc("fcc.gamma", float)),
        R(
            "FCC.C_TYPE",
            "edc",
            "fcc.strategy",
            "edc (equal-difference, Eq. 3), the only type the official code has (the WORK row sets it)",
            o._fcc_type,
        ),
        R("FCC.RATIO", 0.0, "", "read nowhere by the official code"),
        R("FCC.DELTA", 0.9, "", "read nowhere by the official code"),
        R("FCC.ALPHA", 0.99, "", "read nowhere by the official code"),
        R("FCC.BELTA", 2.0, "", "read nowhere by the official code"),
    )
