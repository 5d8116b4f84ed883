"""RunSummary: the summary.json format kept key for key, and a damaged or wrong-typed file is one line naming it."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

from fcc.cli import main
from fcc_train.results.summary import RunSummary, SummaryError, read_summary

BEST = {"epoch": 7, "top1_error": 30.5, "many": 98.0, "medium": 80.25, "few": 6.5, "per_class_recall": [1.0]}
LAST = {"epoch": 9, "top1_error": 31.0, "many": 97.0, "medium": None, "few": 7.0}


def _written(timing: dict[str, float] | None = None) -> dict:
    s = RunSummary.from_records(BEST, LAST, class_counts=[5, 1], config={"name": "x"}, seconds=1.23456, done=True, timing=timing)
    return s.to_dict()


def test_the_file_format_is_the_one_readers_know():
    """Key for key and in order, as written before RunSummary existed (a reader of old files must read new ones)."""
    want = {
        "best_top1_error": 30.5,
        "best_epoch": 7,
        "last_top1_error": 31.0,
        "last_epoch": 9,
        "many": {"best": 98.0, "last": 97.0},
        "medium": {"best": 80.25, "last": None},
        "few": {"best": 6.5, "last": 7.0},
        "best": {"many": 98.0, "medium": 80.25, "few": 6.5},
        "last": {"many": 97.0, "medium": None, "few": 7.0},
        "class_counts": [5, 1],
        "config": {"name": "x"},
        "seconds": 1.235,
        "done": True,
    }
    assert json.dumps(_written(), indent=2) == json.dumps(want, indent=2)
    timed = _written({"setup": 0.12345, "train": 2.0})
    assert list(timed)[-1] == "timing_this_process" and timed["timing_this_process"] == {"setup": 0.123, "train": 2.0}
    empty = RunSummary.from_records(None, None, class_counts=[], config={}, seconds=0.0, done=False).to_dict()
    assert empty["best_top1_error"] is None and empty["many"] == {"best": None, "last": None}


def test_read_back_equals_what_was_written(tmp_path: Path):
    for timing in (None, {"setup": 1.0, "train": 2.5}):
        d = _written(timing)
        (tmp_path / "summary.json").write_text(json.dumps(d, indent=2))
        s = read_summary(tmp_path)  # a run folder or the file itself
        assert s == read_summary(tmp_path / "summary.json")
        assert s.to_dict() == d
        assert (s.error("best"), s.error("last"), s.shot("medium", "best"), s.shot("few", "last")) == (30.5, 31.0, 80.25, 7.0)


def test_older_files_without_the_newer_keys_still_read(tmp_path: Path):
    d = _written()
    for key in ("best", "last", "last_epoch", "class_counts"):
        del d[key]
    s = RunSummary.from_dict(d, "old")
    assert s.last_epoch is None and s.best.many == 98.0 and s.last.few == 7.0 and s.class_counts == []
    d2 = _written()
    for name in ("many", "medium", "few"):
        del d2[name]  # shots only under best / last
    assert RunSummary.from_dict(d2, "x").shot("many", "last") == 97.0


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe\x00garbage", "is not UTF-8 text"),
        (b"[1, 2]", "holds a list, not a JSON object"),
        (json.dumps({"done": True}).encode(), "has no stored config"),
        (json.dumps({**_written(), "best_top1_error": "30.5"}).encode(), "best_top1_error is a str, not a number"),
        (json.dumps({**_written(), "best_epoch": 7.5}).encode(), "best_epoch is a float, not an integer"),
        (json.dumps({**_written(), "done": "yes"}).encode(), "done is a str, not true or false"),
        (json.dumps({**_written(), "class_counts": [1, "2"]}).encode(), "class_counts is not a list of integers"),
        (json.dumps({**_written(), "many": {"best": [1], "last": 2}}).encode(), "many (best) is a list"),
        (json.dumps({**_written(), "seconds": True}).encode(), "seconds is a bool"),
        (json.dumps({**_written(), "timing_this_process": {"train": "x"}}).encode(), "timing_this_process"),
    ],
)
def test_a_damaged_summary_is_one_line_naming_the_file(tmp_path: Path, content: bytes, needle: str, capsys):
    path = tmp_path / "run" / "summary.json"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(SummaryError) as exc:
        read_summary(path)
    msg = str(exc.value)
    assert needle in msg and str(path) in msg and len(msg.splitlines()) == 1, msg
    # fcc table reports it the same way: exit 2, one line, no traceback
    assert main(["table", str(path.parent)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_a_sweep_treats_a_damaged_summary_as_not_done(tmp_path: Path):
    from fcc_train.experiments.sweep import is_done

    (tmp_path / "summary.json").write_text(json.dumps(_written()))
    assert is_done(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({**_written(), "done": "true"}))
    assert not is_done(tmp_path)
    (tmp_path / "summary.json").write_bytes(b"\xff")
    assert not is_done(tmp_path) and not is_done(tmp_path / "missing")


def test_docstring_examples():
    import fcc_train.experiments.plan
    import fcc_train.experiments.run_request
    import fcc_train.results.summary

    for mod in (fcc_train.results.summary, fcc_train.experiments.run_request, fcc_train.experiments.plan):
        res = doctest.testmod(mod)
        assert res.failed == 0 and res.attempted > 0, mod.__name__
