"""plane_order under both readings: along d vacuous, along a fixed axis refuted with an exact network."""

from __future__ import annotations

from fractions import Fraction

from fcc_theory.claims import CLAIMS, run_claim
from fcc_theory.network import Network
from fcc_theory.plane_readings import axis_network, fixed_axis_reading, fixed_axis_violated
from fcc_theory.rational import parse_rational

F = Fraction


def test_two_readings_two_verdicts() -> None:
    readings = run_claim(CLAIMS["plane_order"]).decision.extra["readings"]
    assert readings["along_d"]["verdict"] == "vacuous" and readings["fixed_axis"]["verdict"] == "refuted"


def test_fixed_axis_witness_replays_and_a_corrupted_one_is_rejected() -> None:
    r = fixed_axis_reading()
    w = r["witness"]
    net = Network.from_dict({k: w[k] for k in ("activation", "layers")})
    x, tau = tuple(parse_rational(v) for v in w["x"]), parse_rational(w["tau"])
    rep = fixed_axis_violated(net, x, tau)
    assert rep is not None and rep.pair(0, 1).eta > 0 and rep.pair(0, 1).eta_prime <= 0
    d = net.to_dict()
    d["layers"][1]["weight"][0][2] = str(-parse_rational(d["layers"][1]["weight"][0][2]))  # k_3 flipped: η′ above η
    assert fixed_axis_violated(Network.from_dict(d), x, tau) is None


def test_along_the_axis_with_d3_positive_the_order_is_the_d_order() -> None:
    # d_3 > 0 (k_3 > 0 for B < 0): "η′ below η along X_3" is impossible for τ > 1, as along d
    net, x = axis_network(F(1), F(-2), F(1))
    assert fixed_axis_violated(net, x, F(3)) is None
