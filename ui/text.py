"""Text a visitor can put on a page (a URL value, a model's error message) made safe."""

from __future__ import annotations

import re


def escape_markdown(text: str) -> str:
    """Visitor-supplied text shown by st.warning/st.error is markdown: make it inert."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)
