"""``fcc data``: counts, totals and shot splits as text and JSON; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from fcc.cli import main
from fcc_train.data.longtail import exp_profile

REPO = Path(__file__).resolve().parents[2]


def test_digits_json(capsys):
    assert main(["data", "--set", "data.imbalance_factor=10", "--set", "data.test_per_class=20", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["num_classes"] == 10 and d["test_counts"] == [20] * 10
    n_max = d["class_counts"][0]
    assert d["class_counts"] == exp_profile(n_max, 10, 10) and d["train_total"] == sum(d["class_counts"])
    shots = d["shots"]
    assert shots["many"]["classes"] == sum(n > 100 for n in d["class_counts"])
    assert shots["few"]["classes"] == sum(n < 20 for n in d["class_counts"])
    assert sum(s["images"] for s in shots.values()) == d["train_total"]


def test_cifar10_text_with_config_and_data_root(cifar10_fake, tmp_path, capsys):
    cfg = tmp_path / "c10.yaml"
    cfg.write_text("name: c10\ndata:\n  dataset: cifar10\n  imbalance_factor: 10\n")
    assert main(["data", "--config", str(cfg), "--data-root", str(cifar10_fake.root)]) == 0
    out = capsys.readouterr().out
    counts = exp_profile(cifar10_fake.per_class, 10, 10)
    assert f"train images: {sum(counts):,}" in out and "test images: 100" in out
    rows = [line.split() for line in out.splitlines() if line.strip() and line.split()[0].isdigit()]
    assert [int(r[1]) for r in rows] == counts


def test_missing_data_root_is_one_line(tmp_path, capsys):
    assert main(["data", "--set", "data.dataset=cifar100", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fcc data: error:") and "\n" not in err and "cifar-100-python" in err
    assert main(["data", "--set", "data.datset=cifar10"]) == 2
    assert "did you mean 'data.dataset'" in capsys.readouterr().err


def test_no_config_is_digits_lt_with_imbalance_10_as_its_configs(capsys):
    import yaml

    from fcc_train.config import load_config

    shipped = yaml.safe_load((REPO / "configs/digits/ce.yaml").read_text())["data"]["imbalance_factor"]
    assert shipped == 10
    assert main(["data", "--json"]) == 0
    bare = json.loads(capsys.readouterr().out)
    assert main(["data", "--config", str(REPO / "configs/digits/ce.yaml"), "--json"]) == 0
    from_config = json.loads(capsys.readouterr().out)
    assert bare["class_counts"] == from_config["class_counts"] == exp_profile(bare["class_counts"][0], 10, shipped)
    assert load_config(None, []).data.imbalance_factor == 100  # the key's own default (CIFAR-LT's) is unchanged
    # an explicit --set still wins
    assert main(["data", "--set", "data.imbalance_factor=50", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["class_counts"] == exp_profile(bare["class_counts"][0], 10, 50)
