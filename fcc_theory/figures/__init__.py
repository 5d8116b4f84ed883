"""``fcc figures``: the paper's diagrams drawn from exact configurations (Fig. 3, Fig. 2, slab, multi-class head).

Builders return data (geometry, points, verdicts) that tests compare with
``check_configuration``; renderers turn that data into matplotlib figures on an
Agg canvas; :func:`write_all` saves the whole set deterministically.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FIGURE_STEMS", "write_all"]

FIGURE_STEMS = ("fig3_planes", "fig2_scaling", "slab_probability", "multiclass_head")


def write_all(out_dir: Path, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Build and save every figure; returns the written paths in order."""
    from fcc_theory.figures.fig2 import fig2_data, render_fig2
    from fcc_theory.figures.fig3 import fig3_panels, render_fig3
    from fcc_theory.figures.multiclass import multiclass_data, render_multiclass
    from fcc_theory.figures.render import save
    from fcc_theory.figures.slab import render_slab, slab_data

    builders = {
        "fig3_planes": lambda: render_fig3(fig3_panels()),
        "fig2_scaling": lambda: render_fig2(*fig2_data()),
        "slab_probability": lambda: render_slab(slab_data()),
        "multiclass_head": lambda: render_multiclass(multiclass_data()),
    }
    paths: list[Path] = []
    for stem in FIGURE_STEMS:
        paths += save(builders[stem](), Path(out_dir), stem, formats)
    return paths
