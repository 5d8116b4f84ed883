"""One training run asked for: a YAML config and its ``--set`` overrides, the folder it trains into, and the
run it waits for (stage 1 of a two-stage method, a DiVe teacher). ``fcc sweep`` plans them, writes them to
jobs files and ``fcc train --jobs FILE`` reads them back.

A jobs file (YAML or JSON) is a list of ``{config: FILE, out: DIR, set: [KEY=VALUE, ...]}`` entries:

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> reqs = [RunRequest(Path("configs/digits/ce.yaml"), Path("runs/a"), ("train.seed=1",))]
>>> write_jobs_file(reqs, folder / "jobs.json")
>>> read_jobs_file(folder / "jobs.json") == reqs
True
>>> reqs[0].to_jobs_entry()
{'config': 'configs/digits/ce.yaml', 'out': 'runs/a', 'set': ['train.seed=1']}

A run whose config exists only in memory (built by code, not read from a file) carries it resolved:

>>> from fcc_train.config import load_config
>>> req = RunRequest.of_config(load_config(None, ["name=tiny", "optim.epochs=1"]), "runs/tiny")
>>> req.name, req.config.optim.epochs, req.out
('tiny', 1, PosixPath('runs/tiny'))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from fcc_theory.errors import UserError

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["JOBS_KEYS", "RunRequest", "read_jobs_file", "write_jobs_file"]

JOBS_KEYS = ("config", "out", "set")


@dataclass
class RunRequest:
    """A run to train: ``config_path`` with ``overrides`` applied (in order), into ``out``, after ``depends_on``.

    ``config`` is the resolved :class:`~fcc_train.config.Config`, read from the file on first use (or given by
    :meth:`of_config`); ``name`` is its name."""

    config_path: Path | None
    out: Path
    overrides: tuple[str, ...] = ()
    depends_on: RunRequest | None = None
    resolved: Config | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of_config(cls, config: Config, out: str | Path) -> RunRequest:
        """A run of an already resolved config (no file behind it, so it cannot go into a jobs file)."""
        return cls(None, Path(out), resolved=config)

    @property
    def config(self) -> Config:
        if self.resolved is None:
            from fcc_train.config import load_config

            self.resolved = load_config(self.config_path, list(self.overrides))
        return self.resolved

    @property
    def name(self) -> str:
        return self.config.name

    def after(self, overrides: Sequence[str]) -> RunRequest:
        """This run with ``overrides`` applied before its own (its own win), unresolved again."""
        return replace(self, overrides=(*overrides, *self.overrides), resolved=None)

    def to_jobs_entry(self) -> dict[str, Any]:
        """The run as one entry of a jobs file."""
        if self.config_path is None:
            raise ValueError(f"run into '{self.out}' has no config file; a jobs file lists config files")
        return {"config": str(self.config_path), "out": str(self.out), "set": list(self.overrides)}

    @classmethod
    def from_jobs_entry(cls, entry: Any, where: str = "jobs file") -> RunRequest:
        """Check one jobs-file entry (``where`` names it in the one-line error) and read it."""
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), str) or not isinstance(entry.get("out"), str):
            raise UserError(f"{where}: needs 'config' and 'out' strings (and optionally a 'set' list)")
        unknown = set(entry) - set(JOBS_KEYS)
        if unknown:
            raise UserError(f"{where}: unknown key '{sorted(unknown)[0]}'; use config, out and set")
        sets = entry.get("set", [])
        if not isinstance(sets, list):
            raise UserError(f"{where}: 'set' must be a list of KEY=VALUE strings")
        return cls(Path(entry["config"]), Path(entry["out"]), tuple(str(s) for s in sets))


def read_jobs_file(path: str | Path) -> list[RunRequest]:
    """A jobs file's runs, checked; a missing file, bad syntax or a bad entry is one :class:`UserError` line."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise UserError(f"jobs file '{p}' does not exist; write a YAML list of {{config: FILE, out: DIR, set: [KEY=VALUE]}}")
    try:
        data = yaml.safe_load(p.read_text())  # JSON is YAML
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"jobs file '{p}' is not valid YAML/JSON ({type(exc).__name__}); fix its syntax") from None
    if not isinstance(data, list) or not data:
        raise UserError(f"jobs file '{p}' must hold a non-empty list of {{config, out, set}} entries")
    return [RunRequest.from_jobs_entry(entry, f"jobs file '{p}', entry {i}") for i, entry in enumerate(data)]


def write_jobs_file(requests: Sequence[RunRequest], path: str | Path) -> None:
    """Write ``requests`` as a JSON jobs file (its folder made if needed), for ``fcc train --jobs``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps([r.to_jobs_entry() for r in requests], indent=1))
