"""``fcc check``: exact JSON report and the one-line bad-input errors (exit 2, no traceback)."""

from __future__ import annotations

import json

import pytest

from fcc.cli import main

PAPER = {
    "activation": "linear",
    "layers": [
        {"weight": [["1", "0", "0"], ["0", "1", "0"], ["0", "0", "1"]], "bias": ["0", "0", "0"]},
        {"weight": [["1", "0", "0"], ["0", "0", "0"]], "bias": ["0", "1"]},
    ],
}


def _write(tmp_path, data, name="net.json"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(p)


def test_check_json(tmp_path, capsys) -> None:
    rc = main(["check", _write(tmp_path, PAPER), "--x", "3/4,0,0", "--tau", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["logits_scaled"] == ["3/2", "1"] and out["logits_original"] == ["3/4", "1"]
    assert (out["class_scaled"], out["class_original"], out["agree"]) == (0, 1, False)
    pair = {k: out["pairs"][0][k] for k in ("i", "j", "s", "B", "eta", "eta_prime", "slab", "in_slab", "sign_changes")}
    assert pair == {
        "i": 0, "j": 1, "s": "3/4", "B": "-1", "eta": "1/2", "eta_prime": "-1/4", "slab": ["1/2", "1"], "in_slab": True,
        "sign_changes": True,
    }  # fmt: skip
    assert out["argmax_scaled"] == [0] and out["argmax_original"] == [1] and "closed slab" in out["pairs"][0]["rule"]


def test_check_text(tmp_path, capsys) -> None:
    assert main(["check", _write(tmp_path, PAPER), "--x", "3/4,0,0", "--tau", "2"]) == 0
    assert "DISAGREE" in capsys.readouterr().out


def _layers(**kw):
    d = json.loads(json.dumps(PAPER))
    d.update(kw)
    return d


BAD_FILES = {
    "ragged": (_layers(layers=[{"weight": [["1", "0", "0"], ["0", "1"]]}]), "ragged"),
    "widths": (_layers(layers=[{"weight": [["1", "0", "0"]]}, {"weight": [["1", "0"]]}]), "expects 2 inputs"),
    "non-number": (_layers(layers=[{"weight": [["a", "0", "0"]]}]), "not a rational"),
    "activation": (_layers(activation="swish"), "unknown activation"),
    "float": ('{"activation": "linear", "layers": [{"weight": [[0.5, 0, 0]]}]}', "float"),
    "json": ("{", "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_one_line_exit_2(case: str, tmp_path, capsys) -> None:
    data, needle = BAD_FILES[case]
    rc = main(["check", _write(tmp_path, data), "--x", "1,0,0", "--tau", "2"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("fcc check: error:") and needle in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "x, tau, needle",
    [("1,0", "2", "takes 3"), ("a,0,0", "2", "not a rational"), ("1,0,0", "0.5.1", "--tau"), ("1,,0", "2", "--x")],
)
def test_bad_arguments(x: str, tau: str, needle: str, tmp_path, capsys) -> None:
    rc = main(["check", _write(tmp_path, PAPER), "--x", x, "--tau", tau])
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and err.count("\n") == 1


def test_negative_vector_after_option_is_a_value(tmp_path, capsys):
    """`--x -1,0,0` (space, leading minus) is read as the value of --x, not as an unknown option."""
    import json

    from fcc.cli import main

    net = tmp_path / "n.json"
    net.write_text(
        json.dumps({"activation": "linear", "layers": [{"weight": [["1", "0", "0"], ["0", "0", "0"]], "bias": ["0", "1"]}]})
    )
    assert main(["check", str(net), "--x", "-1,0,0", "--tau", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["x"] == ["-1", "0", "0"] and out["logits_scaled"] == ["-3", "1"]


def test_check_compares_argmax_sets_and_states_the_rule(tmp_path, capsys) -> None:
    # logits (2t − 2, 0, 1 − t): argmax {0, 1} at τx = 2, {1, 2} at x = 1
    net = {"activation": "linear", "layers": [{"weight": [["1"], ["0"], ["-1"]], "bias": ["-2", "0", "1"]}]}
    path = _write(tmp_path, net)
    assert main(["check", path, "--x", "1", "--tau", "2"]) == 0
    out = capsys.readouterr().out
    assert "decision: DISAGREE  (argmax {0, 1} at tau*x, {1, 2} at x)" in out and "ties: " in out
    assert main(["check", path, "--x", "1", "--tau=-1"]) == 0
    out = capsys.readouterr().out
    assert "closed slab" not in out and "tau < 0: signs differ iff" in out
    zero = {"activation": "linear", "layers": [{"weight": [["1"], ["1"]], "bias": ["0", "0"]}]}
    assert main(["check", _write(tmp_path, zero, "z.json"), "--x", "0", "--tau", "2"]) == 0
    out = capsys.readouterr().out
    assert (
        "decision: agree" in out
        and "contains s" not in out
        and "B = 0: eta = tau*eta' with tau > 0, the signs never differ" in out
    )
