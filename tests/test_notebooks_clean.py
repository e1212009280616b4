"""The committed notebooks: tutorials without saved widget state and without secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# what a real Hugging Face token looks like
HF_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{20,}")
# and an Astra DB application token (the kind vk.serve generates)
ASTRA_TOKEN_PATTERN = re.compile(r"AstraCS:[A-Za-z0-9_-]{16,}")


def test_the_tutorials_are_there():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_is_committed_clean(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in notebook["metadata"]  # no saved widget state
    assert HF_TOKEN_PATTERN.search(path.read_text(encoding="utf-8")) is None
    assert ASTRA_TOKEN_PATTERN.search(path.read_text(encoding="utf-8")) is None
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):  # no widget shown from a stale kernel
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {})
