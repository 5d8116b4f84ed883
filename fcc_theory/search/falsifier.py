"""The vectorised falsifier (``fcc search --engine numpy``) and the greedy simplifier both engines share.

Batches of random networks, points and τ are drawn as *indices* into the same small-rational tables as
the Hypothesis strategies, evaluated in float64 with ``einsum`` (the 3-3-2 linear network in its collapsed
form: s = Σk_jX_j and B straight from the weights, paper Eqs. 6 and 8), and every configuration whose
float margins come within a tolerance of failing the claim is flagged. Floats only choose candidates:
each candidate is rebuilt exactly from its indices (the table's Fractions, no float-to-rational guessing)
and re-checked with the claim's exact property before it is reported (floats alone invent
counterexamples).
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Sequence

import numpy as np

from fcc_theory.errors import UserError
from fcc_theory.limits import numpy_batch_rows
from fcc_theory.search.properties import Config, Property, head_tau_sources, tau_for_label
from fcc_theory.search.runner import SearchResult, validate
from fcc_theory.search.simplify import simplify
from fcc_theory.search.strategies import n_params, network_from_values, rational_table, tau_table

__all__ = ["NUMPY_CLAIMS", "search_numpy"]

EPS = 1e-9
#: claims the numpy engine has a float candidate filter for (the identities need no search: use hypothesis)
NUMPY_CLAIMS = (
    "target",
    "target_b_nonneg",
    "converse_b_pos",
    "b_zero",
    "relu_no_bias",
    "relu_hidden_bias",
    "tanh_no_bias",
    "multiclass_bias_rescaling",
    "flip_toward_larger_bias",
)


def _flags(prop: Property, n_layers: int) -> tuple[bool, ...]:
    return {"all": (True,) * n_layers, "none": (False,) * n_layers, "hidden": (True,) * (n_layers - 1) + (False,)}[prop.biases]


def _split(vals: np.ndarray, widths: Sequence[int], flags: Sequence[bool]) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Per-layer (W (n, out, in), b (n, out) or None) views of a flat (n, P) parameter batch."""
    out, pos, n = [], 0, vals.shape[0]
    for k in range(len(widths) - 1):
        i, o = widths[k], widths[k + 1]
        W = vals[:, pos : pos + i * o].reshape(n, o, i)
        pos += i * o
        b = None
        if flags[k]:
            b = vals[:, pos : pos + o]
            pos += o
        out.append((W, b))
    return out


def _forward(layers: list[tuple[np.ndarray, np.ndarray | None]], x: np.ndarray, act: str) -> np.ndarray:
    h = x
    for k, (W, b) in enumerate(layers):
        h = np.einsum("noi,ni->no", W, h)
        if b is not None:
            h = h + b
        if k < len(layers) - 1:
            if act == "relu":
                h = np.maximum(h, 0.0)
            elif act == "leaky_relu":
                h = np.where(h > 0, h, 0.01 * h)
            elif act == "tanh":
                h = np.tanh(h)
            elif act == "sigmoid":
                h = 1.0 / (1.0 + np.exp(-h))
    return h


def _lost(ls: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(c wins at τx up to EPS, some other class at least ties c at x up to EPS), per row."""
    c = ls.argmax(axis=1)
    rows = np.arange(ls.shape[0])
    others = ls.copy()
    others[rows, c] = -np.inf
    wins = ls[rows, c] - others.max(axis=1) > -EPS
    o2 = lo.copy()
    o2[rows, c] = -np.inf
    lost = o2.max(axis=1) - lo[rows, c] > -EPS
    return wins, lost


def _candidates(prop: Property, layers: list, x: np.ndarray, tau: np.ndarray, act: str) -> np.ndarray:
    """Rows whose float margins come within EPS of failing the claim (a superset of the exact failures)."""
    cid = prop.id
    if prop.kind in ("pair", "paper") and act == "linear" and len(layers) == 2:
        # collapsed 3-3-2 form: s = Σ_j k_j X_j, B = Σ_j k_j b_j + z_1 − z_2 (Eqs. 6, 8)
        (W, b), (N, z) = layers
        k = N[:, 0, :] - N[:, 1, :]
        s = np.einsum("nh,nh->n", k, np.einsum("nhi,ni->nh", W, x))
        B = np.einsum("nh,nh->n", k, b) + z[:, 0] - z[:, 1]
    else:
        lo0 = _forward(layers, np.zeros_like(x), act)
        lo1 = _forward(layers, x, act)
        B = lo0[:, 0] - lo0[:, 1]
        s = lo1[:, 0] - lo1[:, 1] - B
    if cid in ("target", "target_b_nonneg", "converse_b_pos", "b_zero"):
        eta, eta_p = tau * s + B, s + B
        if cid == "target":
            return (eta > -EPS) & (eta_p < EPS)
        if cid == "target_b_nonneg":
            return (B > -EPS) & (eta > -EPS) & (eta_p < EPS)
        if cid == "converse_b_pos":
            return (B > -EPS) & (eta_p > -EPS) & (eta < EPS)
        return ((eta > -EPS) & (eta_p < EPS)) | ((eta < EPS) & (eta_p > -EPS))  # b_zero: signs could differ
    if prop.kind == "head":
        ((W, b),) = layers
        Wf = np.einsum("noi,ni->no", W, x)
        ls = tau[:, None] * Wf + b
        if cid == "multiclass_bias_rescaling":
            lr = Wf + b / tau[:, None]
            wins, lost = _lost(ls, lr)
            return ~wins | lost
        wins, _ = _lost(ls, Wf + b)
        c = ls.argmax(axis=1)
        rows = np.arange(ls.shape[0])
        lo = Wf + b
        rival = (lo - lo[rows, c][:, None] > -EPS) & (b - b[rows, c][:, None] < EPS)
        rival[rows, c] = False
        return wins & rival.any(axis=1) & (tau > 1)
    ls = _forward(layers, tau[:, None] * x, act)
    lo = _forward(layers, x, act)
    wins, lost = _lost(ls, lo)
    if cid == "relu_no_bias":
        wins_o, lost_o = _lost(lo, ls)
        return ~wins | lost | ~wins_o | lost_o
    return wins & lost


def search_numpy(
    prop: Property,
    widths: Sequence[int] | None = None,
    activation: str | None = None,
    *,
    strict: bool = False,
    max_examples: int = 10_000_000,
    seed: int = 0,
    tau_range: tuple[Fraction, Fraction] | None = None,
    batch: int = 100_000,
    exact_seconds: float | None = None,
    do_simplify: bool = True,
    stop_at_first: bool = True,
) -> SearchResult:
    """Float64 batches → flagged candidates → exact re-check (→ greedy simplification of the first hit).

    Every flagged candidate is re-checked exactly, unless ``exact_seconds`` bounds the time spent on
    re-checks: then the ones left are counted in ``extra["exact_unchecked"]`` and "none found" is not claimed.
    Batches shrink so that one holds at most :data:`~fcc_theory.limits.MAX_NUMPY_CELLS` float64 cells.
    """
    if prop.id not in NUMPY_CLAIMS:
        raise UserError(
            f"the numpy engine has no float filter for claim {prop.id}; use --engine hypothesis (numpy supports {', '.join(NUMPY_CLAIMS)})"
        )
    widths = tuple(widths or prop.default_widths)
    act = activation or prop.activations[0]
    validate(prop, widths, act, tau_range)
    flags = _flags(prop, len(widths) - 1)
    rtab = rational_table()
    rvals = np.array([float(v) for v in rtab])
    lo, hi = tau_range if tau_range is not None else (None, None)
    ttab = tau_table(prop.tau_domain, lo, hi)
    head = prop.kind == "head" and tau_range is None
    per_class: list[tuple[Fraction, dict]] = []
    if head:
        for src in head_tau_sources(widths[-1]):
            per_class += [(tau_for_label(src, y), {**src, "label": y}) for y in range(widths[-1])]
    all_taus = list(ttab) + [t for t, _ in per_class]
    tvals = np.array([float(t) for t in all_taus])
    n_net, n_x = n_params(widths, flags), widths[0]
    batch = numpy_batch_rows(n_net + n_x, batch)
    rng = np.random.default_rng(seed)
    tried = flagged = exact_checked = unchecked = 0
    exact_secs = 0.0
    found: Config | None = None
    t0 = time.perf_counter()
    float_secs = 0.0
    t_first = None
    while tried < max_examples:
        n = min(batch, max_examples - tried)
        tf = time.perf_counter()
        idx = rng.integers(0, len(rtab), size=(n, n_net + n_x), dtype=np.int16)
        if head:  # half the rows use FCC's per-class τ_y, half any τ of the domain
            tidx = np.where(rng.random(n) < 0.5, rng.integers(0, len(ttab), n), len(ttab) + rng.integers(0, len(per_class), n))
        else:
            tidx = rng.integers(0, len(ttab), n)
        vals = rvals[idx]
        tau = tvals[tidx]
        cand = np.flatnonzero(_candidates(prop, _split(vals[:, :n_net], widths, flags), vals[:, n_net:], tau, act))
        float_secs += time.perf_counter() - tf
        tried += n
        flagged += cand.size
        te = time.perf_counter()
        for pos, r in enumerate(cand):
            if exact_seconds is not None and exact_secs + (time.perf_counter() - te) > exact_seconds:
                unchecked += cand.size - pos  # out of re-check time: counted, never passed off as checked
                break
            exact_checked += 1
            vs = [rtab[i] for i in idx[r]]
            t_i = int(tidx[r])
            tau_e, source = (ttab[t_i], {}) if t_i < len(ttab) else per_class[t_i - len(ttab)]
            cfg = Config(network_from_values(widths, act, vs[:n_net], flags), tuple(vs[n_net:]), tau_e, source)
            if prop.adjust is not None:
                cfg = prop.adjust(cfg)
            if not prop.check(cfg, strict).holds:
                found = cfg
                t_first = time.perf_counter() - t0
                break
        exact_secs += time.perf_counter() - te
        if found is not None and stop_at_first:
            break
    tried_to_first = tried if found is None else tried - n + int(r) + 1
    if found is not None and do_simplify:
        found = simplify(prop, found, strict, ttab)
    secs = time.perf_counter() - t0
    res = SearchResult(prop.id, "numpy", strict, seed, widths, act, found, tried_to_first, tried, flagged, secs, t_first)
    res.extra = {
        "candidates_flagged": flagged,
        "exact_checked": exact_checked,
        "exact_unchecked": unchecked,
        "exact_seconds": round(exact_secs, 6),
        "batch_rows": batch,
        "float_seconds": round(float_secs, 6),
        "float_candidates_per_second": round(tried / float_secs, 1) if float_secs > 0 else None,
    }
    return res
