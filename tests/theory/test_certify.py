"""``fcc verify --certify``: the SMT-LIB2 files re-decide with z3 and cvc5, mutated lemmas flip the answer, coqc checks
the Coq proofs and rejects broken ones."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

from fcc.cli import main
from fcc_theory import activations, lemmas, symbolic
from fcc_theory.certify import coq
from fcc_theory.certify.certificates import _status
from fcc_theory.certify.queries import claim_queries, lemma_specs
from fcc_theory.certify.smtlib import Query, identity_query, lemma_query, to_smt2
from fcc_theory.certify.solvers import cvc5_decide_file, z3_decide_file
from fcc_theory.claims import CLAIM_IDS
from fcc_theory.decide import AND, Lemma

needs_coqc = pytest.mark.skipif(shutil.which("coqc") is None, reason="coqc (Debian package coq) is not installed")


def _both(q: Query, tmp: Path) -> tuple[str, str]:
    path = tmp / q.filename
    path.write_text(to_smt2(q))
    return z3_decide_file(path).answer, cvc5_decide_file(path).answer


@pytest.fixture(scope="module")
def queries() -> list[Query]:
    return [q for c in CLAIM_IDS for q in claim_queries(c)]


def test_every_file_re_decides_with_both_solvers(queries: list[Query], tmp_path: Path) -> None:
    assert len(queries) >= 35
    assert {q.claim for q in queries} >= {"eq6", "key_identity", "failure_set", "characterization", "relu_no_bias"}
    for q in queries:
        assert q.expected in ("sat", "unsat"), q.filename
        assert _both(q, tmp_path) == (q.expected, q.expected), q.filename
    # the refuted claims' files are satisfiable and ask for the model
    sat = [q for q in queries if q.expected == "sat"]
    assert {q.claim for q in sat} == {"target", "converse_b_pos"}
    assert all("(get-model)" in to_smt2(q) for q in sat)


def test_file_is_plain_smtlib(tmp_path: Path) -> None:
    q = claim_queries("failure_set")[1]
    text = to_smt2(q)
    assert "(set-logic QF_NRA)" in text and "(check-sat)" in text and "(declare-fun s () Real)" in text
    # the z3 executable (shipped with z3-solver) reads the same file as stated
    exe = shutil.which("z3")
    if exe is not None:
        path = tmp_path / q.filename
        path.write_text(text)
        assert subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60).stdout.split()[0] == "unsat"


def _drop_hypothesis(lem: Lemma, keep: object) -> Lemma:
    return dataclasses.replace(lem, premise=keep)


@pytest.mark.parametrize(
    "claim, mutate",
    [
        # B ≥ 0 dropped: the paper's target again, refuted
        ("target_b_nonneg", lambda lem: _drop_hypothesis(lem, lambda v: AND(v["tau"] > 1, v["eta"] > 0))),
        # τ > 1 replaced by τ > 0 in the failure set's first inclusion
        ("failure_set", lambda lem: _drop_hypothesis(lem, lambda v: AND(v["tau"] > 0, v["eta"] > 0, v["eta_p"] <= 0))),
        # the τ = 0 rule without τ = 0 (η = B no longer holds)
        ("tau_zero", lambda lem: _drop_hypothesis(lem, lambda v: v["tau"] == v["tau"])),
    ],
)
def test_mutated_lemma_gives_sat(claim: str, mutate, tmp_path: Path) -> None:
    name, lem = lemma_specs(claim)[0]
    assert _both(lemma_query(claim, name, lem, "negation", "unsat"), tmp_path) == ("unsat", "unsat")
    bad = lemma_query(claim, "mutated", mutate(lem), "negation", "sat")
    assert _both(bad, tmp_path) == ("sat", "sat")


def test_relu_no_bias_lemma_encodes_slope_and_no_output_bias(tmp_path: Path) -> None:
    ls = activations.relu_no_bias_lemmas()
    assert "alpha" in ls["leaky_homogeneous"].variables
    assert {"z_0", "z_1"} <= set(ls["output_no_bias"].variables)
    # with an output bias allowed (z = 0 dropped) the argmax can change: both solvers find a model
    free_bias = dataclasses.replace(ls["output_no_bias"], premise=lambda v: v["tau"] > 0)
    assert _both(lemma_query("relu_no_bias", "with_bias", free_bias, "negation", "sat"), tmp_path) == ("sat", "sat")
    # for τ < 0 homogeneity fails (every slope but 1)
    neg = dataclasses.replace(ls["leaky_homogeneous"], premise=lambda v: AND(v["tau"] < 0, v["alpha"] >= 0))
    assert _both(lemma_query("relu_no_bias", "tau_neg", neg, "negation", "sat"), tmp_path) == ("sat", "sat")


def test_mutated_identity_gives_sat(tmp_path: Path) -> None:
    net = symbolic.PaperNetwork()
    good = identity_query(
        "key_identity", "ok", [net.eta()], [net.tau * net.eta_prime() + (1 - net.tau) * net.B()], net.symbols, "unsat"
    )
    flipped = identity_query(
        "key_identity", "flip", [net.eta()], [net.tau * net.eta_prime() + (1 + net.tau) * net.B()], net.symbols, "sat"
    )
    assert _both(good, tmp_path) == ("unsat", "unsat")
    assert _both(flipped, tmp_path) == ("sat", "sat")
    # bias rescaling with b·τ for b/τ
    tau, a, b = sp.symbols("tau a b", real=True)
    wrong = identity_query(
        "multiclass_bias_rescaling", "w", [tau * a + b], [tau * (a + b * tau)], [tau, a, b], "sat", [sp.Gt(tau, 0)]
    )
    assert _both(wrong, tmp_path) == ("sat", "sat")


def test_disagreement_or_timeout_is_unknown() -> None:
    f = {"file": "smt/x.smt2", "expected": "unsat", "z3": "unsat", "cvc5": "unsat"}
    assert _status("proved", [f])[0] == "certified"
    assert _status("proved", [dict(f, cvc5="unknown")])[0] == "unknown"
    assert _status("proved", [dict(f, z3="sat")])[0] == "unknown"
    assert _status("refuted", [f])[0] == "unknown"  # a refuted claim needs a satisfiable file


def test_solver_error_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "bad.smt2"
    path.write_text("(set-logic QF_NRA)\n(declare-fun x () Real)\n(assert (> x y))\n(check-sat)\n")
    assert z3_decide_file(path).answer == "unknown" and cvc5_decide_file(path).answer == "unknown"


@pytest.fixture(scope="module")
def certified(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out_dir = tmp_path_factory.mktemp("certs")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["verify", "--claims", "key_identity,target,failure_set,relu_no_bias,tanh_no_bias", "--certify", str(out_dir)])
    return rc, buf.getvalue(), out_dir


def test_cli_writes_manifest_and_lines(certified: tuple[int, str, Path]) -> None:
    rc, out, d = certified
    man = json.loads((d / "manifest.json").read_text())
    assert {c["claim"]: c["certificate"] for c in man["claims"]} == {
        "key_identity": "certified",
        "target": "certified",
        "failure_set": "certified",
        "relu_no_bias": "certified",
        "tanh_no_bias": "witness",
    }
    for f in man["files"]:
        assert (d / f["file"]).is_file() and f["z3"] == f["cvc5"] == f["expected"]
    assert "certificate failure_set" in out and "certified" in out
    assert sorted(p.name for p in (d / "coq").glob("*.v")) == sorted([*coq.COQ_FILES, "Refutations.v"])
    assert rc == 0 or shutil.which("coqc") is None


def test_certify_dir_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["verify", "--claims", "eq5", "--certify", str(f)])
    assert rc == 2 and "not a directory" in err.getvalue()


@needs_coqc
def test_coqc_checks_every_file(certified: tuple[int, str, Path]) -> None:
    _, _out, d = certified
    man = json.loads((d / "manifest.json").read_text())
    assert man["coq"]["coqc"] == dict.fromkeys([*coq.COQ_FILES, "Refutations.v"], "checked")
    assert "target_refuted" in (d / "coq" / "Refutations.v").read_text()


@needs_coqc
def test_coqc_rejects_broken_statements(tmp_path: Path) -> None:
    src = Path(coq.__file__).parent / "coq"
    ident = (src / "Identity.v").read_text()
    assert "Theorem key_identity : eta - tau * eta' = (1 - tau) * B." in ident
    broken = tmp_path / "Identity.v"
    broken.write_text(ident.replace("eta - tau * eta' = (1 - tau) * B.", "eta - tau * eta' = (1 + tau) * B."))
    homog = (src / "HomogeneousNetwork.v").read_text()
    assert "forall alpha t u, 0 < t -> leaky" in homog
    no_tau = tmp_path / "HomogeneousNetwork.v"
    no_tau.write_text(homog.replace("forall alpha t u, 0 < t -> leaky", "forall alpha t u, t <> 0 -> leaky"))
    result = coq.check_with_coqc([broken, no_tau])
    assert result is not None
    assert result["Identity.v"].startswith("rejected") and result["HomogeneousNetwork.v"].startswith("rejected")


def test_refutation_theorem_uses_the_witness() -> None:
    from fractions import Fraction as F

    text = coq.refutation_theorem("converse_b_pos", {"s": F(-1), "B": F(2), "tau": F(3)})
    assert "(H (3) (-1) (2))" in text and "B > 0 -> t > 1" in text
    assert lemmas.pair_lemmas()["converse_b_pos"]  # the registry still has the lemma this statement mirrors
