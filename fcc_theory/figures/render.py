"""Deterministic saving of matplotlib figures (Agg canvas, no pyplot state, no dates in metadata).

The same figure saved twice gives the same bytes: PNG/SVG/PDF metadata dates are
removed, the SVG hash salt is fixed and every random draw in the figures uses a
seeded numpy generator. PNGs are written at :data:`DPI` (200, for print) and legends
use :data:`LEGEND_PT` points or more; vector formats (SVG, PDF) are kept. The figure's
title goes into the file's metadata (PNG ``Title``), so a test or a reader can check
which figure a file holds without looking at pixels.
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

#: PNG resolution: 200 dpi prints sharply at the figures' sizes (5-15 inches wide)
DPI = 200
#: the smallest legend font size, in points (readable when a figure is printed at its own size)
LEGEND_PT = 9.0


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


def figure_title(fig: Any) -> str:
    """The figure's title: its suptitle, else the titles of its axes joined by " | "."""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        return str(sup.get_text()).replace("\n", " ")
    return " | ".join(t.replace("\n", " ") for ax in fig.axes if (t := ax.get_title()))


def metadata(fmt: str, title: str) -> dict[str, Any]:
    """The deterministic metadata of one format, with the figure's title."""
    return {**_METADATA[fmt], "Title": title or None}


def save(fig: Any, out_dir: Path, stem: str, formats: tuple[str, ...]) -> list[Path]:
    """Save ``fig`` as ``out_dir/stem.<fmt>`` for each format, deterministically; returns the paths.

    The saved area is the figure's tight bounding box (plus a small pad): a long title is never cut off
    at the canvas edge, and the empty margins that 3-D axes leave are cropped."""
    import matplotlib

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    title = figure_title(fig)
    with matplotlib.rc_context({"svg.hashsalt": "fcc-figures"}):
        for fmt in formats:
            path = out_dir / f"{stem}.{fmt}"
            fig.savefig(path, format=fmt, metadata=metadata(fmt, title), dpi=DPI, bbox_inches="tight", pad_inches=0.12)
            paths.append(path)
    return paths
