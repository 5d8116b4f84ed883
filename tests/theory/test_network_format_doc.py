"""docs/network-format.md: every example network is fed to ``fcc check`` and its printed output compared.

The page shows, for each example, the JSON file, the command and the output; this test writes each file,
runs the command in-process and requires the output (and exit status) to be exactly the page's text, so
the documented format cannot drift from the loader (``fcc_theory.network``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from fcc.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "network-format.md"
# <!-- fcc-check: ARGS --> then an optional ```json title="NAME" block, then the ```text block of the run
EXAMPLE = re.compile(
    r'<!-- fcc-check: (?P<args>[^\n]*?) -->\n(?:```json title="(?P<name>[^"]+)"\n(?P<json>.*?)```\n\n)?```text\n(?P<out>.*?)```',
    re.S,
)


def _examples() -> list[re.Match[str]]:
    return list(EXAMPLE.finditer(DOC.read_text()))


def test_page_has_examples() -> None:
    found = _examples()
    # every marker is matched by the pattern (a malformed example would silently go untested otherwise)
    assert len(found) == DOC.read_text().count("<!-- fcc-check:") >= 5
    assert {m["name"] for m in found if m["name"]} >= {"paper.json", "relu.json", "leaky.json", "tanh.json"}


def _run(args: str, capsys: pytest.CaptureFixture[str]) -> str:
    try:
        rc = main(["check", *shlex.split(args)])
    except SystemExit as exc:
        rc = int(exc.code or 0)
    cap = capsys.readouterr()
    return f"$ fcc check {args}\n{cap.out}{cap.err}[exit status {rc}]\n"


@pytest.mark.parametrize("k", range(len(_examples())))
def test_example_output_is_what_the_page_says(k: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    examples = _examples()
    for m in examples:  # later examples may reuse an earlier example's file
        if m["name"]:
            (tmp_path / m["name"]).write_text(m["json"])
    m = examples[k]
    assert _run(m["args"], capsys) == m["out"]


def test_a_changed_file_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Mutant: the page's paper network with one bias changed no longer prints the page's output."""
    monkeypatch.chdir(tmp_path)
    m = next(m for m in _examples() if m["name"] == "paper.json")
    (tmp_path / "paper.json").write_text(m["json"].replace('"bias": ["0", "1"]', '"bias": ["0", "1/2"]'))
    assert _run(m["args"], capsys) != m["out"]
