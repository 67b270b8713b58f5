"""One unit's activation over a text, drawn as HTML: each character on a background
coloured by its value on the diverging ramp (the Hidden states page's unit tracking).
"""

from __future__ import annotations

import html

import numpy as np

from rnn_core.viz.look import diverging_rgb


def activation_html(text: str, values, *, vmin: float = -1.0, vmax: float = 1.0) -> str:
    """The text, each character on a background coloured by its value (HTML string).

    Monospace with ``white-space: pre`` so indentation and newlines survive; each
    character is HTML-escaped and carries its value as a tooltip. Non-finite values
    get no background.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.shape[0] != len(text):
        raise ValueError(f"{len(text)} characters but {values.shape[0]} values")
    colours = diverging_rgb(values, vmin, vmax)
    # Relative luminance decides the text colour, so the darkest blue/red stay readable.
    luma = colours @ np.array([0.2126, 0.7152, 0.0722])
    parts = []
    for c, v, rgb, y in zip(text, values, colours, luma, strict=True):
        char = html.escape(c, quote=True)
        if not np.isfinite(v):
            parts.append(f'<span title="{v}">{char}</span>')
            continue
        fg = "#000" if y > 140 else "#fff"
        parts.append(
            f'<span title="{v:.3f}" style="background:rgb({rgb[0]},{rgb[1]},'
            f'{rgb[2]});color:{fg}">{char}</span>'
        )
    return (
        '<pre style="font-family:ui-monospace,Menlo,Consolas,monospace;'
        'white-space:pre;line-height:1.35;overflow-x:auto;margin:0">' + "".join(parts) + "</pre>"
    )
