"""The documentation site: a strict MkDocs build, the generated option table and the results regions.

``mkdocs build --strict`` fails on a dangling link or anchor, a page left out of the nav, or a
mkdocstrings reference to a missing object (mkdocs.yml's ``validation``); a mutant page with a dangling
link shows the build really fails. The option table of docs/usage.md must equal what
``docs/gen_options.py`` renders from fcc_train/config.py now, and every results region of docs/ must
name the command that regenerates it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _have_docs_extra() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers"))


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # not -q: MkDocs 1.6 stops counting warnings at that log level, and --strict then passes anything
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


@pytest.mark.docs
@pytest.mark.skipif(not _have_docs_extra(), reason="the docs extra is not installed (pip install -e '.[docs]')")
def test_site_builds_strictly(tmp_path: Path) -> None:
    r = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert r.returncode == 0, r.stderr[-3000:]
    # the API reference is generated from the docstrings
    api = (tmp_path / "site" / "api" / "train" / "index.html").read_text()
    assert "fcc_train.compression.FCC" in api and "load_checkpoint" in api


@pytest.mark.docs
@pytest.mark.skipif(not _have_docs_extra(), reason="the docs extra is not installed (pip install -e '.[docs]')")
def test_a_dangling_link_fails_the_build(tmp_path: Path) -> None:
    """Mutant: a copy of the docs with one link to a missing anchor must fail the strict build."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("figures"))
    shutil.copytree(ROOT / "docs" / "figures", docs / "figures")
    page = docs / "usage.md"
    page.write_text(page.read_text() + "\nSee [the recipe](recipes.md#no-such-section).\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text((ROOT / "mkdocs.yml").read_text().replace("docs_dir: docs", f"docs_dir: {docs}"))
    r = _build(config, tmp_path / "site")
    assert r.returncode != 0 and "no-such-section" in r.stdout + r.stderr


# --- the option table (docs/gen_options.py) ---


def test_option_table_is_current() -> None:
    gen = _load("gen_options")
    text = gen.USAGE.read_text()
    assert gen.splice(text, gen.render()) == text, "docs/usage.md's config key table is stale: run python docs/gen_options.py"
    assert gen.main(["--check"]) == 0


def test_option_table_lists_every_key_with_its_default() -> None:
    """Independently of the renderer: every key of a default Config, and its default, is a row of the table."""
    from fcc_train.config import Config, config_to_dict, flatten_config

    gen = _load("gen_options")
    text = gen.USAGE.read_text()
    region = text[text.index(gen.START) : text.index(gen.END)]
    table = {m[1]: m[2] for m in re.finditer(r"^\| `([a-z_.]+)` \| `([^`]*)` \|", region, re.M)}
    flat = flatten_config(config_to_dict(Config()))
    assert set(table) == set(flat)
    for key, value in flat.items():
        shown = "none" if value is None else str(value).lower() if isinstance(value, bool) else None
        if shown is not None:
            assert table[key] == shown, key
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            assert float(table[key]) == pytest.approx(float(value), rel=1e-5), key
        elif isinstance(value, str):
            assert table[key] == value, key
    assert "`train.compile`" in region and "`train.progress`" in region


def test_a_stale_option_table_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: a table rendered from a config whose default changed no longer matches the page."""
    gen = _load("gen_options")
    fields = {f.name: f for f in dataclasses.fields(gen.config_module.OptimConfig)}
    monkeypatch.setattr(fields["epochs"], "default", 201)
    assert "| `optim.epochs` | `201` |" in gen.render()
    stale = tmp_path / "usage.md"
    stale.write_text(gen.USAGE.read_text())
    monkeypatch.setattr(gen, "USAGE", stale)
    assert gen.main(["--check"]) == 1


# --- the results regions (docs/gen_results.py) ---


def _tables_outside_regions(text: str, start: str = "<!-- results:", end: str = ":end -->") -> list[str]:
    """The first line of every Markdown table of ``text`` that does not lie inside a results region."""
    found, inside, previous = [], False, ""
    for line in text.splitlines():
        if line.startswith(start) and line.endswith(":start -->"):
            inside = True
        elif line.startswith(start) and line.endswith(end):
            inside = False
        elif line.startswith("|---") and not inside:
            found.append(previous)
        previous = line
    return found


def test_every_results_table_lies_in_a_region_that_names_its_command() -> None:
    gen = _load("gen_results")
    text = gen.RESULTS.read_text()
    assert _tables_outside_regions(text) == [], "a table of docs/results.md has no gen_results region"
    for name in gen.SECTIONS:
        start, end = gen.markers(name)
        assert text.count(start) == 1 and text.count(end) == 1, name
        region = text[text.index(start) + len(start) : text.index(end)].strip()
        assert region.startswith(f"Regenerate: `python docs/gen_results.py --section {name}`. Measured "), name
        assert "|---" in region, f"the {name} region holds no table: run python docs/gen_results.py --section {name}"
    # and no region of a section the generator does not know
    names = set(re.findall(r"<!-- results:([a-z0-9-]+):start -->", text))
    assert names == set(gen.SECTIONS)


def test_a_table_outside_the_regions_is_caught() -> None:
    """Mutant: a hand-written table after the last region."""
    gen = _load("gen_results")
    text = gen.RESULTS.read_text() + "\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert _tables_outside_regions(text) == ["| a | b |"]


def test_splice_replaces_only_its_region_and_refuses_a_missing_one() -> None:
    gen = _load("gen_results")
    text = "intro\n<!-- results:x:start -->\nold\n<!-- results:x:end -->\nafter\n"
    assert gen.splice(text, "x", "new table") == "intro\n<!-- results:x:start -->\nnew table\n<!-- results:x:end -->\nafter\n"
    with pytest.raises(ValueError, match="results:y:start"):
        gen.splice(text, "y", "t")


def _fake_run(folder: Path, best: float, last: float, few: float, seconds: float) -> None:
    import json

    folder.mkdir(parents=True)
    split = {"many": 100.0, "medium": 99.0, "few": few}
    (folder / "summary.json").write_text(
        json.dumps({"done": True, "best_top1_error": best, "last_top1_error": last, "last": split, "seconds": seconds})
    )


def test_the_seeds_table_is_computed_from_the_runs(tmp_path: Path) -> None:
    """Render-only on made-up summaries: the means and standard deviations are those of the files, seed by seed."""
    import statistics

    gen = _load("gen_results")
    best = {"ce": [3.0, 2.0, 4.0, 1.0, 5.0], "ce_fcc": [2.0, 2.0, 2.0, 2.0, 2.5]}
    for c, values in best.items():
        for s, b in zip(gen.SEEDS_BASELINE, values, strict=True):
            _fake_run(tmp_path / "digits_seeds" / f"{c}_s{s}", b, b + 1, 80.0 + s, 10.0 + s)
    table = gen.seeds(tmp_path, render_only=True)
    ce_row = next(ln for ln in table.splitlines() if ln.startswith("| CE (raw) |") and "±" in ln)
    want = f"{statistics.mean(best['ce']):.2f} ± {statistics.stdev(best['ce']):.2f}"
    assert ce_row.split(" | ")[1] == want == "3.00 ± 1.58"
    fcc_seed_row = next(ln for ln in table.splitlines() if ln.startswith("| CE + FCC |") and "±" not in ln)
    assert fcc_seed_row.endswith("| 2.50 / 3.50 |")
