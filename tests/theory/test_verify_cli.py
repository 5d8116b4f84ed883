"""``fcc verify``: JSON/table output, exit codes, and every refuted claim's witness replayed by ``fcc check``."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import time

import pytest

from fcc.cli import main
from fcc_theory.claims import CLAIM_IDS, CLAIMS
from fcc_theory.decide import Decision


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def verify_json() -> tuple[int, list, float]:
    t0 = time.perf_counter()
    rc, out, _ = _run(["verify", "--json"])
    return rc, json.loads(out), time.perf_counter() - t0


def test_json_shape_exit_and_time(verify_json) -> None:
    rc, rows, _secs = verify_json
    assert rc == 0  # the wall time is measured by benchmarks/bench_verify.py, never asserted
    assert [r["id"] for r in rows] == list(CLAIM_IDS)
    for r in rows:
        assert {"id", "verdict", "method", "seconds", "witness", "paper"} <= set(r)
        assert r["verdict"] in ("proved", "refuted", "vacuous")
        assert (r["witness"] is not None) == (r["verdict"] == "refuted")


def test_every_witness_replays_with_fcc_check(verify_json, tmp_path) -> None:
    _, rows, _ = verify_json
    refuted = [r for r in rows if r["verdict"] == "refuted"]
    assert len(refuted) >= 4
    for r in refuted:
        w = r["witness"]
        net = {k: w[k] for k in ("activation", "layers", "leaky_slope") if k in w}
        path = tmp_path / f"{r['id']}.json"
        path.write_text(json.dumps(net))
        rc, out, err = _run(["check", str(path), "--x=" + ",".join(w["x"]), "--tau=" + w["tau"], "--json"])
        assert rc == 0, err
        assert json.loads(out) == w["check"], r["id"]  # the same exact margins (and intervals for tanh)


def test_witness_dir_writes_replayable_files(tmp_path) -> None:
    rc, out, _ = _run(["verify", "--claims", "target", "--witness-dir", str(tmp_path)])
    assert rc == 0 and "replay: fcc check" in out
    line = next(ln for ln in out.splitlines() if "replay:" in ln).split("replay: fcc ")[1].split()
    rc2, out2, _ = _run(line + ["--json"])
    rep = json.loads(out2)
    assert rc2 == 0 and rep["class_scaled"] == 0 and rep["class_original"] != 0


def test_table_subset() -> None:
    rc, out, _ = _run(["verify", "--claims", "target,b_zero"])
    assert rc == 0
    assert "target" in out and "refuted" in out and "b_zero" in out and "eq5 " not in out
    assert "2 claims in" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--claims", "foo"], "valid ids: eq5"),
        (["--claims", ","], "valid ids"),
        (["--timeout", "0"], "--timeout"),
        (["--timeout", "abc"], "--timeout"),
    ],
)
def test_bad_input_exit_2(argv: list[str], needle: str) -> None:
    rc, _out, err = _run(["verify", *argv])
    assert rc == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_unknown_gives_exit_1(monkeypatch) -> None:
    forced = dataclasses.replace(CLAIMS["b_zero"], decide=lambda t: Decision("unknown", 0.0, "forced for the test"))
    monkeypatch.setitem(CLAIMS, "b_zero", forced)
    rc, out, _ = _run(["verify", "--claims", "b_zero,target"])
    assert rc == 1 and "unknown" in out


def test_cross_check_and_equations_flags() -> None:
    rc, out, _ = _run(["verify", "--claims", "tau_zero,target", "--cross-check", "--timeout", "20", "--equations"])
    assert rc == 0
    assert "k_1 = n_11 - n_21" in out and "B = " in out  # derived from the network, printed
    assert out.count("cross-check (full network):") == 2
    rc, out, _ = _run(["verify", "--claims", "tau_zero", "--cross-check", "--timeout", "20", "--json"])
    assert json.loads(out)[0]["cross_check"]["verdict"] == "proved"
