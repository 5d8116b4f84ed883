"""``fcc import-config`` (official FCC / BoT-LT yacs configs → ours) and ``fcc config show``.

The official-format files are written here, in the official layout (upper-case yacs keys, strings
such as '2e-4' and '(32, 32)' that yacs reads as Python literals); importing one must give the
resolved values of the shipped config of the same Table 1 cell.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fcc.cli import main
from fcc_train.config import ConfigError, config_to_dict, flatten_config, load_config
from fcc_train.experiments.official_config import ROWS, import_official, import_official_text, markdown_table
from fcc_train.experiments.official_convert import Ctx

ROOT = Path(__file__).resolve().parents[2]

CIFAR: dict[str, Any] = {
    "NAME": "baseline",
    "OUTPUT_DIR": "./output/cifar10_im100",
    "SHOW_STEP": 100,
    "SAVE_STEP": 5,
    "VALID_STEP": 1,
    "INPUT_SIZE": "(32, 32)",
    "COLOR_SPACE": "RGB",
    "DATASET": {"DATASET": "IMBALANCECIFAR10", "IMBALANCECIFAR": {"RATIO": 0.01}},
    "BACKBONE": {"TYPE": "res32_cifar"},
    "MODULE": {"TYPE": "GAP"},
    "CLASSIFIER": {"TYPE": "FC", "BIAS": True},
    "LOSS": {"LOSS_TYPE": "CrossEntropy"},
    "TRAIN": {
        "BATCH_SIZE": 128,
        "MAX_EPOCH": 200,
        "NUM_WORKERS": 16,
        "COMBINER": {"TYPE": "default"},
        "OPTIMIZER": {"TYPE": "SGD", "BASE_LR": 0.1, "MOMENTUM": 0.9, "WEIGHT_DECAY": "2e-4"},
        "LR_SCHEDULER": {"TYPE": "warmup", "LR_STEP": [160, 180], "LR_FACTOR": 0.01, "WARM_EPOCH": 5},
        "TENSORBOARD": {"ENABLE": True},
        "SAMPLER": {"TYPE": "default"},
        "DISTRIBUTED": False,
        "SYNCBN": True,
    },
    "TRANSFORMS": {"TRAIN_TRANSFORMS": "('random_crop', 'random_horizontal_flip')", "TEST_TRANSFORMS": "()"},
    "TEST": {"BATCH_SIZE": 64, "NUM_WORKERS": 8, "MODEL_FILE": "best_model.pth"},
}

IMAGENET: dict[str, Any] = {
    "NAME": "baseline_fcc",
    "VALID_STEP": 1,
    "INPUT_SIZE": "(224, 224)",
    "FCC": {"WORK": True, "C_TYPE": "edc", "START_EPOCH": 50, "GAMMA": 0.1},
    "DATASET": {"DATASET": "iNaturalist", "TRAIN_JSON": "ImageNet_LT_train.json", "VALID_JSON": "ImageNet_LT_val.json"},
    "BACKBONE": {"TYPE": "res10"},
    "CLASSIFIER": {"TYPE": "FC", "BIAS": True},
    "LOSS": {"LOSS_TYPE": "CrossEntropy"},
    "TRAIN": {
        "BATCH_SIZE": 64,
        "MAX_EPOCH": 200,
        "COMBINER": {"TYPE": "fcc"},
        "OPTIMIZER": {"TYPE": "SGD", "BASE_LR": 0.2, "MOMENTUM": 0.9, "WEIGHT_DECAY": "1e-4"},
        "LR_SCHEDULER": {"TYPE": "multistep", "LR_STEP": [160, 180], "LR_FACTOR": 0.1},
        "SAMPLER": {"TYPE": "default"},
        "DISTRIBUTED": False,
        "SYNCBN": False,
    },
    "TRANSFORMS": {
        "TRAIN_TRANSFORMS": '("random_resized_crop", "random_horizontal_flip", "color_jitter")',
        "TEST_TRANSFORMS": '("shorter_resize_for_crop", "center_crop")',
    },
    "TEST": {"BATCH_SIZE": 64, "NUM_WORKERS": 4},
}


def official(base: dict[str, Any], **changes: Any) -> str:
    """``base`` with dotted ``changes`` (``TRAIN__MAX_EPOCH=400`` sets TRAIN.MAX_EPOCH), as official YAML text."""
    d = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = d
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return yaml.safe_dump(d, sort_keys=False)


def fcc_block(gamma: float, start: int = 50) -> dict[str, Any]:
    return {"WORK": True, "C_TYPE": "edc", "START_EPOCH": start, "GAMMA": gamma}


def resolved(cfg: Any) -> dict[str, Any]:
    flat = flatten_config(config_to_dict(cfg))
    flat.pop("name")
    return flat


def differences(text: str, shipped: str, **kw: Any) -> dict[str, tuple[Any, Any]]:
    ours = resolved(import_official_text(text, **kw).config)
    ref = resolved(load_config(ROOT / "configs" / shipped))
    return {k: (ours[k], ref[k]) for k in ref if ours[k] != ref[k]}


CIFAR100 = {"DATASET__DATASET": "IMBALANCECIFAR100"}

# Table 1 cells: (official file text, shipped config, keyword arguments of the import)
CELLS = {
    "cifar10-100 CE+FCC": (
        official(CIFAR, NAME="baseline_fcc", FCC=fcc_block(0.5), TRAIN__COMBINER={"TYPE": "fcc"}),
        "cifar10_lt100/ce_fcc.yaml",
        {},
    ),
    "cifar100-100 BSCE+DRW+FCC": (
        official(
            CIFAR,
            **CIFAR100,
            FCC=fcc_block(1.0),
            LOSS={"LOSS_TYPE": "BalancedSoftmaxCE"},
            TRAIN__TWO_STAGE={"DRW": True, "START_EPOCH": 160},
            TRAIN__COMBINER={"TYPE": "fcc"},
        ),
        "cifar100_lt100/bsce_drw_fcc.yaml",
        {},
    ),
    "cifar10-100 CB sampling+DRS": (
        official(
            CIFAR,
            TRAIN__TWO_STAGE={"DRS": True, "START_EPOCH": 160},
            TRAIN__SAMPLER={"TYPE": "weighted sampler", "WEIGHTED_SAMPLER": {"TYPE": "balance"}},
        ),
        "cifar10_lt100/cb_drs.yaml",
        {},
    ),
    "cifar100-100 Remix+FCC": (
        official(
            CIFAR,
            **CIFAR100,
            FCC=fcc_block(1.0),
            TRAIN__MAX_EPOCH=400,
            TRAIN__COMBINER={"TYPE": "remix_fcc", "ALPHA": 1.0, "REMIX": {"KAPPA": 3.0, "TAU": 0.5}},
            TRAIN__LR_SCHEDULER={"TYPE": "warmup", "LR_STEP": [320, 360], "LR_FACTOR": 0.01, "WARM_EPOCH": 5},
        ),
        "cifar100_lt100/remix_fcc.yaml",
        {},
    ),
    "imagenet-lt CE+FCC": (official(IMAGENET), "imagenet_lt/ce_fcc.yaml", {}),
    "cifar100-100 CE+FCC official quirks": (
        official(CIFAR, **CIFAR100, FCC=fcc_block(1.0), TRAIN__COMBINER={"TYPE": "fcc"}),
        "cifar100_lt100/ce_fcc_official.yaml",
        {"quirks": True},
    ),
}

CRT = official(
    CIFAR,
    NETWORK={"PRETRAINED": True, "PRETRAINED_MODEL": "./output/cifar10_im100/baseline/models/epoch_200.pth"},
    CLASSIFIER={"TYPE": "cRT", "BIAS": True},
    TRAIN__MAX_EPOCH=30,
    TRAIN__OPTIMIZER={"TYPE": "SGD", "BASE_LR": 0.1, "MOMENTUM": 0.9, "WEIGHT_DECAY": "5e-4"},
    TRAIN__LR_SCHEDULER={"TYPE": "warmup", "LR_STEP": [10, 20], "LR_FACTOR": 0.1, "WARM_EPOCH": 5},
    TRAIN__SAMPLER={"TYPE": "weighted sampler", "WEIGHTED_SAMPLER": {"TYPE": "balance"}},
)
# The official CIFAR cRT config warms up for 5 epochs (TYPE warmup), as the shipped crt.yaml does.


@pytest.mark.parametrize("cell", list(CELLS))
def test_table1_cell_imports_to_the_shipped_config(cell: str) -> None:
    text, shipped, kw = CELLS[cell]
    assert differences(text, shipped, **kw) == {}


def test_crt_stage2_imports_to_the_shipped_config() -> None:
    assert differences(CRT, "cifar10_lt100/crt.yaml", depends_on="ce") == {}
    imp = import_official_text(CRT, depends_on="ce")
    assert imp.keys["stage.reset_head"] and imp.keys["stage.freeze_backbone"] and imp.config.method.sampler == "cb"
    assert any("stage.init_from" in n for n in imp.notes)


def test_a_changed_official_value_changes_the_import() -> None:
    text, shipped, _ = CELLS["cifar10-100 CE+FCC"]
    assert differences(text.replace("GAMMA: 0.5", "GAMMA: 0.7"), shipped) == {"fcc.gamma": (0.7, 0.5)}
    assert differences(text.replace("RATIO: 0.01", "RATIO: 0.02"), shipped) == {"data.imbalance_factor": (50.0, 100.0)}
    # FCC acts only in the fcc / remix_fcc combiners, as in the official code
    assert differences(text.replace("TYPE: fcc", "TYPE: default"), shipped)["fcc.enabled"] == (False, True)


def test_quirks_switch_the_official_behaviours() -> None:
    text, _, _ = CELLS["cifar100-100 Remix+FCC"]
    plain, quirky = import_official_text(text).config, import_official_text(text, quirks=True).config
    # the official rounding and Remix weighting either way (as the shipped configs); the label-id order only with quirks
    assert (plain.fcc.order, plain.fcc.round_decimals, plain.method.remix_weighting) == ("frequency", 2, "batch_mean")
    assert (quirky.fcc.order, quirky.fcc.round_decimals, quirky.method.remix_weighting) == ("label", 2, "batch_mean")
    assert quirky.fcc.mix_tau == "first"


def test_official_defaults_apply_where_the_file_is_silent() -> None:
    text = "DATASET: {DATASET: IMBALANCECIFAR100}\nTRANSFORMS: {TRAIN_TRANSFORMS: \"('random_crop',)\", TEST_TRANSFORMS: '()'}"
    cfg = import_official_text(text).config
    # config/default.py: MAX_EPOCH 60, BATCH_SIZE 32, BASE_LR 0.001, WEIGHT_DECAY 1e-4, multistep [40, 50] x0.1, res50
    assert (cfg.optim.epochs, cfg.optim.batch_size, cfg.optim.lr, cfg.optim.weight_decay) == (60, 32, 0.001, 1e-4)
    assert (cfg.optim.milestones, cfg.optim.lr_decay, cfg.optim.warmup_epochs, cfg.model.arch) == ([40, 50], 0.1, 0, "resnet50")
    assert (cfg.data.flip, cfg.train.eval_every) == (False, 5)
    # the default transforms (RandomResizedCrop) are not a CIFAR recipe here
    with pytest.raises(ConfigError, match=r"TRANSFORMS\.TRAIN_TRANSFORMS"):
        import_official_text("DATASET: {DATASET: IMBALANCECIFAR100}")


@pytest.mark.parametrize(
    "text, words",
    [
        ("TRAIN: {MAX_EPOCHS: 3}", ["unknown official config key 'TRAIN.MAX_EPOCHS'", "TRAIN.MAX_EPOCH"]),
        ("TRAIN: {MAX_EPOCH: abc}", ["TRAIN.MAX_EPOCH", "an int"]),
        ("FCC: {WORK: 'yes please'}", ["FCC.WORK", "a bool"]),
        ("TRAIN: {LR_SCHEDULER: {LR_STEP: 160}}", ["TRAIN.LR_SCHEDULER.LR_STEP", "a list"]),
        ("TRAIN: 3", ["TRAIN is a section"]),
        ("LOSS: {LOSS_TYPE: SEQL}", ["LOSS.LOSS_TYPE", "SEQL", "no counterpart"]),
        ("TRAIN: {SAMPLER: {TYPE: bbn sampler}}", ["TRAIN.SAMPLER.TYPE", "no counterpart"]),
        ("- 1\n- 2", ["mapping"]),
        ("TRAIN: {MAX_EPOCH: [1", ["not valid YAML"]),
    ],
)
def test_bad_official_configs_are_one_line(text: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as exc:
        import_official_text(text)
    msg = str(exc.value)
    assert "\n" not in msg and all(w in msg for w in words), msg


def test_cli_import_writes_a_loadable_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "official.yaml", tmp_path / "ours.yaml"
    src.write_text(CELLS["imagenet-lt CE+FCC"][0])
    assert main(["import-config", str(src), "-o", str(out)]) == 0
    assert resolved(load_config(out)) == resolved(load_config(ROOT / "configs/imagenet_lt/ce_fcc.yaml"))
    assert main(["import-config", str(src), "-o", str(out)]) == 2  # exists, no --force
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"\xff\xfe\x00bad", b"- just\n- a list\n"])
def test_cli_import_bad_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    src = tmp_path / "official.yaml"
    src.write_bytes(content)
    assert main(["import-config", str(src)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "official.yaml" in err


def test_every_row_maps_or_says_why_not() -> None:
    assert len({r.key for r in ROWS}) == len(ROWS)
    defaults = Ctx({r.key: r.default for r in ROWS}, quirks=False)
    for r in ROWS:
        assert r.how, r.key
        if not r.target and r.convert is not None:  # a "no effect here" row only refuses: at its default it sets nothing
            assert r.convert(r.default, defaults) == {}, r.key


def test_docs_page_holds_the_generated_table() -> None:
    page = (ROOT / "docs/official-configs.md").read_text()
    assert markdown_table() in page, "regenerate: python -m fcc_train.experiments.official_config --markdown"


def test_config_show_resolves_like_train(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "configs/cifar10_lt100/ce_fcc.yaml"
    assert main(["config", "show", "--config", str(path), "--set", "optim.epochs=3", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == config_to_dict(load_config(path, ["optim.epochs=3"])) and shown["optim"]["epochs"] == 3
    assert main(["config", "show", "--config", str(path)]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == config_to_dict(load_config(path))
    assert main(["config", "show", "--set", "optim.epoch=3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "optim.epochs" in err


def test_import_official_reads_a_file(tmp_path: Path) -> None:
    src = tmp_path / "o.yaml"
    src.write_text(CELLS["cifar10-100 CE+FCC"][0])
    assert import_official(src).config == import_official_text(CELLS["cifar10-100 CE+FCC"][0]).config
    with pytest.raises(ConfigError, match="does not exist"):
        import_official(tmp_path / "missing.yaml")
