"""Greedy simplification of an exact counterexample (after Hypothesis's byte-level shrink, or a numpy hit).

Shared by the Hypothesis runner and the vectorised falsifier, so neither imports the other.
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace
from fractions import Fraction
from typing import Any, Callable, Sequence

from fcc_theory.network import Layer
from fcc_theory.search.properties import Config, Property
from fcc_theory.search.strategies import rational_table, tau_table

__all__ = ["SIMPLIFY_SECONDS", "simplify"]

#: wall-clock bound of the greedy simplification (a 3-3000-2 network has 15,000 slots to try)
SIMPLIFY_SECONDS = 10.0


def simplify(
    prop: Property, cfg: Config, strict: bool, taus: Sequence[Fraction] | None = None, max_seconds: float = SIMPLIFY_SECONDS
) -> Config:
    """Greedy simplification of an exact counterexample: replace each parameter, x entry and τ by the simplest
    table value (0 first) that keeps it an exact counterexample, until nothing changes.

    Complements Hypothesis's shrinker (which works on the byte encoding and can stop early); every accepted
    step is an exact re-check, so the result is still a counterexample. Stops after ``max_seconds`` with
    the simplest counterexample reached so far.
    """
    deadline = time.perf_counter() + max_seconds
    table = rational_table()
    fails: Callable[[Config], bool] = lambda c: not prop.check(c, strict).holds
    assert fails(cfg), "simplify needs a counterexample"
    taus = list(taus) if taus is not None else list(tau_table(prop.tau_domain))
    changed = True
    while changed:
        changed = False
        if time.perf_counter() > deadline:
            break
        for _pos, current, setter in _slots(cfg):
            if time.perf_counter() > deadline:
                break
            for v in table:
                if v == current:
                    break
                trial = setter(v)
                if fails(trial):
                    cfg, changed = trial, True
                    break
            if changed:  # the setters hold the old configuration: rebuild them
                break
        if changed:
            continue
        if not cfg.tau_source:  # keep FCC's τ_y as drawn; otherwise try simpler τ of the domain
            for t in taus:
                if t == cfg.tau:
                    break
                trial = replace(cfg, tau=t)
                if fails(trial):
                    cfg, changed = trial, True
                    break
    return cfg


def _slots(cfg: Config) -> list[tuple[Any, Fraction, Callable[[Fraction], Config]]]:
    """Every (position, value, setter) of the network's non-zero parameters and x's non-zero entries."""
    out: list[tuple[Any, Fraction, Callable[[Fraction], Config]]] = []
    layers = cfg.net.layers
    for k, layer in enumerate(layers):
        for r, row in enumerate(layer.weight):
            for c, v in enumerate(row):
                if v != 0:
                    out.append(((k, "w", r, c), v, _weight_setter(cfg, k, r, c)))
        for r, v in enumerate(layer.bias):
            if v != 0:
                out.append(((k, "b", r), v, _bias_setter(cfg, k, r)))
    for i, v in enumerate(cfg.x):
        if v != 0:
            out.append((("x", i), v, functools.partial(_set_x, cfg, i)))
    return out


def _set_x(cfg: Config, i: int, val: Fraction) -> Config:
    return replace(cfg, x=cfg.x[:i] + (val,) + cfg.x[i + 1 :])


def _weight_setter(cfg: Config, k: int, r: int, c: int) -> Callable[[Fraction], Config]:
    def set_(v: Fraction) -> Config:
        L = cfg.net.layers[k]
        row = L.weight[r][:c] + (v,) + L.weight[r][c + 1 :]
        new = Layer(L.weight[:r] + (row,) + L.weight[r + 1 :], L.bias)
        return replace(cfg, net=replace(cfg.net, layers=cfg.net.layers[:k] + (new,) + cfg.net.layers[k + 1 :]))

    return set_


def _bias_setter(cfg: Config, k: int, r: int) -> Callable[[Fraction], Config]:
    def set_(v: Fraction) -> Config:
        L = cfg.net.layers[k]
        new = Layer(L.weight, L.bias[:r] + (v,) + L.bias[r + 1 :])
        return replace(cfg, net=replace(cfg.net, layers=cfg.net.layers[:k] + (new,) + cfg.net.layers[k + 1 :]))

    return set_
