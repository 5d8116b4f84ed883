"""The GPU fast path's optimiser and step, run eagerly on CPU against torch.optim.SGD."""

import copy

import pytest
import torch
import torch.nn.functional as F

from fcc_train.train.graphs import CapturedStep, ForeachSGD


def _models():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.BatchNorm1d(7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    return m, copy.deepcopy(m)


@pytest.mark.parametrize("nesterov", [True, False])
def test_foreach_sgd_matches_torch_sgd(nesterov):
    m, m2 = _models()
    opt = ForeachSGD(list(m.parameters()), lr=0.1, momentum=0.9, weight_decay=2e-4, nesterov=nesterov)
    ref = torch.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4, nesterov=nesterov)
    step = CapturedStep(lambda x, y, s: F.cross_entropy(m(x) * s[:, None], y), opt, [m])
    gen = torch.Generator().manual_seed(1)
    for i in range(6):
        x, y, s = torch.randn(8, 5, generator=gen), torch.randint(0, 3, (8,), generator=gen), torch.rand(8, generator=gen) + 1
        lr = 0.05 * (i + 1)  # the schedule changes a tensor, not the step
        opt.set_lr(lr)
        for g in ref.param_groups:
            g["lr"] = lr
        step(x, y, s)
        ref.zero_grad()
        F.cross_entropy(m2(x) * s[:, None], y).backward()
        ref.step()
    for a, b in zip(m.parameters(), m2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(m.buffers(), m2.buffers(), strict=True):
        torch.testing.assert_close(a, b)


def test_wrong_update_is_caught():
    """A mutated optimiser (no weight decay) must diverge from torch's SGD: the comparison can fail."""
    m, m2 = _models()
    opt = ForeachSGD(list(m.parameters()), lr=0.1, momentum=0.9, weight_decay=0.0)
    ref = torch.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9, weight_decay=0.5, nesterov=True)
    step = CapturedStep(lambda x, y, s: F.cross_entropy(m(x), y), opt, [m])
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    step(x, y, torch.ones(8))
    ref.zero_grad()
    F.cross_entropy(m2(x), y).backward()
    ref.step()
    assert max((a - b).abs().max().item() for a, b in zip(m.parameters(), m2.parameters(), strict=True)) > 1e-4


def test_pop_loss_is_mean_since_last_call():
    m, _ = _models()
    opt = ForeachSGD(list(m.parameters()), lr=0.0, momentum=0.9)
    step = CapturedStep(lambda x, y, s: F.cross_entropy(m(x), y), opt, [m])
    m.eval()  # fixed BN statistics, lr 0: every step sees the same loss
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    expected = F.cross_entropy(m(x), y).item()
    for _ in range(3):
        step(x, y, torch.ones(8))
    assert step.pop_loss().item() == pytest.approx(expected, rel=1e-6)
    assert step.pop_loss().item() == 0.0


@pytest.mark.gpu
def test_cuda_graph_replay_matches_eager():
    m, m2 = _models()
    m, m2 = m.cuda(), m2.cuda()
    opts = [ForeachSGD(list(mm.parameters()), lr=0.1, momentum=0.9, weight_decay=2e-4) for mm in (m, m2)]
    graphed = CapturedStep(lambda x, y, s: F.cross_entropy(m(x) * s[:, None], y), opts[0], [m], capture=True)
    eager = CapturedStep(lambda x, y, s: F.cross_entropy(m2(x) * s[:, None], y), opts[1], [m2], capture=False)
    for _ in range(5):
        x, y, s = torch.randn(8, 5, device="cuda"), torch.randint(0, 3, (8,), device="cuda"), torch.rand(8, device="cuda") + 1
        graphed(x, y, s)
        eager(x, y, s)
    for a, b in zip(m.parameters(), m2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
def test_compiled_loss_cuda_graph_replay_matches_eager():
    """train.compile=compile_graphs: an Inductor-compiled loss (compiled in the warm-up) captured and replayed."""
    torch._dynamo.reset()
    m, m2 = _models()
    m, m2 = m.cuda(), m2.cuda()
    opts = [ForeachSGD(list(mm.parameters()), lr=0.1, momentum=0.9, weight_decay=2e-4) for mm in (m, m2)]
    compiled = torch.compile(lambda x, y, s: F.cross_entropy(m(x) * s[:, None], y), dynamic=False)
    graphed = CapturedStep(compiled, opts[0], [m], capture=True)
    eager = CapturedStep(lambda x, y, s: F.cross_entropy(m2(x) * s[:, None], y), opts[1], [m2], capture=False)
    for _ in range(5):
        x, y, s = torch.randn(8, 5, device="cuda"), torch.randint(0, 3, (8,), device="cuda"), torch.rand(8, device="cuda") + 1
        graphed(x, y, s)
        eager(x, y, s)
    assert len(graphed.graphs) == 1
    for a, b in zip(m.parameters(), m2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(m.buffers(), m2.buffers(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(graphed.pop_loss(), eager.pop_loss(), rtol=1e-4, atol=1e-5)


def test_failed_capture_leaves_the_state_untouched(monkeypatch):
    """A step whose capture fails must not keep the warm-up's updates (the caller falls back to eager from there).

    CPU stand-in for CUDA: the stream/graph calls are no-ops and the 'capture' raises after the warm-up ran."""
    import contextlib

    m, _ = _models()
    opt = ForeachSGD(list(m.parameters()), lr=0.1, momentum=0.9, weight_decay=2e-4)
    step = CapturedStep(lambda x, y, s: F.cross_entropy(m(x), y), opt, [m], capture=True)

    class Stream:
        def wait_stream(self, other):
            pass

    class BadGraph:
        def __init__(self):
            raise RuntimeError("capture failed")

    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda: Stream())
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", BadGraph)
    before = [t.detach().clone() for t in [*m.parameters(), *opt.bufs, *m.buffers(), step.loss_sum]]
    with pytest.raises(RuntimeError, match="capture failed"):
        step(torch.randn(8, 5), torch.randint(0, 3, (8,)), torch.ones(8))
    after = [*m.parameters(), *opt.bufs, *m.buffers(), step.loss_sum]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert step.steps == 0 and not step.graphs
