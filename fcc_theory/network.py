"""Exact fully connected networks (the paper's Eq. 5 generalised).

A network is a list of affine layers ``h -> W h + b`` with one activation
applied *between* layers, never after the last one, so the last layer's
outputs are the class logits (``y_1 .. y_C`` in the paper). The paper's
network is 3-3-2 with a linear hidden layer.

File format (JSON)::

    {"activation": "linear",
     "layers": [{"weight": [["1","0","0"], ...], "bias": ["0","1/2", ...]}, ...]}

Numbers are integers or exact strings ``"p/q"``; ``"bias"`` may be omitted
(zero). ``"leaky_slope"`` (default ``"1/100"``) sets leaky ReLU's slope.

Linear, ReLU and leaky ReLU networks evaluate exactly in rationals. tanh and
sigmoid are transcendental: :meth:`Network.forward_interval` returns certified
enclosures computed with mpmath interval arithmetic, and each endpoint is
converted to a Fraction exactly.

>>> net = Network.from_dict({"activation": "linear", "layers": [
...     {"weight": [["1", "0"], ["0", "1"]], "bias": ["0", "0"]},
...     {"weight": [["1", "-1"], ["0", "0"]], "bias": ["0", "1"]}]})
>>> net.forward([Fraction(3), Fraction(1)])
(Fraction(2, 1), Fraction(1, 1))
>>> net.widths
(2, 2, 2)
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from fcc_theory.errors import UserError
from fcc_theory.limits import MAX_JSON_DEPTH, LimitError, check_exact_size, check_input_file, check_number_text, check_parameters
from fcc_theory.rational import RationalError, format_rational, parse_rational

__all__ = ["ACTIVATIONS", "EXACT_ACTIVATIONS", "Layer", "Network", "NetworkError", "load_network"]

ACTIVATIONS = ("linear", "relu", "leaky_relu", "tanh", "sigmoid")
#: activations whose forward pass stays inside the rationals
EXACT_ACTIVATIONS = ("linear", "relu", "leaky_relu")

Vector = tuple[Fraction, ...]


class NetworkError(UserError):
    """A malformed network or input (one line, names the problem and the fix)."""


@dataclass(frozen=True)
class Layer:
    """One affine map ``h -> weight @ h + bias`` (rows are output units)."""

    weight: tuple[Vector, ...]
    bias: Vector

    @property
    def n_in(self) -> int:
        return len(self.weight[0])

    @property
    def n_out(self) -> int:
        return len(self.weight)

    def apply(self, h: Sequence[Fraction]) -> Vector:
        return tuple(
            sum((w * v for w, v in zip(row, h, strict=True)), Fraction(0)) + b
            for row, b in zip(self.weight, self.bias, strict=True)
        )


@dataclass(frozen=True)
class Network:
    """An exact fully connected network; see the module docstring for the format."""

    activation: str
    layers: tuple[Layer, ...]
    leaky_slope: Fraction = field(default=Fraction(1, 100))

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise NetworkError(f"unknown activation {self.activation!r}; use one of {', '.join(ACTIVATIONS)}")
        if not self.layers:
            raise NetworkError('network has no layers; give at least one {"weight": ..., "bias": ...}')
        for k, (a, b) in enumerate(itertools.pairwise(self.layers)):
            if b.n_in != a.n_out:
                raise NetworkError(
                    f"layer {k + 1} expects {b.n_in} inputs but layer {k} has {a.n_out} outputs; "
                    "each weight matrix needs as many columns as the previous layer has rows"
                )

    # ------------------------------------------------------------------ shape
    @property
    def widths(self) -> tuple[int, ...]:
        """Input width, hidden widths, number of classes."""
        return (self.layers[0].n_in,) + tuple(layer.n_out for layer in self.layers)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_classes(self) -> int:
        return self.layers[-1].n_out

    @property
    def is_exact(self) -> bool:
        return self.activation in EXACT_ACTIVATIONS or len(self.layers) == 1

    @property
    def is_affine(self) -> bool:
        """True when the whole network is one affine map (linear activation or a single layer)."""
        return self.activation == "linear" or len(self.layers) == 1

    def has_hidden_bias(self) -> bool:
        return any(any(b != 0 for b in layer.bias) for layer in self.layers[:-1])

    def parameter_count(self, nonzero_only: bool = False) -> int:
        values = [v for layer in self.layers for row in layer.weight for v in row] + [
            b for layer in self.layers for b in layer.bias
        ]
        return sum(1 for v in values if v != 0) if nonzero_only else len(values)

    # --------------------------------------------------------------- forward
    def _act(self, v: Fraction) -> Fraction:
        if self.activation == "linear":
            return v
        if self.activation == "relu":
            return v if v > 0 else Fraction(0)
        if self.activation == "leaky_relu":
            return v if v > 0 else self.leaky_slope * v
        raise NetworkError(f"activation {self.activation!r} has no exact forward pass; use forward_interval")

    def check_input(self, x: Sequence[Fraction]) -> Vector:
        if len(x) != self.n_inputs:
            raise NetworkError(
                f"input has {len(x)} entries but the network takes {self.n_inputs}; give --x with {self.n_inputs} comma-separated rationals"
            )
        return tuple(parse_rational(v, what="input entry") for v in x)

    def forward(self, x: Sequence[Fraction], tau: Fraction | int = 1) -> Vector:
        """Exact logits of ``tau * x`` (linear, ReLU, leaky ReLU)."""
        h: Vector = tuple(Fraction(tau) * v for v in self.check_input(x))
        check_exact_size(h, "the scaled input tau*x")
        for k, layer in enumerate(self.layers):
            h = layer.apply(h)
            check_exact_size(h, f"layer {k}")
            if k < len(self.layers) - 1:
                h = tuple(self._act(v) for v in h)
        return h

    def forward_interval(
        self, x: Sequence[Fraction], tau: Fraction | int = 1, prec: int = 80
    ) -> tuple[tuple[Fraction, Fraction], ...]:
        """Certified enclosures ``(lo, hi)`` of the logits of ``tau * x``.

        Exact activations give degenerate intervals ``(v, v)``. tanh and
        sigmoid use mpmath's interval arithmetic at ``prec`` bits, so the true
        logit lies in ``[lo, hi]``.
        """
        if self.is_exact:
            return tuple((v, v) for v in self.forward(x, tau))
        from fcc_theory.intervals import LogitEvaluator  # intervals builds on this module

        return tuple(LogitEvaluator(self, self.check_input(x), tau).logit_enclosures(prec))

    # ----------------------------------------------------------- conversion
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "activation": self.activation,
            "layers": [
                {
                    "weight": [[format_rational(v) for v in row] for row in layer.weight],
                    "bias": [format_rational(v) for v in layer.bias],
                }
                for layer in self.layers
            ],
        }
        if self.activation == "leaky_relu":
            out["leaky_slope"] = format_rational(self.leaky_slope)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: Any) -> Network:
        if not isinstance(data, dict):
            raise NetworkError('network file must hold a JSON object with "activation" and "layers"')
        unknown = set(data) - {"activation", "layers", "leaky_slope"}
        if unknown:
            raise NetworkError(f"unknown network key(s) {sorted(unknown)}; allowed: activation, layers, leaky_slope")
        activation = data.get("activation", "linear")
        if not isinstance(activation, str):
            raise NetworkError(f"activation must be a string, one of {', '.join(ACTIVATIONS)}")
        layers_raw = data.get("layers")
        if not isinstance(layers_raw, list) or not layers_raw:
            raise NetworkError('"layers" must be a non-empty list of {"weight": [[...]], "bias": [...]} objects')
        check_parameters(_count_values(layers_raw))  # before parsing: a huge file must not be parsed first
        layers = []
        try:
            for k, raw in enumerate(layers_raw):
                layers.append(_parse_layer(raw, k))
            slope = parse_rational(data.get("leaky_slope", "1/100"), what="leaky_slope")
        except RationalError as exc:
            raise NetworkError(str(exc)) from None
        return cls(activation=activation, layers=tuple(layers), leaky_slope=slope)

    @classmethod
    def from_matrices(
        cls, weights: Sequence[Sequence[Sequence[Any]]], biases: Sequence[Sequence[Any]] | None = None, activation: str = "linear"
    ) -> Network:
        """Build from nested lists of numbers (ints, Fractions or "p/q" strings)."""
        layers = []
        for k, w in enumerate(weights):
            b = biases[k] if biases is not None else None
            layers.append({"weight": [list(r) for r in w], **({"bias": list(b)} if b is not None else {})})
        return cls.from_dict({"activation": activation, "layers": layers})


def _count_values(layers_raw: list[Any]) -> int:
    """Entries of every weight row and bias list, without parsing them."""
    n = 0
    for raw in layers_raw:
        if isinstance(raw, dict):
            for key in ("weight", "bias"):
                rows = raw.get(key)
                if isinstance(rows, list):
                    n += sum(len(r) if isinstance(r, list) else 1 for r in rows)
    return n


def _parse_layer(raw: Any, k: int) -> Layer:
    if not isinstance(raw, dict) or "weight" not in raw:
        raise NetworkError(f'layer {k} must be an object with "weight" (a list of rows) and optional "bias"')
    unknown = set(raw) - {"weight", "bias"}
    if unknown:
        raise NetworkError(f"layer {k} has unknown key(s) {sorted(unknown)}; allowed: weight, bias")
    w = raw["weight"]
    if not isinstance(w, list) or not w or not all(isinstance(r, list) and r for r in w):
        raise NetworkError(f"layer {k} weight must be a non-empty list of non-empty rows")
    ncols = len(w[0])
    for r, row in enumerate(w):
        if len(row) != ncols:
            raise NetworkError(
                f"layer {k} weight is ragged: row {r} has {len(row)} entries, row 0 has {ncols}; every row needs the same length"
            )
    weight = tuple(
        tuple(parse_rational(v, what=f"layer {k} weight[{r}][{c}]") for c, v in enumerate(row)) for r, row in enumerate(w)
    )
    b = raw.get("bias")
    if b is None:
        bias = tuple(Fraction(0) for _ in weight)
    else:
        if not isinstance(b, list) or len(b) != len(weight):
            raise NetworkError(f"layer {k} bias must be a list of {len(weight)} numbers (one per weight row)")
        bias = tuple(parse_rational(v, what=f"layer {k} bias[{i}]") for i, v in enumerate(b))
    return Layer(weight=weight, bias=bias)


def load_network(path: str | Path) -> Network:
    """Read and validate a network file; errors are one-line :class:`NetworkError`."""
    try:
        p = check_input_file(path, "network file")
    except UserError as exc:
        raise NetworkError(str(exc)) from None
    try:
        text = p.read_text()
        depth = _json_depth(text)
        if depth > MAX_JSON_DEPTH:
            raise LimitError(
                f"network file {str(p)!r} nests JSON {depth} levels deep; the limit is {MAX_JSON_DEPTH} (MAX_JSON_DEPTH) "
                'and the format needs 4: {"layers": [{"weight": [[...]]}]}'
            )
        # JSON float literals (0.1) are refused by parse_rational with a one-line "write it as "1/10"" message:
        # the format's numbers are integers or exact strings, and a float in the file is a likely mistake
        data = json.loads(text, parse_float=float, parse_int=_parse_json_int)
    except json.JSONDecodeError as exc:
        raise NetworkError(
            f"network file {str(p)!r} is not valid JSON ({exc.msg} at line {exc.lineno}); fix the syntax"
        ) from None
    except UnicodeDecodeError:
        raise NetworkError(f"network file {str(p)!r} is not text; give a JSON network file") from None
    return Network.from_dict(data)


def _parse_json_int(text: str) -> int:
    check_number_text(text, "a JSON integer")  # before int(): Python refuses over 4,300 digits with a traceback
    return int(text)


def _json_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, outside strings (json.loads recurses once per level)."""
    brackets = _BRACKETS.findall(_STRINGS.sub("", text))
    return max(itertools.accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
