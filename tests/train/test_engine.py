"""The training step's hook order, the LR schedule, host-sync freedom and the eager fallbacks."""

import itertools

import pytest
import torch
import torch.nn as nn

from fcc_train.config import load_config
from fcc_train.fcc import tau_by_class
from fcc_train.methods import DataInfo, Method
from fcc_train.train.engine import Engine
from fcc_train.train.epoch import train_one_epoch
from fcc_train.train.evaluate import evaluate
from fcc_train.train.schedule import lr_at
from fcc_train.train.step import EagerStep, GraphStep


class TinyNet(nn.Module):
    def __init__(self, C=3, d=5, log=None):
        super().__init__()
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(8, d), nn.ReLU())
        self.stages = nn.ModuleList()
        self.lin = nn.Linear(d, C)
        self.feature_dim = d
        self.log = log if log is not None else []

    def head(self, f):
        self.log.append("head")
        return self.lin(f)

    def features(self, x):
        self.log.append("features")
        return self.stem(x)

    def forward(self, x):
        return self.head(self.features(x))


class Loader:
    def __init__(self, log, n_batches=2):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n_batches, 6, 2, 2, 2, generator=g)
        self.y = torch.randint(0, 3, (n_batches, 6), generator=g)
        self.log = log

    def batches(self, probs, gen):
        self.log.append(f"batches({probs})")
        yield from zip(self.x, self.y, strict=True)

    def eval_batches(self):
        yield from zip(self.x, self.y, strict=True)


class Recording(Method):
    def __init__(self, cfg, info, log):
        super().__init__(cfg, info)
        self.log = log

    def on_epoch_start(self, epoch):
        self.log.append("on_epoch_start")

    def epoch_sampling(self, epoch):
        self.log.append("epoch_sampling")
        return None

    def draw_mix(self, n, device, gen):
        self.log.append("draw_mix")
        return None

    def mix_features(self, feats, batch, gen):
        self.log.append("mix_features")
        return feats, batch

    def fcc_tau(self, tau_by_class, batch):
        self.log.append("fcc_tau")
        return super().fcc_tau(tau_by_class, batch)

    def loss(self, logits, batch, epoch):
        self.log.append("loss")
        return super().loss(logits, batch, epoch)


def _force_graphs(monkeypatch):
    """The graphs step on the CPU: CapturedStep follows the device and runs the captured loss uncaptured."""
    monkeypatch.setattr("fcc_train.train.engine.choose_mode", lambda want, on_gpu, world, notes: "graphs")


def _engine(overrides, log):
    cfg = load_config(None, overrides)
    counts = [30, 10, 3]
    model = TinyNet(log=log)
    method = Recording(cfg, DataInfo(counts, cfg.optim.epochs), log)
    return Engine(cfg, model, method, model.parameters(), torch.device("cpu"), tau_by_class(cfg.fcc, counts)), cfg


def test_hook_order_with_and_without_fcc(monkeypatch):
    import fcc_train.train.epoch as epoch_mod

    log = []
    monkeypatch.setattr(epoch_mod, "after_step", lambda model, cfg: log.append("after_step"))
    eng, _ = _engine(["fcc.enabled=true", "fcc.start_epoch=1"], log)
    loader = Loader(log, n_batches=1)
    train_one_epoch(eng, loader, 1, None)  # epoch 1: FCC not yet active
    step = ["draw_mix", "features", "mix_features", "head", "loss", "after_step"]
    assert log == ["on_epoch_start", "epoch_sampling", "batches(None)", *step]
    log.clear()
    train_one_epoch(eng, loader, 2, None)
    assert log == [
        "on_epoch_start",
        "epoch_sampling",
        "batches(None)",
        "draw_mix",
        "features",
        "mix_features",
        "fcc_tau",
        "head",
        "loss",
        "after_step",
    ]
    log.clear()
    evaluate(eng, loader)  # evaluation: no mixing, no τ, no loss
    assert set(log) == {"features", "head"}


def test_epoch_has_no_host_sync_and_trains(monkeypatch):
    log = []
    eng, _ = _engine(["fcc.enabled=true", "fcc.start_epoch=0"], log)
    loader = Loader(log, n_batches=3)
    before = [p.detach().clone() for p in eng.model.parameters()]

    def forbidden(*a, **k):
        raise AssertionError("host synchronisation inside the epoch")

    monkeypatch.setattr(torch.Tensor, "item", forbidden)
    monkeypatch.setattr(torch.Tensor, "tolist", forbidden)
    monkeypatch.setattr(torch.Tensor, "cpu", forbidden)
    loss = train_one_epoch(eng, loader, 1, None)
    monkeypatch.undo()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, eng.model.parameters(), strict=True))


def test_lr_schedule_matches_bot():
    o = load_config(None).optim
    assert lr_at(o, 1) == pytest.approx(0.1 * (1 / 3 * 0.8 + 0.2))  # ≈ 0.0467: BoT's scheduler steps before epoch 1
    assert lr_at(o, 1) == pytest.approx(0.04667, abs=1e-5)
    assert [lr_at(o, e) for e in (4, 5, 6, 159)] == pytest.approx([0.1 * (1 / 3 * 0.2 + 0.8), 0.1, 0.1, 0.1])
    assert [lr_at(o, e) for e in (160, 179, 180, 200)] == pytest.approx([1e-3, 1e-3, 1e-5, 1e-5])
    c = load_config(None, ["optim.schedule=cosine"]).optim
    lrs = [lr_at(c, e) for e in range(1, 201)]
    assert lrs[4] == pytest.approx(0.1) and all(a >= b for a, b in itertools.pairwise(lrs[4:])) and 0 < lrs[-1] < 1e-4
    with pytest.raises(ValueError):
        lr_at(load_config(None, ["optim.schedule=linear"]).optim, 1)


def test_graphs_on_cpu_and_failing_compile_fall_back_to_eager(monkeypatch):
    log = []
    eng, _ = _engine(["train.compile=graphs"], log)
    assert eng.mode == "eager" and any("graphs" in n for n in eng.notes)

    def broken(*a, **k):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(UserWarning, match="torch.compile"):
        eng, _ = _engine(["train.compile=compile"], log)
    assert eng.mode == "eager"
    assert torch.isfinite(train_one_epoch(eng, Loader(log), 1, None))


def test_compiled_forward_failing_at_first_call_falls_back(monkeypatch):
    log = []
    monkeypatch.setattr(torch, "compile", lambda m: lambda *a, **k: (_ for _ in ()).throw(RuntimeError("inductor missing")))
    eng, _ = _engine(["train.compile=compile"], log)
    assert eng.mode == "compile"
    with pytest.warns(UserWarning, match="torch.compile failed"):
        loss = train_one_epoch(eng, Loader(log), 1, None)
    assert eng.mode == "eager" and torch.isfinite(loss)


def test_optimizer_state_roundtrip():
    log = []
    eng, _ = _engine([], log)
    assert all(b is None for b in eng.optimizer_state()["momentum_buffer"])
    train_one_epoch(eng, Loader(log), 1, None)
    st = eng.optimizer_state()
    eng2, _ = _engine([], log)
    eng2.load_optimizer_state(st)
    for a, b in zip(st["momentum_buffer"], eng2.optimizer_state()["momentum_buffer"], strict=True):
        assert torch.equal(a, b)


def test_graphs_mode_optimizer_state_crosses_modes(monkeypatch):
    """The graphs path (ForeachSGD; CapturedStep runs eagerly on CPU) saves and loads momentum like the eager path."""
    log = []
    _force_graphs(monkeypatch)
    g_eng, _ = _engine(["fcc.enabled=true", "fcc.start_epoch=0"], log)
    assert g_eng.mode == "graphs"
    torch.manual_seed(0)
    loss = train_one_epoch(g_eng, Loader(log), 1, None)
    assert torch.isfinite(loss)
    st = g_eng.optimizer_state()
    monkeypatch.undo()
    e_eng, _ = _engine([], log)
    e_eng.load_optimizer_state(st)  # graphs -> eager
    back = e_eng.optimizer_state()
    _force_graphs(monkeypatch)
    g2, _ = _engine([], log)
    g2.load_optimizer_state(back)  # eager -> graphs
    for a, b in zip(st["momentum_buffer"], g2.optimizer_state()["momentum_buffer"], strict=True):
        assert torch.equal(a, b)
    assert any(b.abs().sum() > 0 for b in st["momentum_buffer"])


# -- train.compile=compile_graphs ----------------------------------------------------------------------------


class ImageLoader:
    """``n`` fixed batches of 1×8×8 images (resnet_small's digits shape) with 3 classes."""

    def __init__(self, n=3, size=8, device="cpu"):
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(n, size, 1, 8, 8, generator=g).to(device)
        self.y = torch.randint(0, 3, (n, size), generator=g).to(device)

    def batches(self, probs, gen):
        yield from zip(self.x, self.y, strict=True)

    def eval_batches(self):
        yield from zip(self.x, self.y, strict=True)


def _resnet_engine(overrides, init_seed=0, device="cpu"):
    from fcc_train.methods import build_method
    from fcc_train.models import build_model

    cfg = load_config(None, ["model.arch=resnet_small", "fcc.enabled=true", "fcc.start_epoch=1", *overrides])
    counts = [30, 10, 3]
    torch.manual_seed(init_seed)
    model = build_model(cfg, 3, 1).to(device)
    method = build_method(cfg, DataInfo(counts, cfg.optim.epochs), device)
    return Engine(cfg, model, method, model.parameters(), torch.device(device), tau_by_class(cfg.fcc, counts))


def _assert_same_state(a, b, rtol, atol):
    for (name, p), q in zip(a.model.named_parameters(), b.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=rtol, atol=atol, msg=lambda m, n=name: f"{n}: {m}")
    for (name, p), q in zip(a.model.named_buffers(), b.model.buffers(), strict=True):
        torch.testing.assert_close(p.float(), q.float(), rtol=rtol, atol=atol, msg=lambda m, n=name: f"{n}: {m}")
    for p, q in zip(a.optimizer_state()["momentum_buffer"], b.optimizer_state()["momentum_buffer"], strict=True):
        torch.testing.assert_close(p, q, rtol=rtol, atol=atol)


@pytest.mark.slow  # Inductor's C++ codegen: ~25 s cold, ~4 s with its on-disk cache warm
def test_compile_graphs_on_cpu_trains_like_eager():
    """Inductor's compiled loss (run uncaptured on CPU) + ForeachSGD ends where eager + torch SGD ends.

    Two epochs: epoch 1 without FCC, epoch 2 with it (two phases). The tolerance allows Inductor's own
    reduction order in BN and the mean (fp32, a few ulps per step, amplified slightly over 6 steps).
    """
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    comp = _resnet_engine(["train.compile=compile_graphs"])
    eager = _resnet_engine(["train.compile=none"])
    assert comp.mode == "compile_graphs" and not comp.captured.capture
    assert any("without CUDA graph capture" in n for n in comp.notes)
    init = [p.detach().clone() for p in comp.model.parameters()]
    loader = ImageLoader()
    for epoch in (1, 2):
        lc = train_one_epoch(comp, loader, epoch, None)
        le = train_one_epoch(eager, loader, epoch, None)
        torch.testing.assert_close(lc, le, rtol=1e-4, atol=1e-5)
    assert comp.mode == "compile_graphs", comp.notes  # no silent fallback to eager
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1  # the loss really went through Dynamo/Inductor
    _assert_same_state(comp, eager, rtol=1e-4, atol=1e-5)
    moved = max((p - q).abs().max().item() for p, q in zip(comp.model.parameters(), init, strict=True))
    assert moved > 1e-2  # the comparison is not between two untrained models


def test_compile_graphs_torch_compile_unavailable_falls_back(monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(UserWarning, match="compile_graphs: torch.compile unavailable"):
        eng = _resnet_engine(["train.compile=compile_graphs"])
    assert eng.mode == "eager" and eng.captured is None and isinstance(eng.step, EagerStep)
    assert any("no compiler here" in n for n in eng.notes)
    assert torch.isfinite(train_one_epoch(eng, ImageLoader(), 1, None))


def test_compile_graphs_failing_mid_epoch_falls_back_and_finishes_the_epoch(monkeypatch):
    """The compiled step fails at its 2nd call: that batch and the rest of the epoch train eagerly, once each,
    momentum carries over, and the epoch's mean loss counts every step (same as an all-eager epoch)."""
    calls = []

    def flaky_compile(fn, **kw):
        def run(*a, **k):
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("inductor failed on this graph")
            return fn(*a, **k)

        return run

    monkeypatch.setattr(torch, "compile", flaky_compile)
    comp = _resnet_engine(["train.compile=compile_graphs"])
    eager = _resnet_engine(["train.compile=none"])
    loader = ImageLoader(n=4)
    with pytest.warns(UserWarning, match="compile_graphs: torch.compile or CUDA graph capture failed"):
        lc = train_one_epoch(comp, loader, 1, None)
    le = train_one_epoch(eager, loader, 1, None)
    assert comp.mode == "eager" and len(calls) == 2
    torch.testing.assert_close(lc, le, rtol=1e-5, atol=1e-6)
    _assert_same_state(comp, eager, rtol=1e-5, atol=1e-6)  # 4 steps, not 5: the failed batch is not trained twice


def test_graphs_capture_failure_falls_back_with_momentum(monkeypatch):
    """`graphs` (run uncaptured on CPU here) failing at its first step: the fallback builds torch's SGD and
    trains on (it used to look for ForeachSGD's buffers on the new torch optimiser and crash)."""
    real = GraphStep.traced_loss
    calls = []

    def fails_once(self, *a):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("operation not permitted when stream is capturing")
        return real(self, *a)

    _force_graphs(monkeypatch)
    monkeypatch.setattr(GraphStep, "traced_loss", fails_once)
    eng = _resnet_engine([])
    with pytest.warns(UserWarning, match="graphs: CUDA graph capture failed"):
        loss = train_one_epoch(eng, ImageLoader(), 1, None)
    assert eng.mode == "eager" and isinstance(eng.step.fallback, EagerStep) and torch.isfinite(loss)
    assert all(b is not None for b in eng.optimizer_state()["momentum_buffer"])


def test_compile_graphs_takes_mixup_runs_too():
    eng = _resnet_engine(["train.compile=compile_graphs", "method.mixup=input"])
    assert eng.mode == "compile_graphs" and eng.mixes and not any("eager" in n for n in eng.notes)


# -- mixup in the captured step: draws outside the graph, mixing inside it ---------------------------------

MIXUP_CASES = {
    "input": ["method.mixup=input"],
    "manifold_pool": ["method.mixup=manifold", "method.manifold_layer=pool"],
    "manifold_stage1": ["method.mixup=manifold", "method.manifold_layer=stage1"],
    "remix": ["method.mixup=remix", "method.remix_kappa=3", "method.remix_tau=0.5"],
    "remix_batch_mean_mixed_tau": ["method.mixup=remix", "method.remix_weighting=batch_mean", "fcc.mix_tau=mixed"],
    "input_drw": ["method.mixup=input", "method.loss=ldam", "model.head=linear", "method.drw_start_epoch=1"],
}


def _mixup_engine(monkeypatch, mode, overrides):
    if mode == "graphs":  # CapturedStep follows the device: on the CPU it runs the captured loss uncaptured
        _force_graphs(monkeypatch)
    eng = _resnet_engine([f"train.compile={'none' if mode == 'eager' else 'graphs'}", "method.mixup_alpha=1.0", *overrides])
    monkeypatch.undo()
    return eng


@pytest.mark.parametrize("case", sorted(MIXUP_CASES))
def test_captured_mixup_trains_like_eager(monkeypatch, case):
    """The captured path (λ and the permutation drawn outside, the loss with them as tensors) ends where the
    eager path ends: two epochs, FCC off then on (two phases), each with a fresh λ per step."""
    graphed = _mixup_engine(monkeypatch, "graphs", MIXUP_CASES[case])
    eager = _mixup_engine(monkeypatch, "eager", MIXUP_CASES[case])
    assert graphed.mode == "graphs" and graphed.mixes and eager.mode == "eager"
    loader = ImageLoader()
    for epoch in (1, 2):
        lg = train_one_epoch(graphed, loader, epoch, torch.Generator().manual_seed(epoch))
        le = train_one_epoch(eager, loader, epoch, torch.Generator().manual_seed(epoch))
        torch.testing.assert_close(lg, le, rtol=1e-5, atol=1e-6)
    _assert_same_state(graphed, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # Inductor's C++ codegen, cold: ~40 s
def test_compile_graphs_mixup_compiles_and_trains_like_eager(monkeypatch):
    """torch.compile takes the mixup loss (Remix's weights, FCC's mixed τ) without falling back to eager."""
    torch._dynamo.reset()
    over = ["method.mixup_alpha=1.0", *MIXUP_CASES["remix_batch_mean_mixed_tau"]]
    comp = _resnet_engine(["train.compile=compile_graphs", *over])
    eager = _resnet_engine(["train.compile=none", *over])
    loader = ImageLoader()
    for epoch in (1, 2):
        lc = train_one_epoch(comp, loader, epoch, torch.Generator().manual_seed(epoch))
        le = train_one_epoch(eager, loader, epoch, torch.Generator().manual_seed(epoch))
        torch.testing.assert_close(lc, le, rtol=1e-4, atol=1e-5)
    assert comp.mode == "compile_graphs" and not any("eagerly" in n for n in comp.notes), comp.notes
    _assert_same_state(comp, eager, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("case", ["input", "manifold_stage1", "remix_batch_mean_mixed_tau"])
def test_captured_mixup_loss_takes_new_draws_when_replayed(case, monkeypatch):
    """What a CUDA graph does, on the CPU: trace the mixup loss once (make_fx records tensor ops only, a
    Python float would be frozen into the trace as a graph would freeze it), then run the trace with other
    draws. It must give the loss of those draws; a λ or permutation baked in at trace time would not."""
    from torch.fx.experimental.proxy_tensor import make_fx

    eng = _mixup_engine(monkeypatch, "graphs", MIXUP_CASES[case])
    eng.step.begin_epoch(3)  # FCC on (fcc.start_epoch=1)
    assert eng.step.ctx.fcc_on
    x, y = ImageLoader().x[0], ImageLoader().y[0]
    n = y.shape[0]
    traced = make_fx(lambda *a: eng.step.traced_loss(*a))(x, y, torch.tensor(0.9), torch.arange(n))
    g = torch.Generator().manual_seed(1)
    for lam in (0.2, 0.55):
        perm = torch.randperm(n, generator=g)
        want = eng.step.traced_loss(x, y, torch.tensor(lam), perm)
        torch.testing.assert_close(traced(x, y, torch.tensor(lam), perm), want, rtol=1e-6, atol=1e-7)
        frozen = eng.step.traced_loss(x, y, torch.tensor(0.9), torch.arange(n))
        assert not torch.allclose(want, frozen)  # the draws matter, so a frozen trace would have been caught


@pytest.mark.gpu
def test_compile_graphs_on_cuda_captures_and_trains_like_graphs():
    """On CUDA the compiled step is captured (no fallback, one graph per FCC phase) and ends where `graphs` ends.

    fp32 without TF32: Inductor may lay convolutions out differently from eager, and TF32's 10-bit mantissa
    would then differ by ~1e-3 per step; without it only reduction order differs (BN, the mean)."""
    torch._dynamo.reset()
    over = ["train.precision=fp32", "train.channels_last=true"]
    comp = _resnet_engine(["train.compile=compile_graphs", *over], device="cuda")
    ref = _resnet_engine(["train.compile=graphs", *over], device="cuda")
    loader = ImageLoader(device="cuda")
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        for epoch in (1, 2):
            lc = train_one_epoch(comp, loader, epoch, None)
            lr_ = train_one_epoch(ref, loader, epoch, None)
            torch.testing.assert_close(lc, lr_, rtol=1e-3, atol=1e-4)
    assert comp.mode == "compile_graphs" and len(comp.captured.graphs) == 2, comp.notes
    _assert_same_state(comp, ref, rtol=1e-3, atol=1e-4)


@pytest.mark.gpu
def test_captured_mixup_on_cuda_trains_like_eager(monkeypatch):
    """On CUDA the mixup step is captured once per phase and replayed with each step's draws (fp32, no TF32)."""
    over = [
        "train.precision=fp32",
        "train.channels_last=false",
        "method.mixup_alpha=1.0",
        *MIXUP_CASES["remix_batch_mean_mixed_tau"],
    ]
    graphed = _resnet_engine(["train.compile=graphs", *over], device="cuda")
    eager = _resnet_engine(["train.compile=none", *over], device="cuda")
    assert graphed.mode == "graphs" and graphed.mixes
    loader = ImageLoader(device="cuda")
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        for epoch in (1, 2):
            lg = train_one_epoch(graphed, loader, epoch, torch.Generator(device="cuda").manual_seed(epoch))
            le = train_one_epoch(eager, loader, epoch, torch.Generator(device="cuda").manual_seed(epoch))
            torch.testing.assert_close(lg, le, rtol=1e-3, atol=1e-4)
    assert len(graphed.captured.graphs) == 2 and graphed.mode == "graphs", graphed.notes
    _assert_same_state(graphed, eager, rtol=1e-3, atol=1e-4)
