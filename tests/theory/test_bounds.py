"""Bounded resources: each hostile input exits 2 with one line (or decides correctly), in bounded time and memory.

Each case runs ``python -m fcc`` in a child process with a wall-clock timeout and an address-space limit
(``resource.setrlimit``), so a hang or a memory blow-up fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from fcc_theory import limits
from fcc_theory.intervals import LogitEvaluator
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network

ROOT = Path(__file__).resolve().parents[2]
MEMORY_BYTES = 3 * 2**30


def _limit_memory() -> None:  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def _fcc(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "fcc", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
        preexec_fn=_limit_memory if sys.platform.startswith("linux") else None,
    )  # fmt: skip


LINEAR = {"activation": "linear", "layers": [{"weight": [["1"], ["1"], ["0"]], "bias": ["0", "1", "1"]}]}
SIGMOID = {"activation": "sigmoid", "layers": [{"weight": [["1", "0"], ["2", "0"]]}, {"weight": [["1", "0"], ["0", "1"]]}]}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    paths = {
        "linear": LINEAR,
        "deep25": {"activation": "linear", "layers": [{"weight": [["1" + "0" * 200 + "/3"]]} for _ in range(25)]},
    }
    out = {}
    for name, data in paths.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        out[name] = str(tmp_path / f"{name}.json")
    (tmp_path / "nested.json").write_text('{"layers":' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "bigint.json").write_text('{"layers":[{"weight":[[' + "7" * 5000 + "]]}]}")
    (tmp_path / "afile").write_text("x")
    out.update(nested=str(tmp_path / "nested.json"), bigint=str(tmp_path / "bigint.json"), afile=str(tmp_path / "afile"))
    out["dir"] = str(tmp_path)
    return out


BAD = {
    "x exponent": (["check", "{linear}", "--x=1e1000000000", "--tau", "2"], "MAX_EXPONENT"),
    "tau exponent": (["check", "{linear}", "--x", "1", "--tau", "1e-999999999"], "MAX_EXPONENT"),
    "p/q with exponent": (["check", "{linear}", "--x", "1/2e3", "--tau", "2"], "exponent on p/q"),
    "5000-digit input": (["check", "{linear}", "--x", "9" * 5000, "--tau", "2"], "MAX_DIGITS"),
    "5000-digit JSON int": (["check", "{bigint}", "--x", "1", "--tau", "2"], "MAX_DIGITS"),
    "deeply nested JSON": (["check", "{nested}", "--x", "1", "--tau", "2"], "MAX_JSON_DEPTH"),
    "growing exact values": (["check", "{deep25}", "--x", "1", "--tau", "1"], "MAX_EXACT_DIGITS"),
    "a directory as network": (["check", "{dir}", "--x", "1", "--tau", "2"], "is a directory"),
    "witness-dir is a file": (["verify", "--claims", "target", "--witness-dir", "{afile}"], "is a file, not a folder"),
    "out is a folder": (["search", "--claim", "target", "--max-examples", "5", "--out", "{dir}"], "is a folder"),
    "hypothesis widths": (["search", "--claim", "target", "--widths", "3,3000,2"], "MAX_HYPOTHESIS_PARAMETERS"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line(case: str, files: dict[str, str]) -> None:
    args, needle = BAD[case]
    r = _fcc(*(a.format(**files) for a in args))
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert needle in r.stderr


def test_out_into_a_missing_folder_creates_it(files: dict[str, str]) -> None:
    target = Path(files["dir"]) / "new" / "sub" / "ce.json"
    r = _fcc("search", "--claim", "target", "--max-examples", "50", "--out", str(target))
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert Network.from_dict(json.loads(target.read_text())).n_classes == 2


def test_sigmoid_at_minus_a_billion_decides_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "sig.json").write_text(json.dumps(SIGMOID))
    r = _fcc("check", str(tmp_path / "sig.json"), "--x=-1e9,0", "--tau", "2", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    # σ(−2·10⁹) > σ(−4·10⁹): class 0 at both points, decided from tiny enclosures (no 2^(−1.4·10⁹) Fraction built)
    assert out["argmax_scaled"] == [0] and out["argmax_original"] == [0] and out["agree"] is True
    assert all(len(v) < 5000 for iv in out["logits_scaled"] for v in iv)


@pytest.mark.slow
def test_numpy_wide_network_bounded_memory() -> None:
    r = _fcc("search", "--claim", "target", "--engine", "numpy", "--widths", "3,3000,2", "--max-examples", "100000", timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr and "COUNTEREXAMPLE" in r.stdout


def test_numpy_batch_rows_bounded() -> None:
    assert limits.numpy_batch_rows(15_005, 100_000) * 15_005 <= limits.MAX_NUMPY_CELLS
    with pytest.raises(limits.LimitError, match="MAX_NUMPY_CELLS"):
        limits.numpy_batch_rows(limits.MAX_NUMPY_CELLS + 1, 10)


# ------------------------------------------------------------------------------ adaptive precision
def _tanh_pair(a: Fraction, b: Fraction) -> Network:
    """y0 = tanh(a·x), y1 = tanh(b·x)."""
    return Network.from_matrices([[[a], [b]], [[1, 0], [0, 1]]], activation="tanh")


def test_refinement_decides_what_80_bits_cannot() -> None:
    a, b = Fraction(1), Fraction(1) + Fraction(1, 10**30)  # tanh(1) < tanh(1 + 10^-30) by about 4·10^-31
    net = _tanh_pair(a, b)
    ev = LogitEvaluator(net, (Fraction(1),))
    lo, hi = ev.difference_enclosure(0, 1, 80)
    assert lo < 0 < hi  # the old fixed 80-bit enclosure leaves the sign open
    sign, bits = ev.difference_sign(0, 1)
    assert sign == -1 and bits > 80
    rep = check_configuration(net, [1], 2)
    assert rep.argmax_original == frozenset({1}) and rep.certified


def test_exact_ties_are_certified_without_rounding() -> None:
    # units 0 and 2 compute tanh(x1): identical arguments give one atom, so logit 0 − logit 1 cancels exactly
    net = Network.from_matrices([[[1, 0], [0, 1], [1, 0]], [[1, 0, 1], [2, 0, 0], [0, 1, 0]]], activation="tanh")
    rep = check_configuration(net, [Fraction(1, 3), 0], 2)
    p = rep.pair(0, 1)
    assert (p.sign_eta, p.sign_eta_prime, p.bits, p.eta) == (0, 0, 0, 0)
    assert rep.argmax_scaled == rep.argmax_original == frozenset({0, 1}) and rep.agree is True
    # σ(−u) = 1 − σ(u): opposite arguments cancel too; and σ(0) = 1/2, tanh(0) = 0 exactly
    sig = Network.from_matrices([[[1], [-1]], [[1, 1], [0, 0]]], [[0, 0], [0, 1]], activation="sigmoid")  # σ(u) + σ(−u) vs 1
    assert check_configuration(sig, [Fraction(7, 5)], 3).pair(0, 1).sign_eta == 0
    zero = Network.from_matrices([[[1]], [[1], [0]]], activation="tanh")
    assert check_configuration(zero, [0], 2).argmax_scaled == frozenset({0, 1})


def test_a_near_tie_is_not_called_a_tie() -> None:
    # a difference below 2^-4096 stays undecided (reported as unknown), never rounded to a tie
    net = _tanh_pair(Fraction(1), Fraction(1) + Fraction(1, 10**1300))
    rep = check_configuration(net, [1], 2)
    assert rep.pair(0, 1).sign_eta is None and rep.agree is None and not rep.certified


# ------------------------------------------------------------------------------ honest numpy reporting
def test_numpy_rechecks_every_flagged_candidate() -> None:
    from fcc_theory.search.falsifier import search_numpy
    from fcc_theory.search.properties import get_property

    res = search_numpy(get_property("relu_no_bias"), max_examples=20_000, seed=1)
    assert res.counterexample is None and res.extra["candidates_flagged"] > 200  # many float near-ties
    assert res.extra["exact_checked"] == res.extra["candidates_flagged"] and res.extra["exact_unchecked"] == 0


def test_numpy_unchecked_candidates_are_reported_not_passed_off() -> None:
    r = _fcc("search", "--claim", "relu_no_bias", "--engine", "numpy", "--max-examples", "20000", "--exact-seconds", "0")
    assert r.returncode == 0 and "none found" not in r.stdout.replace("NOT 'none found'", "")
    assert "NOT 're-checked" not in r.stdout and "NOT re-checked" in r.stdout
    r = _fcc(
        "search", "--claim", "relu_no_bias", "--engine", "numpy", "--max-examples", "20000", "--exact-seconds", "0", "--json"
    )
    out = json.loads(r.stdout)
    assert out["exact_unchecked"] == out["candidates_flagged"] > 0 and out["exact_checked"] == 0
