"""Train K compatible runs as one stacked network: one kernel launch does K runs' work (issue 8).

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
from typing import Any

import torch

from fcc_train.train.engine import CAPTURED_MODES
from fcc_train.train.graphs import CapturedStep, ForeachSGD
from fcc_train.fleet.stacked_model import StackedCifarResNet

__all__ = ["stack_key", "config_stack_problem", "stack_problem", "StackedGroup"]


def stack_key(cfg: Any) -> dict[str, Any]:
    """What must be equal across stacked runs (the lockstep): optimiser and schedule, model, numerics, device."""
    from fcc_train.config import config_to_dict

    d = config_to_dict(cfg)
    return {"optim": d["optim"], "model": d["model"], "precision": d["train"]["precision"],
            "channels_last": str(d["train"]["channels_last"]), "device": d["train"]["device"]}


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
    for r in runs:
        cfg, name = r.cfg, r.run_dir.name
        why = config_stack_problem(cfg)
        if why is None and (not isinstance(r.model, CifarResNet) or not isinstance(r.model.head, (LinearHead, CosineHead))):
            why = "only CIFAR ResNets with a linear or cosine head stack"
        if why is not None:
            return f"{name}: {why}"
        if stack_key(cfg) != stack_key(first.cfg):
            diff = next(k for k in stack_key(cfg) if stack_key(cfg)[k] != stack_key(first.cfg)[k])
            return f"{name}: its {diff} settings differ from {first.run_dir.name}'s"
        if r.loader.steps_per_epoch != first.loader.steps_per_epoch:
            return f"{name}: {r.loader.steps_per_epoch} steps per epoch, {first.run_dir.name} has {first.loader.steps_per_epoch}"
        if same_epoch and r.epoch != first.epoch:
            return f"{name}: resumed at epoch {r.epoch}, {first.run_dir.name} at {first.epoch}"
        if r.data.in_channels != first.data.in_channels or r.data.num_classes != first.data.num_classes:
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


class StackedGroup:
    """K started, stackable :class:`TrainingRun` objects trained as one network; ``queue_epoch``/``finish_epoch`` like a run."""

    def __init__(self, runs: list[Any]) -> None:
        problem = stack_problem(runs)
        if problem is not None:
            raise ValueError(problem)
        self.runs, self.k = runs, len(runs)
        lead = runs[0].engine
        self.device, self.lead = lead.device, lead
        self.net = StackedCifarResNet([r.model for r in runs]).to(self.device)
        if lead.channels_last:
            self.net.to(memory_format=torch.channels_last)
        o = runs[0].cfg.optim
        self.opt = ForeachSGD(list(self.net.parameters()), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay,
                              nesterov=o.nesterov)
        # per run, in the order of its engine's parameters: (stacked parameter index, the run's slice of it)
        self.views = []
        for k, r in enumerate(runs):
            where = self.net.run_slices(k, r.model)
            self.views.append([where[id(p)] for p in r.engine.params])
        self._load_momentum()
        loss_fn = self._loss
        if lead.mode == "compile_graphs":  # as the runs asked: Inductor kernels inside the captured stacked step
            try:
                loss_fn = torch.compile(self._loss, dynamic=False)
            except Exception as exc:  # torch.compile unavailable: the plain stacked step
                lead.notes.append(f"stacked step not compiled ({type(exc).__name__}); training it uncompiled")
        self.step = _StackedStep(loss_fn, self.opt, [self.net], self.k, capture=self.device.type == "cuda")
        # mixup runs: each step's λ and permutation per run are drawn outside the graph (as their solo
        # captured step draws them) and enter it as tensors; FCC on/off is in the phase
        self.mixes = [r.engine.mixes for r in runs]
        self._fcc_on = [False] * self.k
        self.epoch = runs[0].epoch
        self._pending_t0 = 0.0
        # one stacked pass evaluates every run when their test sets have one length and no run
        # transforms its head for evaluation (τ-norm); otherwise each run evaluates its own model
        self.stacked_eval = len({(r.loader.num_test, r.loader.eval_batch_size) for r in runs}) == 1 and all(
            r.cfg.stage.head_transform == "none" for r in runs
        )

    # -- moving state between the stack and the runs ------------------------------------
    def _load_momentum(self) -> None:
        with torch.no_grad():
            for k, r in enumerate(self.runs):
                bufs = r.engine.optimizer_state()["momentum_buffer"]
                for (i, sl), b in zip(self.views[k], bufs):
                    self.opt.bufs[i][sl].copy_(b if b is not None else torch.zeros_like(self.opt.bufs[i][sl]))

    def _unstack(self, k: int) -> None:
        run = self.runs[k]
        self.net.unstack_run(k, run.model)
        bufs = [self.opt.bufs[i][sl].detach().clone() for i, sl in self.views[k]]
        run.engine.load_optimizer_state({"momentum_buffer": bufs, "lr": float(self.opt.lr)})

    # -- the fused step -------------------------------------------------------------------
    def _loss(self, x: torch.Tensor, y: torch.Tensor, scale: torch.Tensor, lam: torch.Tensor | None = None,
              perm: torch.Tensor | None = None) -> torch.Tensor:
        """Each run's loss (K,). ``lam`` (K,) and ``perm`` (N, K) carry the mixup runs' draws of this step;
        a mixup run's FCC scale is its method's τ of the mixed batch (``scale``'s column is unused)."""
        from fcc_train.methods import Batch

        with self.lead.autocast():
            c = x.shape[1] // self.k
            batches = [Batch(x[:, k * c:(k + 1) * c], y[:, k]) for k in range(self.k)]
            mixing = lam is not None and perm is not None
            if mixing:
                batches = [r.engine.method.apply_mix(b, lam[k], perm[:, k]) if m else b
                           for k, (r, b, m) in enumerate(zip(self.runs, batches, self.mixes))]
                x = self.lead.prepare_images(torch.cat([b.images for b in batches], dim=1))
            feats = self.net.features(x)  # (N, K, d)
            if mixing:
                cols, scales = [], []
                for k, r in enumerate(self.runs):
                    f, s = feats[:, k], scale[:, k]
                    if self.mixes[k]:  # manifold mixup at 'pool' mixes the run's pooled feature
                        f, batches[k] = r.engine.method.mix_features(f, batches[k], None)
                        tau = r.engine.forward_module.tau_by_class
                        s = r.engine.method.fcc_tau(tau, batches[k]) if self._fcc_on[k] else torch.ones_like(s)
                    cols.append(f)
                    scales.append(s)
                feats, scale = torch.stack(cols, dim=1), torch.stack(scales, dim=1)
            logits = self.net.head(feats * scale[..., None].to(feats.dtype))  # Eq. 1, run by run
            return torch.stack([r.engine.method.loss(logits[:, k], batches[k], self.epoch).float()
                                for k, r in enumerate(self.runs)])

    def _draws(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This step's mixup draws of every run, in each run's own generators: λ (K,) and permutations (N, K)."""
        lams, perms = [], []
        for r, m in zip(self.runs, self.mixes):
            lam, perm = r.engine.method.draw_mix(n, self.device, r.gen) if m else (1.0, torch.arange(n, device=self.device))
            lams.append(lam)
            perms.append(perm)
        host = torch.tensor(lams, dtype=torch.float32)
        if self.device.type == "cuda":  # a pageable copy would wait for the queued replays
            host = host.pin_memory()
        return host.to(self.device, non_blocking=True), torch.stack(perms, dim=1)

    def queue_epoch(self) -> None:
        from fcc_train.train.engine import _phase, lr_at
        from fcc_train.fcc import fcc_active

        self._pending_t0 = time.perf_counter()
        self.epoch += 1
        epoch = self.epoch
        self.opt.set_lr(lr_at(self.runs[0].cfg.optim, epoch))
        self.net.train()
        iters, taus, fcc_on = [], [], []
        for r in self.runs:
            r.engine._epoch = epoch
            r.engine.method.on_epoch_start(epoch)
            probs = r.engine.method.epoch_sampling(epoch)
            # the data path the run's own engine would take (the captured path augments the epoch at once)
            by_epoch = r.engine.mode in CAPTURED_MODES and hasattr(r.loader, "batches_from_epoch_tensor")
            batches = r.loader.batches_from_epoch_tensor if by_epoch else r.loader.batches
            iters.append(batches(probs, r.gen))
            taus.append(r.engine.forward_module.tau_by_class)
            fcc_on.append(fcc_active(r.cfg.fcc, epoch))
        phase = tuple(_phase(r.cfg, epoch, on) for r, on in zip(self.runs, fcc_on))
        self._fcc_on = fcc_on
        for batch in zip(*iters):
            xs = [b[0] for b in batch]
            ys = [b[1] for b in batch]
            x = self.lead.prepare_images(torch.cat(xs, dim=1))
            y = torch.stack(ys, dim=1)
            scale = torch.stack([t[yk] if on else torch.ones_like(yk, dtype=torch.float32)
                                 for t, yk, on in zip(taus, ys, fcc_on)], dim=1)
            self._step((x, y, scale, *self._draws(y.shape[0])) if any(self.mixes) else (x, y, scale), phase)
        losses = self.step.pop_loss()
        for k, r in enumerate(self.runs):
            r.adopt_epoch(losses[k], self._pending_t0)

    def _step(self, inputs: tuple[torch.Tensor, ...], phase: tuple) -> None:
        try:
            self.step(*inputs, phase=phase)
        except Exception as exc:
            if not self.step.capture or phase in self.step.graphs:
                raise  # an eager step, or a replay of a graph that captured: a real error
            # the failed capture left every tensor as it was; go on without graphs
            self.step.capture = False
            self.runs[0].say(f"[stack] CUDA graph capture failed ({type(exc).__name__}: {exc}); the stacked step runs eagerly")
            self.step(*inputs, phase=phase)

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
        for batches in zip(*(r.loader.eval_batches() for r in self.runs)):
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
