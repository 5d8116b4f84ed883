"""The registry of claims that ``fcc verify`` decides, each quoting the slides' words it tests.

Routes (docs/theory.md, "Verdicts"): SI = symbolic identity (SymPy), DP = exact decision (Z3 on a small lemma after the
SymPy reduction of the 24-unknown network to (s, B, τ)), IA = interval arithmetic. Nothing here knows a
verdict in advance: every verdict comes from :mod:`fcc_theory.decide` and friends at run time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import sympy as sp

from fcc_theory import activations, cosine, lemmas, symbolic
from fcc_theory.decide import Decision, Lemma, Witness, decide_all, decide_lemma, lift, satisfiable
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network

__all__ = [
    "CLAIMS",
    "CLAIM_IDS",
    "Claim",
    "ClaimResult",
    "decide_identity",
    "decide_identity_once",
    "network_from_point",
    "run_claim",
]

TARGET = (
    "“If the FC network can normally work, the classification result of the original feature will be equal to that of "
    "the multiplied feature, i.e., y1′ > y2′ when y1 > y2.” (τ > 1)"
)


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    premise: str
    conclusion: str
    method: str
    how: str
    decide: Callable[[int], Decision]
    #: pair lemmas that ``--cross-check`` re-decides on the full symbolic network
    cross: tuple[Lemma, ...] = ()


@dataclass
class ClaimResult:
    claim: Claim
    decision: Decision
    cross_check: Decision | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        c, d = self.claim, self.decision
        out: dict[str, Any] = {
            "id": c.id,
            "paper": c.paper,
            "premise": c.premise,
            "conclusion": c.conclusion,
            "verdict": d.verdict,
            "method": c.method,
            "how": c.how,
            "detail": d.detail,
            "seconds": round(d.seconds, 6),
            "witness": None if d.witness is None else d.witness.to_json(),
        }
        if d.extra:
            out["extra"] = d.extra
        if self.cross_check is not None:
            x = self.cross_check
            out["cross_check"] = {"verdict": x.verdict, "seconds": round(x.seconds, 6), "detail": x.detail}
        return out


# --- identities (SI) ---------------------------------------------------------------------------
def network_from_point(point: dict[str, Fraction]) -> tuple[Network, tuple[Fraction, ...], Fraction]:
    """The concrete 3-3-2 linear network, x and τ named by a point of :class:`symbolic.PaperNetwork`'s symbols."""
    g = lambda name: point[name]
    W = [[g(f"w_{i}{j}") for j in (1, 2, 3)] for i in (1, 2, 3)]
    N = [[g(f"n_{o}{j}") for j in (1, 2, 3)] for o in (1, 2)]
    net = Network.from_matrices([W, N], [[g(f"b_{i}") for i in (1, 2, 3)], [g("z_1"), g("z_2")]])
    return net, tuple(g(f"x_{i}") for i in (1, 2, 3)), g("tau")


def decide_identity(ident: symbolic.Identity) -> Decision:
    """SI: proved when every residue expands to 0; refuted with the network at a point where a residue is not 0.

    The witness is re-checked: the concrete network's exact logits must equal the symbolic network's at the
    point (so the point really is that network), and the two sides must differ there.
    """
    t0 = time.perf_counter()
    res = symbolic.check_identity(ident)
    B = ident.net.B()
    # name a denominator "B" when it is ±B (the condition the slides leave implicit for Eqs. 7 and 9)
    names = ["B" if sp.expand(d - B) == 0 or sp.expand(d + B) == 0 else str(d) for d in res.denominators]
    cond = f"; valid where {' ≠ 0, '.join(names)} ≠ 0 (a denominator)" if names else ""
    if res.holds:
        return Decision("proved", time.perf_counter() - t0, f"expand(lhs − rhs) = 0{cond}")
    point = res.point
    assert point is not None
    subs = {s: sp.Rational(point[str(s)].numerator, point[str(s)].denominator) for s in ident.net.symbols}
    net, x, tau = network_from_point(point)
    rep = check_configuration(net, x, tau)
    assert rep.logits_scaled is not None and rep.logits_original is not None  # a linear network evaluates exactly
    same_net = [sp.Rational(str(v)) for v in rep.logits_scaled] == list(ident.net.y().subs(subs)) and [
        sp.Rational(str(v)) for v in rep.logits_original
    ] == list(ident.net.y_prime().subs(subs))
    differ = any(sp.simplify(a.subs(subs) - b.subs(subs)) != 0 for a, b in zip(ident.lhs, ident.rhs, strict=True))
    if not (same_net and differ):
        return Decision("unknown", time.perf_counter() - t0, "residue non-zero but the point did not replay")
    return Decision(
        "refuted",
        time.perf_counter() - t0,
        "a residue is non-zero; the network at the witness point differs from the formula",
        Witness(net, x, tau, rep, point),
    )


_DECIDED_IDENTITIES: dict[symbolic.Identity, Decision] = {}


def decide_identity_once(ident: symbolic.Identity) -> Decision:
    """:func:`decide_identity`, memoised in this process by the identity's exact content (lhs, rhs, condition).

    The reduction η = τs + B, η′ = s + B underlies every DP claim; expanding it once per run instead of once per
    claim saves about a second. A changed formula is a different key and is decided afresh; a reuse reports 0 s
    (no solving happened) and the same verdict and detail. Nothing is kept on disk.
    """
    hit = _DECIDED_IDENTITIES.get(ident)
    if hit is None:
        hit = _DECIDED_IDENTITIES[ident] = decide_identity(ident)
        return Decision(hit.verdict, hit.seconds, hit.detail, hit.witness)
    return Decision(hit.verdict, 0.0, hit.detail, hit.witness)


def _si_then(which: str, lemma_key: str | None = None) -> Callable[[int], Decision]:
    def run(timeout_ms: int) -> Decision:
        d = decide_identity(symbolic.identity(which))
        if which in ("eq6", "eq8") and d.verdict == "proved":  # the reduction that every DP claim relies on
            r = decide_identity_once(symbolic.reduction_identities())
            r.seconds += d.seconds
            d = (
                r
                if r.verdict != "proved"
                else Decision("proved", r.seconds, d.detail + "; reduction η = τs + B, η′ = s + B holds")
            )
        if lemma_key is None or d.verdict != "proved":
            return d
        e = decide_all(lemmas.pair_lemmas()[lemma_key], timeout_ms)
        e.seconds += d.seconds
        e.detail = f"{d.detail}; sign step: {e.detail}"
        return e

    return run


def _dp(key: str, table: str = "pair") -> Callable[[int], Decision]:
    def run(timeout_ms: int) -> Decision:
        ls = (lemmas.pair_lemmas() if table == "pair" else lemmas.head_lemmas())[key]
        if table == "pair":  # the compositional route rests on the reduction identity
            red = decide_identity_once(symbolic.reduction_identities())
            if red.verdict != "proved":
                return Decision("unknown", red.seconds, "the reduction identity failed; the lemma does not apply")
        d = decide_all(ls, timeout_ms) if len(ls) > 1 else decide_lemma(ls[0], timeout_ms)
        if table == "pair":
            d.seconds += red.seconds
        return d

    return run


def _multiclass(timeout_ms: int) -> Decision:
    d = _dp("multiclass_bias_rescaling", "head")(timeout_ms)
    tau = sp.Symbol("tau", positive=True)
    W = sp.Matrix(4, 3, lambda i, j: sp.Symbol(f"w_{i}{j}"))
    f = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"f_{i}"))
    b = sp.Matrix(4, 1, lambda i, _: sp.Symbol(f"b_{i}"))
    si = sp.expand(tau * (W * f + b / tau) - (tau * W * f + b)) == sp.zeros(4, 1)
    if d.verdict == "proved" and not si:
        return Decision("unknown", d.seconds, "τ(Wf + b/τ) ≠ τWf + b symbolically")
    d.detail = f"τWf + b = τ(Wf + b/τ) (SymPy); pairwise >, = preserved for τ > 0 (z3): {d.detail}"
    return d


def _plane_order(timeout_ms: int) -> Decision:
    t0 = time.perf_counter()
    off = decide_lemma(lemmas.offsets_lemma(), timeout_ms)
    if off.verdict != "proved":
        return off
    p7 = decide_lemma(lemmas.p7_lemma(), timeout_ms)
    table: dict[str, dict[str, str]] = {}
    instances: dict[str, Any] = {}
    for fig in lemmas.FIG3:
        table[fig] = {}
        for rng in ("tau>1", "0<tau<1"):
            status, point = satisfiable(lemmas.PLANE, lemmas.fig3_config(fig, rng), "plane", timeout_ms)
            table[fig][rng] = {"sat": "realizable", "unsat": "unrealizable"}.get(status, "unknown")
            if status == "sat" and rng == "0<tau<1" and fig in ("a", "d") and point is not None:
                net, x, tau = lift("pair", point)
                rep = check_configuration(net, x, tau)
                p = rep.pair(0, 1)
                assert p.s is not None and p.B is not None and p.eta is not None  # a linear network has s, B
                u = -p.s / p.B  # d·X read off the network
                ok = p.eta > 0 and tau < 1 and ((tau * u > 1) == lemmas.FIG3[fig][1])
                instances[fig] = {
                    "network": net.to_dict(),
                    "x": [str(v) for v in x],
                    "tau": str(tau),
                    "replayed": ok,
                    "d_dot_X": str(u),
                    "offset_eta_times_norm_d": str(1 / tau),
                    "offset_eta_prime_times_norm_d": "1",
                    "check": rep.to_json(),
                }
    verdict = p7.verdict
    detail = (
        f"offsets along d: η at 1/(τ‖d‖), η′ at 1/‖d‖, η′ farther ⇔ τ > 1 ({off.detail}); "
        f"Fig. 3a step for τ > 1: {p7.verdict} ({p7.detail})"
    )
    from fcc_theory.plane_readings import fixed_axis_reading

    readings = {
        "along_d": {"reading": "along d", "verdict": p7.verdict, "detail": p7.detail},
        "fixed_axis": fixed_axis_reading(timeout_ms),
    }
    extra = {"realizability": table, "instances": instances, "readings": readings}
    return Decision(verdict, time.perf_counter() - t0, detail, p7.witness, extra)


def _claims() -> list[Claim]:
    P = lemmas.pair_lemmas()
    si = "SI (SymPy expand on the 3-3-2 network)"
    dp = "DP (SymPy reduction to (s, B, τ) + z3 lemma)"
    C = Claim
    return [
        C(
            "eq5",
            "Eq. (5): y_i = n_i1(τw_11x_1 + τw_12x_2 + τw_13x_3) + n_i1 b_1 + … + z_i",
            "none",
            "the network's outputs at τx equal Eq. 5 (i = 1, 2)",
            si,
            "residue expands to 0",
            _si_then("eq5"),
        ),
        C(
            "eq6",
            "Eq. (6): η = τk_1X_1 + τk_2X_2 + τk_3X_3 + B",
            "none",
            "η = τΣk_jX_j + B with k_j = n_1j − n_2j and B, X_j as written",
            si,
            "residues expand to 0",
            _si_then("eq6"),
        ),
        C(
            "eq7",
            "Eq. (7): “y1 > y2, η > 0 … τΣd_jX_j > 1 if B < 0; τΣd_jX_j < 1 if B > 0”",
            "B ≠ 0 (d = −k/B)",
            "η = −B(τd·X − 1), hence the case split",
            si + " + DP",
            "identity, then the sign split in z3",
            _si_then("eq7", "eq7"),
        ),
        C(
            "eq8",
            "Eq. (8): η′ = k_1X_1 + k_2X_2 + k_3X_3 + B",
            "none",
            "η′ = Σk_jX_j + B",
            si,
            "residue expands to 0",
            _si_then("eq8"),
        ),
        C(
            "eq9",
            "Eq. (9): “When η′ = 0, … d_1X_1 + d_2X_2 + d_3X_3 = 1”",
            "B ≠ 0",
            "η′ = −B(d·X − 1), so η′ = 0 ⇔ d·X = 1",
            si + " + DP",
            "identity, then η′ = 0 ⇔ d·X = 1 in z3",
            _si_then("eq9", "eq9"),
        ),
        C(
            "key_identity",
            "(implicit in Eqs. 6 and 8)",
            "none",
            "η − τη′ = (1 − τ)B",
            si,
            "residue expands to 0",
            _si_then("key_identity"),
        ),
        C(
            "b_zero",
            "“B = 0, True”",
            "B = 0, τ > 0",
            "sign(η) = sign(η′)",
            dp,
            "negation unsat",
            _dp("b_zero"),
            tuple(P["b_zero"]),
        ),
        C(
            "target",
            TARGET,
            "τ > 1, y1 > y2 (η > 0), any weights",
            "y1′ > y2′ (η′ > 0)",
            dp,
            "negation sat → exact witness",
            _dp("target"),
            tuple(P["target"]),
        ),
        C(
            "target_b_nonneg",
            TARGET + " restricted to B ≥ 0",
            "τ > 1, B ≥ 0, η > 0",
            "η′ > 0",
            dp,
            "negation unsat",
            _dp("target_b_nonneg"),
            tuple(P["target_b_nonneg"]),
        ),
        C(
            "failure_set",
            "“when it is below plane η′ … the FC will misclassify the point” (Fig. 3b)",
            "τ > 1",
            "{η > 0 ∧ η′ ≤ 0} = {B < 0 ∧ −B/τ < s ≤ −B}",
            dp,
            "both inclusions unsat",
            _dp("failure_set"),
            tuple(P["failure_set"]),
        ),
        C(
            "converse_b_pos",
            "“B > 0, …” (the slides call it symmetric to B < 0)",
            "B > 0, τ > 1, η′ > 0",
            "η > 0 (the converse direction)",
            dp,
            "negation sat → exact witness",
            _dp("converse_b_pos"),
            tuple(P["converse_b_pos"]),
        ),
        C(
            "characterization",
            "(the corrected statement) sign agreement for every τ > 0",
            "τ > 0",
            "sign(η) = sign(η′) ⇔ s on the same side of −B and −B/τ (division-free)",
            dp,
            "negation unsat",
            _dp("characterization"),
            tuple(P["characterization"]),
        ),
        C(
            "plane_order",
            "Fig. 3: “(a) plane η′ is below plane η, or (b) plane η′ is above plane η …”; "
            "“If plane η′ is below plane η, the point is also above plane η′ (Fig. 3a)”",
            "τ > 1, B < 0, point above η, η′ below η along d",
            "point above η′ (η′ > 0)",
            "DP (z3 on the plane offsets)",
            "offsets lemma unsat-negation; Fig. 3a premise satisfiability; realizability of (a)-(d) per τ range",
            _plane_order,
        ),
        C(
            "tau_zero",
            "(τ outside the slides' τ > 1)",
            "τ = 0",
            "η = B; sign(η) = sign(η′) ⇔ sign(B) = sign(s + B)",
            dp,
            "negation unsat",
            _dp("tau_zero"),
            tuple(P["tau_zero"]),
        ),
        C(
            "tau_negative",
            "(τ outside the slides' τ > 1)",
            "τ < 0",
            "agree ⇔ s strictly between −B and −B/τ, or B = s = 0; B = 0, s ≠ 0 ⇒ opposite signs",
            dp,
            "negation unsat",
            _dp("tau_negative"),
            tuple(P["tau_negative"]),
        ),
        C(
            "multiclass_bias_rescaling",
            "(FCC's real setting: nn.Linear with bias, C classes, test without τ)",
            "τ > 0, any C",
            "argmax(τWf + b) = argmax(Wf + b/τ) (ties → none)",
            "SI + DP (pairwise lemma)",
            "identity; negation unsat",
            _multiclass,
        ),
        C(
            "flip_toward_larger_bias",
            "(FCC at test time: unscaled features into the trained head)",
            "τ > 1, class c wins at τf, class c′ ≠ c at least ties at f",
            "b_c′ > b_c",
            "DP (pairwise lemma)",
            "negation unsat",
            _dp("flip_toward_larger_bias", "head"),
        ),
        C(
            "relu_no_bias",
            "(the slides' argument for a ReLU hidden layer)",
            "ReLU / leaky ReLU (any slope α ≥ 0), no biases anywhere, τ > 0",
            "argmax at τx = argmax at x",
            "SI + DP (homogeneity)",
            "z3 homogeneity lemma + SymPy composition",
            activations.decide_relu_no_bias,
        ),
        C(
            "relu_hidden_bias",
            TARGET + " for a ReLU hidden layer with hidden biases",
            "ReLU, hidden biases, output bias 0, τ > 1, η > 0",
            "η′ > 0",
            "DP (z3 on the piecewise-linear form)",
            "model lifted to a ReLU network, replayed exactly",
            activations.decide_relu_hidden_bias,
        ),
        C(
            "tanh_no_bias",
            TARGET + " for a tanh hidden layer without biases",
            "tanh, no biases, τ > 1, η > 0",
            "η′ > 0",
            "PS + IA (grid search, mpmath intervals)",
            "certified interval bounds",
            lambda t: activations.decide_tanh_no_bias(),
        ),
        C(
            "cosine_scale_invariance",
            "(FCC with a cosine head: LDAM's FCNorm, the normalised experts of RIDE and SADE)",
            "τ > 0, f ≠ 0, w_j ≠ 0, any dimension",
            "s⟨w_j, τf⟩/(‖w_j‖‖τf‖) = s⟨w_j, f⟩/(‖w_j‖‖f‖), both defined",
            "SI + DP (SymPy reduction to ⟨w, f⟩ and the norms + z3 lemma)",
            "identities; negation unsat",
            cosine.decide_claim,
        ),
    ]


CLAIMS: dict[str, Claim] = {c.id: c for c in _claims()}
CLAIM_IDS: tuple[str, ...] = tuple(CLAIMS)


def run_claim(claim: Claim, timeout_ms: int = 10_000, cross_check: bool = False, cross_timeout_ms: int = 30_000) -> ClaimResult:
    """Decide one claim; with ``cross_check`` also decide its pair lemmas on the full network.

    ``cross_timeout_ms`` is the budget for the whole claim's cross-check (its lemmas share it); what is undecided
    when it runs out is ``unknown``. A decided cross-check that disagrees turns the verdict into ``unknown``.
    """
    from fcc_theory.crosscheck import decide_full

    d = claim.decide(timeout_ms)
    cc = None
    if cross_check and claim.cross:
        t0 = time.perf_counter()
        parts = []
        for lem in claim.cross:
            left = cross_timeout_ms - int((time.perf_counter() - t0) * 1000)
            part = decide_full(lem, left) if left > 0 else Decision("unknown", 0.0, "full network: no time left")
            parts.append(part)
            if part.verdict != "proved":
                break
        secs = time.perf_counter() - t0
        if all(p.verdict == "proved" for p in parts):
            cc = Decision("proved", secs, "full network: every negation unsat")
        elif any(p.verdict == "refuted" for p in parts):
            r = next(p for p in parts if p.verdict == "refuted")
            cc = Decision("refuted", secs, r.detail, r.witness)
        else:
            cc = Decision("unknown", secs, next(p.detail for p in parts if p.verdict == "unknown"))
        if cc.verdict != "unknown" and d.verdict in ("proved", "refuted") and cc.verdict != d.verdict:
            d = Decision("unknown", d.seconds, f"compositional ({d.verdict}) and full-network ({cc.verdict}) disagree")
    return ClaimResult(claim, d, cc)
