"""fcc_theory.symbolic: Eqs. 5-9 and the key identity hold on the symbolic network; wrong variants are caught."""

from __future__ import annotations

import pytest
import sympy as sp

from fcc_theory.claims import decide_identity
from fcc_theory.symbolic import IDENTITY_IDS, PaperNetwork, PaperStatements, check_identity, identity, reduction_identities


@pytest.fixture(scope="module")
def net() -> PaperNetwork:
    return PaperNetwork()


@pytest.mark.parametrize("which", IDENTITY_IDS)
def test_paper_identities_hold(which: str, net: PaperNetwork) -> None:
    res = check_identity(identity(which, net))
    assert res.holds and all(r == 0 for r in res.residues) and res.point is None


def test_derived_quantities_read_off_the_network(net: PaperNetwork) -> None:
    assert len(net.symbols) == 24
    assert [sp.expand(k - (net.n[0, j] - net.n[1, j])) for j, k in enumerate(net.k())] == [0, 0, 0]
    B = sum(net.n[0, j] * net.b[j] - net.n[1, j] * net.b[j] for j in range(3)) + net.z[0] - net.z[1]
    assert sp.expand(net.B() - B) == 0
    assert check_identity(reduction_identities(net)).holds


@pytest.mark.parametrize("which", ["eq7", "eq9"])
def test_eqs_7_and_9_need_b_nonzero(which: str, net: PaperNetwork) -> None:
    res = check_identity(identity(which, net))
    assert len(res.denominators) == 1
    den = res.denominators[0]
    assert sp.expand(den - net.B()) == 0 or sp.expand(den + net.B()) == 0
    # at B = 0 the right-hand side is undefined: d_j = -k_j / B divides by zero
    at_b0 = {net.z[0]: net.z[1] - (net.B() - net.z[0] + net.z[1])}
    assert sp.expand(net.B().subs(at_b0)) == 0
    assert PaperStatements().d(net, 0).subs(at_b0).has(sp.zoo, sp.nan)


MUTANTS = {
    "eq6": PaperStatements(k=lambda n, j: n.n[0, j] + n.n[1, j]),  # k_j = n_1j + n_2j
    "eq5": PaperStatements(
        y=lambda n, i: sum(n.n[i, j] * n.tau * sum(n.w[j, m] * n.x[m] for m in range(3)) for j in range(3)) + n.z[i]
    ),
    "eq8": PaperStatements(B=lambda n: sum(n.n[0, j] * n.b[j] - n.n[1, j] * n.b[j] for j in range(3))),  # z_1 - z_2 forgotten
    "eq7": PaperStatements(X=lambda n, j: sum(n.w[m, j] * n.x[m] for m in range(3))),  # transposed weights
    "eq9": PaperStatements(k=lambda n, j: n.n[1, j] - n.n[0, j]),  # k_j with the wrong sign
}


@pytest.mark.parametrize("which", sorted(MUTANTS))
def test_mutated_formula_is_caught_with_a_replayed_witness(which: str, net: PaperNetwork) -> None:
    ident = identity(which, net, MUTANTS[which])
    res = check_identity(ident)
    assert not res.holds and res.point is not None
    d = decide_identity(ident)
    assert d.verdict == "refuted" and d.witness is not None
    # the witness network is the symbolic network at the point, and the formula differs there
    subs = {s: sp.Rational(str(d.witness.point[str(s)])) for s in net.symbols}
    assert [sp.Rational(str(v)) for v in d.witness.report.logits_scaled] == list(net.y().subs(subs))
    assert any(sp.simplify((a - b).subs(subs)) != 0 for a, b in zip(ident.lhs, ident.rhs, strict=True))


def test_mutated_key_identity_is_caught(net: PaperNetwork) -> None:
    from fcc_theory.symbolic import Identity

    wrong = Identity(
        "key", "η − τη′ = (τ − 1)B", (net.eta() - net.tau * net.eta_prime(),), ((net.tau - 1) * net.B(),), "none", net
    )
    assert not check_identity(wrong).holds
