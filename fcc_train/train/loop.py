"""The run loop behind ``fcc train``: build, resume, train, evaluate, checkpoint, log.

Re-running the same command resumes from the newest complete checkpoint in
``<out>/checkpoints``; a finished run (``summary.json`` with ``done: true``)
prints its summary and exits 0 at once. The resolved config is written to
``<out>/config.yaml`` and stored in every checkpoint; resuming with a config
that differs in anything but the cosmetic keys (:data:`COSMETIC_KEYS`) is
refused with one line. A non-finite epoch loss stops the run (exit 3) and
leaves the last good checkpoint in place. The run holds its folder's lock
(:class:`~fcc_train.train.runlock.RunLock`) from ``start()`` until it ends, so a second
writer is refused at once; the temporary files of killed writers are removed at start, and a
``best.pt`` a kill left behind ``last.pt`` is published again on resume. ``on_checkpoint(epoch, run)``, when given, is
called after each checkpoint is written (the resume tests stop a run there).
"""

from __future__ import annotations

import random
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from fcc_theory.errors import UserError
from fcc_train.config import Config, config_from_dict, config_to_dict, flatten_config
from fcc_train.train.checkpoint import (
    FORMAT_VERSION,
    CheckpointSaver,
    capture_rng,
    checkpoint_config,
    find_resume,
    remove_stale_temporaries,
    restore_rng,
)
from fcc_train.train.metrics import compute_metrics
from fcc_train.train.run_config import (
    COSMETIC_KEYS,
    check_stage_inputs,
    check_stored_config,
    config_differences,
    refuse_if_different,
    resolve_device,
)
from fcc_train.train.runlock import RunLock
from fcc_train.train.runlog import RunLog, atomic_write_text, format_results
from fcc_train.train.schedule import extension_schedule, lr_at, milestone_warning

if TYPE_CHECKING:
    from fcc_train.methods import Method
    from fcc_train.train.engine import Engine

__all__ = ["COSMETIC_KEYS", "EXIT_NAN", "RunParts", "TrainingRun", "config_differences", "resolve_device", "run_training"]

EXIT_NAN = 3


def _dump_yaml(d: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(d, sort_keys=False)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _summary(
    cfg_dict: dict[str, Any],
    counts: list[int],
    best: dict[str, Any] | None,
    last: dict[str, Any] | None,
    seconds: float,
    done: bool,
) -> dict[str, Any]:
    from fcc_train.results.summary import RunSummary

    return RunSummary.from_records(best, last, class_counts=counts, config=cfg_dict, seconds=seconds, done=done).to_dict()


def run_training(
    cfg: Config,
    out_dir: str | Path,
    *,
    log: Callable[[str], None] | None = None,
    stream: Any = None,
    on_checkpoint: Callable[[int, TrainingRun], None] | None = None,
    extend: bool = False,
) -> int:
    """Train ``cfg`` into ``out_dir`` (resuming if possible); return the exit code (0, or 3 on a NaN loss).

    ``extend``: continue the (finished) run in ``out_dir`` to ``cfg.optim.epochs`` (``fcc train --extend``).
    """
    run = TrainingRun(cfg, out_dir, log=log, stream=stream, on_checkpoint=on_checkpoint, extend=extend)
    try:
        if run.start():
            while not run.finished:
                run.queue_epoch()
                run.finish_epoch()
    finally:
        run.close()
    return int(run.exit_code or 0)


@dataclass
class RunParts:
    """What :meth:`TrainingRun.start` builds: the device, data, model, method, engine, loader and the loader's generator."""

    device: torch.device
    data: Any
    model: torch.nn.Module
    method: Method
    engine: Engine
    loader: Any
    gen: torch.Generator


class TrainingRun:
    """One run's life, split at the epoch's single host synchronisation.

    ``start()`` builds data, model, method and engine and resumes from the newest
    checkpoint; ``queue_epoch()`` sets the learning rate and queues one training
    epoch (on a GPU it returns before the device has finished); ``finish_epoch()``
    synchronises once (the NaN check), evaluates, logs and checkpoints, and writes
    the summary after the last epoch. :func:`run_training` alternates the two;
    :mod:`fcc_train.fleet.multirun` queues the epochs of several runs on their own CUDA
    streams before finishing any, so their kernels overlap on one GPU.
    ``exit_code`` is None while the run goes on, then 0 (done) or :data:`EXIT_NAN`.
    ``on_checkpoint(epoch, run)`` is called after each epoch's checkpoint is written (tests stop a run there).
    """

    def __init__(
        self,
        cfg: Config,
        out_dir: str | Path,
        *,
        log: Callable[[str], None] | None = None,
        stream: Any = None,
        on_checkpoint: Callable[[int, TrainingRun], None] | None = None,
        extend: bool = False,
    ) -> None:
        self.cfg, self.run_dir = cfg, Path(out_dir)
        self.extend = extend  # --extend: the stored run may have fewer epochs (run_config.EXTEND_KEYS)
        self.resumed_config: dict[str, Any] | None = None  # the config of the checkpoint resumed from
        self._log, self._stream, self.on_checkpoint = log, stream, on_checkpoint
        self.exit_code: int | None = None
        self.epoch = 0  # the last epoch trained (or resumed from)
        self._pending: tuple[int, float, Any, float] | None = None
        self.parts: RunParts | None = None  # set by start()
        self.cfg_dict: dict[str, Any] = config_to_dict(cfg)
        self.dist: Any = None
        self.main = True
        self.rlog: RunLog | None = None
        self.say: Callable[[str], None] = log or print
        self.saver = CheckpointSaver(self.run_dir / "checkpoints")
        self.lock = RunLock(self.run_dir, note=self._note)
        self.best: dict[str, Any] | None = None  # the best evaluated epoch's record, with per-class recall
        self.last_eval: dict[str, Any] | None = None  # the last evaluated epoch's record, with per-class recall
        self.last: dict[str, Any] | None = None
        self.last_recall: list[float] | None = None
        self.seconds = 0.0  # training time of earlier runs of this folder (resumed from the checkpoint)
        self.t_start = self.t_epoch = time.perf_counter()
        # progress inside epochs (train.progress); off where several runs' epochs overlap on one GPU (fleet),
        # as a mid-epoch loss read would wait for the other runs' queued work
        self.in_epoch_progress = True
        self.clock: Callable[[], float] = time.monotonic  # times the progress lines (tests pass a fake clock)
        self.timing: dict[str, float] = {"setup": 0.0, "train": 0.0, "eval": 0.0, "checkpoint": 0.0}
        self.ckpt_every = max(1, getattr(cfg.train, "checkpoint_every", 1))

    def _note(self, msg: str) -> None:
        self.say(msg)

    def close(self) -> None:
        """Release the run folder's lock (the kernel drops it anyway when the process dies)."""
        self.lock.release()

    @property
    def finished(self) -> bool:
        return self.exit_code is not None

    def _built(self) -> RunParts:
        if self.parts is None:
            raise RuntimeError("the run is not started; call start() first")
        return self.parts

    # -- start: check, open the log, build, resume -------------------------------------------------
    def start(self) -> bool:
        """Build and resume; False when the run folder already holds a finished run (``exit_code`` 0)."""
        from fcc_train.train import distributed

        self.t_start = time.perf_counter()
        self.dist = distributed.setup(self.cfg.train.device)
        self.main = self.dist.is_main
        self.saver.enabled = self.main
        self._check_config()
        if self.main:  # one writer per folder, for the run's whole life
            self.lock.acquire()
            for folder in (self.run_dir, self.run_dir / "checkpoints"):
                remove_stale_temporaries(folder, lock_held=True)
        self.rlog = RunLog(
            self.run_dir,
            enabled=self.main,
            progress=self.cfg.train.progress,
            tensorboard=self.cfg.train.tensorboard,
            wandb=self.cfg.train.wandb,
            run_name=self.cfg.name,
            config=self.cfg_dict,
            stream=self._stream,
            clock=self.clock,
        )
        self.say = self._log or self.rlog.note
        warning = milestone_warning(self.cfg.optim)
        if warning and self.main:
            self.say(warning)
        if self._already_finished():
            self.close()
            return False
        self.parts = self._build()
        self._resume()
        self._state_extension()
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            # atomic: a config.yaml cut by a kill could parse as another config and refuse the resume
            atomic_write_text(self.run_dir / "config.yaml", _dump_yaml(self.cfg_dict))
        self.rlog.load_existing(self.epoch)
        for n in self.parts.engine.notes:
            self.say(n)
        # where the time goes (this process only): setup, training epochs, evaluation, checkpoint writing
        self.timing["setup"] = time.perf_counter() - self.t_start
        self.t_epoch = time.perf_counter()
        if self.epoch >= self.cfg.optim.epochs:  # a checkpoint of the last epoch whose summary was never written
            self._finish_run()
        return True

    def _check_config(self) -> None:
        cfg = self.cfg
        if cfg.optim.epochs < 1:
            raise UserError(f"optim.epochs must be >= 1, got {cfg.optim.epochs}")
        if cfg.train.eval_every < 1:
            raise UserError(f"train.eval_every must be >= 1, got {cfg.train.eval_every}")
        resolve_device(cfg.train.device, self.dist.local_rank)  # a missing device is refused before anything is written
        check_stage_inputs(cfg)
        if self.extend and not (self.run_dir / "checkpoints").is_dir():
            raise UserError(
                f"--extend continues a run, but '{self.run_dir}' holds no checkpoint; drop --extend to train it from the start"
            )
        check_stored_config(self.run_dir, self.cfg_dict, self.extend)

    def _already_finished(self) -> bool:
        summary_path = self.run_dir / "summary.json"
        if not summary_path.is_file():
            return False
        import json

        try:
            done = json.loads(summary_path.read_text(encoding="utf-8"))
        except ValueError:
            done = {}
        if not isinstance(done, dict) or not isinstance(done.get("config"), dict):
            return False  # damaged: the run resumes from its checkpoints and writes it again
        if not (done.get("done") and done.get("config") is not None):
            return False
        refuse_if_different(self.run_dir, done["config"], self.cfg_dict, self.extend)
        if self.extend and int(flatten_config(done["config"]).get("optim.epochs") or 0) < self.cfg.optim.epochs:
            return False  # --extend: resume from the last checkpoint and train the new epochs
        more = "" if self.extend else "; --extend N trains it to N epochs"
        self.say(f"run '{self.run_dir}' is already finished (delete the folder to train again{more})")
        self.say(format_results(done))
        self.exit_code = 0
        return True

    def _build(self) -> RunParts:
        from fcc_train.data import build_datasets, make_loader
        from fcc_train.experiments.fcc_placement import fcc_effect
        from fcc_train.fcc import label_order_warning, tau_by_class
        from fcc_train.methods import FCC_COSINE_WARNING, DataInfo, build_method, prepare_stage
        from fcc_train.models import build_model
        from fcc_train.train.engine import Engine

        cfg, dist = self.cfg, self.dist
        device = resolve_device(cfg.train.device, dist.local_rank)
        if device.type == "cpu":
            torch.set_num_threads(max(1, cfg.train.threads))
        else:
            torch.backends.cudnn.benchmark = True
        _seed_everything(cfg.train.seed)

        data = build_datasets(cfg)
        model = build_model(cfg, data.num_classes, data.in_channels).to(device)
        if dist.distributed and cfg.train.sync_bn:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        info = DataInfo(class_counts=list(data.class_counts), epochs=cfg.optim.epochs)
        with warnings.catch_warnings():
            # the run says where FCC acts in one note below (fcc_effect), not as a raw warning with a source line
            warnings.filterwarnings("ignore", message=re.escape(FCC_COSINE_WARNING))
            method = build_method(cfg, info, device)
        params = list(prepare_stage(model, cfg, device))
        notes: list[str] = [w for w in (label_order_warning(cfg.fcc, data.class_counts),) if w]
        if cfg.fcc.enabled:
            notes.insert(0, f"fcc: {fcc_effect(cfg).line()}")
        wrap = None
        if dist.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            def wrap(forward: torch.nn.Module) -> torch.nn.Module:
                # device_ids=None: the batch is already on this rank's device, and DDP must not try to move a Batch dataclass
                return DDP(forward, device_ids=None)

        tau = tau_by_class(cfg.fcc, data.class_counts, device)
        engine = Engine(cfg, model, method, params, device, tau, notes, wrap_forward=wrap)
        loader = make_loader(data, cfg, device, rank=dist.rank, world_size=dist.world_size)
        gen = torch.Generator(device=device)
        gen.manual_seed(cfg.train.seed + 1000 * dist.rank)
        return RunParts(device, data, model, method, engine, loader, gen)

    @property
    def generators(self) -> dict[str, torch.Generator]:
        """The run's named generators, saved in and restored from its checkpoints."""
        return {"loader": self._built().gen}

    def _resume(self) -> None:
        from fcc_train.train.restore import load_weights

        parts = self._built()
        found = find_resume(self.run_dir / "checkpoints", map_location=parts.device)
        if found is None:
            return
        path, state = found
        stored = config_to_dict(config_from_dict(checkpoint_config(state, path)))
        refuse_if_different(self.run_dir, stored, self.cfg_dict, self.extend)
        self.resumed_config = stored
        load_weights(parts.model, state["model"], path, "delete the run folder to train again")
        parts.engine.load_optimizer_state(state["optimizer"])
        self.epoch, self.best, self.seconds = int(state["epoch"]), state.get("best"), float(state.get("seconds", 0.0))
        last_eval = state.get("last_eval")
        self.last_eval = last_eval
        self.last = {k: v for k, v in last_eval.items() if k != "per_class_recall"} if last_eval else None
        self.last_recall = last_eval.get("per_class_recall") if last_eval else None
        rng = state["rng"]
        if "per_rank" in rng:  # written by a torchrun run: each rank gets its own states back (rank 0's if fewer)
            per_rank = rng["per_rank"]
            rng = per_rank[self.dist.rank] if self.dist.rank < len(per_rank) else per_rank[0]
        restore_rng(rng, self.generators)
        self.say(f"resuming '{self.run_dir}' from {path.name} (epoch {self.epoch}/{self.cfg.optim.epochs})")
        if path.name != "last.pt":  # last.pt was unreadable: replace it by the checkpoint we resume from
            self.saver.save(state, last=True, best=False)
        repaired = self.saver.repair_best(path, state)
        if repaired:
            self.say(repaired)

    def _state_extension(self) -> None:
        """With ``--extend``: refuse a folder with nothing to extend; state the schedule the new epochs get, in one line."""
        if not self.extend:
            return
        if self.resumed_config is None:
            raise UserError(
                f"--extend continues a run, but '{self.run_dir}' holds no checkpoint; drop --extend to train it from the start"
            )
        old = config_from_dict(self.resumed_config).optim
        if self.cfg.optim.epochs > old.epochs and self.epoch >= old.epochs:
            self.say(
                f"extending '{self.run_dir}' from {old.epochs} to {self.cfg.optim.epochs} epochs: "
                + extension_schedule(old, self.cfg.optim)
                + ("; the pb sampler's progression now spans the new epochs" if self.cfg.method.sampler == "pb" else "")
            )

    # -- epochs ---------------------------------------------------------------------------------------
    def queue_epoch(self) -> None:
        """Set the learning rate and queue the next training epoch (no host synchronisation)."""
        from fcc_train.train.epoch import train_one_epoch

        parts = self._built()
        if self.finished or self._pending is not None:
            raise RuntimeError("queue_epoch() on a finished run or before finish_epoch()")
        epoch = self.epoch + 1
        t0 = time.perf_counter()
        lr = lr_at(self.cfg.optim, epoch)
        parts.engine.set_lr(lr)
        progress = None
        if self.in_epoch_progress and self.rlog is not None:
            progress = self.rlog.epoch_progress(epoch, self.cfg.optim.epochs, getattr(parts.loader, "steps_per_epoch", None))
        loss_t = train_one_epoch(parts.engine, parts.loader, epoch, parts.gen, progress)
        self._pending = (epoch, lr, loss_t, t0)

    def adopt_epoch(self, loss_t: torch.Tensor, started: float) -> None:
        """Record the next epoch as trained elsewhere (a stacked group), its mean loss ``loss_t``; then ``finish_epoch``."""
        if self.finished or self._pending is not None:
            raise RuntimeError("adopt_epoch() on a finished run or before finish_epoch()")
        epoch = self.epoch + 1
        self._pending = (epoch, lr_at(self.cfg.optim, epoch), loss_t, started)

    def evaluates_at(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` ends with an evaluation (every ``train.eval_every`` epochs and the last)."""
        return epoch % self.cfg.train.eval_every == 0 or epoch == self.cfg.optim.epochs

    def saves_at(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` writes ``last.pt`` (every ``train.checkpoint_every`` epochs and the last)."""
        return epoch % self.ckpt_every == 0 or epoch == self.cfg.optim.epochs

    def finish_epoch(self, predictions: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        """Synchronise once (loss), then evaluate, log and checkpoint the queued epoch.

        ``predictions``: (predicted, true) test labels computed elsewhere (a stacked group evaluates
        its runs in one pass); None evaluates this run's own model.
        """
        if self._pending is None:
            raise RuntimeError("finish_epoch() without queue_epoch()")
        assert self.rlog is not None
        epoch, lr, loss_t, t0 = self._pending
        self._pending = None
        loss = float(loss_t)  # the one host sync of the epoch
        self.epoch = epoch
        self.timing["train"] += time.perf_counter() - t0
        if not np.isfinite(loss):
            ckpts = self.run_dir / "checkpoints"
            kept = (
                f"The last good checkpoint is kept in {ckpts}"
                if (ckpts / "last.pt").is_file() or (ckpts / "best.pt").is_file()
                else "No checkpoint was written before it"
            )
            self.say(f"training loss is {loss} at epoch {epoch} (lr {lr:g}); stopping. {kept}; lower optim.lr or check the data")
            self.rlog.close()
            self.close()
            self.exit_code = EXIT_NAN
            return
        record = self._evaluate(epoch, lr, loss, predictions) if self.evaluates_at(epoch) else None
        now = time.perf_counter()
        self.rlog.progress(epoch, self.cfg.optim.epochs, loss, record["top1_error"] if record else None, now - self.t_epoch)
        self.t_epoch = now
        is_best = record is not None and self.best is not None and self.best["epoch"] == epoch
        if self.saves_at(epoch) or is_best:
            self._checkpoint(epoch, is_best)
        if epoch >= self.cfg.optim.epochs:
            self._finish_run()

    def _evaluate(
        self, epoch: int, lr: float, loss: float, predictions: tuple[torch.Tensor, torch.Tensor] | None
    ) -> dict[str, Any]:
        from fcc_train.methods.two_stage import selection_model
        from fcc_train.train.evaluate import evaluate

        parts = self._built()
        assert self.rlog is not None
        t0 = time.perf_counter()
        if predictions is None and epoch == self.cfg.optim.epochs and hasattr(parts.method, "before_last_evaluation"):
            parts.method.before_last_evaluation(parts.engine, parts.loader)  # SADE's test-time aggregation
        preds, labels = predictions if predictions is not None else evaluate(parts.engine, parts.loader)
        m = compute_metrics(preds, labels, parts.data.class_counts)
        now = time.perf_counter()
        self.timing["eval"] += now - t0
        record = {
            "epoch": epoch,
            "lr": lr,
            "train_loss": loss,
            "top1_error": m["top1_error"],
            "many": m["many"],
            "medium": m["medium"],
            "few": m["few"],
            "seconds": round(self.seconds + now - self.t_start, 3),
        }
        if predictions is None and epoch == self.cfg.optim.epochs:  # RIDE-EA: the experts each test sample used
            record.update(getattr(parts.method, "last_evaluation_extras", {}))
        selector = selection_model(parts.engine.model, self.cfg) if predictions is None else None
        if selector is not None:  # τ-norm picks its best epoch on the raw head (stage.tau_norm_checkpoint: ce_best)
            picked = evaluate(parts.engine, parts.loader, selector)
            record["selection_top1_error"] = compute_metrics(*picked, parts.data.class_counts)["top1_error"]
        key = "selection_top1_error" if selector is not None else "top1_error"
        self.rlog.log_epoch(record)
        self.last, self.last_recall = record, m["per_class_recall"]
        self.last_eval = dict(record, per_class_recall=self.last_recall)
        if self.best is None or record[key] < self.best.get(key, self.best["top1_error"]):
            self.best = dict(record, per_class_recall=m["per_class_recall"])
        return record

    def _checkpoint(self, epoch: int, is_best: bool) -> None:
        from fcc_train.train import distributed

        parts = self._built()
        t0 = time.perf_counter()
        state = {
            "model": parts.model.state_dict(),
            "optimizer": parts.engine.optimizer_state(),
            "epoch": epoch,
            "config": self.cfg_dict,
            "rng": capture_rng(self.generators),
            "best": self.best,
            "last_eval": self.last_eval,
            "class_counts": list(parts.data.class_counts),
            "format_version": FORMAT_VERSION,
            "seconds": self.seconds + time.perf_counter() - self.t_start,
        }
        if self.dist.distributed:
            state["rng"] = {"per_rank": _gather_objects(state["rng"])}
        self.saver.save(state, last=self.saves_at(epoch), best=is_best)
        distributed.barrier()
        self.timing["checkpoint"] += time.perf_counter() - t0
        if self.on_checkpoint is not None:
            self.on_checkpoint(epoch, self)

    def _finish_run(self) -> None:
        from fcc_train.train import distributed

        parts = self._built()
        assert self.rlog is not None
        cfg, data = self.cfg, parts.data
        seconds_total = self.seconds + time.perf_counter() - self.t_start
        summary = _summary(self.cfg_dict, list(data.class_counts), self.best, self.last, seconds_total, done=True)
        summary["timing_this_process"] = {k: round(v, 3) for k, v in self.timing.items()}
        self.rlog.write_per_class(data.class_counts, self.best.get("per_class_recall") if self.best else None, self.last_recall)
        self.rlog.write_summary(summary)
        self.rlog.close()
        if self.main:
            self.say(f"{cfg.name}: finished {cfg.optim.epochs} epochs in {seconds_total:.1f} s ({self.run_dir})")
            self.say(format_results(summary))
        self.exit_code = 0
        self.close()
        distributed.cleanup()


def _gather_objects(obj: Any) -> list[Any]:
    import torch.distributed as tdist

    out: list[Any] = [None] * tdist.get_world_size()
    tdist.all_gather_object(out, obj)
    return out
