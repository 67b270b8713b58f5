"""Playback of an animated figure: Play/Pause buttons and a slider over its frames.

Animations use plotly frames, so Play and the slider run in the browser with no
server rerun. ``frame_names`` makes the unique frame names plotly needs.
"""

from __future__ import annotations

import plotly.graph_objects as go

from rnn_core.viz.look import FONT_SIZE


def animate(
    fig: go.Figure,
    names: list[str],
    labels: list[str],
    *,
    prefix: str,
    duration: int,
    redraw: bool = True,
) -> None:
    """Slider plus Play/Pause over fig.frames, starting on the last frame."""

    def go_to(name, ms):
        return [
            [name],
            {
                "mode": "immediate",
                "frame": {"duration": ms, "redraw": redraw},
                "transition": {"duration": 0},
            },
        ]

    # Buttons stacked at the left, the slider after them with its "training step N"
    # read-out on the right, so neither covers the other in a narrow column.
    fig.update_layout(
        sliders=[
            {
                "active": len(names) - 1,
                "x": 0.13,
                "len": 0.87,
                "y": 0,
                "yanchor": "top",
                "pad": {"t": 60},
                "currentvalue": {"prefix": prefix, "xanchor": "right", "font": {"size": FONT_SIZE}},
                "steps": [
                    {"label": lab, "method": "animate", "args": go_to(name, 0)}
                    for name, lab in zip(names, labels, strict=True)
                ],
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "down",
                "showactive": False,
                "font": {"size": FONT_SIZE - 2},
                "x": 0,
                "y": 0,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 60},
                "buttons": [
                    {
                        "label": "▶ Play",
                        "method": "animate",
                        "args": [
                            None,
                            {
                                "frame": {"duration": duration, "redraw": redraw},
                                "fromcurrent": True,
                                "transition": {"duration": 0},
                            },
                        ],
                    },
                    {"label": "❚❚ Pause", "method": "animate", "args": go_to(None, 0)},
                ],
            }
        ],
    )


def frame_names(prefix: str, labels) -> list[str]:
    # plotly needs unique frame names; repeated labels get their index appended
    names, seen = [], set()
    for i, label in enumerate(labels):
        name = f"{prefix} {label}"
        if name in seen:
            name = f"{name} #{i}"
        seen.add(name)
        names.append(name)
    return names
