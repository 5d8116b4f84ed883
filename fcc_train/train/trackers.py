"""Experiment trackers fed once per evaluated epoch: TensorBoard (``train.tensorboard``) and W&B (``train.wandb``).

Both get the same scalars, from the record written to ``metrics.jsonl`` (so the three never disagree), at step =
the epoch:

======================  ===========================  =============================================
tag                     record key                   what
======================  ===========================  =============================================
``train/loss``          ``train_loss``               mean training loss of the epoch
``train/lr``            ``lr``                       learning rate the epoch trained at
``test/top1_error``     ``top1_error``               top-1 **error** on the test set, percent
``test/many_acc``       ``many``                     many-shot accuracy, percent (> 100 images)
``test/medium_acc``     ``medium``                   medium-shot accuracy, percent (20-100)
``test/few_acc``        ``few``                      few-shot accuracy, percent (< 20)
======================  ===========================  =============================================

TensorBoard writes event files to ``<run>/tensorboard`` through ``torch.utils.tensorboard`` (needs the
``tensorboard`` package: ``pip install -e '.[train,tb]'``). W&B logs to the project ``train.wandb`` names
(``true``: the project ``fcc``); the W&B run id is kept in ``<run>/wandb_id.txt`` so a resumed run continues
the same W&B run. ``WANDB_MODE=offline`` keeps everything on disk (``wandb sync`` uploads it later). A tracker
that is not installed, or that fails to start, costs one note; the run goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SCALARS", "Trackers", "wandb_project"]

SCALARS = {
    "train/loss": "train_loss",
    "train/lr": "lr",
    "test/top1_error": "top1_error",
    "test/many_acc": "many",
    "test/medium_acc": "medium",
    "test/few_acc": "few",
}
"""Tracker tag → ``metrics.jsonl`` key."""

_OFF = {"", "false", "no", "off", "0", "none", "null"}
_ON = {"true", "yes", "on", "1"}


def wandb_project(value: bool | str | None) -> str | None:
    """The W&B project ``train.wandb`` names, or None when W&B is off.

    >>> wandb_project(False), wandb_project("True"), wandb_project("lt-runs")
    (None, 'fcc', 'lt-runs')
    """
    text = str(value).strip() if value is not None else ""
    if text.lower() in _OFF:
        return None
    return "fcc" if text.lower() in _ON else text


def scalars_of(record: dict[str, Any]) -> dict[str, float]:
    """The tracker scalars of one ``metrics.jsonl`` record (keys that are None, e.g. an empty shot split, left out)."""
    return {tag: float(record[key]) for tag, key in SCALARS.items() if record.get(key) is not None}


class Trackers:
    """The trackers a run asked for; :meth:`log` once per evaluated epoch, :meth:`close` at the end."""

    def __init__(
        self,
        run_dir: Path,
        *,
        tensorboard: bool,
        wandb: bool | str | None,
        name: str,
        config: dict[str, Any] | None,
        note: Callable[[str], None],
    ) -> None:
        self.tb: Any = None
        self.wandb: Any = None
        self.wandb_run: Any = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:  # torch.utils.tensorboard imports the tensorboard package
                note("tensorboard is not installed; metrics go to metrics.jsonl/csv only (pip install -e '.[train,tb]')")
        project = wandb_project(wandb)
        if project is not None:
            self._start_wandb(run_dir, project, name, config, note)

    def _start_wandb(
        self, run_dir: Path, project: str, name: str, config: dict[str, Any] | None, note: Callable[[str], None]
    ) -> None:
        try:
            import wandb
        except ImportError:
            note("wandb is not installed; train.wandb is ignored (pip install wandb)")
            return
        id_file = run_dir / "wandb_id.txt"
        try:
            run_id = id_file.read_text().strip() if id_file.is_file() else None
            run_dir.mkdir(parents=True, exist_ok=True)
            run = wandb.init(project=project, name=name or None, config=config, dir=str(run_dir), id=run_id, resume="allow")
            if run_id is None and getattr(run, "id", None):
                id_file.write_text(str(run.id) + "\n")
        except Exception as exc:  # not logged in, no network without WANDB_MODE=offline, ...: the run matters more
            note(
                f"wandb did not start ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); train.wandb is ignored"
            )
            return
        self.wandb, self.wandb_run = wandb, run

    def log(self, record: dict[str, Any]) -> None:
        values = scalars_of(record)
        epoch = int(record["epoch"])
        if self.tb is not None:
            for tag, v in values.items():
                self.tb.add_scalar(tag, v, epoch)
            self.tb.flush()
        if self.wandb_run is not None:
            self.wandb_run.log(dict(values, epoch=epoch), step=epoch)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
            self.tb = None
        if self.wandb_run is not None:
            self.wandb_run.finish()
            self.wandb_run = None
