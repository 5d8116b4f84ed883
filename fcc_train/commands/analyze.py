"""``fcc analyze RUN_DIR``: check a trained head against the theory (theory.md §1.5(c), §1.6).

Loads the run's checkpoint, rebuilds its data and model, extracts the pooled
test features f and the head (W, b), and decides exactly (``fcc_train.analysis.head_theory``):
the bias-rescaling identity on every feature, which test points change class
between scaled evaluation (τ of the label, or of the predicted class) and
unscaled evaluation as predicted by the pairwise slabs, and whether the
measured flips (exact, and in the model's own float32) match point for point.
Exit status: 0 when theory and exact measurement agree everywhere, 1 when not.

With ``--figures DIR`` it draws Fig. 2(b) and, given ``--compare RAW_RUN``,
Fig. 4(b) and Fig. 6; ``--strategies RUN...`` draws Fig. 4(a) from finished
runs of the three strategies and several γ (RUN_DIR may then be omitted).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np

from fcc_theory.errors import UserError

__all__ = ["add_arguments", "run", "LoadedRun", "load_run", "format_report", "strategy_entries"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="a run folder written by fcc train")
    parser.add_argument("--split", choices=("test", "train"), default="test", help="features of which split (default test)")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best", help="which checkpoint (default best)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--out", default=None, metavar="FILE", help="also write the JSON report to FILE")
    parser.add_argument(
        "--figures", default=None, metavar="DIR", help="draw Fig. 2(b) (+ 4(b), 6 with --compare; 4(a) with --strategies)"
    )
    parser.add_argument(
        "--compare", default=None, metavar="RAW_RUN", help="a run without FCC (same data) for Fig. 4(b) and Fig. 6"
    )
    parser.add_argument(
        "--strategies", nargs="+", default=None, metavar="RUN", help="finished runs (or folders of them) for Fig. 4(a)"
    )
    parser.add_argument("--class", dest="cls", type=int, default=None, help="class of Fig. 2(b) (default: the majority class)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")


@dataclass
class LoadedRun:
    """A run's checkpoint applied to one split: unscaled features, labels and the evaluated head."""

    path: Path
    cfg: Any
    epoch: int
    features: np.ndarray  # float32 (N, d)
    labels: np.ndarray  # int64 (N,)
    class_counts: list[int]
    weight: np.ndarray | None  # effective linear head (C, d) float32, None for a non-linear head
    bias: np.ndarray | None
    head_kind: str
    float_head: Callable[[np.ndarray], np.ndarray]
    stored_error: float | None
    dataset: str


def _effective_head(head: Any, cfg: Any) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """(W, b) of the head the evaluation uses: plain linear, LWS (diag(s)·W, s·b) or τ-norm (w_j/||w_j||^p)."""
    import torch

    if cfg.model.head == "cosine" or not isinstance(getattr(head, "weight", None), torch.Tensor):
        return None, None, type(head).__name__
    W = head.weight.detach().float()
    b = getattr(head, "bias", None)
    b = None if b is None else b.detach().float()
    kind = "linear"
    if hasattr(head, "scale") and isinstance(head.scale, torch.Tensor):  # LWS: logits_j = s_j (w_j·f + b_j)
        s = head.scale.detach().float()
        W, b, kind = W * s[:, None], None if b is None else b * s, "linear (LWS scales folded in)"
    if cfg.stage.head_transform == "tau_norm":
        from fcc_train.methods.two_stage import tau_normalise

        W, kind = tau_normalise(W, cfg.stage.tau_norm_p), "linear (tau-normalised weights)"
    return W.numpy().astype(np.float32), None if b is None else b.numpy().astype(np.float32), kind


def load_run(run_dir: str | Path, checkpoint: str = "best", split: str = "test", device: str = "cpu") -> LoadedRun:
    """Rebuild a run's data and model from its checkpoint and extract features on ``split``."""
    p = Path(run_dir)
    if not p.is_dir():
        raise UserError(f"run folder '{p}' does not exist; pass a folder written by fcc train (e.g. runs/digits_ce_fcc)")
    ck = p / "checkpoints" / f"{checkpoint}.pt"
    if not ck.is_file():
        have = sorted(x.stem for x in (p / "checkpoints").glob("*.pt")) if (p / "checkpoints").is_dir() else []
        hint = f" (it has: {', '.join(have)}; use --checkpoint {have[0]})" if have else "; train it first with fcc train"
        raise UserError(f"run folder '{p}' has no checkpoints/{checkpoint}.pt{hint}")
    import torch

    from fcc_train.data import build_datasets
    from fcc_train.methods import eval_head
    from fcc_train.train.restore import restore_model

    dev = torch.device(device)
    model, cfg, state, _ = restore_model(ck, device=dev)
    torch.set_num_threads(max(1, cfg.train.threads))
    data = build_datasets(cfg)
    net = eval_head(model, cfg)
    # the loader's own unaugmented, normalised batches (the same preprocessing as evaluation)
    from fcc_train.data import make_loader

    loader = make_loader(data, cfg, dev)
    batches = loader.eval_batches() if split == "test" else loader.train_eval_batches()
    feats, labs = [], []
    with torch.no_grad():
        for x, y in batches:
            feats.append(model.features(x).float().cpu())
            labs.append(y.cpu())
    labels = torch.cat(labs) if labs else torch.zeros(0, dtype=torch.long)
    F = torch.cat(feats).numpy().astype(np.float32) if feats else np.zeros((0, 0), np.float32)
    head = getattr(net, "model", net).head
    W, b, kind = _effective_head(head, cfg)
    if cfg.stage.head_transform == "tau_norm":  # the evaluated head is TauNormModel's functional linear map
        Wt = torch.from_numpy(W).to(dev)
        bt = None if b is None else torch.from_numpy(b).to(dev)

        def fh(x: np.ndarray) -> np.ndarray:
            return torch.nn.functional.linear(torch.from_numpy(x).to(dev), Wt, bt).cpu().numpy()
    else:

        def fh(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return head(torch.from_numpy(np.ascontiguousarray(x)).to(dev)).float().cpu().numpy()

    stored = None
    if split == "test":
        rec = state.get("best") if checkpoint == "best" else state.get("last_eval")
        stored = (rec or {}).get("top1_error")
    return LoadedRun(
        p,
        cfg,
        int(state.get("epoch", 0)),
        F,
        labels.numpy().astype(np.int64),
        list(map(int, data.class_counts)),
        W,
        b,
        kind,
        fh,
        stored,
        data.name,
    )


def _recall(pred: np.ndarray, labels: np.ndarray, C: int) -> list[float | None]:
    out: list[float | None] = []
    for c in range(C):
        m = labels == c
        out.append(100.0 * float((pred[m] == c).mean()) if m.any() else None)
    return out


def strategy_entries(paths: list[str], metric: str = "best") -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Fig. 4(a) data: mean ± std of top-1 error per (strategy, γ) over seeds, and the raw runs' band."""
    from fcc_train.results.run_results import Stats, find_runs

    runs = find_runs(paths)
    groups: dict[tuple[str, float], list[float]] = {}
    raw: list[float] = []
    for r in runs:
        f = r.config.get("fcc", {})
        e = r.error(metric)
        if e is None:
            continue
        if not f.get("enabled"):
            raw.append(e)
            continue
        strat = f.get("strategy", "edc") + (f" β={f.get('beta', 0)}" if f.get("strategy") == "half" else "")
        groups.setdefault((strat, float(f.get("gamma"))), []).append(e)
    if not groups:
        raise UserError("--strategies: none of the runs has FCC enabled; pass runs of the uniform/edc/half configs")
    entries = []
    for (s, g), v in sorted(groups.items()):
        st = Stats.of(v)
        entries.append({"strategy": s, "gamma": g, "mean": st.mean, "std": st.std, "n": st.n})
    rs = Stats.of(raw)
    return entries, ({"mean": rs.mean, "std": rs.std, "n": rs.n} if raw else None)


def format_report(rep: dict[str, Any], meta: dict[str, Any]) -> str:
    """The human-readable report (the JSON holds everything)."""
    L = []
    L.append(
        f"run {meta['run']} ({meta['checkpoint']}.pt, epoch {meta['epoch']}), {meta['dataset']} {meta['split']} split: "
        f"{rep['num_points']} points, {rep['num_classes']} classes, head {meta['head']}"
        + (" without bias" if rep["bias_free"] else " with bias")
        + f", d = {meta['feature_dim']}"
    )
    L.append("tau per class: " + " ".join(rep["tau"]) + "   (training counts: " + " ".join(map(str, rep["class_counts"])) + ")")
    if meta.get("stored_error") is not None:
        L.append(
            f"top-1 error stored by fcc train {meta['stored_error']:.2f} %, recomputed here (float32) {meta['recomputed_error']:.2f} %"
        )
    idf = rep["identity"]
    fl = f", float32 {idf['float_holds']}/{idf['points']}" if idf["float_holds"] is not None else ""
    L.append(f"identity argmax(tau*Wf + b) = argmax(Wf + b/tau): exact {idf['exact_holds']}/{idf['points']}{fl}")
    for name, m in rep["modes"].items():
        what = "tau of the true class" if name == "true" else "tau of the predicted (unscaled) class"
        L.append(
            f"[{name}] scaled by {what}: flips predicted by the slabs {m['flips_predicted']}, measured exactly "
            f"{m['flips_measured_exact']}, in float32 {m['flips_measured_float']}; prediction = measurement on "
            f"{m['agree_exact']}/{m['points']} points; float32 disagrees with exact on {len(m['float_mismatches'])}"
        )
        d = m["direction"]
        L.append(
            f"    direction: {d['flips']} flips, {d['bias_larger_unscaled']} to the class with the larger bias, "
            f"{d['violations']} against it, {d['ties']} through a tie; {d['toward_more_frequent']} toward the more frequent class"
        )
        if m["transitions"]:
            L.append("    transitions (scaled -> unscaled class): " + ", ".join(f"{k} x{v}" for k, v in m["transitions"].items()))
        L.append(
            f"    top-1 error: scaled {m['top1_error_scaled']:.2f} %, unscaled {m['top1_error_unscaled']:.2f} %;"
            f" points where some class pair changes order (in a slab): {m['in_any_slab']}"
        )
        L.append(
            f"    {'split':7} {'points':>6} {'flips':>5} {'in slab':>7} {'right unscaled':>14} {'right scaled':>12} {'fixed':>5} {'broken':>6}"
        )
        for sp, v in m["by_split"].items():
            L.append(
                f"    {sp:7} {v['points']:>6} {v['flips_exact']:>5} {v['in_any_slab']:>7} {v['correct_unscaled']:>14} "
                f"{v['correct_scaled']:>12} {v['flips_fixing']:>5} {v['flips_breaking']:>6}"
            )
        for mm in m["mismatches"][:10]:
            L.append(f"    MISMATCH {json.dumps(mm)}")
        for mm in m["float_mismatches"][:10]:
            L.append(f"    float32 vs exact: {json.dumps(mm)}")
    bd = rep["slab_width"]["boundary_distance"]
    L.append(
        "slab width per class (feature space, pairs (c, j) at tau_c): class tau min / median / max;"
        " beside it the median distance of the class's test points to their nearest decision boundary"
    )
    for pc, md in zip(rep["slab_width"]["per_class"], bd["median_per_class"]):
        med = "n/a" if md is None else f"{md:.4g}"
        L.append(f"    {pc['class']:>3} {pc['tau']:>6} {pc['min']:.4g} / {pc['median']:.4g} / {pc['max']:.4g}   distance {med}")
    bv = rep["bias_vs_frequency"]
    rho = "n/a" if bv["spearman_rank_corr"] is None else f"{bv['spearman_rank_corr']:+.2f}"
    L.append(
        f"bias vs training count: the more frequent class has the larger bias in {bv['pairs_more_frequent_has_larger_bias']}"
        f"/{bv['pairs_compared']} pairs (rank correlation {rho})"
    )
    for n in rep["notes"]:
        L.append(f"note: {n}")
    L.append(
        "verdict: "
        + (
            "theory and exact measurement agree on every point"
            if rep["ok"]
            else "THEORY AND MEASUREMENT DISAGREE (see MISMATCH lines)"
        )
    )
    return "\n".join(L)


def run(args: argparse.Namespace) -> int:
    if args.run_dir is None and not args.strategies:
        raise UserError("give a RUN_DIR (a folder written by fcc train), or --strategies RUN... with --figures DIR for Fig. 4(a)")
    if (args.strategies or args.compare) and not args.figures:
        raise UserError("--strategies and --compare draw figures; add --figures DIR")
    figs = Path(args.figures) if args.figures else None
    written: list[str] = []
    code = 0
    if args.strategies:
        from fcc_train.analysis.figures import fig4a_strategies

        entries, raw = strategy_entries(args.strategies)
        written.append(str(fig4a_strategies(entries, raw, figs / "fig4a_strategies.png")))  # type: ignore[operator]
    if args.run_dir is not None:
        code = _analyze(args, figs, written)
    for w in written:
        print(f"wrote {w}", file=sys.stderr if args.json else sys.stdout)
    return code


def _analyze(args: argparse.Namespace, figs: Path | None, written: list[str]) -> int:
    from fcc_train.analysis.head_theory import analyze_head
    from fcc_train.fcc import tau_by_class, tau_fractions

    lr = load_run(args.run_dir, args.checkpoint, args.split, args.device)
    cfg = lr.cfg
    if lr.weight is None:
        raise UserError(
            f"run '{lr.path}' has a {lr.head_kind} head; the slab theory covers linear heads "
            "(a cosine head normalises f, so tau cancels and no point can change class)"
        )
    taus: list[Fraction] = tau_fractions(cfg.fcc, lr.class_counts)
    t32 = tau_by_class(cfg.fcc, lr.class_counts).numpy()
    rep = analyze_head(
        lr.features, lr.labels, lr.weight, lr.bias, taus, lr.class_counts, float_head=lr.float_head, float_taus=t32
    )
    js = rep.to_json()
    pred = np.argmax(lr.float_head(lr.features), axis=1)
    meta = {
        "run": str(lr.path),
        "checkpoint": args.checkpoint,
        "epoch": lr.epoch,
        "split": args.split,
        "dataset": lr.dataset,
        "head": lr.head_kind,
        "feature_dim": int(lr.features.shape[1]),
        "fcc_enabled": bool(cfg.fcc.enabled),
        "stored_error": lr.stored_error,
        "recomputed_error": 100.0 * float((pred != lr.labels).mean()),
    }
    if not cfg.fcc.enabled:
        js["notes"].append("this run trained without FCC; tau is the config's (unused) strategy, applied hypothetically")
    js["meta"] = meta
    if figs is not None:
        written.extend(_figures(args, lr, rep, figs, pred))
        js["figures"] = written
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(js, indent=1))
    print(json.dumps(js, indent=1) if args.json else format_report(js, meta))
    return 0 if rep.ok else 1


def _figures(args: argparse.Namespace, lr: LoadedRun, rep: Any, figs: Path, pred: np.ndarray) -> list[str]:
    from fcc_train.analysis.figures import fig2b_feature_scaling, fig4b_recall, fig6_boundary

    C = len(lr.class_counts)
    taus = [float(t) for t in rep.taus]
    order = sorted(range(C), key=lambda c: (-lr.class_counts[c], c))
    cls = order[0] if args.cls is None else args.cls
    if not 0 <= cls < C:
        raise UserError(f"--class {cls} is not a class id; use 0..{C - 1}")
    out = [str(fig2b_feature_scaling(lr.features, lr.labels, taus, cls, figs / "fig2b_feature_scaling.png"))]
    if args.compare:
        raw = load_run(args.compare, args.checkpoint, args.split, args.device)
        if raw.class_counts != lr.class_counts or len(raw.labels) != len(lr.labels) or not np.array_equal(raw.labels, lr.labels):
            raise UserError(f"--compare run '{raw.path}' was trained on different data; compare runs of the same data config")
        pr = np.argmax(raw.float_head(raw.features), axis=1)
        out.append(
            str(fig4b_recall(_recall(pr, raw.labels, C), _recall(pred, lr.labels, C), lr.class_counts, figs / "fig4b_recall.png"))
        )
        panels = []
        if raw.weight is not None:
            panels.append(
                {
                    "title": f"without compression ({raw.path.parent.name}/{raw.path.name})",
                    "features": raw.features,
                    "labels": raw.labels,
                    "weight": raw.weight,
                    "bias": raw.bias,
                    "tau": None,
                }
            )
        panels.append(
            {
                "title": f"with compression ({lr.path.parent.name}/{lr.path.name})",
                "features": lr.features,
                "labels": lr.labels,
                "weight": lr.weight,
                "bias": lr.bias,
                "tau": taus,
            }
        )
        out.append(str(fig6_boundary(panels, order[0], order[-1], figs / "fig6_boundary.png")))
    return out
