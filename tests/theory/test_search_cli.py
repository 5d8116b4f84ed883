"""``fcc search`` end to end: the issue's done-when command, replay through ``fcc check``, the numpy engine, bad input."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from fcc.cli import main
from fcc_theory.search.falsifier import search_numpy
from fcc_theory.search.properties import PROPERTIES
from fcc_theory.search.simplify import simplify


def _search(capsys, *args: str) -> dict:
    assert main(["search", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _replay(capsys, path, ce: dict) -> dict:
    assert main(["check", str(path), "--x", ",".join(ce["x"]), "--tau", ce["tau"], "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_done_when_target_strict_seed0(tmp_path, capsys) -> None:
    out = tmp_path / "ce.json"
    res = _search(capsys, "--claim", "target", "--strict", "--seed", "0", "--out", str(out))
    assert res["found"] and res["examples"] >= 1 and res["examples_per_second"] > 0
    ce = res["counterexample"]
    assert ce["nonzero_parameters"] <= 6
    chk = _replay(capsys, out, ce)
    assert chk["agree"] is False and chk["class_scaled"] == 0 and chk["class_original"] == 1  # strict: η > 0 > η′
    assert chk == ce["check"]
    assert Fraction(chk["tau"]) > 1


@pytest.mark.parametrize("claim", ["target", "relu_hidden_bias", "tanh_no_bias"])
def test_numpy_engine_hits_are_exact(tmp_path, capsys, claim: str) -> None:
    out = tmp_path / "ce.json"
    res = _search(capsys, "--claim", claim, "--strict", "--engine", "numpy", "--max-examples", "300000", "--out", str(out))
    assert res["found"] and res["exact_checked"] >= 1
    chk = _replay(capsys, out, res["counterexample"])
    assert chk["agree"] is False and chk["class_scaled"] is not None and chk["class_original"] is not None


def test_numpy_floats_never_decide() -> None:
    # target_b_nonneg is a theorem: floats flag near-ties, the exact re-check rejects every one of them
    res = search_numpy(PROPERTIES["target_b_nonneg"], max_examples=300_000, seed=0)
    assert res.counterexample is None and res.extra["exact_checked"] >= 1
    # flip_toward_larger_bias on FCC's per-class τ head: candidates exist, none is a real counterexample
    res = search_numpy(PROPERTIES["flip_toward_larger_bias"], max_examples=200_000, seed=0)
    assert res.counterexample is None


def test_simplify_keeps_a_counterexample() -> None:
    res = search_numpy(PROPERTIES["converse_b_pos"], max_examples=200_000, seed=1, do_simplify=False)
    ce = res.counterexample
    small = simplify(PROPERTIES["converse_b_pos"], ce, False)
    assert not PROPERTIES["converse_b_pos"].check(small, False).holds
    assert small.net.parameter_count(nonzero_only=True) <= ce.net.parameter_count(nonzero_only=True)


def test_none_found_is_exit_0(capsys) -> None:
    res = _search(capsys, "--claim", "b_zero", "--max-examples", "50")
    assert res["found"] is False and res["counterexample"] is None and res["examples_total"] == 50


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--claim", "nope"], "unknown claim id"),
        (["--claim", "target", "--tau-range", "0,2"], "needs tau > 1"),
        (["--claim", "target", "--activation", "tanh"], "--activation linear"),
        (["--claim", "eq6", "--widths", "3,3,3,2"], "3 widths"),
        (["--claim", "target", "--widths", "3,x"], "--widths"),
        (["--claim", "eq5", "--engine", "numpy"], "--engine hypothesis"),
        (["--claim", "tau_negative", "--tau-range", "1,2"], "tau < 0"),
    ],
)
def test_bad_input_exit_2(capsys, args, needle) -> None:
    assert main(["search", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
