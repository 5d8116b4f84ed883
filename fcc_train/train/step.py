"""One optimiser step of one run behind a small interface, eager or captured; the mode is chosen once.

A :class:`Step` is called once per batch with the images, the labels and the step's mixing draws
(made outside, :meth:`~fcc_train.methods.Method.draw_mix`); it computes
:func:`~fcc_train.train.forward.batch_loss`, back-propagates and updates the parameters, and keeps
the summed loss on the device (``pop_loss``: one host sync per epoch, in the caller). Two kinds:

* :class:`EagerStep`: ``torch.optim.SGD`` on the loss (``train.compile`` ``none``/``eager``, or
  ``compile``: the forward through ``torch.compile``; DDP wraps the forward module);
* :class:`GraphStep`: ForeachSGD inside a :class:`~fcc_train.train.graphs.CapturedStep`, one CUDA
  graph per method phase (``graphs``; ``compile_graphs``: the loss compiled by Inductor, captured).
  On the CPU it runs the same function uncaptured. The epoch and FCC on/off the loss reads are
  frozen per phase, as a graph freezes them, so the CPU run shows what a GPU replay would compute.
  A failure while compiling or capturing falls back to an eager step that carries the momentum,
  the learning rate and the epoch's summed loss.

Both save and load their momentum in one form (``state_dict``), so a checkpoint crosses modes.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.nn as nn

from fcc_train.methods import Batch, Method
from fcc_train.train.forward import Draws, StepContext, batch_loss
from fcc_train.train.graphs import CapturedStep, ForeachSGD

if TYPE_CHECKING:
    from fcc_train.config import OptimConfig

__all__ = ["MODES", "EagerStep", "GraphStep", "Step", "build_step", "choose_mode"]

MODES = ("auto", "none", "eager", "graphs", "compile", "compile_graphs")
Autocast = Callable[[], contextlib.AbstractContextManager[Any]]


class Step(Protocol):
    """What the epoch driver and the fleet see of a run's step."""

    @property
    def mode(self) -> str: ...

    @property
    def whole_epoch_batches(self) -> bool:
        """Whether the loader should augment the epoch at once (a captured step's data path)."""
        ...

    def begin_epoch(self, epoch: int) -> None: ...

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, draws: Draws) -> None: ...

    def set_lr(self, lr: float) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def pop_loss(self) -> torch.Tensor: ...

    def peek_loss(self) -> torch.Tensor:
        """Mean loss of the epoch's steps so far, as a device tensor (no reset, no host sync)."""
        ...


def _say(notes: list[str], why: str) -> None:
    notes.append(why)
    warnings.warn(why, stacklevel=3)


def _check_buffers(bufs: list[Any], params: list[nn.Parameter]) -> None:
    if len(bufs) != len(params):
        raise ValueError(f"optimizer state has {len(bufs)} buffers for {len(params)} parameters")


class EagerStep:
    """``loss.backward()`` and ``torch.optim.SGD``; ``compiled`` (a ``torch.compile``-d forward) is dropped at its first failure."""

    whole_epoch_batches = False

    def __init__(
        self,
        forward: nn.Module,
        method: Method,
        params: list[nn.Parameter],
        optim: OptimConfig,
        autocast: Autocast,
        device: torch.device,
        notes: list[str],
        compiled: Callable[..., Any] | None = None,
    ) -> None:
        self.forward, self.method, self.params, self.autocast, self.notes = forward, method, params, autocast, notes
        self.default_lr = optim.lr
        self.optimizer = torch.optim.SGD(
            params, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay, nesterov=optim.nesterov
        )
        self.compiled = compiled
        self.loss_sum = torch.zeros((), device=device)
        self.steps = 0
        self.ctx = StepContext(0, False)

    @property
    def mode(self) -> str:
        return "compile" if self.compiled is not None else "eager"

    def begin_epoch(self, epoch: int) -> None:
        self.ctx = StepContext(epoch, self.method.fcc_on(epoch))

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, draws: Draws) -> None:
        batch = Batch(images, labels)
        with self.autocast():
            if self.compiled is None:
                loss = batch_loss(self.forward, self.method, batch, draws, self.ctx)
            else:
                try:
                    loss = batch_loss(self.compiled, self.method, batch, draws, self.ctx)
                except Exception as exc:  # Inductor failed at its first call: the plain forward from here on
                    self.compiled = None
                    _say(self.notes, f"torch.compile failed ({type(exc).__name__}); training eagerly")
                    loss = batch_loss(self.forward, self.method, batch, draws, self.ctx)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss_sum += loss.detach().float()
        self.steps += 1

    def set_lr(self, lr: float) -> None:
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        """Momentum buffers (None before the first step) and the learning rate."""
        bufs = [self.optimizer.state.get(p, {}).get("momentum_buffer") for p in self.params]
        return {
            "momentum_buffer": [None if b is None else b.detach().clone() for b in bufs],
            "lr": self.optimizer.param_groups[0]["lr"],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        bufs = state["momentum_buffer"]
        _check_buffers(bufs, self.params)
        with torch.no_grad():
            for p, b in zip(self.params, bufs, strict=True):
                if b is not None:
                    self.optimizer.state[p]["momentum_buffer"] = b.to(p.device, p.dtype).clone()
        self.set_lr(state.get("lr", self.default_lr))

    def peek_loss(self) -> torch.Tensor:
        """Mean loss of the epoch's steps so far, as a device tensor (no reset, no host sync)."""
        return self.loss_sum / max(self.steps, 1)

    def pop_loss(self) -> torch.Tensor:
        """Mean loss since the last call, as a device tensor (no host sync)."""
        out = self.loss_sum / max(self.steps, 1)
        self.loss_sum = torch.zeros_like(self.loss_sum)
        self.steps = 0
        return out


class GraphStep:
    """The whole step (loss, backward, ForeachSGD) as one CUDA graph per ``method.phase(epoch)``."""

    def __init__(
        self,
        forward: nn.Module,
        method: Method,
        params: list[nn.Parameter],
        optim: OptimConfig,
        autocast: Autocast,
        notes: list[str],
        modules: list[nn.Module],
        make_eager: Callable[[], EagerStep],
        compiled: bool = False,
    ) -> None:
        self.forward, self.method, self.params, self.autocast, self.notes = forward, method, params, autocast, notes
        self.default_lr = optim.lr
        self.optimizer = ForeachSGD(
            params, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay, nesterov=optim.nesterov
        )
        self._mode = "compile_graphs" if compiled else "graphs"
        loss_fn: Callable[..., torch.Tensor] = self.traced_loss
        if compiled:  # lazy: Inductor compiles at the first call, i.e. in CapturedStep's warm-up before the capture
            loss_fn = torch.compile(self.traced_loss, dynamic=False)
        self.captured = CapturedStep(loss_fn, self.optimizer, modules)  # uncaptured on the CPU
        self._make_eager = make_eager
        self.fallback: EagerStep | None = None
        self._frozen: dict[Hashable, StepContext] = {}  # the context each phase was (or would be) captured with
        self.ctx = StepContext(0, False)
        self.phase: Hashable = None
        self.epoch = 0

    @property
    def mode(self) -> str:
        return self._mode if self.fallback is None else self.fallback.mode

    @property
    def whole_epoch_batches(self) -> bool:
        return self.fallback is None

    def begin_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.fallback is not None:
            self.fallback.begin_epoch(epoch)
            return
        self.phase = self.method.phase(epoch)
        # a graph replays what it traced: the first context of a phase is the one every later epoch of it runs
        self.ctx = self._frozen.setdefault(self.phase, StepContext(epoch, self.method.fcc_on(epoch)))

    def traced_loss(self, x: torch.Tensor, y: torch.Tensor, *mix: torch.Tensor) -> torch.Tensor:
        """The captured loss; ``mix`` is (λ 0-d, permutation (N,)) for a mixup step, as device tensors."""
        draws = (mix[0], mix[1]) if mix else None
        with self.autocast():
            return batch_loss(self.forward, self.method, Batch(x, y), draws, self.ctx)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, draws: Draws) -> None:
        if self.fallback is not None:
            self.fallback(images, labels, draws)
            return
        step = self.captured
        inputs: tuple[torch.Tensor, ...] = (images, labels)
        if draws is not None:  # drawn here, outside the graph; they enter it as device tensors
            inputs = (images, labels, torch.full((), draws[0], device=labels.device), draws[1])
        # a failure while compiling/capturing (a new phase, or every uncaptured CPU step) falls back;
        # one in the replay of a graph that was captured fine is a real error
        building = not step.capture or self.phase not in step.graphs
        try:
            step(*inputs, phase=self.phase)
        except Exception as exc:
            if not building:
                raise
            what = "torch.compile or CUDA graph capture" if self._mode == "compile_graphs" else "CUDA graph capture"
            _say(self.notes, f"train.compile={self._mode}: {what} failed ({type(exc).__name__}: {exc}); training eagerly")
            self._fall_back()
            assert self.fallback is not None
            self.fallback(images, labels, draws)

    def _fall_back(self) -> None:
        eager = self._make_eager()
        eager.load_state_dict(self.state_dict())
        eager.loss_sum, eager.steps = self.captured.loss_sum.clone(), self.captured.steps  # this epoch's steps so far
        eager.begin_epoch(self.epoch)
        self.fallback = eager

    def set_lr(self, lr: float) -> None:
        if self.fallback is not None:
            self.fallback.set_lr(lr)
        else:
            self.optimizer.set_lr(lr)

    def state_dict(self) -> dict[str, Any]:
        if self.fallback is not None:
            return self.fallback.state_dict()
        return {"momentum_buffer": [b.detach().clone() for b in self.optimizer.bufs], "lr": float(self.optimizer.lr)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.fallback is not None:
            self.fallback.load_state_dict(state)
            return
        bufs = state["momentum_buffer"]
        _check_buffers(bufs, self.params)
        with torch.no_grad():
            for p, own, b in zip(self.params, self.optimizer.bufs, bufs, strict=True):
                own.copy_(b if b is not None else torch.zeros_like(p))
        self.set_lr(state.get("lr", self.default_lr))

    def pop_loss(self) -> torch.Tensor:
        return self.fallback.pop_loss() if self.fallback is not None else self.captured.pop_loss()

    def peek_loss(self) -> torch.Tensor:
        return self.fallback.peek_loss() if self.fallback is not None else self.captured.peek_loss()


def choose_mode(want: str, on_gpu: bool, world: int, notes: list[str]) -> str:
    """The step's mode for ``train.compile=want`` on this device and world size (a note when it cannot be had).

    >>> notes = []
    >>> choose_mode("auto", False, 1, notes), choose_mode("graphs", False, 1, notes), notes
    ('eager', 'eager', ['train.compile=graphs needs CUDA and one process; training eagerly'])
    """
    graphable = on_gpu and world == 1
    if want == "auto":
        return "graphs" if graphable else "eager"
    if want in ("none", "eager"):
        return "eager"
    if want == "graphs":
        if not graphable:
            notes.append("train.compile=graphs needs CUDA and one process; training eagerly")
            return "eager"
        return "graphs"
    if want == "compile":
        return "compile"
    if want == "compile_graphs":
        if world != 1:
            notes.append("train.compile=compile_graphs needs one process; training eagerly")
            return "eager"
        if not on_gpu:
            notes.append("train.compile=compile_graphs on CPU: the compiled step runs without CUDA graph capture")
        return "compile_graphs"
    raise ValueError(f"unknown train.compile '{want}'; use {', '.join(MODES)}")


def build_step(
    mode: str,
    *,
    forward: nn.Module,
    method: Method,
    model: nn.Module,
    params: list[nn.Parameter],
    optim: OptimConfig,
    autocast: Autocast,
    device: torch.device,
    notes: list[str],
) -> EagerStep | GraphStep:
    """The step of ``mode`` (from :func:`choose_mode`); an eager one with a note where compiling is unavailable."""

    def eager(compiled: Callable[..., Any] | None = None) -> EagerStep:
        return EagerStep(forward, method, params, optim, autocast, device, notes, compiled)

    if mode in ("graphs", "compile_graphs"):
        try:
            return GraphStep(forward, method, params, optim, autocast, notes, [model], eager, compiled=mode == "compile_graphs")
        except Exception as exc:  # torch.compile missing or unsupported here
            if mode != "compile_graphs":
                raise
            _say(
                notes, f"train.compile=compile_graphs: torch.compile unavailable ({type(exc).__name__}: {exc}); training eagerly"
            )
            return eager()
    if mode == "compile":
        try:
            return eager(torch.compile(forward))
        except Exception as exc:  # torch.compile missing or unsupported here
            _say(notes, f"torch.compile unavailable ({type(exc).__name__}); training eagerly")
    return eager()
