"""The Hypothesis engine of ``fcc search``: draw configurations, find a counterexample, shrink it, replay it.

A ``@given`` test runs inside :func:`search_hypothesis` with the user's seed (``hypothesis.seed``), no
example database and quiet output; the test raises on a counterexample and records it, so after
Hypothesis's shrink phase the last recorded configuration is the minimal one (Hypothesis replays the
shrunk example last). Every reported counterexample is re-checked exactly with
:func:`fcc_theory.margins.check_configuration`, the function behind ``fcc check``.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hyp_seed
from hypothesis import strategies as st

from fcc_theory.errors import UserError
from fcc_theory.limits import MAX_HYPOTHESIS_PARAMETERS, LimitError, check_parameters
from fcc_theory.margins import check_configuration
from fcc_theory.rational import format_rational
from fcc_theory.search.properties import Config, Property, head_tau_sources, tau_for_label
from fcc_theory.search.strategies import decode, n_params, network_from_values, rational_table, tau_table

__all__ = ["SearchResult", "config_strategy", "counterexample_json", "search_hypothesis", "validate"]


@dataclass
class SearchResult:
    """What ``fcc search`` reports: the (shrunk) counterexample or none, and the effort it took."""

    claim: str
    engine: str
    strict: bool
    seed: int
    widths: tuple[int, ...]
    activation: str
    counterexample: Config | None
    examples: int  # configurations tried up to the first counterexample (or in total when none was found)
    examples_total: int  # every evaluation, shrinking included
    premise_hits: int
    seconds: float
    seconds_to_first: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def examples_per_second(self) -> float:
        return self.examples_total / self.seconds if self.seconds > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "claim": self.claim,
            "engine": self.engine,
            "strict": self.strict,
            "seed": self.seed,
            "widths": list(self.widths),
            "activation": self.activation,
            "found": self.counterexample is not None,
            "examples": self.examples,
            "examples_total": self.examples_total,
            "premise_hits": self.premise_hits,
            "seconds": round(self.seconds, 6),
            "seconds_to_first": None if self.seconds_to_first is None else round(self.seconds_to_first, 6),
            "examples_per_second": round(self.examples_per_second, 1),
            "counterexample": None if self.counterexample is None else counterexample_json(self.counterexample),
        }
        if self.engine == "numpy":  # the float filter sees candidates, not premises: see candidates_flagged
            del out["premise_hits"]
        out.update(self.extra)
        return out


def counterexample_json(cfg: Config) -> dict[str, Any]:
    """The network in ``fcc_theory.network``'s format plus x and τ as rational strings, and the exact replay."""
    rep = check_configuration(cfg.net, cfg.x, cfg.tau)
    out = {
        "network": cfg.net.to_dict(),
        "x": [format_rational(v) for v in cfg.x],
        "tau": format_rational(cfg.tau),
        "nonzero_parameters": cfg.net.parameter_count(nonzero_only=True),
        "check": rep.to_json(),
    }
    if cfg.tau_source:
        out["tau_source"] = cfg.tau_source
    return out


def validate(prop: Property, widths: Sequence[int], activation: str, tau_range: tuple[Fraction, Fraction] | None) -> None:
    """Refuse settings a claim does not allow (one line naming the fix)."""
    if activation not in prop.activations:
        raise UserError(f"claim {prop.id} is about {'/'.join(prop.activations)} networks; use --activation {prop.activations[0]}")
    if len(widths) < 2 or min(widths) < 1:
        raise UserError(
            f"--widths needs at least an input width and a class count, all >= 1, e.g. 3,3,2; got {','.join(map(str, widths))}"
        )
    if widths[-1] < 2:
        raise UserError(f"--widths must end with at least 2 classes (the claims compare class 0 with class 1); got {widths[-1]}")
    check_parameters(sum(a * b + b for a, b in itertools.pairwise(widths)) + widths[0], "--widths")
    if prop.kind == "paper" and len(widths) != 3:
        raise UserError(
            f"claim {prop.id} uses the paper's symbols of a network with one hidden layer; give 3 widths such as 3,3,2"
        )
    if prop.kind == "head" and len(widths) != 2:
        raise UserError(f"claim {prop.id} is about a linear head (features -> classes); give 2 widths such as 3,4")
    if prop.kind in ("relu", "tanh") and len(widths) < 3:
        raise UserError(f"claim {prop.id} needs a hidden layer; give at least 3 widths such as 3,3,2")
    if tau_range is not None:
        lo, hi = tau_range
        dom = prop.tau_domain
        ok = {
            "gt1": lo >= 1,
            "pos": lo >= 0,
            "lt1": lo >= 0 and hi < 1,
            "neg": hi < 0,
            "zero": False,
        }[dom]
        if not ok or hi <= lo:
            need = {"gt1": "tau > 1", "pos": "tau > 0", "lt1": "0 < tau < 1", "neg": "tau < 0", "zero": "tau = 0 (no range)"}[dom]
            raise UserError(
                f"--tau-range {format_rational(lo)},{format_rational(hi)} is not allowed for claim {prop.id}, which needs {need}; "
                "give LO,HI with LO < HI inside that set (tau is drawn from (LO, HI])"
            )


def config_strategy(
    prop: Property,
    widths: Sequence[int] | None = None,
    activation: str | None = None,
    tau_range: tuple[Fraction, Fraction] | None = None,
    density: str = "any",
) -> st.SearchStrategy[Config]:
    """Configurations for a claim: networks with the claim's biases and activation, x, and τ from its domain.

    The whole configuration is ONE ``st.binary`` draw decoded byte by byte (parameters, x, τ): Hypothesis's
    cost is per draw, so this is what reaches hundreds of examples per second. Head claims
    draw τ two ways: FCC's τ_y (Eqs. 2-4 with a drawn strategy, γ, β and label y, recorded in
    ``Config.tau_source``) or any τ in the claim's domain.
    """
    widths = tuple(widths or prop.default_widths)
    act = activation or prop.activations[0]
    n_layers = len(widths) - 1
    flags: tuple[bool, ...] = {
        "all": (True,) * n_layers,
        "none": (False,) * n_layers,
        "hidden": (True,) * (n_layers - 1) + (False,),
    }[prop.biases]
    lo, hi = tau_range if tau_range is not None else (None, None)
    ttable = tau_table(prop.tau_domain, lo, hi)
    rtable = rational_table(density=density)
    sparse = density == "sparse"
    n_net, n_x = n_params(widths, flags), widths[0]
    head = prop.kind == "head" and tau_range is None
    sources = head_tau_sources(widths[-1]) if head else []
    size = n_net + n_x + 1 + (3 if head else 0)

    def build(raw: bytes) -> Config:
        vals = decode(rtable, raw[: n_net + n_x], sparse)
        net = network_from_values(widths, act, vals[:n_net], flags)
        x = vals[n_net:]
        tau, source = ttable[(raw[n_net + n_x] * len(ttable)) >> 8], {}
        if head and raw[-3] >= 128:  # half the draws use FCC's per-class τ_y
            src = sources[(raw[-2] * len(sources)) >> 8]
            label = (raw[-1] * widths[-1]) >> 8
            tau, source = tau_for_label(src, label), {**src, "label": label}
        cfg = Config(net, tuple(x), tau, source)
        return prop.adjust(cfg) if prop.adjust is not None else cfg

    return st.binary(min_size=size, max_size=size).map(build)


class _Found(Exception):
    """Raised inside the @given test on a counterexample (caught by the runner)."""


def search_hypothesis(
    prop: Property,
    widths: Sequence[int] | None = None,
    activation: str | None = None,
    *,
    strict: bool = False,
    max_examples: int = 1000,
    seed: int = 0,
    tau_range: tuple[Fraction, Fraction] | None = None,
    density: str = "any",
    shrink: bool = True,
) -> SearchResult:
    """Search for a counterexample with Hypothesis (seeded, reproducible) and shrink it."""
    widths = tuple(widths or prop.default_widths)
    act = activation or prop.activations[0]
    validate(prop, widths, act, tau_range)
    size = sum(a * b + b for a, b in itertools.pairwise(widths)) + widths[0]
    if size > MAX_HYPOTHESIS_PARAMETERS:
        raise LimitError(
            f"--widths {','.join(map(str, widths))} gives {size} values per draw; the hypothesis engine's limit is "
            f"{MAX_HYPOTHESIS_PARAMETERS} (MAX_HYPOTHESIS_PARAMETERS): use smaller widths or --engine numpy"
        )
    strategy = config_strategy(prop, widths, act, tau_range, density)
    state: dict[str, Any] = {"calls": 0, "first": None, "first_t": None, "premise": 0, "last": None}

    def test(cfg: Config) -> None:
        state["calls"] += 1
        out = prop.check(cfg, strict)
        if out.premise and state["first"] is None:
            state["premise"] += 1
        if not out.holds:
            if state["first"] is None:
                state["first"], state["first_t"] = state["calls"], time.perf_counter() - t0
            state["last"] = cfg
            raise _Found

    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    cfg_settings = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    run = hyp_seed(seed)(cfg_settings(given(strategy)(test)))
    t0 = time.perf_counter()
    with contextlib.suppress(_Found):
        run()
    secs = time.perf_counter() - t0
    found: Config | None = state["last"]
    if found is not None and prop.check(found, strict).holds:  # the replay must fail exactly again
        raise RuntimeError(f"the shrunk counterexample to {prop.id} did not replay; please report this")
    if found is not None and shrink:
        from fcc_theory.search.simplify import simplify  # after Hypothesis's byte-level shrink, simplify values

        found = simplify(prop, found, strict, tau_table(prop.tau_domain, *(tau_range or (None, None))))
        secs = time.perf_counter() - t0
    return SearchResult(
        prop.id,
        "hypothesis",
        strict,
        seed,
        widths,
        act,
        found,
        state["first"] if found is not None else state["calls"],
        state["calls"],
        state["premise"],
        secs,
        state["first_t"],
    )
