"""The public testing API: the docs page's example runs, and the assertion helpers catch what they claim to."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given

from fcc_theory.margins import check_configuration
from fcc_theory.network import Network
from fcc_theory.search.strategies import rationals
from fcc_theory.testing import (
    DecisionChanged,
    WitnessMismatch,
    assert_same_decision,
    in_failure_set,
    replay_witness,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def _doc_namespace() -> dict:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/testing.md has no python example"
    ns: dict = {"__name__": "docs_testing_example"}
    exec(compile("\n".join(blocks), str(DOC), "exec"), ns)
    return ns


def test_docs_example_runs() -> None:
    ns = _doc_namespace()
    tests = sorted(k for k in ns if k.startswith("test_"))
    assert len(tests) >= 3
    for name in tests:
        ns[name]()


def test_tied_sets_that_differ_are_a_change() -> None:
    # argmax {0, 1} at τx, {1, 2} at x: the old single-winner convention called this "agree" (both ties)
    net = Network.from_matrices([[[1], [0], [-1]]], [[-2, 0, 1]])  # logits (2t − 2, 0, 1 − t) at t = τ, 1
    with pytest.raises(DecisionChanged, match=r"argmax \{0, 1\} at tau\*x, \{1, 2\} at x"):
        assert_same_decision(net, [1], 2)
    assert assert_same_decision(net, [0], 5).argmax_scaled == frozenset({2})  # x = 0: τx = x


@given(rationals(), rationals(), rationals())
def test_failure_set_is_the_exact_set(s: Fraction, B: Fraction, t: Fraction) -> None:
    tau = 1 + abs(t)
    if tau == 1:
        return
    assert in_failure_set(s, B, tau) == (tau * s + B > 0 and not s + B > 0)
    assert not in_failure_set(s, B, Fraction(1, 2))  # the statement is about τ > 1 only


def test_replay_witness_catches_a_tampered_record(tmp_path: Path) -> None:
    net = Network.from_matrices([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 0]]], [[0, 0, 0], [0, 1]])
    w = {**net.to_dict(), "x": ["3/4", "0", "0"], "tau": "2", "check": check_configuration(net, ["3/4", 0, 0], 2).to_json()}
    assert replay_witness(w).agree is False
    (tmp_path / "w.json").write_text(json.dumps({"network": net.to_dict(), "x": w["x"], "tau": "2", "check": w["check"]}))
    assert replay_witness(tmp_path / "w.json").argmax_original == frozenset({1})
    with pytest.raises(WitnessMismatch, match="agree"):
        replay_witness({**w, "check": {**w["check"], "agree": True}})
