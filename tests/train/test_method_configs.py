"""Every method config loads, says what the catalogue says, and (per distinct method) trains two short epochs on digits-LT;
enumerated config values (``config.CHOICES``) refuse anything else in one line."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import Literal

import pytest
import torch
import yaml

from fcc_train.config import CHOICES, Config, ConfigError, config_from_dict, config_to_dict, flatten_config, load_config
from fcc_train.experiments.catalog import ALL_SPLITS, METHODS, SPLITS, config_overrides, config_path, fcc_gamma, method_entry
from fcc_train.train.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
OWN = [(s, m.key, f) for s in ALL_SPLITS for m in METHODS if m.writes_config for f in (False, True)]


def _get(d, dotted):
    for k in dotted.split("."):
        d = d[k]
    return d


@pytest.mark.parametrize("split,key,fcc", OWN, ids=[f"{s}/{k}{'_fcc' if f else ''}" for s, k, f in OWN])
def test_config_loads_and_matches_catalogue(split, key, fcc):
    path = config_path(CONFIGS, split, key, fcc)
    cfg = config_to_dict(load_config(path))
    for k, v in config_overrides(method_entry(key), split, fcc).items():
        assert _get(cfg, k) == pytest.approx(v) if isinstance(v, float) else _get(cfg, k) == v, (path, k)
    assert cfg["name"] == f"{split}_{key}{'_fcc' if fcc else ''}"
    # the recipe is the split's baseline: the method config differs from ce.yaml only in the catalogue's keys (and fcc.*)
    base = flatten_config(config_to_dict(load_config(CONFIGS / split / "ce.yaml")))
    mine = flatten_config(cfg)
    changed = {k for k in mine if mine[k] != base.get(k) and not k.startswith("fcc.") and k != "name"}
    assert changed <= set(config_overrides(method_entry(key), split, fcc)), (path, changed)


def test_raw_and_fcc_configs_pair():
    for split in ALL_SPLITS:
        for m in METHODS:
            if not m.writes_config:
                continue
            raw = flatten_config(config_to_dict(load_config(config_path(CONFIGS, split, m.key, False))))
            fcc = flatten_config(config_to_dict(load_config(config_path(CONFIGS, split, m.key, True))))
            diff = {k for k in raw if raw[k] != fcc[k]} - {"name", "stage.depends_on"}
            if m.fcc_on_student:
                assert raw["fcc.enabled"] is False and fcc["fcc.enabled"] is True
                assert {k for k in diff if not k.startswith("fcc.")} == set(), (split, m.key, diff)
                if split in SPLITS:
                    assert fcc["fcc.gamma"] == fcc_gamma(m.key, split)
            else:  # DiVe: only the teacher differs
                assert diff == set() and fcc["stage.depends_on"].endswith("_fcc")


def test_official_fcc_gammas_and_paper_stars():
    assert fcc_gamma("ce", "cifar10_lt100") == 0.5 and fcc_gamma("ce", "cifar100_lt50") == 1.0
    assert fcc_gamma("sr_drs", "cifar100_lt100") == 0.5  # the official config's exception
    stars = {("BSCE", "cifar100_lt50"), ("CDT", "cifar100_lt100"), ("PB sampling", "cifar10_lt100")}
    rows = {(r["method"], r["benchmark"]): r for r in csv.DictReader((REPO / "fcc_train/resources/paper-tables.csv").open())}
    for name, split in stars:
        assert rows[(name, split)]["fcc_gamma_note"] == "gamma=0.1"
        key = next(m.key for m in METHODS if m.table_row == name)
        assert fcc_gamma(key, split) == 0.1


def test_catalogue_covers_every_table1_row():
    rows = {r["method"] for r in csv.DictReader((REPO / "fcc_train/resources/paper-tables.csv").open()) if r["table"] == "1"}
    covered = {m.table_row for m in METHODS if m.table_row}
    assert rows - covered == set()


def test_hyperparameters_of_the_recipes():
    c = load_config(CONFIGS / "cifar100_lt50/cb_focal.yaml")
    assert (c.method.cb_beta, c.method.focal_gamma) == (0.99, 1.0)
    c = load_config(CONFIGS / "cifar10_lt50/cb_focal.yaml")
    assert (c.method.cb_beta, c.method.focal_gamma) == (0.9999, 2.0)
    c = load_config(CONFIGS / "cifar10_lt100/remix.yaml")
    assert (c.optim.epochs, c.optim.milestones, c.method.remix_kappa, c.method.remix_tau) == (400, [320, 360], 3.0, 0.5)
    c = load_config(CONFIGS / "cifar100_lt100/crt.yaml")
    assert (c.optim.epochs, c.optim.lr, c.optim.weight_decay, c.optim.milestones, c.optim.lr_decay, c.optim.batch_size) == (
        30,
        0.1,
        5e-4,
        [10, 20],
        0.1,
        128,
    )
    assert c.stage.freeze_backbone and c.stage.reset_head and c.method.sampler == "cb"
    c = load_config(CONFIGS / "cifar10_lt100/ldam_drw.yaml")
    assert (c.model.head, c.method.ldam_max_m, c.method.ldam_s, c.method.drw_start_epoch, c.method.drw_beta) == (
        "cosine",
        0.5,
        30.0,
        159,  # BoT's LDAM reweights from epoch 160 (epoch >= START); the rule here is epoch > drw_start_epoch
        0.9999,
    )
    c = load_config(CONFIGS / "cifar10_lt100/dive.yaml")
    assert (c.method.distill_temperature, c.method.distill_alpha, c.method.distill_power, c.optim.milestones) == (
        2.0,
        0.5,
        0.5,
        [120, 160],
    )


# --------------------------------------------------------------------------- enumerated values (config.CHOICES)


def test_every_shipped_config_loads():
    """All of configs/ (catalogue configs and hand-written ones such as digits/ce_fcc_half.yaml) pass validation."""
    paths = sorted(CONFIGS.rglob("*.yaml"))
    assert len(paths) > 300
    for path in paths:
        load_config(path)


def test_choice_keys_exist_and_their_defaults_are_allowed():
    defaults = flatten_config(config_to_dict(Config()))
    for key, allowed in CHOICES.items():
        assert key in defaults, key
        assert defaults[key] is None or defaults[key] in allowed, (key, defaults[key])
        assert len(set(allowed)) == len(allowed), key


@pytest.mark.parametrize("key", sorted(CHOICES))
@pytest.mark.parametrize("source", ["set", "yaml"])
def test_a_value_outside_choices_is_refused(key, source, tmp_path):
    if source == "set":
        make = lambda: load_config(None, [f"{key}=no_such_value"])
    else:
        section, name = key.split(".")
        path = tmp_path / "bad.yaml"
        path.write_text(f"{section}:\n  {name}: no_such_value\n")
        make = lambda: load_config(path)
    with pytest.raises(ConfigError) as exc:
        make()
    msg = str(exc.value)
    assert len(msg.splitlines()) == 1
    assert f"config key '{key}' is 'no_such_value'" in msg, msg
    assert msg.endswith("use one of " + ", ".join(CHOICES[key])), msg


@pytest.mark.parametrize("key,value", [(k, v) for k in sorted(CHOICES) for v in CHOICES[k]])
def test_every_listed_value_is_accepted(key, value):
    cfg = flatten_config(config_to_dict(load_config(None, [f"{key}={value}"])))
    if key != "train.channels_last":  # --set parses yes/on/1 as YAML, so channels_last holds "True" etc.
        assert cfg[key] == value
    section, name = key.split(".")
    assert flatten_config(config_to_dict(config_from_dict({section: {name: value}})))[key] == value


def test_channels_last_takes_yaml_booleans_and_any_case_but_auto_exactly(tmp_path):
    for text, stored in (("true", "True"), ("off", "False"), ("yes", "True"), ("1", "1"), ("auto", "auto")):
        path = tmp_path / "c.yaml"
        path.write_text(f"train:\n  channels_last: {text}\n")
        assert load_config(path).train.channels_last == stored
    for text in ("TRUE", "Off", "yEs", "No"):  # as strings (the consumers lower-case them)
        assert config_from_dict({"train": {"channels_last": text}}).train.channels_last == text
    # every consumer tests == "auto", so "AUTO" would silently mean off: refused
    for bad in ("AUTO", "Auto", "maybe", "2"):
        with pytest.raises(ConfigError, match=r"train\.channels_last"):
            load_config(None, [f"train.channels_last={bad}"])


def test_nullable_keys_still_take_null():
    import dataclasses
    import typing

    nullable = []
    for section in dataclasses.fields(Config):
        cls = typing.get_type_hints(Config)[section.name]
        if not dataclasses.is_dataclass(cls):
            continue
        hints = typing.get_type_hints(cls)
        nullable.extend(
            f"{section.name}.{f.name}" for f in dataclasses.fields(cls) if type(None) in typing.get_args(hints[f.name])
        )
    assert "method.teacher" in nullable and "stage.max_norm" in nullable
    for key in nullable:
        cfg = flatten_config(config_to_dict(load_config(None, [f"{key}=null"])))
        assert cfg[key] is None, key


def test_choices_agree_with_the_code_that_reads_them():
    from fcc_theory.tau import STRATEGIES
    from fcc_train.data.longtail import class_profile
    from fcc_train.fcc import ORDERS
    from fcc_train.methods.mixup import MIXUPS
    from fcc_train.models.heads import build_head
    from fcc_train.train.engine import lr_at

    assert CHOICES["fcc.strategy"] == STRATEGIES
    assert CHOICES["fcc.order"] == ORDERS
    assert CHOICES["method.mixup"] == MIXUPS
    for kind in CHOICES["data.imbalance_type"]:
        assert len(class_profile(kind, 100, 4, 10.0)) == 4
    for schedule in CHOICES["optim.schedule"]:
        assert lr_at(load_config(None, [f"optim.schedule={schedule}"]).optim, 10) > 0
    for head in CHOICES["model.head"]:
        assert build_head(load_config(None, [f"model.head={head}"]).model, 8, 3).weight.shape == (3, 8)


# --------------------------------------------------------------------------- one short run per distinct method


def _models_landed() -> bool:
    try:
        from fcc_train.models import build_model  # noqa: F401
    except ImportError:
        return False
    return True


FAST = ["train.progress=none", "train.device=cpu", "train.threads=1", "optim.epochs=2", "train.eval_every=2"]


def _short(key: str, fcc: bool, extra=()) -> list[str]:
    """Two epochs on digits-LT; every deferred switch (FCC, DRS, DRW) flips at epoch 1 so both phases run."""
    data = yaml.safe_load(config_path(CONFIGS, "digits", key, fcc).read_text())
    over = list(FAST)
    m = data.get("method") or {}
    if "drs_start_epoch" in m:
        over.append("method.drs_start_epoch=1")
    if "drw_start_epoch" in m:
        over.append("method.drw_start_epoch=1")
    if (data.get("fcc") or {}).get("enabled"):
        over.append("fcc.start_epoch=1")
    return over + list(extra)


@pytest.fixture(scope="module")
def stage1_runs(tmp_path_factory):
    from fcc_train.train.loop import run_training

    root = tmp_path_factory.mktemp("stage1")
    done: dict[str, Path] = {}

    def get(stem: str) -> Path:
        if stem not in done:
            key, fcc = (stem[:-4], True) if stem.endswith("_fcc") else (stem, False)
            cfg = load_config(config_path(CONFIGS, "digits", key, fcc), _short(key, fcc))
            assert run_training(cfg, root / stem) == 0
            done[stem] = root / stem
        return done[stem]

    return get


KEYS = [m.key for m in METHODS]


@pytest.mark.skipif(not _models_landed(), reason="fcc_train.models has not landed yet")
@pytest.mark.parametrize("key", KEYS)
def test_each_method_trains_two_short_epochs(key, tmp_path, stage1_runs):
    from fcc_train.train.loop import run_training

    entry = method_entry(key)
    fcc = entry.fcc_on_student  # the +FCC config exercises the most code (DiVe's FCC lives in its teacher)
    extra = []
    if entry.depends_on:
        dep = stage1_runs(entry.depends_on + ("_fcc" if fcc or not entry.fcc_on_student else ""))
        extra.append(f"{'method.teacher' if key == 'dive' else 'stage.init_from'}={dep}")
    cfg = load_config(config_path(CONFIGS, "digits", key, fcc), _short(key, fcc, extra))
    out = tmp_path / key
    assert run_training(cfg, out) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["done"] and summary["best_epoch"] == summary["last_epoch"] == 2
    (record,) = _records(out)  # train.eval_every=2: one evaluation, at epoch 2
    assert record["epoch"] == 2 and math.isfinite(record["train_loss"])
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    assert state["epoch"] == 2 and state["config"] == config_to_dict(cfg)

    # the method acted: its run differs from the CE baseline (same data, seed and FCC setting) where its mechanism acts
    base_dir = stage1_runs("ce_fcc" if fcc else "ce")
    (base,) = _records(base_dir)
    mine, theirs = (record["train_loss"], _recalls(out)), (base["train_loss"], _recalls(base_dir))
    if key == "ce":  # the baseline itself: the same run, to the bit
        assert mine == theirs
    elif cfg.stage.head_transform != "none":  # τ-norm trains as CE and changes only the evaluated head
        assert mine[0] == theirs[0] and mine[1] != theirs[1]
    else:
        assert mine != theirs, "the method trained exactly as plain CE"
    if cfg.stage.freeze_backbone:  # cRT, LWS, LTR-WB stage 2: the backbone is the stage-1 run's, untouched
        first = load_checkpoint(dep / "checkpoints" / "best.pt")["model"]
        backbone = [k for k in first if not k.startswith("head.") and "running" not in k and "num_batches" not in k]
        assert backbone and all(torch.equal(state["model"][k], first[k]) for k in backbone)
        heads = [k for k in state["model"] if k.startswith("head.") and k in first]
        assert any(not torch.equal(state["model"][k], first[k]) for k in heads) or cfg.stage.lws


def _records(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def _recalls(run: Path) -> list[str]:
    with open(run / "per_class_recall.csv", newline="") as f:
        return [row["recall_last"] for row in csv.DictReader(f)]


@pytest.mark.skipif(not _models_landed(), reason="fcc_train.models has not landed yet")
@pytest.mark.parametrize(
    "config", ["cifar100_lt100/remix_fcc.yaml", "cifar10_lt100/ldam_drw_fcc.yaml", "cifar100_lt50/cb_focal.yaml"]
)
def test_cifar_configs_run_one_epoch_on_tiny_synthetic(config, tmp_path):
    """The CIFAR recipe itself (ResNet-32, its optimiser keys) on a tiny synthetic long-tailed set shaped by the split."""
    from fcc_train.train.loop import run_training

    C = 100 if config.startswith("cifar100") else 10
    over = FAST + [
        "optim.epochs=1",
        "train.eval_every=1",
        "data.dataset=synthetic",
        f"data.num_classes={C}",
        "data.image_size=8",
        f"data.synthetic_train_size={4 * C}",
        f"data.synthetic_test_size={2 * C}",
        "optim.batch_size=32",
        "fcc.start_epoch=0",
    ]
    cfg = load_config(CONFIGS / config, over)
    assert cfg.model.arch == "resnet32"
    out = tmp_path / "run"
    assert run_training(cfg, out) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["done"] and summary["last_epoch"] == 1 and len(summary["class_counts"]) == C
    (record,) = _records(out)
    assert record["epoch"] == 1 and math.isfinite(record["train_loss"]) and 0 <= record["top1_error"] <= 100
    # the run trained the shipped config with exactly these overrides (config.yaml, summary and checkpoint agree)
    shipped = flatten_config(config_to_dict(load_config(CONFIGS / config)))
    stored = flatten_config(yaml.safe_load((out / "config.yaml").read_text()))
    assert stored == flatten_config(config_to_dict(cfg)) and set(stored) == set(shipped)
    assert {k for k in stored if stored[k] != shipped[k]} <= {o.split("=")[0] for o in over}
    assert (stored["optim.epochs"], stored["data.num_classes"], stored["data.dataset"]) == (1, C, "synthetic")
    state = torch.load(out / "checkpoints" / "last.pt")  # plain torch.load: weights_only=True
    assert state["epoch"] == 1 and state["config"] == summary["config"] == config_to_dict(cfg)
    assert state["model"]["head.weight"].shape[0] == C


def test_shipped_catalogue_configs_equal_the_rendered_ones():
    """configs/ holds exactly what ``python -m fcc_train.experiments.catalog`` renders (a hand edit or a stale file fails)."""
    from fcc_train.experiments.catalog import render_config, stale_configs

    assert stale_configs(CONFIGS) == []
    path = config_path(CONFIGS, "cifar10_lt100", "remix", False)
    assert render_config(CONFIGS, "cifar10_lt100", "remix", False) == path.read_text()
    assert render_config(CONFIGS, "cifar10_lt100", "remix", True) != path.read_text()  # the comparison can fail


def test_paper_cell_configs_default_to_the_official_behaviour():
    """The official code's behaviour in every shipped config that reproduces a paper cell; the corrections are switches."""
    for split in SPLITS:
        for m in METHODS:
            if not m.writes_config and m.key != "ce":
                continue
            for fcc in (False, True):
                cfg = load_config(config_path(CONFIGS, split, m.key, fcc))
                assert cfg.model.head_init == "pytorch"
                if cfg.fcc.enabled:
                    assert cfg.fcc.round_decimals == 2, (split, m.key)
        assert load_config(CONFIGS / split / "remix.yaml").method.remix_weighting == "batch_mean"
        assert load_config(CONFIGS / split / "celas_drw_fcc.yaml").method.celas_drw == "ignored"
        assert load_config(CONFIGS / split / "tau_norm.yaml").stage.tau_norm_checkpoint == "ce_best"
        assert load_config(CONFIGS / split / "ldam_drw.yaml").method.drw_start_epoch == 159  # BoT's LDAM: epoch >= 160
        for stem in ("crt", "lws"):
            o = load_config(CONFIGS / split / f"{stem}.yaml").optim
            assert (o.warmup_epochs, o.warmup_start_factor) == (5, 1 / 3)
    for big in ("imagenet_lt", "inat18"):
        assert load_config(CONFIGS / big / "crt.yaml").optim.warmup_epochs == 0  # the official large-scale cRT: no warmup
        assert load_config(CONFIGS / big / "ce_fcc.yaml").fcc.round_decimals == 2
        assert load_config(CONFIGS / big / "tau_norm.yaml").stage.tau_norm_checkpoint == "ce_best"


def test_new_switch_choices_agree_with_the_code():
    from fcc_train.models.heads import HEAD_INITS

    assert CHOICES["model.head_init"] == HEAD_INITS
    assert set(CHOICES["method.celas_drw"]) == {"reweight", "ignored"}
    assert set(CHOICES["stage.tau_norm_checkpoint"]) == {"ce_best", "own_best"}
    with pytest.raises(ConfigError, match=r"model\.head_init"):
        load_config(None, ["model.head_init=xavier"])


def test_choices_are_read_from_the_literal_types():
    """Any Literal-typed key is checked against its own values, nullable or not; plain strings are free."""
    assert config_from_dict({"kind": "b", "maybe": None, "free": "zzz"}, _Tiny) == _Tiny("b", None, "zzz")

    for key, value, allowed in (("kind", "c", "a, b"), ("maybe", "z", "x, y")):
        with pytest.raises(ConfigError) as exc:
            config_from_dict({key: value}, _Tiny)
        assert str(exc.value) == f"config key '{key}' is '{value}'; use one of {allowed}"
    assert "method.manifold_layer" not in CHOICES and "data.dataset" not in CHOICES


@dataclasses.dataclass
class _Tiny:
    kind: Literal["a", "b"] = "a"
    maybe: Literal["x", "y"] | None = None
    free: str = "anything"
