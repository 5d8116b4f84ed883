"""fcc analyze: bad input, figures from constructed data, and one real digits-LT run end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from fcc.cli import main
from fcc_train.analysis.figures import fig2b_feature_scaling, fig4a_strategies, fig4b_recall, fig6_boundary, pca_2d


def _one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for w in words:
        assert w in err[0]
    return err[0]


def test_missing_run_dir_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "nope")]) == 2
    _one_line_error(capsys, "fcc analyze: error:", "does not exist")


def test_run_dir_without_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"")
    assert main(["analyze", str(tmp_path)]) == 2
    _one_line_error(capsys, "no checkpoints/best.pt", "--checkpoint last")


def test_no_arguments_and_flags_without_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze"]) == 2
    _one_line_error(capsys, "RUN_DIR")
    assert main(["analyze", "--strategies", str(tmp_path)]) == 2
    _one_line_error(capsys, "--figures")


def test_strategies_need_fcc_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--strategies", str(tmp_path / "none"), "--figures", str(tmp_path / "f")]) == 2
    _one_line_error(capsys, "does not exist")


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_figures_are_written_and_deterministic(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    N, d, C = 60, 5, 3
    F = np.abs(rng.normal(size=(N, d))).astype(np.float32)
    y = rng.integers(0, C, N)
    W = rng.normal(size=(C, d)).astype(np.float32)
    b = rng.normal(size=C).astype(np.float32)
    tau = [1.5, 1.25, 1.0]
    for k in range(2):
        out = tmp_path / str(k)
        paths = [
            fig2b_feature_scaling(F, y, tau, 0, out / "a.png"),
            fig4b_recall([90.0, 50.0, None], [85.0, 60.0, 20.0], [100, 30, 5], out / "b.png"),
            fig6_boundary(
                [
                    {"title": "raw", "features": F, "labels": y, "weight": W, "bias": b, "tau": None},
                    {"title": "fcc", "features": F, "labels": y, "weight": W, "bias": b, "tau": tau},
                ],
                0,
                2,
                out / "c.png",
            ),
            fig4a_strategies(
                [
                    {"strategy": s, "gamma": g, "mean": 20 + g + i, "std": 0.5, "n": 3}
                    for i, s in enumerate(["uniform", "edc", "half β=0"])
                    for g in (0.1, 0.5, 1.0)
                ],
                {"mean": 22.0, "std": 1.0, "n": 3},
                out / "d.png",
            ),
        ]
        for p in paths:
            assert p.is_file() and p.stat().st_size > 5000
    for name in ("a.png", "b.png", "c.png", "d.png"):
        assert _digest(tmp_path / "0" / name) == _digest(tmp_path / "1" / name)


def test_pca_signs_fixed_and_projection_right() -> None:
    X = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 1e-3]])
    mu, comps = pca_2d(X)
    assert np.allclose(mu, X.mean(0)) and comps[0, 0] > 0.99
    _mu2, comps2 = pca_2d(-X)
    assert np.allclose(comps, comps2)


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two short real digits-LT runs (raw and FCC), a few epochs each on one CPU thread."""
    models = pytest.importorskip("fcc_train.models")
    if not hasattr(models, "build_model"):
        pytest.skip("fcc_train.models.build_model is not written yet")
    root = tmp_path_factory.mktemp("runs")
    sets = ["optim.epochs=3", "optim.warmup_epochs=1", "optim.milestones=[2]", "fcc.start_epoch=1", "train.progress=none"]
    out = {}
    for name, cfg in (("raw", "configs/digits/ce.yaml"), ("fcc", "configs/digits/ce_fcc.yaml")):
        assert main(["train", "--config", cfg, "--out", str(root / name), "--device", "cpu", "--set", *sets]) == 0
        out[name] = root / name
    return out


def test_analyze_real_run_prediction_matches_measurement(
    digits_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    rep_path = tmp_path / "rep.json"
    figs = tmp_path / "figs"
    code = main(
        [
            "analyze",
            str(digits_runs["fcc"]),
            "--json",
            "--out",
            str(rep_path),
            "--figures",
            str(figs),
            "--compare",
            str(digits_runs["raw"]),
            "--strategies",
            str(digits_runs["fcc"]),
            str(digits_runs["raw"]),
        ]
    )
    js = json.loads(rep_path.read_text())
    assert code == 0 and js["ok"]
    n = js["num_points"]
    assert n > 0 and js["identity"]["exact_holds"] == n
    for m in js["modes"].values():
        assert m["agree_exact"] == n and m["mismatches"] == []
        assert m["flips_predicted"] == m["flips_measured_exact"]
        assert m["direction"]["violations"] == 0
        # every float32 disagreement with exact arithmetic is within the rounding bound
        assert all(fm["explained_by_rounding"] for fm in m["float_mismatches"])
    # the recomputed error is the one the run stored for this checkpoint
    assert js["meta"]["recomputed_error"] == pytest.approx(js["meta"]["stored_error"], abs=1e-6)
    for name in ("fig2b_feature_scaling.png", "fig4b_recall.png", "fig6_boundary.png", "fig4a_strategies.png"):
        assert (figs / name).is_file()
    # the text report names the verdict
    assert main(["analyze", str(digits_runs["raw"]), "--checkpoint", "last"]) == 0
    assert "verdict: theory and exact measurement agree" in capsys.readouterr().out
