"""Deterministic saving of matplotlib figures (Agg canvas, no pyplot state, no dates in metadata).

The same figure saved twice gives the same bytes: PNG/SVG/PDF metadata dates are
removed, the SVG hash salt is fixed and every random draw in the figures uses a
seeded numpy generator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fcc_theory.errors import UserError

FORMATS = ("png", "svg", "pdf")

# per-format metadata: None removes the key (matplotlib would otherwise write a date or version)
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}

DPI = 100


def new_figure(width: float, height: float) -> Any:
    """A Figure on an Agg canvas (never pyplot, so no global backend switch and no open-figure registry)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def parse_formats(text: str) -> tuple[str, ...]:
    """``"png,svg"`` -> ("png", "svg"); one-line error for anything else."""
    parts = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    bad = [p for p in parts if p not in FORMATS]
    if not parts or bad:
        raise UserError(f"--format {text!r} is not a comma-separated list of {', '.join(FORMATS)}; e.g. --format png,svg")
    return tuple(dict.fromkeys(parts))


def save(fig: Any, out_dir: Path, stem: str, formats: tuple[str, ...]) -> list[Path]:
    """Save ``fig`` as ``out_dir/stem.<fmt>`` for each format, deterministically; returns the paths."""
    import matplotlib

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.rc_context({"svg.hashsalt": "fcc-figures"}):
        for fmt in formats:
            path = out_dir / f"{stem}.{fmt}"
            fig.savefig(path, format=fmt, metadata=_METADATA[fmt], dpi=DPI)
            paths.append(path)
    return paths
