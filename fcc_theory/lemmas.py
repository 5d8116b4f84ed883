"""The small lemmas behind each claim (theory.md §1.2-§1.5), and the monolithic full-network cross-check.

Every lemma is over the reduced variables ``(s, B, τ)`` of a class pair (the reduction η = τs + B,
η′ = s + B is an identity proved by :mod:`fcc_theory.symbolic`), over a linear head's pair of classes, or
over the plane offsets along d. Written once, they run on Z3 terms and on exact Fractions.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import z3

from fcc_theory.decide import AND, IFF, IMPLIES, NOT, OR, Decision, Env, Lemma, sign_agree

__all__ = [
    "FIG3",
    "HEAD",
    "PAIR",
    "division_free_agree",
    "failure_region",
    "fig3_config",
    "head_lemmas",
    "monolithic",
    "offsets_lemma",
    "pair_lemmas",
]

PAIR = ("s", "B", "tau")
HEAD = ("a_i", "a_j", "b_i", "b_j", "tau")


def failure_region(v: Env) -> Any:
    """Where the target fails (theory.md §0.3): B < 0 and −B/τ < s ≤ −B, written without division (τ > 0).

    >>> from fractions import Fraction as F
    >>> failure_region({"s": F(1), "B": F(-2), "tau": F(3)}), failure_region({"s": F(1), "B": F(-2), "tau": F(3, 2)})
    (True, False)
    """
    return AND(v["B"] < 0, v["tau"] * v["s"] > -v["B"], v["s"] <= -v["B"])


def division_free_agree(v: Env) -> Any:
    """§1.2: s on the same side of both thresholds −B and −B/τ (valid for every τ > 0)."""
    s, B, t = v["s"], v["B"], v["tau"]
    return OR(AND(s < -B, t * s < -B), AND(s > -B, t * s > -B), AND(s == -B, t * s == -B))


def _u(v: Env) -> Any:
    """d·X = −s/B (Eq. 7's d_j = −k_j/B); at B = 0 (excluded by the premises) set to 0 for exact re-checks."""
    B = v["B"]
    if isinstance(B, (int, Fraction)) and B == 0:
        return Fraction(0)
    return -v["s"] / B


def _strictly_between(s: Any, a: Any, c: Any) -> Any:
    return OR(AND(a < s, s < c), AND(c < s, s < a))


def pair_lemmas() -> dict[str, list[Lemma]]:
    """The (s, B, τ) lemmas, keyed by claim id."""
    L = lambda prem, concl, prefer=None: Lemma(PAIR, prem, concl, "pair", prefer)
    return {
        # Eq. 7: for B ≠ 0, η > 0 ⇔ τ d·X > 1 when B < 0 and ⇔ τ d·X < 1 when B > 0
        "eq7": [
            L(
                lambda v: v["B"] != 0,
                lambda v: AND(
                    IMPLIES(v["B"] < 0, IFF(v["eta"] > 0, v["tau"] * _u(v) > 1)),
                    IMPLIES(v["B"] > 0, IFF(v["eta"] > 0, v["tau"] * _u(v) < 1)),
                ),
            )
        ],
        # Eq. 9: for B ≠ 0, η′ = 0 ⇔ d·X = 1
        "eq9": [L(lambda v: v["B"] != 0, lambda v: IFF(v["eta_p"] == 0, _u(v) == 1))],
        "b_zero": [L(lambda v: AND(v["B"] == 0, v["tau"] > 0), lambda v: sign_agree(v["eta"], v["eta_p"]))],
        # the paper's target; a strict counterexample (η′ < 0, not a tie) is asked for first
        "target": [L(lambda v: AND(v["tau"] > 1, v["eta"] > 0), lambda v: v["eta_p"] > 0, lambda v: v["eta_p"] < 0)],
        "target_b_nonneg": [L(lambda v: AND(v["tau"] > 1, v["B"] >= 0, v["eta"] > 0), lambda v: v["eta_p"] > 0)],
        # both inclusions of {τ > 1, η > 0, η′ ≤ 0} = {τ > 1} ∩ failure_region
        "failure_set": [
            L(lambda v: AND(v["tau"] > 1, v["eta"] > 0, v["eta_p"] <= 0), failure_region),
            L(lambda v: AND(v["tau"] > 1, failure_region(v)), lambda v: AND(v["eta"] > 0, v["eta_p"] <= 0)),
        ],
        "converse_b_pos": [
            L(lambda v: AND(v["B"] > 0, v["tau"] > 1, v["eta_p"] > 0), lambda v: v["eta"] > 0, lambda v: v["eta"] < 0)
        ],
        "characterization": [L(lambda v: v["tau"] > 0, lambda v: IFF(sign_agree(v["eta"], v["eta_p"]), division_free_agree(v)))],
        # τ = 0: η = B is constant, so the signs agree iff sign(s + B) = sign(B)
        "tau_zero": [
            L(
                lambda v: v["tau"] == 0,
                lambda v: AND(v["eta"] == v["B"], IFF(sign_agree(v["eta"], v["eta_p"]), sign_agree(v["B"], v["s"] + v["B"]))),
            )
        ],
        # τ < 0: agree iff s lies strictly between −B and −B/τ, or B = s = 0; for B = 0, s ≠ 0 the signs are opposite
        "tau_negative": [
            L(
                lambda v: v["tau"] < 0,
                lambda v: IFF(
                    sign_agree(v["eta"], v["eta_p"]),
                    OR(_strictly_between(v["s"], -v["B"], -v["B"] / v["tau"]), AND(v["B"] == 0, v["s"] == 0)),
                ),
            ),
            L(lambda v: AND(v["tau"] < 0, v["B"] == 0, v["s"] != 0), lambda v: v["eta"] * v["eta_p"] < 0),
        ],
    }


def head_lemmas() -> dict[str, list[Lemma]]:
    """Lemmas on a pair of classes (i, j) of a linear head ℓ = a + b, a = w·f (theory.md §1.5(c))."""
    H = lambda prem, concl: Lemma(HEAD, prem, concl, "head")

    def unscaled_with_bias_over_tau(v: Env, c: str) -> Any:
        return v[f"a_{c}"] + v[f"b_{c}"] / v["tau"]

    return {
        # argmax(τWf + b) = argmax(Wf + b/τ): every pairwise comparison (>, =) is the same in both
        "multiclass_bias_rescaling": [
            H(
                lambda v: v["tau"] > 0,
                lambda v: AND(
                    IFF(v["ls_i"] > v["ls_j"], unscaled_with_bias_over_tau(v, "i") > unscaled_with_bias_over_tau(v, "j")),
                    IFF(v["ls_i"] == v["ls_j"], unscaled_with_bias_over_tau(v, "i") == unscaled_with_bias_over_tau(v, "j")),
                ),
            )
        ],
        # τ > 1, class i wins the scaled comparison, class j at least ties unscaled ⇒ b_j > b_i
        "flip_toward_larger_bias": [
            H(lambda v: AND(v["tau"] > 1, v["ls_i"] > v["ls_j"], v["lo_j"] >= v["lo_i"]), lambda v: v["b_j"] > v["b_i"])
        ],
    }


# --- plane order (Fig. 3) ----------------------------------------------------------------------
PLANE = ("s", "B", "tau", "D", "oe", "op")


def _planes(v: Env) -> Any:
    """D = ‖d‖ > 0; oe, op: offsets of the planes η = 0 (d·X = 1/τ) and η′ = 0 (d·X = 1) along d/‖d‖."""
    return AND(v["D"] > 0, v["oe"] * v["tau"] * v["D"] == 1, v["op"] * v["D"] == 1)


def offsets_lemma() -> Lemma:
    """For τ > 0: η′'s plane is farther along d than η's (op > oe) iff τ > 1."""
    return Lemma(
        ("tau", "D", "oe", "op"), lambda v: AND(v["tau"] > 0, _planes(v)), lambda v: IFF(v["op"] > v["oe"], v["tau"] > 1), "plane"
    )


#: Fig. 3's caption: (a) point above η, η′ below η; (b) above, η′ above; (c) below, η′ above; (d) below, η′ below.
#: The slides discuss (a), (b) for B < 0 and call B > 0 "symmetric": (c), (d) with B > 0. In each, y1 > y2 (η > 0).
FIG3 = {"a": (-1, True, False), "b": (-1, True, True), "c": (1, False, True), "d": (1, False, False)}


def fig3_config(fig: str, tau_range: str) -> Any:
    """The constraint of one Fig. 3 configuration, for ``tau_range`` 'tau>1' or '0<tau<1'."""
    sign_b, above, etap_above = FIG3[fig]

    def c(v: Env) -> Any:
        t = v["tau"]
        rng = t > 1 if tau_range == "tau>1" else AND(t > 0, t < 1)
        pos = t * _u(v) > 1 if above else t * _u(v) < 1
        order = v["op"] > v["oe"] if etap_above else v["op"] < v["oe"]
        return AND(rng, (v["B"] < 0) if sign_b < 0 else (v["B"] > 0), v["eta"] > 0, _planes(v), pos, order)

    return c


def p7_lemma() -> Lemma:
    """The slides' Fig. 3a step for τ > 1: B < 0, point above η, η′ below η ⇒ point above η′ (η′ > 0)."""
    return Lemma(PLANE, fig3_config("a", "tau>1"), lambda v: v["eta_p"] > 0, "plane")


# --- the monolithic cross-check --------------------------------------------------------------
def monolithic(lemma: Lemma, timeout_ms: int) -> Decision:
    """Decide a pair lemma on the fully symbolic 3-3-2 network (24 unknowns) in one Z3 query."""
    t0 = time.perf_counter()
    ctx = z3.Context()
    R = lambda name: z3.Real(name, ctx)
    W = [[R(f"w_{i}{j}") for j in range(3)] for i in range(3)]
    b = [R(f"b_{i}") for i in range(3)]
    N = [[R(f"n_{o}{j}") for j in range(3)] for o in range(2)]
    z = [R("z_0"), R("z_1")]
    x = [R(f"x_{i}") for i in range(3)]
    tau = R("tau")

    def margin(scale: Any) -> Any:
        a = [sum(W[i][m] * scale * x[m] for m in range(3)) + b[i] for i in range(3)]
        y = [sum(N[o][j] * a[j] for j in range(3)) + z[o] for o in range(2)]
        return y[0] - y[1]

    X = [sum(W[i][m] * x[m] for m in range(3)) for i in range(3)]
    k = [N[0][j] - N[1][j] for j in range(3)]
    v: Env = {"tau": tau, "s": sum(k[j] * X[j] for j in range(3)), "B": margin(0), "eta": margin(tau), "eta_p": margin(1)}
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", int(timeout_ms))
    solver.add(lemma.premise(v), NOT(lemma.conclusion(v)))
    r = solver.check()
    secs = time.perf_counter() - t0
    if r == z3.unsat:
        return Decision("proved", secs, "monolithic negation unsat")
    if r == z3.sat:
        return Decision("refuted", secs, "monolithic model found")
    return Decision("unknown", secs, f"monolithic: {solver.reason_unknown()} after {timeout_ms / 1000:g} s")
