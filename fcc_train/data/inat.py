"""iNaturalist 2018 from its official JSON annotations (Van Horn et al. 2018).

Layout under ``data.root``::

    train2018.json   {"images": [{"id", "file_name"}], "annotations": [{"image_id", "category_id"}], "categories": [...]}
    val2018.json     the official val split (24,426 images), the test set of the long-tailed literature
    train_val2018/... the images (``file_name`` is relative to the root)

8,142 classes, 437,513 training images (1,000 max, 2 min). ``category_id`` is the label (0..8141 in the
official files); if the ids are not 0..C-1, they are mapped to their rank among the sorted category ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["SPLIT_FILES", "inat_split", "read_inat_json"]

SPLIT_FILES = {"train": "train2018.json", "val": "val2018.json", "test": "val2018.json"}
LAYOUT = "expected train2018.json and val2018.json (images / annotations / categories) in the root beside the images"


def read_inat_json(path: str | Path) -> tuple[list[str], list[int], list[int]]:
    """``(file_names, category_ids, all_category_ids)`` of one annotation file, in the order of ``images``."""
    from fcc_train.data import DataError

    p = Path(path)
    try:
        doc: dict[str, Any] = json.loads(p.read_text())
        images = {int(im["id"]): str(im["file_name"]) for im in doc["images"]}
        cat_of = {int(a["image_id"]): int(a["category_id"]) for a in doc["annotations"]}
        cats = sorted(int(c["id"]) for c in doc.get("categories", [])) or sorted(set(cat_of.values()))
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{p}: not an iNat annotation file ({type(exc).__name__}: {exc}); {LAYOUT}") from None
    names, labels = [], []
    for iid, name in images.items():
        if iid not in cat_of:
            raise DataError(f"{p}: image id {iid} has no annotation; {LAYOUT}")
        names.append(name)
        labels.append(cat_of[iid])
    if not names:
        raise DataError(f"{p} lists no images; {LAYOUT}")
    return names, labels, cats


def inat_split(root: str | Path, split: str) -> tuple[list[str], list[int], int]:
    """Absolute image paths, labels 0..C-1 and C for ``train`` or ``val``/``test`` (the official val file)."""
    from fcc_train.data import DataError

    if split not in SPLIT_FILES:
        raise DataError(f"unknown iNat18 split '{split}'; use train or val")
    root = Path(root)
    path = root / SPLIT_FILES[split]
    if not path.is_file():
        raise DataError(f"iNat18: {SPLIT_FILES[split]} not found under '{root}'; {LAYOUT}")
    names, cats, all_cats = read_inat_json(path)
    if all_cats == list(range(len(all_cats))):
        labels = cats
    else:  # ids with gaps: rank among the sorted ids (documented above)
        rank = {c: i for i, c in enumerate(all_cats)}
        labels = [rank[c] for c in cats]
    return [str(root / n) for n in names], labels, len(all_cats)
