"""One training epoch and one evaluation pass — no file I/O, no printing.

The step follows the hook order of ``fcc_train/methods/base.py`` exactly::

    probs = method.epoch_sampling(epoch)            # once per epoch
    for x, y in loader.batches(probs, gen):         # augmented on the device
        batch  = method.mix_inputs(Batch(x, y), gen)
        feats  = model.features(batch.images)
        feats, batch = method.mix_features(feats, batch, gen)
        if fcc_active(epoch): feats = feats * method.fcc_tau(tau_by_class, batch)[:, None]   # Eq. 1
        logits = model.head(feats)
        loss   = method.loss(logits, batch, epoch)
        optimizer step; fcc_train.methods.after_step(model, cfg)

Speed (issue 8): the summed loss stays on the device (one host sync per
epoch, for the NaN check); bf16 autocast + channels_last on CUDA
(``train.precision: fp32`` / ``train.channels_last: false`` switch them
off); fp32 on CPU. ``train.compile``:

* ``graphs`` captures the whole step (forward, backward, ForeachSGD) as a CUDA
  graph (:mod:`fcc_train.train.graphs`, one graph per FCC/DRW phase);
* ``compile_graphs`` is ``graphs`` with the loss (features → FCC scale → head
  → method loss) compiled by ``torch.compile`` (Inductor, default mode; its
  AOTAutograd backward comes with it): Inductor's fused BN/ReLU/add/cast
  kernels replace the many small eager ones and our own CUDA graph captures
  the compiled step, so the replay has no launch gaps. Compilation happens in
  :class:`~fcc_train.train.graphs.CapturedStep`'s warm-up, before the capture. On
  CPU the compiled step runs without capture (a test path for the compiled
  numerics, with a note);
* ``compile`` runs the forward through ``torch.compile`` in the eager loop;
* ``none`` (= ``eager``) is plain PyTorch;
* ``auto`` picks ``graphs`` on CUDA with one process and eager otherwise.

``graphs`` and ``compile_graphs`` need one process (``graphs`` also needs
CUDA); otherwise the run is eager with a note. Mixup runs are captured too:
each step's λ and pairing permutation are drawn outside the graph
(``method.draw_mix``) and enter it as device tensors, like the batch, and the
mixing, FCC's per-sample τ and the mixed loss run inside it
(``method.apply_mix``). Any failure to compile or capture falls back to eager
with a note (the momentum carries over).

Learning rate (recipes.md §2, BoT's ``WarmupMultiStepLR`` stepped before
each epoch): epoch e (1-based) trains at
``lr · w(e) · decay^{#milestones ≤ e}``, ``w(e) = f + (1 − f)·e/W`` for
``e < W`` else 1 (f = 1/3, W = 5): epoch 1 trains at 0.0467, epochs ≥ 5 at
0.1, epoch 160 at 1e-3 and epoch 180 at 1e-5.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import torch
import torch.nn as nn

from fcc_train.train.distributed import all_gather_cat, world_size
from fcc_train.fcc import fcc_active
from fcc_train.methods import Batch, Method, after_step, eval_head

if TYPE_CHECKING:
    from fcc_train.config import Config, OptimConfig

__all__ = ["lr_at", "NaNLossError", "Engine", "train_one_epoch", "evaluate", "CAPTURED_MODES"]

# modes whose step is a graphed.CapturedStep with a ForeachSGD optimiser
CAPTURED_MODES = ("graphs", "compile_graphs")


class NaNLossError(RuntimeError):
    """The epoch's mean training loss is not finite."""


def lr_at(optim: OptimConfig, epoch: int) -> float:
    """Learning rate of training epoch ``epoch`` (1-based): BoT warmup, then steps (×decay at each milestone) or cosine."""
    w = optim.warmup_epochs
    warm = optim.warmup_start_factor + (1 - optim.warmup_start_factor) * epoch / w if epoch < w else 1.0
    if optim.schedule == "step":
        return optim.lr * warm * optim.lr_decay ** sum(epoch >= m for m in optim.milestones)
    if optim.schedule == "cosine":
        # after warmup, half a cosine from lr (epoch W) towards 0 (never reached: the last epoch keeps a small lr)
        start = min(w, optim.epochs)
        t = max(epoch - start, 0) / max(optim.epochs - start + 1, 1)
        return optim.lr * warm * 0.5 * (1 + math.cos(math.pi * t))
    raise ValueError(f"unknown optim.schedule '{optim.schedule}'; use step or cosine")


def _resolve_auto(value: str, on_gpu: bool) -> bool:
    return on_gpu if value == "auto" else str(value).lower() in ("true", "1", "yes", "on")


class TrainForward(nn.Module):
    """features → mix_features → FCC scale → head, as one module (so DDP sees one forward)."""

    def __init__(self, model: nn.Module, method: Method, tau_by_class: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.method = method
        self.register_buffer("tau_by_class", tau_by_class, persistent=False)

    def forward(self, batch: Batch, gen: torch.Generator | None, fcc_on: bool) -> tuple[torch.Tensor, Batch]:
        feats = self.model.features(batch.images)
        feats, batch = self.method.mix_features(feats, batch, gen)
        if fcc_on:  # Eq. 1: training only, per-sample τ by gather
            feats = feats * self.method.fcc_tau(self.tau_by_class, batch)[:, None].to(feats.dtype)
        return self.model.head(feats), batch


class Engine:
    """The model, method, optimiser and numerics of one run (built once, reused every epoch)."""

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        method: Method,
        params: Iterable[nn.Parameter],
        device: torch.device,
        tau_by_class: torch.Tensor,
        notes: list[str] | None = None,
    ) -> None:
        self.cfg, self.model, self.method, self.device = cfg, model, method, device
        self.notes = notes if notes is not None else []
        on_gpu = device.type == "cuda"
        prec = cfg.train.precision
        self.amp_dtype = torch.bfloat16 if (prec == "bf16" or (prec == "auto" and on_gpu)) else None
        self.channels_last = _resolve_auto(cfg.train.channels_last, on_gpu)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        self.params = [p for p in params if p.requires_grad]
        o = cfg.optim
        self.forward_module: nn.Module = TrainForward(model, method, tau_by_class.to(device))
        self.mixes = cfg.method.mixup != "none"
        self._fcc_on = False  # read by the captured mixup loss; FCC on/off is part of the graph's phase
        self.mode = self._choose_mode(cfg.train.compile, on_gpu)
        self.captured = None
        if self.mode in CAPTURED_MODES:
            from fcc_train.train.graphs import CapturedStep, ForeachSGD

            self.optimizer: Any = ForeachSGD(
                self.params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=o.nesterov
            )
            plain_loss = self._graph_mix_loss if self.mixes else self._graph_loss
            loss_fn = plain_loss
            if self.mode == "compile_graphs":
                try:  # lazy: Inductor compiles at the first call, i.e. in CapturedStep's warm-up before the capture
                    loss_fn = torch.compile(plain_loss, dynamic=False)
                except Exception as exc:  # torch.compile missing or unsupported here
                    loss_fn, err = None, f"{type(exc).__name__}: {exc}"
                    why = f"train.compile=compile_graphs: torch.compile unavailable ({err}); training eagerly"
            # on CPU the step runs uncaptured (CapturedStep's capture follows the device)
            self.captured = CapturedStep(loss_fn or plain_loss, self.optimizer, [model])
            if loss_fn is None:
                self._fallback(why)
        else:
            self.optimizer = torch.optim.SGD(
                self.params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=o.nesterov
            )
        self.compiled = None
        if self.mode == "compile":
            try:
                self.compiled = torch.compile(self.forward_module)
            except Exception as exc:  # torch.compile missing or unsupported here
                self._fallback(f"torch.compile unavailable ({type(exc).__name__}); training eagerly")
        self._epoch = 0

    # -- mode -------------------------------------------------------------------
    def _choose_mode(self, want: str, on_gpu: bool) -> str:
        graphable = on_gpu and world_size() == 1
        if want == "auto":
            return "graphs" if graphable else "eager"
        if want in ("none", "eager"):
            return "eager"
        if want == "graphs":
            if not graphable:
                self.notes.append("train.compile=graphs needs CUDA and one process; training eagerly")
                return "eager"
            return "graphs"
        if want == "compile":
            return "compile"
        if want == "compile_graphs":
            if world_size() != 1:
                self.notes.append("train.compile=compile_graphs needs one process; training eagerly")
                return "eager"
            if not on_gpu:
                self.notes.append("train.compile=compile_graphs on CPU: the compiled step runs without CUDA graph capture")
            return "compile_graphs"
        raise ValueError(f"unknown train.compile '{want}'; use auto, none, graphs, compile or compile_graphs")

    def _fallback(self, why: str) -> None:
        self.notes.append(why)
        warnings.warn(why, stacklevel=2)
        if self.mode in CAPTURED_MODES:  # carry the momentum over to a torch optimiser
            bufs = self.optimizer_state()
            o = self.cfg.optim
            self.optimizer = torch.optim.SGD(
                self.params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=o.nesterov
            )
            self.mode, self.captured = "eager", None  # before loading: the state goes into the torch optimiser
            self.load_optimizer_state(bufs)
        self.mode, self.compiled = "eager", None

    # -- optimiser ----------------------------------------------------------------
    def set_lr(self, lr: float) -> None:
        if self.mode in CAPTURED_MODES:
            self.optimizer.set_lr(lr)
        else:
            for g in self.optimizer.param_groups:
                g["lr"] = lr

    def optimizer_state(self) -> dict[str, Any]:
        """Momentum buffers in one form for both optimisers (None before the first step)."""
        if self.mode in CAPTURED_MODES:
            return {"momentum_buffer": [b.detach().clone() for b in self.optimizer.bufs], "lr": float(self.optimizer.lr)}
        bufs = [self.optimizer.state.get(p, {}).get("momentum_buffer") for p in self.params]
        return {
            "momentum_buffer": [None if b is None else b.detach().clone() for b in bufs],
            "lr": self.optimizer.param_groups[0]["lr"],
        }

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        bufs = state["momentum_buffer"]
        if len(bufs) != len(self.params):
            raise ValueError(f"optimizer state has {len(bufs)} buffers for {len(self.params)} parameters")
        with torch.no_grad():
            for i, (p, b) in enumerate(zip(self.params, bufs)):
                if self.mode in CAPTURED_MODES:
                    self.optimizer.bufs[i].copy_(b if b is not None else torch.zeros_like(p))
                elif b is not None:
                    self.optimizer.state[p]["momentum_buffer"] = b.to(p.device, p.dtype).clone()
        self.set_lr(state.get("lr", self.cfg.optim.lr))

    # -- numerics -------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def prepare_images(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _graph_loss(self, x: torch.Tensor, y: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            feats = self.model.features(x)
            logits = self.model.head(feats * scale[:, None].to(feats.dtype))
            return self.method.loss(logits, Batch(x, y), self._epoch)

    def _graph_mix_loss(self, x: torch.Tensor, y: torch.Tensor, lam: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
        """The mixup step with this step's draws as device tensors (λ 0-d, the pairing permutation (N,))."""
        with self.autocast():
            batch = self.method.apply_mix(Batch(x, y), lam, perm)
            logits, batch = self.forward_module(batch, None, self._fcc_on)
            return self.method.loss(logits, batch, self._epoch)


def _phase(cfg: Config, epoch: int, fcc_on: bool) -> tuple:
    """What changes the traced step between epochs: FCC on/off and the DRW switch."""
    drw = cfg.method.drw_start_epoch
    return (fcc_on, drw is not None and epoch > drw)


def train_one_epoch(engine: Engine, loader: Any, epoch: int, gen: torch.Generator | None) -> torch.Tensor:
    """Train one epoch; return the mean training loss as a 0-d device tensor (the caller syncs once)."""
    cfg, method, model = engine.cfg, engine.method, engine.model
    engine._epoch = epoch
    method.on_epoch_start(epoch)
    probs = method.epoch_sampling(epoch)
    fcc_on = fcc_active(cfg.fcc, epoch)
    model.train()
    if engine.mode in CAPTURED_MODES:
        tau = engine.forward_module.tau_by_class
        engine._fcc_on = fcc_on
        epoch_batches = getattr(loader, "batches_from_epoch_tensor", loader.batches)
        step, phase = engine.captured, _phase(cfg, epoch, fcc_on)
        batches = iter(epoch_batches(probs, gen))
        for x, y in batches:
            x = engine.prepare_images(x)
            if engine.mixes:  # the draws happen here, outside the graph; the mixing inside it
                lam, perm = method.draw_mix(y.shape[0], y.device, gen)
                inputs = (x, y, torch.full((), lam, device=y.device), perm)
            else:
                inputs = (x, y, tau[y] if fcc_on else torch.ones(y.shape[0], device=y.device))
            # a failure while compiling/capturing (a new phase, or every uncaptured CPU step) falls back;
            # one in the replay of a graph that was captured fine is a real error
            building = not step.capture or phase not in step.graphs
            try:
                step(*inputs, phase=phase)
            except Exception as exc:  # compile/capture unsupported for this model/method: finish eagerly
                if not building:
                    raise
                what = "torch.compile or CUDA graph capture" if engine.mode == "compile_graphs" else "CUDA graph capture"
                done = (step.loss_sum.clone(), step.steps)  # the steps this epoch already took count in its mean loss
                engine._fallback(f"train.compile={engine.mode}: {what} failed ({type(exc).__name__}: {exc}); training eagerly")
                return _eager_epoch(engine, loader, epoch, gen, fcc_on, probs, first=(x, y), rest=batches, done=done)
            after_step(model, cfg)
        return engine.captured.pop_loss()
    return _eager_epoch(engine, loader, epoch, gen, fcc_on, probs)


def _eager_epoch(
    engine: Engine,
    loader: Any,
    epoch: int,
    gen: torch.Generator | None,
    fcc_on: bool,
    probs: Any,
    first: tuple[torch.Tensor, torch.Tensor] | None = None,
    rest: Iterator[tuple[torch.Tensor, torch.Tensor]] | None = None,
    done: tuple[torch.Tensor, int] | None = None,
) -> torch.Tensor:
    """The eager loop; after a fallback it takes the failed batch (``first``), the rest of that epoch's
    batches (``rest``) and the summed loss and count of the steps already taken (``done``)."""
    cfg, method, model, opt = engine.cfg, engine.method, engine.model, engine.optimizer
    total = torch.zeros((), device=engine.device) if done is None else done[0].to(engine.device)
    steps = 0 if done is None else done[1]

    def batches():
        if first is not None:
            yield first
        yield from (rest if rest is not None else loader.batches(probs, gen))

    for x, y in batches():
        batch = Batch(engine.prepare_images(x), y)
        with engine.autocast():
            batch = method.mix_inputs(batch, gen)
            fwd = engine.compiled if engine.compiled is not None else engine.forward_module
            try:
                logits, batch = fwd(batch, gen, fcc_on)
            except Exception as exc:
                if engine.compiled is None:
                    raise
                engine._fallback(f"torch.compile failed ({type(exc).__name__}); training eagerly")
                logits, batch = engine.forward_module(batch, gen, fcc_on)
            loss = method.loss(logits, batch, epoch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        after_step(model, cfg)
        total += loss.detach().float()
        steps += 1
    return total / max(steps, 1)


@torch.no_grad()
def evaluate(engine: Engine, loader: Any, net: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions and labels on the test set (unscaled features, the method's eval head or ``net``), gathered across ranks."""
    net = eval_head(engine.model, engine.cfg) if net is None else net
    was_training = net.training
    net.eval()
    preds, labels = [], []
    for x, y in loader.eval_batches():
        with engine.autocast():
            logits = net(engine.prepare_images(x))
        preds.append(logits.argmax(1))
        labels.append(y)
    if was_training:
        net.train()
    p = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long, device=engine.device)
    t = torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long, device=engine.device)
    return all_gather_cat(p), all_gather_cat(t)
