"""Every numeric config key has a range, and a value outside it is one line (never a silent fallback)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fcc_train.config import Config, ConfigError, config_to_dict, flatten_config, load_config
from fcc_train.config_ranges import RANGES, check_run_name


def test_every_numeric_key_has_a_range() -> None:
    flat = flatten_config(config_to_dict(Config()))
    numeric = {k for k, v in flat.items() if isinstance(v, (int, float, list)) and not isinstance(v, bool)}
    nullable_numeric = {"fcc.round_decimals", "method.drw_start_epoch", "method.drs_start_epoch", "stage.max_norm"}
    assert numeric | nullable_numeric == set(RANGES), "a numeric key without a range (or a range for no key)"


@pytest.mark.parametrize(
    "override, needle",
    [
        ("optim.batch_size=0", "optim.batch_size' is 0; it must be >= 1"),
        ("optim.batch_size=-4", "optim.batch_size' is -4"),
        ("fcc.round_decimals=-1", "fcc.round_decimals' is -1"),
        ("data.test_per_class=0", "data.test_per_class' is 0"),
        ("optim.momentum=5", "optim.momentum' is 5.0; it must be in [0, 1)"),
        ("optim.lr=-1", "optim.lr' is -1.0; it must be > 0"),
        ("optim.lr=1/0", "optim.lr' needs a float"),
        ("optim.lr=.nan", "optim.lr' is nan"),
        ("optim.epochs=1e400", "optim.epochs' needs a int"),
        ("optim.epochs=1e9", "optim.epochs' is 1000000000"),
        ("train.seed=-1", "train.seed' is -1"),
        ("train.eval_batch_size=0", "train.eval_batch_size' is 0"),
        ("optim.milestones=[160,0]", "optim.milestones' is 0"),
        ("name=../../x", "config key 'name' is '../../x'"),
        ("name=/tmp/abs", "config key 'name' is '/tmp/abs'"),
    ],
)
def test_out_of_range_values_are_refused(override: str, needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_values_at_the_edges_are_accepted() -> None:
    cfg = load_config(
        None, ["optim.momentum=0", "optim.batch_size=1", "fcc.round_decimals=0", "train.seed=0", "data.imbalance_factor=1"]
    )
    assert cfg.optim.momentum == 0 and cfg.optim.batch_size == 1


@pytest.mark.parametrize("name", ["digits_ce_fcc", "cifar10_lt100.ce+fcc", "a-b_c"])
def test_plain_names_pass(name: str) -> None:
    assert check_run_name(name) == name


def test_cli_reports_one_line_and_exit_2(tmp_path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "fcc",
            "train",
            "--config",
            "configs/digits/ce.yaml",
            "--out",
            str(tmp_path / "r"),
            "--set",
            "optim.batch_size=0",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "optim.batch_size" in r.stderr


def test_an_imbalance_factor_that_empties_classes_is_refused_with_the_data(tmp_path, capsys) -> None:
    """Its range is >= 1; whether every class keeps a training image depends on the data, so the data set checks it."""
    import math

    from fcc.cli import main

    argv = ["train", "--config", "configs/digits/ce.yaml", "--out", str(tmp_path / "r"), "--device", "cpu", "--set"]
    assert main([*argv, "data.imbalance_factor=1e9", "train.progress=none"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "without a training image" in err, err
    n_max = int(err.split("the largest class has ")[1].split(")")[0])
    # independently: class i keeps int(n_max * IF^(-i/9)) images; those with 0 are the empty ones
    empty = sum(int(n_max * (1e-9) ** (i / 9)) == 0 for i in range(10))
    assert f"leaves {empty} of 10 classes" in err and empty > 0 and math.isclose(n_max, 144, abs_tol=60)
