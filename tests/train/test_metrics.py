"""Top-1 error, shot splits (many > 100, medium 20-100, few < 20) and per-class recall."""

import pytest
import torch
from sklearn.metrics import accuracy_score, recall_score

from fcc_train.data.longtail import shot_of
from fcc_train.train.metrics import compute_metrics, per_class_recall


def test_shot_split_boundaries():
    assert [shot_of(n) for n in (101, 100, 20, 19, 5000, 1)] == ["many", "medium", "medium", "few", "many", "few"]


def test_metrics_against_sklearn():
    g = torch.Generator().manual_seed(3)
    C = 7
    labels = torch.arange(C).repeat_interleave(13)
    preds = torch.where(torch.rand(len(labels), generator=g) < 0.6, labels, torch.randint(0, C, (len(labels),), generator=g))
    counts = [500, 150, 101, 100, 20, 19, 3]
    m = compute_metrics(preds, labels, counts)
    assert m["top1_error"] == pytest.approx(100 * (1 - accuracy_score(labels, preds)))
    rec = 100 * recall_score(labels, preds, average=None, labels=list(range(C)))
    assert m["per_class_recall"] == pytest.approx(list(rec))
    assert m["many"] == pytest.approx(rec[:3].mean())
    assert m["medium"] == pytest.approx(rec[3:5].mean())
    assert m["few"] == pytest.approx(rec[5:].mean())
    # balanced test set: top-1 error = 100 - mean per-class recall (recipes.md §3)
    assert m["top1_error"] == pytest.approx(100 - rec.mean())


def test_empty_split_is_none_and_absent_class_recall_is_none():
    m = compute_metrics(torch.tensor([0, 1]), torch.tensor([0, 1]), [500, 300, 200])
    assert m["few"] is None and m["medium"] is None and m["many"] == 100.0
    assert per_class_recall(torch.tensor([0, 1]), torch.tensor([0, 1]), 3)[2] is None


def test_wrong_metric_would_be_caught():
    # a swapped many/few assignment must change the numbers on an unbalanced prediction
    preds = torch.tensor([0, 0, 0, 0])
    labels = torch.tensor([0, 0, 1, 1])
    m = compute_metrics(preds, labels, [200, 5])
    assert (m["many"], m["few"]) == (100.0, 0.0)


def test_docstring_examples():
    import doctest

    import fcc_train.fcc
    import fcc_train.train.metrics

    for mod in (fcc_train.fcc, fcc_train.train.metrics):
        res = doctest.testmod(mod)
        assert res.attempted > 0 and res.failed == 0, mod.__name__
