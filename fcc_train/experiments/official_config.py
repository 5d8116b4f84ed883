"""Import an official FCC / Bag-of-Tricks-LT yacs config into this project's config keys.

The official code (lijian16/FCC, a fork of zhangyongshun/BagofTricks-LT) reads upper-case yacs YAML
files on top of its ``config/default.py``. :data:`ROWS` holds one row per key of that defaults file:
its official default, the keys it sets here and how, or why it has no effect here. Importing merges
the file over those defaults (yacs' rules: a string is read as a Python literal where it is one, the
value must have the default's type), converts every row and validates the result with
:func:`fcc_train.config.config_from_dict`. A key the table does not know, a value of the wrong type or a
feature this trainer does not have is one :class:`~fcc_train.config.ConfigError` line.

Two readings of the same file (``quirks``):

* ``quirks=False`` (default): the official behaviour as the shipped ``configs/<split>/*.yaml`` write it
  (τ rounded to 2 decimals as the official code, Remix's batch-mean label weight, LDAM's DRW weights from
  epoch ``START_EPOCH`` itself, CELAS's DRW a no-op), with τ ranked by training frequency (on CIFAR-LT
  the official label-id order);
* ``quirks=True``: also τ indexed by label id (the official rule, which differs from frequency order on
  ImageNet-LT and iNat18) and no DRW at all for the losses whose official ``update`` ignores it.

>>> text = "FCC: {WORK: True, GAMMA: 0.5}\\nTRAIN: {COMBINER: {TYPE: fcc}, OPTIMIZER: {WEIGHT_DECAY: 2e-4}}"
>>> text += "\\nTRANSFORMS: {TRAIN_TRANSFORMS: [random_crop], TEST_TRANSFORMS: []}"
>>> imp = import_official_text(text)
>>> imp.keys["fcc.enabled"], imp.keys["fcc.gamma"], imp.keys["optim.weight_decay"], imp.keys["optim.epochs"]
(True, 0.5, 0.0002, 60)
>>> import_official_text("TRAIN: {EPOCHS: 3}")
Traceback (most recent call last):
...
fcc_train.config.ConfigError: unknown official config key 'TRAIN.EPOCHS' (did you mean 'TRAIN.MAX_EPOCH'?); remove or rename it
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fcc_train.config import Config, ConfigError, config_from_dict
from fcc_train.experiments.official_convert import Convert, Ctx, Flat

__all__ = ["ROWS", "OfficialImport", "Row", "import_official", "import_official_text", "markdown_table", "to_yaml"]


@dataclass(frozen=True)
class Row:
    key: str  # official dotted key
    default: Any  # the official default (config/default.py)
    target: str  # our key(s) it sets; "" = no effect here
    how: str  # the conversion, or why the key has no effect here
    convert: Convert | None = None


from fcc_train.experiments.official_rows import rows  # noqa: E402  (the rows are built with Row)

ROWS: tuple[Row, ...] = rows()
_BY_KEY = {r.key: r for r in ROWS}


# ---- reading ------------------------------------------------------------------------------------------
def _decode(value: Any) -> Any:
    """yacs' reading of a YAML value: a string that is a Python literal becomes that literal ('2e-4', '(32, 32)')."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
    return value


def _typed(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, (tuple, list)):
        ok = isinstance(value, (tuple, list)) and all(isinstance(x, (int, float, str)) and not isinstance(x, bool) for x in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        want = (
            "a list"
            if isinstance(default, (tuple, list))
            else {"int": "an int", "float": "a float", "bool": "a bool"}.get(type(default).__name__, "a string")
        )
        raise ConfigError(
            f"official key {key} is {value!r} ({type(value).__name__}); it needs {want} like its default {default!r}"
        )
    return value


def _flatten(data: dict[str, Any], prefix: str, out: Flat) -> None:
    for k, v in data.items():
        key = f"{prefix}{k}"
        if key not in _BY_KEY and not any(r.startswith(key + ".") for r in _BY_KEY):
            close = difflib.get_close_matches(key, list(_BY_KEY), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"unknown official config key '{key}'{hint}; remove or rename it")
        if isinstance(v, dict):
            if key in _BY_KEY:
                raise ConfigError(f"official key {key} is a mapping; it needs a value like its default {_BY_KEY[key].default!r}")
            _flatten(v, key + ".", out)
        elif key not in _BY_KEY:
            raise ConfigError(f"official key {key} is a section; give its keys ({key}.…) instead of {v!r}")
        else:
            out[key] = _typed(key, _decode(v), _BY_KEY[key].default)


@dataclass
class OfficialImport:
    keys: Flat  # our dotted keys and values, as the rows set them
    config: Config  # the validated config
    notes: list[str] = field(default_factory=list)  # what the user still has to give (checkpoints)


def import_official_text(
    text: str, quirks: bool = False, depends_on: str | None = None, source: str = "the file"
) -> OfficialImport:
    """Convert the text of an official yacs config (see the module docstring)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML ({str(exc).splitlines()[0]}); fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source} must hold a mapping of official keys (NAME, DATASET, TRAIN, ...), not a {type(data).__name__}"
        )
    given: Flat = {}
    _flatten(data, "", given)
    cfg = {r.key: given.get(r.key, r.default) for r in ROWS}
    ctx = Ctx(cfg, quirks)
    keys: Flat = {}
    for r in ROWS:
        for k, v in (r.convert(cfg[r.key], ctx) if r.convert else {}).items():
            if k in keys and keys[k] != v:
                raise ConfigError(f"official key {r.key} sets {k} to {v!r}, another key to {keys[k]!r}; make them agree")
            keys[k] = v
    notes = []
    stage2 = cfg["CLASSIFIER.TYPE"] in ("cRT", "LWS") or cfg["NETWORK.PRETRAINED"]
    if stage2:
        notes.append("stage 2: give the stage-1 run with --set stage.init_from=RUN1 (official checkpoints do not load here)")
    if cfg["TRAIN.COMBINER.TYPE"] == "dive":
        notes.append("DiVe: give the teacher run with --set method.teacher=RUN1 (official checkpoints do not load here)")
    if depends_on is not None:
        if not (stage2 or cfg["TRAIN.COMBINER.TYPE"] == "dive"):
            raise ConfigError(
                "--depends-on names a stage-1 / teacher config, but this config is neither stage 2 nor DiVe; drop it"
            )
        keys["stage.depends_on"] = depends_on
    nested: dict[str, Any] = {}
    for k, v in keys.items():
        *parents, last = k.split(".")
        node = nested
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = list(v) if isinstance(v, tuple) else v
    return OfficialImport(keys, config_from_dict(nested), notes)


MAX_BYTES = 1 << 20  # official configs are ~2 KB; a bound on what literal_eval and YAML are given


def import_official(path: str | Path, quirks: bool = False, depends_on: str | None = None) -> OfficialImport:
    """Read and convert an official config file (UTF-8 YAML)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"official config '{p}' does not exist; pass a YAML file from the official configs/ folder")
    if p.stat().st_size > MAX_BYTES:
        raise ConfigError(f"official config '{p}' is {p.stat().st_size} bytes; official configs are a few KB, pass one of them")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"official config '{p}' is not UTF-8 text (byte {exc.start}); pass a YAML file") from None
    return import_official_text(text, quirks, depends_on, source=f"official config '{p}'")


_Dumper: Any = None
SECTIONS = ("name", "data", "model", "fcc", "method", "stage", "optim", "train")


def to_yaml(imp: OfficialImport, source: str, quirks: bool = False) -> str:
    """Our YAML for an import: the keys the official file determines, in the shipped configs' section order."""
    import yaml

    global _Dumper
    if _Dumper is None:
        _Dumper = _dumper()
    nested: dict[str, Any] = {}
    for k in sorted(imp.keys, key=lambda k: (SECTIONS.index(k.split(".")[0]), list(imp.keys).index(k))):
        *parents, last = k.split(".")
        node = nested
        for p in parents:
            node = node.setdefault(p, {})
        v = imp.keys[k]
        node[last] = list(v) if isinstance(v, tuple) else v
    head = [f"# Imported from the official config {source} by fcc import-config{' --official-quirks' if quirks else ''}."]
    head += [f"# {n}" for n in imp.notes]
    return "\n".join(head) + "\n" + yaml.dump(nested, Dumper=_Dumper, sort_keys=False, width=130)


def _dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    # flow style for lists ([160, 180]), as the shipped configs
    Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
    return Dumper


def markdown_table() -> str:
    """The key table of docs/official-configs.md, from :data:`ROWS`."""
    lines = ["| Official key | Official default | Here | How / why not |", "|---|---|---|---|"]
    for r in ROWS:
        target = ", ".join(f"`{t.strip()}`" for t in r.target.split(",")) if r.target else "no effect"
        how = r.how.replace("|", "\\|")
        lines.append(f"| `{r.key}` | `{r.default!r}` | {target} | {how} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m fcc_train.experiments.official_config --markdown
    import sys

    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m fcc_train.experiments.official_config --markdown")
    print(markdown_table())
