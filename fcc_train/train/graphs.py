"""A training step captured once as a CUDA graph and replayed (the GPU fast path).

At batch 128 a ResNet-32 step is a few hundred tiny kernels, so eager PyTorch
is bound by launch latency (``benchmarks/bench_gpu_variants.py`` measures it). This module captures forward, backward and the SGD update as one
graph per *phase* (FCC on/off, or any method state that changes the traced
code) and replays it. The data path stays outside the graph: the loader's
batch is copied into static buffers (one kernel), so samplers and
augmentation keep their own generators.

The optimiser is SGD with momentum, Nesterov and weight decay written with
``torch._foreach_*`` ops and a device tensor for the learning rate, so the
learning-rate schedule changes a tensor, not the graph. It is numerically the
same update as ``torch.optim.SGD`` (tested on CPU, where the same step runs
eagerly):

    g ← ∇ + wd·p;  buf ← m·buf + g;  g ← g + m·buf (Nesterov);  p ← p − lr·g

``loss_fn`` may be a ``torch.compile``-d function (``train.compile:
compile_graphs``): its first call, in the warm-up below, runs Dynamo and
Inductor (and AOTAutograd lowers the backward at the first backward), so the
capture records the compiled kernels and nothing compiles inside it. On CUDA
a failed warm-up or capture leaves the parameters, momentum, buffers and loss
sum as they were before it, so the caller can fall back to an eager step.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["CapturedStep", "ForeachSGD"]


class ForeachSGD:
    """SGD (momentum, dampening 0, optional Nesterov, L2 weight decay) with a tensor learning rate."""

    def __init__(
        self, params: list[torch.nn.Parameter], lr: float, momentum: float = 0.9, weight_decay: float = 0.0, nesterov: bool = True
    ) -> None:
        self.params: list[torch.Tensor] = [p for p in params if p.requires_grad]
        dev = self.params[0].device
        self.lr = torch.tensor(float(lr), device=dev)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.bufs = [torch.zeros_like(p) for p in self.params]

    def set_lr(self, lr: float) -> None:
        self.lr.fill_(float(lr))

    @torch.no_grad()
    def step_with(self, grads: list[torch.Tensor]) -> None:
        g = [gi.float() if gi.dtype != p.dtype else gi for gi, p in zip(grads, self.params, strict=True)]
        if self.weight_decay:
            g = list(torch._foreach_add(g, self.params, alpha=self.weight_decay))
        # torch.optim.SGD starts buf at the first gradient; with buf = 0, m·0 + g is the same value
        torch._foreach_mul_(self.bufs, self.momentum)
        torch._foreach_add_(self.bufs, g)
        g = list(torch._foreach_add(g, self.bufs, alpha=self.momentum)) if self.nesterov else [b.clone() for b in self.bufs]
        torch._foreach_mul_(g, self.lr)
        torch._foreach_sub_(self.params, g)

    def state_dict(self) -> dict:
        return {"lr": float(self.lr), "bufs": [b.clone() for b in self.bufs]}

    def load_state_dict(self, state: dict) -> None:
        self.lr.fill_(state["lr"])
        for b, s in zip(self.bufs, state["bufs"], strict=True):
            b.copy_(s)


class CapturedStep:
    """``step(x, y, scale, ...)``: one training step; on CUDA replays a captured graph.

    ``loss_fn(*inputs) -> loss`` runs the model (features, per-sample FCC
    scale, head, the method's loss); it must not synchronise with the host or
    branch on tensor values. The inputs are device tensors, copied into the
    graph's static inputs before each replay: the batch, the FCC scale and, for
    mixup, the step's λ and pairing permutation (drawn outside the graph, so
    every replay mixes differently). ``phase`` keys distinct graphs (e.g. FCC
    on/off); every call of one phase passes inputs of the same shapes.
    The summed loss of the replays stays on the device in ``loss_sum``.
    """

    def __init__(
        self,
        loss_fn: Callable[..., torch.Tensor],
        opt: ForeachSGD,
        modules: list[torch.nn.Module],
        capture: bool | None = None,
        warmup: int = 3,
    ) -> None:
        self.loss_fn, self.opt, self.modules = loss_fn, opt, modules
        self.device = opt.params[0].device
        self.capture = (self.device.type == "cuda") if capture is None else capture
        self.warmup = warmup
        self.graphs: dict[object, tuple[torch.cuda.CUDAGraph, tuple[torch.Tensor, ...]]] = {}
        self.loss_sum = torch.zeros((), device=self.device)
        self.steps = 0

    def _eager(self, *inputs: torch.Tensor) -> torch.Tensor:
        loss = self.loss_fn(*inputs)
        grads = torch.autograd.grad(loss, self.opt.params)
        self.opt.step_with(list(grads))
        return loss.detach()

    def _snapshot(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        tensors = list(self.opt.params) + list(self.opt.bufs) + [self.loss_sum]
        for m in self.modules:
            tensors += list(m.buffers())
        return [t.detach().clone() for t in tensors], tensors

    def _build(self, phase: object, inputs: tuple[torch.Tensor, ...]) -> None:
        static = tuple(t.clone() for t in inputs)
        saved, live = self._snapshot()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        try:
            # warm-up runs (and torch.compile's compilation) allocate workspaces outside the graph
            with torch.cuda.stream(side):
                for _ in range(self.warmup):
                    self._eager(*static)
            torch.cuda.current_stream().wait_stream(side)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                out = self._eager(*static)
                self.loss_sum.add_(out)
        finally:
            torch.cuda.current_stream().wait_stream(side)
            with torch.no_grad():  # the warm-up and capture (or a failed attempt) must not count as training
                for t, s in zip(live, saved, strict=True):
                    t.copy_(s)
        self.graphs[phase] = (g, static)

    def __call__(self, *inputs: torch.Tensor, phase: object = 0) -> None:
        if not self.capture:
            self.loss_sum.add_(self._eager(*inputs))
            self.steps += 1
            return
        if phase not in self.graphs:
            self._build(phase, inputs)
        g, static = self.graphs[phase]
        if len(static) != len(inputs):
            raise ValueError(f"phase {phase!r} was captured with {len(static)} inputs, this step passes {len(inputs)}")
        for s, t in zip(static, inputs, strict=True):
            s.copy_(t)
        g.replay()
        self.steps += 1

    def peek_loss(self) -> torch.Tensor:
        """Mean loss of the epoch's steps so far, as a device tensor (no reset, no host sync)."""
        return self.loss_sum / max(self.steps, 1)

    def pop_loss(self) -> torch.Tensor:
        """Mean loss since the last call, as a device tensor (no host sync)."""
        out = self.loss_sum / max(self.steps, 1)
        self.loss_sum.zero_()
        self.steps = 0
        return out
