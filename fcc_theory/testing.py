"""A public API for your own pytest / Hypothesis property tests of decision-plane claims.

Everything is exact (Fractions; tanh / sigmoid by certified intervals with exact tie detection), so a test
built from these pieces fails only on a real counterexample, and its failure message is an exact report.

Strategies (re-exported from :mod:`fcc_theory.search.strategies`, the ones ``fcc search`` uses):
:func:`networks` (given widths; activation ``linear``, ``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``;
biases on, off, per layer, or drawn), :func:`any_networks` / :func:`any_widths` (any depth and widths),
:func:`points`, :func:`taus` (a τ domain: ``gt1``, ``pos``, ``lt1``, ``zero``, ``neg``), :func:`rationals`,
:func:`rational_vectors`, and :func:`configurations` (a network with a matching x and τ).

Assertions and predicates: :func:`assert_same_decision` (the argmax *sets* at τx and x are equal),
:func:`in_failure_set` (the exact failure set B < 0 ∧ −B/τ < s ≤ −B of the paper's τ > 1 claim),
:func:`pair_symbols` (s and B of a class pair of an affine network), :func:`replay_witness` (re-evaluate a
witness of ``fcc verify --json`` or ``fcc search --json`` exactly and check it still says what it said).

>>> from fractions import Fraction
>>> from fcc_theory.network import Network
>>> paper = Network.from_matrices([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 0]]], [[0, 0, 0], [0, 1]])
>>> assert_same_decision(paper, [Fraction(3), 0, 0], 2).argmax_scaled
frozenset({0})
>>> assert_same_decision(paper, [Fraction(3, 4), 0, 0], 2)
Traceback (most recent call last):
...
fcc_theory.testing.DecisionChanged: the decision changes: argmax {0} at tau*x, {1} at x (tau = 2, x = (3/4, 0, 0))
  logits at tau*x: (3/2, 1)
  logits at x:     (3/4, 1)
  pair (0,1): eta = 1/2, eta' = -1/4, sign + -> -; s = 3/4, B = -1
>>> s, B = pair_symbols(paper, [Fraction(3, 4), 0, 0])
>>> in_failure_set(s, B, Fraction(2))
True
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from hypothesis import assume
from hypothesis import strategies as st

from fcc_theory.margins import CheckReport, check_configuration, collapse_affine, in_failure_set
from fcc_theory.network import Network
from fcc_theory.rational import format_bound, format_rational, parse_rational
from fcc_theory.search.strategies import (
    TAU_DOMAINS,
    any_networks,
    any_widths,
    networks,
    points,
    rational_vectors,
    rationals,
    taus,
)

__all__ = [
    "TAU_DOMAINS",
    "DecisionChanged",
    "Undecided",
    "WitnessMismatch",
    "any_networks",
    "any_widths",
    "assert_same_decision",
    "configurations",
    "decision_report",
    "in_failure_set",
    "networks",
    "pair_symbols",
    "points",
    "rational_vectors",
    "rationals",
    "replay_witness",
    "taus",
]


class DecisionChanged(AssertionError):
    """The argmax sets at τx and at x differ (the message is the exact report)."""


class Undecided(AssertionError):
    """A tanh / sigmoid sign stayed undecided at the precision bound: neither a pass nor a counterexample."""


class WitnessMismatch(AssertionError):
    """A replayed witness no longer gives the decisions it recorded."""


def configurations(
    activation: str = "linear",
    biases: bool | Sequence[bool] | None = True,
    tau_domain: str = "gt1",
    widths: Sequence[int] | None = None,
    max_depth: int = 3,
    max_width: int = 4,
) -> st.SearchStrategy[tuple[Network, tuple[Fraction, ...], Fraction]]:
    """``(network, x, τ)``: a network (``widths``, or any widths up to ``max_depth`` layers), x of its input
    width and τ from ``tau_domain``.

    >>> from hypothesis import find
    >>> net, x, tau = find(configurations("relu", biases=False), lambda c: c[0].n_classes == 3)
    >>> net.n_classes, len(x) == net.n_inputs, tau > 1
    (3, True, True)
    """
    if widths is not None and not isinstance(biases, bool) and biases is not None:
        net_st = networks(widths, activation, tuple(biases))
    else:
        shapes = st.just(tuple(widths)) if widths is not None else any_widths(max_depth, max_width)
        flags = biases if isinstance(biases, bool) or biases is None else None
        net_st = shapes.flatmap(lambda w: networks(w, activation, flags))
    return net_st.flatmap(lambda net: st.tuples(st.just(net), points(net.n_inputs), taus(tau_domain)))


def _set(a: frozenset[int] | None) -> str:
    return "undecided" if a is None else "{" + ", ".join(map(str, sorted(a))) + "}"


def decision_report(report: CheckReport) -> str:
    """A readable exact report of one configuration: argmax sets, logits, per-pair margins and sign changes."""
    f = format_rational
    sg = {1: "+", 0: "0", -1: "-", None: "?"}
    head = {True: "the decision is kept", False: "the decision changes", None: "the decision is undecided"}[report.agree]
    lines = [
        f"{head}: argmax {_set(report.argmax_scaled)} at tau*x, {_set(report.argmax_original)} at x "
        f"(tau = {f(report.tau)}, x = ({', '.join(f(v) for v in report.x)}))"
    ]
    if report.logits_scaled_interval is None:
        lines.append(f"  logits at tau*x: ({', '.join(f(v) for v in report.logits_scaled or ())})")
        lines.append(f"  logits at x:     ({', '.join(f(v) for v in report.logits_original or ())})")
    else:
        iv = lambda t: f"[{format_bound(t[0], up=False)}, {format_bound(t[1], up=True)}]"
        lines.append(f"  logits at tau*x in: ({', '.join(map(iv, report.logits_scaled_interval))})")
        lines.append(f"  logits at x in:     ({', '.join(map(iv, report.logits_original_interval or ()))})")
    for p in report.pairs:
        eta = f(p.eta) if p.eta is not None else "?"
        eta_p = f(p.eta_prime) if p.eta_prime is not None else "?"
        line = f"  pair ({p.i},{p.j}): eta = {eta}, eta' = {eta_p}, sign {sg[p.sign_eta]} -> {sg[p.sign_eta_prime]}"
        if p.s is not None and p.B is not None:
            line += f"; s = {f(p.s)}, B = {f(p.B)}"
        lines.append(line)
    return "\n".join(lines)


def assert_same_decision(net: Network, x: Sequence[Any], tau: Fraction | int | str, undecided: str = "raise") -> CheckReport:
    """Assert that the argmax sets at τx and at x are equal (ties included), exactly; return the report.

    Raises :class:`DecisionChanged` with :func:`decision_report` when they differ. An undecided tanh /
    sigmoid case raises :class:`Undecided` (``undecided="raise"``) or is discarded with Hypothesis's
    ``assume`` (``undecided="assume"``), so it never counts as a pass.
    """
    if undecided not in ("raise", "assume"):
        raise ValueError(f"undecided must be 'raise' or 'assume', got {undecided!r}")
    report = check_configuration(net, [parse_rational(v) for v in x], parse_rational(tau))
    if report.agree is None:
        if undecided == "assume":
            assume(False)
        raise Undecided(decision_report(report))
    if not report.agree:
        raise DecisionChanged(decision_report(report))
    return report


def pair_symbols(net: Network, x: Sequence[Any], i: int = 0, j: int = 1) -> tuple[Fraction, Fraction]:
    """``(s, B)`` of classes i, j of an affine network at x: B = o_i(0) − o_j(0), s = margin at x − B (Eqs. 6, 8)."""
    A, c = collapse_affine(net)
    xs = net.check_input([parse_rational(v) for v in x])
    s = sum(((a - b) * v for a, b, v in zip(A[i], A[j], xs, strict=True)), Fraction(0))
    return s, c[i] - c[j]


def replay_witness(witness: dict[str, Any] | str | Path) -> CheckReport:
    """Re-evaluate a witness exactly and check it against what it recorded; return the fresh report.

    Accepts a witness of ``fcc verify --json`` (``{"activation", "layers", "x", "tau", "check"}``), a
    counterexample of ``fcc search --json`` (``{"network", "x", "tau", "check"}``), or a path to either as
    JSON. Raises :class:`WitnessMismatch` if the recorded argmax sets or logits differ from the replay.
    """
    w = json.loads(Path(witness).read_text()) if isinstance(witness, (str, Path)) else witness
    net_data = w.get("network") or {k: w[k] for k in ("activation", "layers", "leaky_slope") if k in w}
    net = Network.from_dict(net_data)
    report = check_configuration(net, [parse_rational(v) for v in w["x"]], parse_rational(w["tau"]))
    recorded = w.get("check")
    if recorded is not None:
        fresh = report.to_json()
        keys = [k for k in ("logits_scaled", "logits_original", "class_scaled", "class_original", "agree") if k in recorded]
        keys += [k for k in ("argmax_scaled", "argmax_original") if k in recorded]
        diff = [k for k in keys if recorded[k] != fresh[k]]
        if diff:
            raise WitnessMismatch(f"replay differs from the recorded witness in {', '.join(diff)}:\n{decision_report(report)}")
    return report
