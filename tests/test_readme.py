"""The README's layout names every module of the app and the engine."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout\n", 1)[1]
    return re.search(r"```\n(.*?)```", section, re.S).group(1)


def test_the_layout_names_every_module():
    block = layout_block()
    named = set(re.findall(r"[\w/]+\.py", block))
    modules = [
        p.relative_to(ROOT)
        for folder in ("rnn_core", "ui", "views")
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "__init__.py"
    ]
    assert len(modules) > 30  # the walk found the tree
    missing = [str(m) for m in modules if m.name not in named]
    assert not missing, f"README layout does not name: {missing}"
    for folder in ("rnn_core/", "tasks/", "viz/", "ui/", "views/", "bench/", "tests/"):
        assert folder in block
