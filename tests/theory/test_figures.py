"""``fcc figures``: every panel's numbers agree with fcc check; rendering is deterministic; --network and bad input."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from fcc.cli import main
from fcc_theory.figures.fig2 import fig2_data
from fcc_theory.figures.fig3 import PANEL_SPECS, fig3_panels, render_fig3, verdict_word
from fcc_theory.figures.multiclass import multiclass_data, render_multiclass
from fcc_theory.figures.render import save
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network


@pytest.fixture(scope="module")
def panels():
    return fig3_panels()


def test_fig3_panels_agree_with_check(panels) -> None:
    assert [p.key for p in panels] == ["a", "b", "c", "d"]
    for p in panels:
        rep = check_configuration(p.net, p.geometry.x, p.geometry.tau)  # recomputed, not the panel's copy
        pm = rep.pair(0, 1)
        g = p.geometry
        assert (g.eta, g.eta_prime, g.s, g.B, g.slab, g.in_slab) == (pm.eta, pm.eta_prime, pm.s, pm.B, pm.slab, pm.in_slab)
        assert p.verdict == verdict_word(rep)
        assert (rep.class_scaled, rep.class_original) == (p.report.class_scaled, p.report.class_original)
        # the verdict in the title is the check's, and the signs of η, η′ decide it (two classes)
        assert f"fcc check: {p.verdict}" in p.title()
        assert p.verdict == ("agree" if (g.eta > 0) == (g.eta_prime > 0) and g.eta != 0 and g.eta_prime != 0 else "DISAGREE")
        # the point is in the slab exactly when the verdict is a disagreement (theory.md §1.2)
        assert g.in_slab == (p.verdict != "agree")


def test_fig3_panels_realise_the_paper_captions(panels) -> None:
    """Caption: (a) above η, η′ below; (b) above η, η′ above; (c) below η, η′ above; (d) below η, η′ below."""
    want = {"a": (True, "eta"), "b": (True, "eta_prime"), "c": (False, "eta_prime"), "d": (False, "eta")}
    for p in panels:
        above, upper = want[p.key]
        assert p.point_above_eta is above and p.geometry.upper_plane == upper
        # B's sign as the paper's Eq. 7 pairs it with the side of η: B < 0 above, B > 0 below
        assert (p.geometry.B < 0) == above
        # η′ below η only with τ < 1, and the title says so
        assert (upper == "eta") == (p.geometry.tau < 1) == ("impossible for τ > 1" in p.title())
    # the failures the paper draws: (b) for τ > 1 and (d), which needs τ < 1; (a) and (c) agree
    verdicts = {p.key: p.verdict for p in panels}
    assert verdicts == {"a": "agree", "b": "DISAGREE", "c": "agree", "d": "DISAGREE"}


def test_fig3_title_catches_a_wrong_verdict(panels) -> None:
    """A mutated configuration (x moved out of the slab) changes the title's verdict."""
    from fcc_theory.figures.fig3 import build_panel, paper_network

    _, cap, netspec, x, tau = PANEL_SPECS[1]
    net = paper_network(*netspec)
    moved = build_panel("b", cap, net, tuple(2 * c for c in x), tau)
    assert moved.verdict == "agree" and "DISAGREE" not in moved.title()


def test_fig2_numbers() -> None:
    d, _cloud, _mult = fig2_data()
    assert d.side2_scaled == d.factor**2 * d.side2
    assert all(b == (d.factor * a[0], d.factor * a[1]) for a, b in zip(d.square, d.square_scaled, strict=True))
    assert d.cloud_distance_ratio == pytest.approx(d.tau_cloud, rel=1e-12)


def test_multiclass_flips_go_toward_larger_bias() -> None:
    d = multiclass_data()
    assert d.grid_flips, "the picture must show flips"
    for f, s, u in d.grid_flips:
        rep = check_configuration(d.net, f, d.tau)
        assert (rep.class_scaled, rep.class_original) == (s, u)
        assert d.b[u] > d.b[s]  # claim C15
    for a in d.arrows:
        n = (d.W[a.unscaled][0] - d.W[a.scaled][0], d.W[a.unscaled][1] - d.W[a.scaled][1])
        dB = d.b[a.unscaled] - d.b[a.scaled]
        lvl = lambda p, n=n: n[0] * p[0] + n[1] * p[1]
        assert lvl(a.start) == -dB / d.tau and lvl(a.end) == -dB  # from the scaled to the unscaled boundary
    # mutation: without biases nothing flips (theory.md §1.5c), so the figure would have no arrows
    nob = multiclass_data(b=(F(0), F(0), F(0)))
    assert nob.grid_flips == () and nob.arrows == ()


def test_rendering_is_deterministic(tmp_path, panels) -> None:
    a = save(render_fig3(panels), tmp_path / "a", "f3", ("png", "svg", "pdf"))
    b = save(render_fig3(fig3_panels()), tmp_path / "b", "f3", ("png", "svg", "pdf"))
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    svg = a[1].read_text()
    assert "<dc:date>" not in svg
    assert b"CreationDate" not in a[2].read_bytes()
    m1 = save(render_multiclass(multiclass_data()), tmp_path / "c", "m", ("png",))[0]
    m2 = save(render_multiclass(multiclass_data()), tmp_path / "d", "m", ("png",))[0]
    assert m1.read_bytes() == m2.read_bytes()


def test_cli_writes_the_whole_set(tmp_path, capsys) -> None:
    assert main(["figures", "--out", str(tmp_path), "--format", "png"]) == 0
    printed = capsys.readouterr().out.split()
    names = sorted(p.rsplit("/", 1)[-1] for p in printed)
    assert names == sorted(["fig3_planes.png", "fig2_scaling.png", "slab_probability.png", "multiclass_head.png"])
    for p in printed:
        data = Path(p).read_bytes()
        # a real picture, bounded in size (a 200-dpi figure of a few inches is well under 2 MB)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(data) < 2_000_000
        assert _png_dpi(data) == 200


def _png_dpi(data: bytes) -> int:
    """The resolution a PNG records in its pHYs chunk (pixels per metre, rounded to dpi)."""
    at = data.index(b"pHYs")
    x_ppm = int.from_bytes(data[at + 4 : at + 8], "big")
    assert data[at + 12] == 1, "pHYs unit is not the metre"
    return round(x_ppm * 0.0254)


PAPER_NET = {
    "activation": "linear",
    "layers": [
        {"weight": [["1", "0", "0"], ["0", "1", "0"], ["0", "0", "1"]], "bias": ["0", "0", "0"]},
        {"weight": [["1", "0", "1"], ["0", "0", "0"]], "bias": ["0", "1"]},
    ],
}


def _write(tmp_path, data, name: str = "net.json") -> str:
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return str(p)


def test_cli_network_draws_the_users_configuration(tmp_path, capsys) -> None:
    net = _write(tmp_path, PAPER_NET)
    out = tmp_path / "out"
    assert main(["figures", "--network", net, "--x", "1/2,0,1/4", "--tau", "2", "--out", str(out), "--format", "png,svg"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (out / "config_net.png").is_file() and (out / "config_net.svg").is_file()
    rep = check_configuration(Network.from_dict(PAPER_NET), [F(1, 2), 0, F(1, 4)], F(2))
    assert lines[-1].endswith(f"verdict (fcc check): {verdict_word(rep)}")
    assert "B < 0" in lines[-1] and rep.agree is False


RELU = dict(PAPER_NET, activation="relu")
TWO_INPUTS = {"activation": "linear", "layers": [{"weight": [["1", "0"], ["0", "1"]], "bias": ["0", "1"]}]}
SAME_ROWS = {"activation": "linear", "layers": [{"weight": [["1", "0", "0"], ["1", "0", "0"]], "bias": ["0", "1"]}]}

BAD = {
    "relu": (RELU, ["--x", "1,0,0", "--tau", "2"], "linear networks only"),
    "two-inputs": (TWO_INPUTS, ["--x", "1,0", "--tau", "2"], "3-input"),
    "no-tau": (PAPER_NET, ["--x", "1,0,0"], "needs --x"),
    "float-tau": (PAPER_NET, ["--x", "1,0,0", "--tau", "x"], "not a rational"),
    "neg-tau": (PAPER_NET, ["--x", "1,0,0", "--tau", "-1"], "not positive"),
    "short-x": (PAPER_NET, ["--x", "1,0", "--tau", "2"], "takes 3"),
    "pair": (PAPER_NET, ["--x", "1,0,0", "--tau", "2", "--pair", "0,5"], "--pair"),
    "pair-syntax": (PAPER_NET, ["--x", "1,0,0", "--tau", "2", "--pair", "a"], "i,j"),
    "no-plane": (SAME_ROWS, ["--x", "1,0,0", "--tau", "2"], "no decision plane"),
    "format": (PAPER_NET, ["--x", "1,0,0", "--tau", "2", "--format", "gif"], "--format"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_bad_input_one_line_exit_2(case: str, tmp_path, capsys) -> None:
    data, extra, needle = BAD[case]
    rc = main(["figures", "--network", _write(tmp_path, data), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("fcc figures: error:") and err.count("\n") == 1 and needle in err, err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_cli_x_without_network(capsys) -> None:
    assert main(["figures", "--x", "1,0,0", "--tau", "2"]) == 2
    assert "give --network" in capsys.readouterr().err
