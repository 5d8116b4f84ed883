"""RunRequest: one run as the sweep plans it, as a jobs file holds it and as fcc train --jobs reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fcc_theory.errors import UserError
from fcc_train.config import load_config
from fcc_train.experiments.plan import SweepOptions, plan_jobs
from fcc_train.experiments.run_request import RunRequest, read_jobs_file, write_jobs_file
from fcc_train.experiments.sweep import group_command

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_overrides_apply_in_order_and_the_entrys_own_win(tmp_path: Path):
    req = RunRequest(CONFIGS / "digits" / "ce.yaml", tmp_path / "a", ("optim.epochs=3",))
    assert req.config.optim.epochs == 3
    later = req.after(["optim.epochs=7", "train.seed=5"])  # the command line's come first
    assert later.overrides == ("optim.epochs=7", "train.seed=5", "optim.epochs=3")
    assert (later.config.optim.epochs, later.config.train.seed) == (3, 5)
    assert req.config.train.seed == load_config(CONFIGS / "digits" / "ce.yaml").train.seed  # the original is untouched


def test_a_resolved_config_has_no_jobs_entry():
    req = RunRequest.of_config(load_config(None, ["name=mem"]), "runs/mem")
    assert req.name == "mem"
    with pytest.raises(ValueError, match="no config file"):
        req.to_jobs_entry()


def test_yaml_jobs_files_read_like_json_ones(tmp_path: Path):
    (tmp_path / "jobs.yaml").write_text(
        "- config: a.yaml\n  out: runs/a\n  set: [train.seed=1, 3]\n- {config: b.yaml, out: runs/b}\n"
    )
    reqs = read_jobs_file(tmp_path / "jobs.yaml")
    assert reqs == [RunRequest(Path("a.yaml"), Path("runs/a"), ("train.seed=1", "3")), RunRequest(Path("b.yaml"), Path("runs/b"))]
    write_jobs_file(reqs, tmp_path / "sub" / "jobs.json")
    assert read_jobs_file(tmp_path / "sub" / "jobs.json") == reqs


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[]", "non-empty list"),
        ("{config: a}", "non-empty list"),
        ("- [a, b]", "entry 0: needs 'config' and 'out'"),
        ("- {config: a.yaml, out: o}\n- {config: a.yaml}", "entry 1: needs 'config' and 'out'"),
        ("- {config: a.yaml, out: o, seed: 1}", "entry 0: unknown key 'seed'"),
        ("- {config: a.yaml, out: o, set: x=1}", "'set' must be a list"),
        ("- {config: [", "is not valid YAML/JSON"),
    ],
)
def test_a_bad_jobs_file_is_one_line(tmp_path: Path, text: str, needle: str):
    (tmp_path / "jobs.yaml").write_text(text)
    with pytest.raises(UserError) as exc:
        read_jobs_file(tmp_path / "jobs.yaml")
    assert needle in str(exc.value) and len(str(exc.value).splitlines()) == 1
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe")
    with pytest.raises(UserError, match="not valid YAML/JSON"):
        read_jobs_file(tmp_path / "bin.yaml")
    with pytest.raises(UserError, match="does not exist"):
        read_jobs_file(tmp_path / "missing.yaml")


def test_the_sweeps_jobs_file_is_its_plan(tmp_path: Path):
    """The runs a sweep's group process trains are the planned requests, chain links and --set items included."""
    opts = SweepOptions(
        benchmark="digits",
        methods="crt,dive",
        variants="raw,fcc",
        configs=str(CONFIGS),
        out=str(tmp_path),
        overrides=("optim.epochs=1",),
        data_root="data",
        stack=True,
        per_process=4,
    )
    jobs = plan_jobs(opts)
    by_name = {j.name: j for j in jobs}
    crt = by_name["crt_fcc/seed42"]
    assert crt.depends is by_name["ce_fcc/seed42"] and crt.request.depends_on is crt.depends.request
    assert crt.sets() == ["train.seed=42", f"stage.init_from={crt.depends.out}", "optim.epochs=1"]
    assert by_name["dive/seed42"].sets()[1].startswith("method.teacher=")
    cmd = group_command(jobs, opts, tmp_path / "g.json")
    assert cmd[cmd.index("--jobs") + 1 :] == [str(tmp_path / "g.json"), "--stack", "--data-root", "data"]
    assert read_jobs_file(tmp_path / "g.json") == [RunRequest(j.config, j.out, tuple(j.sets())) for j in jobs]
    # every run's command is fcc train on its config into its folder with exactly its --set items
    single = crt.command(opts)
    assert single[single.index("--config") + 1] == str(crt.config) and single[single.index("--set") + 1 :] == crt.sets()


def test_options_from_parsed_arguments_take_the_set_groups_in_order():
    from types import SimpleNamespace

    opts = SweepOptions.of(SimpleNamespace(benchmark="digits", overrides=[["a=1", "b=2"], ["c=3"]], parallel=2))
    assert opts.overrides == ("a=1", "b=2", "c=3") and opts.parallel == 2 and opts.seeds == "42"
    assert SweepOptions.of(opts) is opts
