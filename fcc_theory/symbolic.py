"""The paper's 3-3-2 network in SymPy, and Eqs. 5-9 checked as identities (the "Prove" part of the slides).

The network is built as layers (hidden ``a = W(τx) + b``, linear as in the paper; outputs ``y = N a + z``)
and every derived quantity is read off that network, never typed in:

* ``X_j``  = hidden pre-activation of the *original* feature without its bias: ``a_j(x) - a_j(0)``;
* ``B``    = the logit margin ``y_1 - y_2`` at the input ``x = 0``;
* ``k_j``  = the change of the margin when hidden unit j moves by one (the output layer applied to ``e_j``
  minus the output layer at 0);
* ``s``    = ``Σ k_j X_j``;  ``d_j = -k_j / B``;
* ``η``    = ``y_1 - y_2`` at ``τx``;  ``η'`` = ``y_1' - y_2'`` at ``x``.

The paper's *statements* (what the slides typed: Eq. 5's expansion, ``k_j = n_1j - n_2j``, the written-out
``B``, Eqs. 6-9) live in :class:`PaperStatements`; a test can replace any of them by a wrong variant and
:func:`check_identity` must then fail with an exact point where the two sides differ.

>>> net = PaperNetwork()
>>> check_identity(identity("key_identity", net)).holds
True
>>> bad = PaperStatements(k=lambda net, j: net.n[0, j] + net.n[1, j])  # a mis-stated Eq. 6
>>> check_identity(identity("eq6", net, bad)).holds
False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import sympy as sp

__all__ = [
    "IDENTITY_IDS",
    "Identity",
    "IdentityResult",
    "PaperNetwork",
    "PaperStatements",
    "check_identity",
    "identity",
    "reduction_identities",
]


class PaperNetwork:
    """The 3-3-2 network of the slides with symbols ``w_ij, b_i, n_ji, z_j, x_i, tau`` (indices from 1).

    ``w[i, j]`` is the weight from input j to hidden unit i (the slides' ``w_ij``), ``n[o, j]`` from
    hidden unit j to output o (the slides' ``n_oj``). Built as two layers; the activation between them is
    the identity (the paper's network), so the whole map is affine.
    """

    def __init__(self, n_in: int = 3, n_hidden: int = 3) -> None:
        self.n_in, self.n_hidden = n_in, n_hidden
        self.w = sp.Matrix(n_hidden, n_in, lambda i, j: sp.Symbol(f"w_{i + 1}{j + 1}", real=True))
        self.b = sp.Matrix(n_hidden, 1, lambda i, _: sp.Symbol(f"b_{i + 1}", real=True))
        self.n = sp.Matrix(2, n_hidden, lambda o, j: sp.Symbol(f"n_{o + 1}{j + 1}", real=True))
        self.z = sp.Matrix(2, 1, lambda o, _: sp.Symbol(f"z_{o + 1}", real=True))
        self.x = sp.Matrix(n_in, 1, lambda i, _: sp.Symbol(f"x_{i + 1}", real=True))
        self.tau = sp.Symbol("tau", real=True)
        # the layers, as (weight, bias) pairs, applied in order
        self.layers = [(self.w, self.b), (self.n, self.z)]

    @property
    def symbols(self) -> list[sp.Symbol]:
        """Every unknown of the network, the input and τ (24 for the 3-3-2 network)."""
        out: list[sp.Symbol] = []
        for m in (self.w, self.b, self.n, self.z, self.x):
            out.extend(m)
        return out + [self.tau]

    # -- the network itself ------------------------------------------------------------------
    def hidden(self, inp: sp.Matrix) -> sp.Matrix:
        W, b = self.layers[0]
        return W * inp + b

    def output_layer(self, a: sp.Matrix) -> sp.Matrix:
        N, z = self.layers[1]
        return N * a + z

    def outputs(self, inp: sp.Matrix) -> sp.Matrix:
        """Logits of the input ``inp`` (the linear activation between the layers is the identity)."""
        return self.output_layer(self.hidden(inp))

    def y(self) -> sp.Matrix:
        """``(y_1, y_2)``: the outputs of the multiplied feature ``τx``."""
        return self.outputs(self.tau * self.x)

    def y_prime(self) -> sp.Matrix:
        """``(y_1', y_2')``: the outputs of the original feature ``x``."""
        return self.outputs(self.x)

    # -- quantities derived from the network -----------------------------------------------
    def eta(self) -> sp.Expr:
        y = self.y()
        return y[0] - y[1]

    def eta_prime(self) -> sp.Expr:
        y = self.y_prime()
        return y[0] - y[1]

    def X(self) -> list[sp.Expr]:
        zero = sp.zeros(self.n_in, 1)
        return list(self.hidden(self.x) - self.hidden(zero))

    def B(self) -> sp.Expr:
        out = self.outputs(sp.zeros(self.n_in, 1))
        return sp.expand(out[0] - out[1])

    def k(self) -> list[sp.Expr]:
        zero = sp.zeros(self.n_hidden, 1)
        base = self.output_layer(zero)
        ks = []
        for j in range(self.n_hidden):
            e = sp.zeros(self.n_hidden, 1)
            e[j] = 1
            out = self.output_layer(e) - base
            ks.append(sp.expand(out[0] - out[1]))
        return ks

    def s(self) -> sp.Expr:
        return sum((kj * Xj for kj, Xj in zip(self.k(), self.X(), strict=True)), sp.Integer(0))

    def d(self) -> list[sp.Expr]:
        B = self.B()
        return [-kj / B for kj in self.k()]


def _paper_y(net: PaperNetwork, i: int) -> sp.Expr:
    # Eq. 5 exactly as typed: y_i = Σ_j n_ij (τ w_j1 x_1 + τ w_j2 x_2 + τ w_j3 x_3) + n_ij b_j, + z_i
    t = net.tau
    return (
        sum(
            (
                net.n[i, j] * sum((t * net.w[j, m] * net.x[m] for m in range(net.n_in)), sp.Integer(0)) + net.n[i, j] * net.b[j]
                for j in range(net.n_hidden)
            ),
            sp.Integer(0),
        )
        + net.z[i]
    )


@dataclass
class PaperStatements:
    """The formulas as the slides state them; each field may be replaced to test that a wrong one is caught."""

    y: Callable[[PaperNetwork, int], sp.Expr] = _paper_y
    X: Callable[[PaperNetwork, int], sp.Expr] = lambda net, j: sum(
        (net.w[j, m] * net.x[m] for m in range(net.n_in)), sp.Integer(0)
    )
    k: Callable[[PaperNetwork, int], sp.Expr] = lambda net, j: net.n[0, j] - net.n[1, j]
    B: Callable[[PaperNetwork], sp.Expr] = lambda net: (
        sum((net.n[0, j] * net.b[j] for j in range(net.n_hidden)), sp.Integer(0))
        + net.z[0]
        - (sum((net.n[1, j] * net.b[j] for j in range(net.n_hidden)), sp.Integer(0)) + net.z[1])
    )

    def d(self, net: PaperNetwork, j: int) -> sp.Expr:
        return -self.k(net, j) / self.B(net)

    def eta_eq6(self, net: PaperNetwork) -> sp.Expr:
        return sum((net.tau * self.k(net, j) * self.X(net, j) for j in range(net.n_hidden)), sp.Integer(0)) + self.B(net)

    def eta_prime_eq8(self, net: PaperNetwork) -> sp.Expr:
        return sum((self.k(net, j) * self.X(net, j) for j in range(net.n_hidden)), sp.Integer(0)) + self.B(net)

    def dX(self, net: PaperNetwork) -> sp.Expr:
        return sum((self.d(net, j) * self.X(net, j) for j in range(net.n_hidden)), sp.Integer(0))


@dataclass(frozen=True)
class Identity:
    """``lhs == rhs`` claimed for all values of the symbols where ``condition`` holds."""

    id: str
    text: str
    lhs: tuple[sp.Expr, ...]
    rhs: tuple[sp.Expr, ...]
    condition: str = "none"
    net: PaperNetwork = field(default_factory=PaperNetwork, compare=False, repr=False)


@dataclass(frozen=True)
class IdentityResult:
    holds: bool
    residues: tuple[sp.Expr, ...]
    #: an exact point (symbol name -> Fraction) where some residue is non-zero, when the identity fails
    point: dict[str, Fraction] | None
    #: the residues' denominators: the identity needs them non-zero (e.g. ``B`` for Eqs. 7 and 9)
    denominators: tuple[sp.Expr, ...]


IDENTITY_IDS = ("eq5", "eq6", "eq7", "eq8", "eq9", "key_identity")


def identity(which: str, net: PaperNetwork | None = None, paper: PaperStatements | None = None) -> Identity:
    """The identity behind claim ``which`` (one of :data:`IDENTITY_IDS`), network side vs. the paper's formula."""
    net = net or PaperNetwork()
    p = paper or PaperStatements()
    H = range(net.n_hidden)
    if which == "eq5":
        return Identity(
            which,
            "Eq. 5: y_i = Σ_j n_ij(τ Σ_m w_jm x_m) + n_ij b_j + z_i, i = 1, 2",
            tuple(net.y()),
            (p.y(net, 0), p.y(net, 1)),
            "none",
            net,
        )
    if which == "eq6":
        # three parts: η, and the paper's k_j and B against the ones read off the network
        return Identity(
            which,
            "Eq. 6: η = τ Σ k_j X_j + B, k_j = n_1j − n_2j, B as written",
            (net.eta(), *net.k(), net.B(), *net.X()),
            (p.eta_eq6(net), *(p.k(net, j) for j in H), p.B(net), *(p.X(net, j) for j in H)),
            "none",
            net,
        )
    if which == "eq7":
        # Eq. 7 is the case split of η > 0 ⇔ -B(τ d·X - 1) > 0; the identity below is what makes it valid
        return Identity(
            which,
            "Eq. 7: η = −B(τ Σ d_j X_j − 1), d_j = −k_j/B",
            (net.eta(),),
            (-p.B(net) * (net.tau * p.dX(net) - 1),),
            "B ≠ 0",
            net,
        )
    if which == "eq8":
        return Identity(which, "Eq. 8: η′ = Σ k_j X_j + B", (net.eta_prime(),), (p.eta_prime_eq8(net),), "none", net)
    if which == "eq9":
        return Identity(
            which,
            "Eq. 9: η′ = −B(Σ d_j X_j − 1), so η′ = 0 ⇔ Σ d_j X_j = 1",
            (net.eta_prime(),),
            (-p.B(net) * (p.dX(net) - 1),),
            "B ≠ 0",
            net,
        )
    if which == "key_identity":
        return Identity(
            which, "η − τη′ = (1 − τ)B", (net.eta() - net.tau * net.eta_prime(),), ((1 - net.tau) * net.B(),), "none", net
        )
    raise KeyError(f"unknown identity {which!r}; use one of {', '.join(IDENTITY_IDS)}")


def reduction_identities(net: PaperNetwork | None = None) -> Identity:
    """The compositional reduction: η = τs + B and η′ = s + B with s, B read off the network (Eqs. 6, 8)."""
    net = net or PaperNetwork()
    s, B = net.s(), net.B()
    return Identity("reduction", "η = τs + B, η′ = s + B", (net.eta(), net.eta_prime()), (net.tau * s + B, s + B), "none", net)


def check_identity(ident: Identity) -> IdentityResult:
    """Decide ``lhs == rhs`` exactly: the residues, brought over one denominator, must expand to 0.

    When a residue is non-zero the function returns an exact rational point where it is non-zero, found by
    trying small integer assignments (a non-zero polynomial cannot vanish on all of them).
    """
    residues = []
    dens = set()
    for a, b in zip(ident.lhs, ident.rhs, strict=True):
        num, den = sp.fraction(sp.together(a - b))  # together first: expanding a rational function first is ~10x slower
        num = sp.expand(num)
        if den.free_symbols:
            dens.add(den)
        residues.append(num)
    holds = all(r == 0 for r in residues)
    point = None if holds else _nonzero_point(next(r for r in residues if r != 0), list(dens), ident.net.symbols)
    return IdentityResult(holds, tuple(residues), point, tuple(sorted(dens, key=str)))


def _nonzero_point(expr: sp.Expr, dens: list[sp.Expr], symbols: list[sp.Symbol]) -> dict[str, Fraction]:
    # deterministic sweep over small integer points; Schwartz-Zippel: a non-zero polynomial of degree D
    # vanishes on at most a D/|S| fraction of S^n, so one of these hits quickly
    for trial in range(1, 500):
        vals = {sym: sp.Integer(((trial * 7919 + 31 * i * i + 17 * i) % 7) - 3) for i, sym in enumerate(symbols)}
        if expr.subs(vals) != 0 and all(d.subs(vals) != 0 for d in dens):
            return {str(k): Fraction(int(v)) for k, v in vals.items()}
    raise RuntimeError("no point found where a non-zero residue is non-zero; enlarge the sweep")  # pragma: no cover
