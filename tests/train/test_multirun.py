"""Several runs in one process (fcc_train/fleet/multirun.py): each equals its solo run bit for bit on the CPU.

The runs alternate epoch by epoch; the process-wide random state is swapped per run, which
matters for anything that draws from the global torch generator (the official code's mixup
permutation does): without the swap interleaved runs diverge (tested below).
"""

import json
from pathlib import Path

import pytest
import torch

import fcc_train.fleet.multirun as multirun
from fcc.cli import main
from fcc_theory.errors import UserError
from fcc_train.config import load_config
from fcc_train.experiments.run_request import RunRequest
from fcc_train.fleet.multirun import run_many
from fcc_train.train.checkpoint import load_checkpoint
from fcc_train.train.loop import run_training

REPO = Path(__file__).resolve().parents[2]
FAST = [
    "optim.batch_size=64",
    "train.progress=none",
    "train.device=cpu",
    "train.threads=1",
    "optim.epochs=2",
    "fcc.start_epoch=1",
    "train.checkpoint_every=1",
]
RUNS = [("configs/digits/input_mixup_fcc.yaml", 0), ("configs/digits/ce_fcc.yaml", 1), ("configs/digits/input_mixup.yaml", 2)]


def _cfg(path: str, seed: int, extra=()):
    return load_config(REPO / path, FAST + [f"train.seed={seed}", *extra])


def _records(out: Path) -> list[dict]:
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in recs]


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(out / "checkpoints" / "last.pt")["model"]


def _same(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return _records(a) == _records(b) and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    root = tmp_path_factory.mktemp("solo")
    outs = []
    for i, (path, seed) in enumerate(RUNS):
        out = root / f"r{i}"
        assert run_training(_cfg(path, seed), out, log=lambda s: None) == 0
        outs.append(out)
    return outs


def test_interleaved_runs_equal_their_solo_runs(solo, tmp_path, capsys):
    specs = [RunRequest.of_config(_cfg(path, seed), tmp_path / f"r{i}") for i, (path, seed) in enumerate(RUNS)]
    outcomes = run_many(specs)
    assert [o.exit_code for o in outcomes] == [0, 0, 0]
    assert [o.last_epoch for o in outcomes] == [2, 2, 2]
    for i in range(len(RUNS)):
        assert _same(solo[i], tmp_path / f"r{i}"), RUNS[i]
    out = capsys.readouterr().out
    assert "[r0] " in out and "[r2] " in out  # every line names its run


def test_the_rng_swap_keeps_global_generator_draws_per_run(tmp_path, monkeypatch):
    # no shipped method draws from the global torch generator during an epoch; make mixup do so (as the
    # official code does) and check the swap keeps each run's draws its own, and that without it they mix
    import fcc_train.methods.mixup as mixup

    monkeypatch.setattr(mixup, "_perm", lambda n, device, gen: torch.randperm(n, device=device))
    runs = [("configs/digits/input_mixup.yaml", 0), ("configs/digits/input_mixup.yaml", 1)]
    for i, (path, seed) in enumerate(runs):
        assert run_training(_cfg(path, seed), tmp_path / f"solo{i}", log=lambda s: None) == 0
    specs = [RunRequest.of_config(_cfg(path, seed), tmp_path / f"swap{i}") for i, (path, seed) in enumerate(runs)]
    assert [o.exit_code for o in run_many(specs)] == [0, 0]
    assert all(_same(tmp_path / f"solo{i}", tmp_path / f"swap{i}") for i in range(2))
    monkeypatch.setattr(multirun, "restore_rng", lambda state, generators=None: None)
    specs = [RunRequest.of_config(_cfg(path, seed), tmp_path / f"shared{i}") for i, (path, seed) in enumerate(runs)]
    assert [o.exit_code for o in run_many(specs)] == [0, 0]
    assert not all(_same(tmp_path / f"solo{i}", tmp_path / f"shared{i}") for i in range(2))


def test_a_failing_run_does_not_stop_the_others(tmp_path):
    bad = load_config(REPO / "configs/cifar10_lt100/ce.yaml", FAST + [f"data.root={tmp_path / 'missing'}"])
    good = _cfg("configs/digits/ce.yaml", 0, ["optim.epochs=1"])
    outcomes = run_many([RunRequest.of_config(bad, tmp_path / "bad"), RunRequest.of_config(good, tmp_path / "good")])
    assert outcomes[0].exit_code == 1 and "cifar-10-batches-py" in outcomes[0].error
    assert "\n" not in outcomes[0].error
    assert outcomes[1].exit_code == 0
    assert json.loads((tmp_path / "good" / "summary.json").read_text())["done"] is True


def test_nan_run_stops_alone(tmp_path):
    nan = _cfg("configs/digits/ce.yaml", 0, ["optim.lr=1e30", "optim.epochs=3"])
    good = _cfg("configs/digits/ce.yaml", 0, ["optim.epochs=1"])
    outcomes = run_many([RunRequest.of_config(nan, tmp_path / "nan"), RunRequest.of_config(good, tmp_path / "good")])
    assert outcomes[0].exit_code == 3 and outcomes[1].exit_code == 0


def test_finished_runs_are_skipped_and_folders_must_differ(solo, tmp_path):
    path, seed = RUNS[1]
    mtime = (solo[1] / "checkpoints" / "last.pt").stat().st_mtime_ns
    outcomes = run_many([RunRequest.of_config(_cfg(path, seed), solo[1])])
    assert outcomes[0].exit_code == 0 and outcomes[0].last_epoch == 0
    assert (solo[1] / "checkpoints" / "last.pt").stat().st_mtime_ns == mtime
    with pytest.raises(UserError, match="same folder"):
        run_many([RunRequest.of_config(_cfg(path, seed), tmp_path / "x"), RunRequest.of_config(_cfg(path, 2), tmp_path / "x")])


def test_cli_several_configs_and_jobs_file(tmp_path, capsys):
    a, b = str(REPO / "configs/digits/ce.yaml"), str(REPO / "configs/digits/ce_fcc.yaml")
    common = ["--device", "cpu", "--set", *FAST[:4], "optim.epochs=1"]
    assert main(["train", "--config", a, "--config", b, "--out", str(tmp_path / "two"), *common]) == 0
    out = capsys.readouterr().out
    assert "digits_ce -> " in out and "digits_ce_fcc -> " in out and out.count(": done") == 2
    for name in ("digits_ce", "digits_ce_fcc"):
        assert json.loads((tmp_path / "two" / name / "summary.json").read_text())["done"] is True
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        f"- {{config: {a}, out: {tmp_path / 'j0'}, set: [train.seed=3]}}\n- {{config: {a}, out: {tmp_path / 'j1'}}}\n"
    )
    assert main(["train", "--jobs", str(jobs), *common]) == 0
    s0 = json.loads((tmp_path / "j0" / "summary.json").read_text())
    s1 = json.loads((tmp_path / "j1" / "summary.json").read_text())
    assert s0["config"]["train"]["seed"] == 3 and s1["config"]["train"]["seed"] != 3


@pytest.mark.parametrize(
    "text, needle",
    [
        ("{config: a.yaml}", "non-empty list"),
        ("- {config: a.yaml}", "'config' and 'out'"),
        ("- {config: a.yaml, out: r, seed: 1}", "unknown key 'seed'"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_bad_jobs_file_is_one_line(tmp_path, capsys, text, needle):
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(text)
    assert main(["train", "--jobs", str(jobs)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


def test_no_config_is_one_line(capsys):
    assert main(["train"]) == 2
    assert "--config" in capsys.readouterr().err


@pytest.mark.gpu
def test_streams_on_cuda_match_solo_runs(tmp_path, monkeypatch):
    # fp32 and cuDNN deterministic algorithms so that overlapping runs can be compared with solo ones
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    # LR 0.001 and 4 steps an epoch: ResNet-32 on noise images amplifies any difference in summation order fast
    synth = [
        "data.dataset=synthetic",
        "data.synthetic_train_size=512",
        "data.synthetic_test_size=256",
        "data.num_classes=10",
        "train.progress=none",
        "train.device=cuda",
        "train.precision=fp32",
        "optim.epochs=2",
        "fcc.start_epoch=1",
        "optim.lr=0.001",
    ]
    cfgs = [load_config(REPO / "configs/cifar10_lt100/ce_fcc.yaml", synth + [f"train.seed={i}"]) for i in range(2)]
    for i, c in enumerate(cfgs):
        assert run_training(c, tmp_path / f"solo{i}", log=lambda s: None) == 0
    specs = [RunRequest.of_config(c, tmp_path / f"multi{i}") for i, c in enumerate(cfgs)]
    outcomes = run_many(specs)
    assert [o.exit_code for o in outcomes] == [0, 0]
    for i in range(2):
        wa, wb = _weights(tmp_path / f"solo{i}"), _weights(tmp_path / f"multi{i}")
        for k in wa:
            torch.testing.assert_close(wa[k].float(), wb[k].float(), rtol=1e-3, atol=1e-4)
