"""The full-network cross-check: it decides, a mutated statement is refuted with a replayed network, timeouts are unknown."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from fractions import Fraction

import pytest

from fcc.cli import main
from fcc_theory.claims import CLAIMS, run_claim
from fcc_theory.crosscheck import Poly, Query, decide_full, network_env
from fcc_theory.decide import AND, Lemma
from fcc_theory.lemmas import PAIR, pair_lemmas
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = main(argv)
    return rc, out.getvalue()


def test_network_env_is_the_layered_network() -> None:
    # the polynomial margins evaluated at a point equal a concrete network's exact margins there
    env = network_env()
    point = {
        n: Fraction((7 * i) % 5 - 2, 1 + i % 3)
        for i, n in enumerate(sorted({m for p in env.values() for t in p.terms for m in t}))
    }

    def ev(p: Poly) -> Fraction:
        total = Fraction(0)
        for mono, c in p.terms.items():
            for name in mono:
                c *= point[name]
            total += c
        return total

    g = point.__getitem__
    net = Network.from_matrices(
        [[[g(f"w_{i}{m}") for m in range(3)] for i in range(3)], [[g(f"n_{o}{j}") for j in range(3)] for o in range(2)]],
        [[g(f"b_{i}") for i in range(3)], [g("z_0"), g("z_1")]],
    )
    rep = check_configuration(net, [g(f"x_{m}") for m in range(3)], g("tau"))
    assert ev(env["eta"]) == rep.logits_scaled[0] - rep.logits_scaled[1]
    assert ev(env["eta_p"]) == rep.logits_original[0] - rep.logits_original[1]
    assert ev(env["B"]) == rep.pair(0, 1).B and ev(env["s"]) == rep.pair(0, 1).s


def test_relaxation_proves_and_records_atoms() -> None:
    d = decide_full(pair_lemmas()["failure_set"][0], 30_000)
    assert d.verdict == "proved" and "linear relaxation" in d.detail
    import z3

    q = Query(z3.Context(), linear=True)
    env = network_env(q)
    _ = env["eta"] * env["eta_p"] < 0
    assert len(q.atoms) == 3  # the product and both factors


def test_mutated_statement_is_refuted_on_the_full_network() -> None:
    # the failure set with a strict upper end (s < −B): wrong at the tie s = −B
    wrong = Lemma(
        PAIR,
        lambda v: AND(v["tau"] > 1, v["eta"] > 0, v["eta_p"] <= 0),
        lambda v: AND(v["B"] < 0, v["tau"] * v["s"] > -v["B"], v["s"] < -v["B"]),
    )
    d = decide_full(wrong, 30_000)
    assert d.verdict == "refuted"
    w = d.witness
    rep = check_configuration(Network.from_dict(w.network.to_dict()), w.x, w.tau)
    eta = rep.logits_scaled[0] - rep.logits_scaled[1]
    eta_p = rep.logits_original[0] - rep.logits_original[1]
    assert w.tau > 1 and eta > 0 and eta_p == 0  # the tie the mutation excludes


def test_mutated_claim_disagrees_and_becomes_unknown() -> None:
    wrong = Lemma(PAIR, lambda v: AND(v["tau"] > 1, v["B"] <= 0, v["eta"] > 0), lambda v: v["eta_p"] > 0)
    claim = dataclasses.replace(CLAIMS["target_b_nonneg"], cross=(wrong,))
    r = run_claim(claim, cross_check=True, cross_timeout_ms=30_000)
    assert r.cross_check.verdict == "refuted" and r.decision.verdict == "unknown" and "disagree" in r.decision.detail


def test_tiny_timeout_is_unknown_and_exit_1() -> None:
    rc, out = _run(["verify", "--claims", "b_zero", "--cross-check", "--timeout", "0.001"])
    assert rc == 1
    assert "cross-check (full network): unknown" in out and "cross-check: 0 decided, 1 unknown" in out


@pytest.mark.slow
@pytest.mark.parametrize("claim", [c for c in CLAIMS if CLAIMS[c].cross])
def test_every_pair_claim_is_decided_and_agrees(claim: str) -> None:
    r = run_claim(CLAIMS[claim], cross_check=True, cross_timeout_ms=60_000)
    assert r.cross_check.verdict == r.decision.verdict and r.decision.verdict in ("proved", "refuted")
