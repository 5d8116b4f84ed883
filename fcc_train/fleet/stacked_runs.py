"""Train K compatible runs as one stacked network: one kernel launch does K runs' work.

Experimental until measured on a GPU: kept working and tested on the CPU (stacked = solo), but whether
it pays off against interleaved runs is not yet measured.


The runs are ordinary :class:`~fcc_train.train.loop.TrainingRun` objects — each builds its own data,
model, method, loader and generator, resumes from its own checkpoint, evaluates its own model and
writes its own folder — but their training steps are fused: the K ResNets become one
:class:`~fcc_train.fleet.stacked_model.StackedCifarResNet` (grouped convolutions, exactly the K nets),
run k's batch fills input channels ``[3k, 3k+3)``, each run's FCC scale multiplies its own
features (Eq. 1), each run's method computes its own loss on its own logits, and the summed loss
(runs share no weight, so each run's gradient is its own) drives one SGD update — the trainer's
:class:`~fcc_train.train.graphs.CapturedStep`, a CUDA graph on a GPU. Before a run evaluates or
checkpoints, its weights, BatchNorm statistics and momentum buffers are copied back out of the
stack, so its checkpoint and resume are those of a solo run. Evaluation is one pass of the stacked
net over the runs' own test batches (the K runs' predictions at once), unless a run transforms its
head for evaluation (τ-norm).

Stacking needs runs that step in lockstep: the same optimiser settings and schedule, batch size,
steps per epoch, epoch, numerics and device, a CIFAR ResNet (linear or cosine head), and no weight
projection, two-stage set-up, teacher or manifold mixup inside the backbone. Input mixup, Remix
and manifold mixup at the pooled feature stack: each run's λ and pairing permutation are drawn
from its own generators, as its solo step draws them, and each run mixes its own slice.
:func:`stack_problem` names the first thing that prevents stacking (:func:`config_stack_problem`
the part a config alone decides); :func:`fcc_train.fleet.multirun.run_many` then trains the runs
interleaved instead. Runs
that differ only in their epoch (a process killed between two runs' checkpoints) train alone until
they have caught up, then stack.
The result equals the solo runs up to floating-point summation order (tested on CPU).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from fcc_train.fleet.stacked_model import StackedCifarResNet
from fcc_train.methods import Batch
from fcc_train.train.epoch import drive_epoch
from fcc_train.train.forward import Draws, StepContext, scaled_features
from fcc_train.train.graphs import CapturedStep, ForeachSGD
from fcc_train.train.schedule import lr_at

__all__ = ["StackedGroup", "config_stack_problem", "stack_key", "stack_problem"]


def stack_key(cfg: Any) -> dict[str, Any]:
    """What must be equal across stacked runs (the lockstep): optimiser and schedule, model, numerics, device."""
    from fcc_train.config import config_to_dict

    d = config_to_dict(cfg)
    return {
        "optim": d["optim"],
        "model": d["model"],
        "precision": d["train"]["precision"],
        "channels_last": str(d["train"]["channels_last"]),
        "device": d["train"]["device"],
    }


def config_stack_problem(cfg: Any) -> str | None:
    """Why a run of this config never stacks (its model, per-step mixing, two stages, a teacher), or None.

    >>> from fcc_train.config import load_config
    >>> config_stack_problem(load_config(None, [])) is None
    True
    >>> config_stack_problem(load_config(None, ["model.arch=resnet50"]))
    'only CIFAR ResNets stack'
    """
    from fcc_train.models import CIFAR_ARCHS

    if cfg.model.arch not in CIFAR_ARCHS:
        return "only CIFAR ResNets stack"
    if cfg.model.experts != "none":
        return "multi-expert models train separately"
    if cfg.method.mixup == "manifold" and cfg.method.manifold_layer != "pool":
        return "manifold mixup at a hidden layer mixes inside the backbone"
    s = cfg.stage
    if s.init_from or s.depends_on or s.freeze_backbone or s.reset_head or s.lws or s.max_norm is not None:
        return "two-stage set-ups and weight projections train separately"
    if getattr(cfg.method, "teacher", None) or cfg.method.loss == "dive":
        return "a distillation teacher trains separately"
    return None


def stack_problem(runs: list[Any], *, same_epoch: bool = True) -> str | None:
    """Why these started runs cannot be stacked, or None when they can (``same_epoch=False``: once caught up)."""
    from fcc_train.models.heads import CosineHead, LinearHead
    from fcc_train.models.resnet_cifar import CifarResNet

    if len(runs) < 2:
        return "fewer than two runs to stack"
    first = runs[0]
    lead = first.parts
    for r in runs:
        cfg, name, p = r.cfg, r.run_dir.name, r.parts
        why = config_stack_problem(cfg)
        if why is None and (not isinstance(p.model, CifarResNet) or not isinstance(p.model.head, (LinearHead, CosineHead))):
            why = "only CIFAR ResNets with a linear or cosine head stack"
        if why is not None:
            return f"{name}: {why}"
        if stack_key(cfg) != stack_key(first.cfg):
            diff = next(k for k in stack_key(cfg) if stack_key(cfg)[k] != stack_key(first.cfg)[k])
            return f"{name}: its {diff} settings differ from {first.run_dir.name}'s"
        if p.loader.steps_per_epoch != lead.loader.steps_per_epoch:
            return f"{name}: {p.loader.steps_per_epoch} steps per epoch, {first.run_dir.name} has {lead.loader.steps_per_epoch}"
        if same_epoch and r.epoch != first.epoch:
            return f"{name}: resumed at epoch {r.epoch}, {first.run_dir.name} at {first.epoch}"
        if p.data.in_channels != lead.data.in_channels or p.data.num_classes != lead.data.num_classes:
            return f"{name}: input channels or classes differ"
    return None


class _StackedStep(CapturedStep):
    """CapturedStep whose loss function returns one loss per run; the gradient is of their sum."""

    def __init__(self, loss_fn: Any, opt: ForeachSGD, modules: list[torch.nn.Module], k: int, capture: bool | None) -> None:
        super().__init__(loss_fn, opt, modules, capture=capture)
        self.loss_sum = torch.zeros(k, device=self.device)

    def _eager(self, *inputs: torch.Tensor) -> torch.Tensor:
        losses = self.loss_fn(*inputs)
        grads = torch.autograd.grad(losses.sum(), self.opt.params)
        self.opt.step_with(list(grads))
        return losses.detach()


class StackedStep:
    """The :class:`~fcc_train.train.step.Step` of a stacked group: the K runs' losses in one captured step.

    Its graphs are keyed by the tuple of the runs' ``method.phase(epoch)``; as in a solo captured step,
    each phase's loss reads the epoch and FCC switches of its first epoch, as a graph would.
    """

    whole_epoch_batches = True

    def __init__(self, group: StackedGroup, compiled: bool) -> None:
        self.group = group
        loss_fn: Any = self.traced_loss
        if compiled:  # as the runs asked: Inductor kernels inside the captured stacked step
            try:
                loss_fn = torch.compile(self.traced_loss, dynamic=False)
            except Exception as exc:  # torch.compile unavailable: the plain stacked step
                group.lead.notes.append(f"stacked step not compiled ({type(exc).__name__}); training it uncompiled")
        self.captured = _StackedStep(loss_fn, group.opt, [group.net], group.k, capture=group.device.type == "cuda")
        self._frozen: dict[Any, tuple[StepContext, ...]] = {}
        self.phase: Any = None
        self.ctx: tuple[StepContext, ...] = ()

    @property
    def mode(self) -> str:
        return "graphs" if self.captured.capture else "eager"

    def begin_epoch(self, epoch: int) -> None:
        methods = [m.method for m in self.group.members]
        self.phase = tuple(m.phase(epoch) for m in methods)
        self.ctx = self._frozen.setdefault(self.phase, tuple(StepContext(epoch, m.fcc_on(epoch)) for m in methods))

    def traced_loss(
        self, x: torch.Tensor, y: torch.Tensor, lam: torch.Tensor | None = None, perm: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Each run's loss (K,): run k's images are channels ``[c·k, c·(k+1))`` of ``x``, its labels ``y[:, k]``;
        ``lam`` (K,) and ``perm`` (N, K) carry the mixup runs' draws of this step."""
        g = self.group
        with g.lead.autocast():
            c = x.shape[1] // g.k
            batches = [Batch(x[:, k * c : (k + 1) * c], y[:, k]) for k in range(g.k)]
            if lam is not None and perm is not None:
                batches = [
                    m.method.apply_mix(b, lam[k], perm[:, k]) if m.mixes else b
                    for k, (m, b) in enumerate(zip(g.members, batches, strict=True))
                ]
                x = g.lead.prepare_images(torch.cat([b.images for b in batches], dim=1))
            feats = g.net.features(x)  # (N, K, d)
            cols = []
            for k, (m, ctx) in enumerate(zip(g.members, self.ctx, strict=True)):
                f, batches[k] = scaled_features(m.method, feats[:, k], batches[k], m.tau_by_class if ctx.fcc_on else None)
                cols.append(f)
            logits = g.net.head(torch.stack(cols, dim=1))  # Eq. 1, run by run
            return torch.stack(
                [
                    m.method.loss(logits[:, k], batches[k], ctx.epoch).float()
                    for k, (m, ctx) in enumerate(zip(g.members, self.ctx, strict=True))
                ]
            )

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, draws: Draws) -> None:
        inputs = (images, labels) if draws is None else (images, labels, *draws)
        step = self.captured
        try:
            step(*inputs, phase=self.phase)
        except Exception as exc:
            if not step.capture or self.phase in step.graphs:
                raise  # an eager step, or a replay of a graph that captured: a real error
            # the failed capture left every tensor as it was; go on without graphs
            step.capture = False
            self.group.say(f"[stack] CUDA graph capture failed ({type(exc).__name__}: {exc}); the stacked step runs eagerly")
            step(*inputs, phase=self.phase)

    def set_lr(self, lr: float) -> None:
        self.group.opt.set_lr(lr)

    def state_dict(self) -> dict[str, Any]:
        return self.group.opt.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.group.opt.load_state_dict(state)

    def pop_loss(self) -> torch.Tensor:
        return self.captured.pop_loss()

    def peek_loss(self) -> torch.Tensor:
        return self.captured.peek_loss()


@dataclass
class _Member:
    """What the group uses of one run: its parts for training, and its step for momentum in and out."""

    model: Any  # a CifarResNet (stack_problem checked)
    method: Any
    tau_by_class: torch.Tensor
    params: list[torch.nn.Parameter]
    step: Any  # the run's own Step: state_dict / load_state_dict
    loader: Any
    gen: torch.Generator
    mixes: bool


class StackedGroup:
    """K started, stackable :class:`TrainingRun` objects trained as one network; ``queue_epoch``/``finish_epoch`` like a run."""

    def __init__(self, runs: list[Any]) -> None:
        problem = stack_problem(runs)
        if problem is not None:
            raise ValueError(problem)
        self.runs, self.k = runs, len(runs)
        self.members = [_member(r.parts) for r in runs]
        self.lead = lead = runs[0].parts.engine  # the shared numerics (autocast, channels_last) and notes
        self.device = lead.device
        self.say = runs[0].say
        self.net = StackedCifarResNet([m.model for m in self.members]).to(self.device)
        if lead.channels_last:
            self.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack memory_format
        o = runs[0].cfg.optim
        self.opt = ForeachSGD(
            list(self.net.parameters()), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=o.nesterov
        )
        # per run, in the order of its step's parameters: (stacked parameter index, the run's slice of it)
        self.views = []
        for k, m in enumerate(self.members):
            where = self.net.run_slices(k, m.model)
            self.views.append([where[id(p)] for p in m.params])
        self._load_momentum()
        self.step = StackedStep(self, compiled=lead.mode == "compile_graphs")
        self.epoch = runs[0].epoch
        # one stacked pass evaluates every run when their test sets have one length and no run
        # transforms its head for evaluation (τ-norm); otherwise each run evaluates its own model
        self.stacked_eval = len({(m.loader.num_test, m.loader.eval_batch_size) for m in self.members}) == 1 and all(
            r.cfg.stage.head_transform == "none" for r in runs
        )

    # -- moving state between the stack and the runs ------------------------------------
    def _load_momentum(self) -> None:
        with torch.no_grad():
            for views, m in zip(self.views, self.members, strict=True):
                bufs = m.step.state_dict()["momentum_buffer"]
                for (i, sl), b in zip(views, bufs, strict=True):
                    self.opt.bufs[i][sl].copy_(b if b is not None else torch.zeros_like(self.opt.bufs[i][sl]))

    def _unstack(self, k: int) -> None:
        m = self.members[k]
        self.net.unstack_run(k, m.model)
        bufs = [self.opt.bufs[i][sl].detach().clone() for i, sl in self.views[k]]
        m.step.load_state_dict({"momentum_buffer": bufs, "lr": float(self.opt.lr)})

    # -- the fused epoch ------------------------------------------------------------------
    def _draws(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This step's mixup draws of every run, in each run's own generators: λ (K,) and permutations (N, K)."""
        lams, perms = [], []
        for m in self.members:
            draws = m.method.draw_mix(n, self.device, m.gen) if m.mixes else None
            lam, perm = draws if draws is not None else (1.0, torch.arange(n, device=self.device))
            lams.append(lam)
            perms.append(perm)
        host = torch.tensor(lams, dtype=torch.float32)
        if self.device.type == "cuda":  # a pageable copy would wait for the queued replays
            host = host.pin_memory()
        return host.to(self.device, non_blocking=True), torch.stack(perms, dim=1)

    def queue_epoch(self) -> None:
        started = time.perf_counter()
        self.epoch += 1
        epoch = self.epoch
        self.step.set_lr(lr_at(self.runs[0].cfg.optim, epoch))
        self.net.train()
        iters = []
        for m in self.members:
            m.method.on_epoch_start(epoch)
            probs = m.method.epoch_sampling(epoch)
            # the data path the run's own step would take (a captured step augments the epoch at once)
            by_epoch = m.step.whole_epoch_batches and hasattr(m.loader, "batches_from_epoch_tensor")
            batches = m.loader.batches_from_epoch_tensor if by_epoch else m.loader.batches
            iters.append(batches(probs, m.gen))
        mixing = any(m.mixes for m in self.members)

        def inputs() -> Any:
            for batch in zip(*iters, strict=True):
                x = self.lead.prepare_images(torch.cat([b[0] for b in batch], dim=1))
                y = torch.stack([b[1] for b in batch], dim=1)
                yield x, y, self._draws(y.shape[0]) if mixing else None

        losses = drive_epoch(self.step, epoch, inputs())
        for k, r in enumerate(self.runs):
            r.adopt_epoch(losses[k], started)

    def finish_epoch(self) -> None:
        """Copy out the state of each run that evaluates or checkpoints now; let each run finish its epoch."""
        e = self.epoch
        due = [k for k, r in enumerate(self.runs) if r.evaluates_at(e)]
        preds = self._evaluate() if len(due) >= 2 and self.stacked_eval else {}
        for k, r in enumerate(self.runs):
            if r.evaluates_at(e) or r.saves_at(e):  # the run reads its own model and momentum then
                self._unstack(k)
            r.finish_epoch(predictions=preds.get(k))

    @torch.no_grad()
    def _evaluate(self) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """Every run's test predictions in one pass of the stacked net (each run's own test batches)."""
        was_training = self.net.training
        self.net.eval()
        out: dict[int, tuple[list[torch.Tensor], list[torch.Tensor]]] = {k: ([], []) for k in range(self.k)}
        for batches in zip(*(m.loader.eval_batches() for m in self.members), strict=True):
            x = self.lead.prepare_images(torch.cat([b[0] for b in batches], dim=1))
            with self.lead.autocast():
                pred = self.net(x).argmax(2)  # (N, K)
            for k, (_, y) in enumerate(batches):
                out[k][0].append(pred[:, k])
                out[k][1].append(y)
        if was_training:
            self.net.train()
        return {k: (torch.cat(p), torch.cat(t)) for k, (p, t) in out.items()}

    def unstack_all(self) -> None:
        """Copy every run's state out of the stack (before the group is rebuilt or dropped)."""
        for k in range(self.k):
            self._unstack(k)

    @property
    def finished(self) -> bool:
        return any(r.finished for r in self.runs)


def _member(parts: Any) -> _Member:
    e = parts.engine
    return _Member(parts.model, parts.method, e.tau_by_class, e.params, e.step, parts.loader, parts.gen, e.mixes)
