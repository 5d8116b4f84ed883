"""Which method and which FCC variant a finished run trained, named as in the paper's tables.

The method catalogue (``fcc_train.experiments.catalog``) decides when a run's keys match one of its
entries; otherwise a label is built from the keys. The FCC variant is 'raw' or a short description
of the FCC setting (Eq. 1's strategy and γ, and whatever else differs from the defaults).

>>> method_identity({"method": {"loss": "focal"}})[0]
'Focal loss'
>>> fcc_variant({"fcc": {"enabled": True, "strategy": "edc", "gamma": 0.5}})
'edc γ=0.5'
"""

from __future__ import annotations

import json
from typing import Any

from fcc_train.config import config_to_dict, flatten_config
from fcc_train.results.run_results import benchmark_name

__all__ = ["IGNORED_KEYS", "fcc_variant", "method_identity", "method_key", "method_label", "short_fcc"]

# keys that do not change what is trained or that vary between seeds of one experiment; the stage-1 /
# teacher paths differ between a two-stage run's raw and +FCC variants (and between seeds), so they
# must not split cRT, LWS or DiVe rows
IGNORED_KEYS = ("name", "train.", "data.root", "data.store", "fcc.", "stage.init_from", "stage.depends_on", "method.teacher")


_LOSS_LABELS = {
    "ce": "",
    "focal": "Focal loss",
    "cb_focal": "CB Focal loss",
    "cbce": "CBCE",
    "bsce": "BSCE",
    "ce_ls": "CELS",
    "celas": "CELAS",
    "ldam": "LDAM",
    "cdt": "CDT",
    "dive": "DiVe",
}
# keys of a catalogue entry that say how a run is chained or compressed, not which method it is
_CATALOG_SKIP = ("fcc.", "stage.depends_on", "stage.init_from", "method.teacher")


def _catalog_entry(cfg: dict[str, Any]) -> Any:
    """The method catalogue's entry (``fcc_train.experiments.catalog``) whose config keys this run has (and no
    other method/stage key off its default), the most specific one when several match; None if none does."""
    try:
        from fcc_train.experiments.catalog import METHODS, SPLITS, config_overrides
    except ImportError:  # the catalogue is optional for reading tables
        return None
    from fcc_train.config import Config

    flat = flatten_config(cfg)
    defaults = flatten_config(config_to_dict(Config()))
    bench = benchmark_name(cfg)
    split = "digits" if cfg.get("data", {}).get("dataset") == "digits" else (bench if bench in SPLITS else SPLITS[0])
    best, best_n = None, -1
    for entry in METHODS:
        over = {k: v for k, v in config_overrides(entry, split, False).items() if not k.startswith(_CATALOG_SKIP)}
        # specificity: how many of the entry's keys move away from the defaults (method.loss=ce does not)
        n = sum(defaults.get(k) != v for k, v in over.items())
        # the run must have all the entry's keys, and no other method/stage key away from the defaults
        same = all(k in flat and flat[k] == v for k, v in over.items()) and all(
            flat[k] == over.get(k, defaults.get(k))
            for k in flat
            if k.startswith(("method.", "stage.")) and not k.startswith(_CATALOG_SKIP)
        )
        if same and n > best_n:
            best, best_n = entry, n
    return best


def _heuristic_label(cfg: dict[str, Any]) -> str:
    m, st = cfg.get("method", {}), cfg.get("stage", {})
    parts = []
    loss = m.get("loss", "ce")
    base = _LOSS_LABELS.get(loss, loss)
    if base:
        parts.append(base + ("-DRW" if loss == "ldam" and m.get("drw_start_epoch") is not None else ""))
        if loss != "ldam" and m.get("drw_start_epoch") is not None:
            parts[-1] += "+DRW"
    sampler = m.get("sampler", "instance")
    if sampler != "instance":
        parts.append(f"{sampler.upper()} sampling" + ("+DRS" if m.get("drs_start_epoch") is not None else ""))
    mix = m.get("mixup", "none")
    if mix != "none":
        parts.append({"input": "Input Mixup", "manifold": "Manifold Mixup", "remix": "Remix"}.get(mix, mix))
    for flag, name in (("reset_head", "cRT"), ("lws", "LWS")):
        if st.get(flag):
            parts.append(name)
    if st.get("head_transform") == "tau_norm":
        parts.append("tau-norm")
    if st.get("max_norm") is not None:
        parts.append("LTR-WB +WD&Max")
    label = "+".join(parts) or "Baseline"
    if cfg.get("model", {}).get("head") == "cosine":
        label += " (cosine head)"
    return label


def method_identity(cfg: dict[str, Any]) -> tuple[str, str | None]:
    """(label, the paper's row name or None) for the method a config trains, FCC not included.

    The method catalogue decides when the run's keys match one of its entries (label = the paper's row
    name where the entry is a Table 1 row, else the entry's title); otherwise a label is built from the keys.
    """
    entry = _catalog_entry(cfg)
    if entry is not None:
        label = entry.table_row or entry.title
        if entry.key == "ce":
            label = "Baseline"
        return label, entry.table_row
    label = _heuristic_label(cfg)
    return label, label


def method_label(cfg: dict[str, Any]) -> str:
    """A human label in the paper's naming for the method a config trains (FCC not included)."""
    return method_identity(cfg)[0]


def method_key(cfg: dict[str, Any]) -> tuple:
    flat = flatten_config(cfg)
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in flat.items() if not k.startswith(IGNORED_KEYS)))


def fcc_variant(cfg: dict[str, Any]) -> str:
    """'raw', or a short description of the FCC setting (strategy, γ, and whatever differs from the defaults).

    A run without FCC of its own whose teacher / stage 1 is a +FCC config (``stage.depends_on`` ending in
    ``_fcc``) is a +FCC run too: DiVe+FCC trains only the teacher with FCC (the official recipe), so its
    student config has ``fcc.enabled: false`` and differs from raw DiVe only in ``stage.depends_on``, the
    key ``fcc sweep`` follows. Its variant is 'FCC on the teacher [depends_on=...]'.
    """
    f = cfg.get("fcc", {})
    if not f.get("enabled"):
        dep = (cfg.get("stage") or {}).get("depends_on")
        if isinstance(dep, str) and dep.endswith("_fcc"):
            m = cfg.get("method") or {}
            who = "teacher" if m.get("loss") == "dive" or m.get("teacher") else "stage 1"
            return f"FCC on the {who} [depends_on={dep}]"
        return "raw"
    text = f"{f.get('strategy', 'edc')} γ={f.get('gamma')}"
    if f.get("strategy") == "half":
        text += f" β={f.get('beta', 0)}"
    extras = [f"{k}={f[k]}" for k in ("order", "round_decimals", "start_epoch", "mix_tau") if k in f]
    return text + (" [" + ", ".join(extras) + "]" if extras else "")


def short_fcc(variant: str) -> str:
    return variant.split(" [", 1)[0]
