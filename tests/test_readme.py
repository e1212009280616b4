"""The README's Python snippets run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_snippets_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "the README has a Python quickstart"
    namespace: dict = {}  # the blocks run in order, like a notebook's cells
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "make lab" in text and "make test" in text
