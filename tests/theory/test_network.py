"""fcc_theory.network: the JSON format, exact forward passes, certified intervals, one-line errors."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest

from fcc_theory.network import Network, NetworkError, load_network

F = Fraction


def paper_net(**kw: object) -> dict:
    d = {
        "activation": "linear",
        "layers": [
            {"weight": [["1", "0", "0"], ["0", "1", "0"], ["0", "0", "1"]], "bias": ["0", "0", "0"]},
            {"weight": [["1", "0", "0"], ["0", "0", "0"]], "bias": ["0", "1"]},
        ],
    }
    d.update(kw)
    return d


def test_exact_forward_and_widths() -> None:
    net = Network.from_dict(paper_net())
    assert net.widths == (3, 3, 2)
    assert net.forward([F(3, 4), 0, 0], 2) == (F(3, 2), F(1))
    assert net.is_affine and net.is_exact and not net.has_hidden_bias()
    assert Network.from_dict(json.loads(net.to_json())) == net


def test_relu_and_leaky_exact() -> None:
    layers = [{"weight": [["1"], ["-1"]], "bias": ["0", "0"]}, {"weight": [["1", "1"]], "bias": ["0"]}]
    relu = Network.from_dict({"activation": "relu", "layers": layers})
    leaky = Network.from_dict({"activation": "leaky_relu", "layers": layers, "leaky_slope": "1/10"})
    assert relu.forward([F(-2)]) == (F(2),)
    assert leaky.forward([F(-2)]) == (F(2) - F(2, 10),)
    assert not relu.is_affine


@pytest.mark.parametrize("act, fn", [("tanh", math.tanh), ("sigmoid", lambda u: 1 / (1 + math.exp(-u)))])
def test_interval_encloses_true_value(act: str, fn) -> None:
    net = Network.from_dict({"activation": act, "layers": [{"weight": [["1/2"], ["2"]]}, {"weight": [["1", "-1"]]}]})
    ((lo, hi),) = net.forward_interval([F(1)], F(3, 2))
    true = fn(0.75) - fn(3.0)
    assert lo <= F(true) + F(1, 10**12) and F(true) - F(1, 10**12) <= hi
    assert hi - lo < F(1, 10**15)
    with pytest.raises(NetworkError):
        net.forward([F(1)])


@pytest.mark.parametrize(
    "data, needle",
    [
        (paper_net(activation="softplus"), "unknown activation"),
        ({"activation": "linear", "layers": [{"weight": [["1", "0"], ["1"]]}]}, "ragged"),
        ({"activation": "linear", "layers": [{"weight": [["1", "0"]]}, {"weight": [["1", "0"]]}]}, "expects 2 inputs"),
        ({"activation": "linear", "layers": [{"weight": [["one"]]}]}, "not a rational"),
        ({"activation": "linear", "layers": [{"weight": [[0.5]]}]}, "float"),
        ({"activation": "linear", "layers": [{"weight": [["1"]], "bias": ["1", "2"]}]}, "bias"),
        ({"activation": "linear", "layers": []}, "non-empty"),
        ({"activation": "linear", "layers": [{"weight": [["1"]]}], "extra": 1}, "unknown network key"),
        ([1, 2], "JSON object"),
    ],
)
def test_malformed_networks_one_line(data: object, needle: str) -> None:
    with pytest.raises(NetworkError) as exc:
        Network.from_dict(data)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_load_network_errors(tmp_path) -> None:
    with pytest.raises(NetworkError, match="does not exist"):
        load_network(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(NetworkError, match="not valid JSON"):
        load_network(bad)
    flt = tmp_path / "float.json"
    flt.write_text('{"activation": "linear", "layers": [{"weight": [[0.1]]}]}')
    with pytest.raises(NetworkError, match='float; write it as an exact string such as "1/10"'):
        load_network(flt)
    inf = tmp_path / "inf.json"
    inf.write_text('{"activation": "linear", "layers": [{"weight": [[1e400]]}]}')
    with pytest.raises(NetworkError, match="not a finite number"):
        load_network(inf)
    dec = tmp_path / "dec.json"
    dec.write_text('{"activation": "linear", "layers": [{"weight": [["0.25"]]}]}')
    assert load_network(dec).layers[0].weight[0][0] == F(1, 4)  # a decimal *string* is read exactly


def test_input_length_checked() -> None:
    with pytest.raises(NetworkError, match="takes 3"):
        Network.from_dict(paper_net()).forward([F(1)])
