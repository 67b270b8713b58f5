"""Helpers the browser tests share: reading plotly figures in the page, and waiting."""

from __future__ import annotations

import time
from urllib.parse import urlparse

# Streamlit ships numpy arrays to plotly.js as {dtype, bdata} (base64 typed arrays); the
# figure's data keeps that form. ``chart_script(body)`` is a page function of a chart's
# key, with ``el`` (the plotly element, or null) and ``decode`` (array -> numbers) for
# ``body`` to use.
_DECODE = """
  const decode = (v) => {
    if (v == null) return [];
    if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v, Number);
    if (v.bdata === undefined) return [];
    const bin = atob(v.bdata), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const kinds = {i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array,
                   i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array};
    return Array.from(new kinds[v.dtype](bytes.buffer), Number);
  };
"""


def chart_script(body: str) -> str:
    return (
        "(key) => {\n  const el = document.querySelector(`.st-key-${key} .js-plotly-plot`);"
        + _DECODE
        + body
        + "\n}"
    )


def wait_for(predicate, timeout=45.0, interval=0.25, seen=None):
    """predicate()'s first truthy value, polled; AssertionError after ``timeout`` s, with
    what ``seen()`` reads then (when given: the value the test was waiting on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time" + (f"; seen: {seen()!r}" if seen else ""))


def location(page):
    """The page's address as the page itself has it (parsed). Playwright's ``page.url``
    follows a history change only when the test next talks to the browser, so polling
    it between sleeps can miss a navigation (a preset link's switch to its page did)."""
    return urlparse(page.evaluate("location.href"))
