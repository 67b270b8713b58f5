"""Statistics of recorded states: numbers computed from probe arrays, not drawn.

``saturation_fractions``: per unit, how often a gate is below ``low`` or above ``high``.
``pca_project``: a hidden-state trajectory projected on its principal components.
Numpy only; the figures that draw them live in ``rnn_core.viz.states``.
"""

from __future__ import annotations

import numpy as np


def saturation_fractions(
    values, low: float = 0.1, high: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the fraction of (batch and) time below low and above high.

    values (T, H) or (B, T, H); non-finite entries are not counted.
    """
    values = np.asarray(values, dtype=np.float64)
    flat = values.reshape(-1, values.shape[-1])  # (B*T, H)
    finite = np.isfinite(flat)
    count = np.maximum(finite.sum(axis=0), 1)
    return (
        (finite & (flat < low)).sum(axis=0) / count,
        (finite & (flat > high)).sum(axis=0) / count,
    )


def pca_project(hidden, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Projection (T, dims) of hidden (T, H) on its principal components, and the
    fraction of variance each explains (dims,). Missing components are zeros."""
    X = np.asarray(hidden, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]  # one unit
    if X.ndim != 2:
        raise ValueError(f"hidden must be (T, H), got shape {X.shape}")
    proj = np.zeros((X.shape[0], dims))
    explained = np.zeros(dims)
    if X.shape[0] == 0 or X.shape[1] == 0:
        return proj, explained
    X = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(X, full_matrices=False)
    # deterministic signs: each component's largest loading is positive
    signs = np.sign(Vt[np.arange(len(S)), np.abs(Vt).argmax(axis=1)])
    signs[signs == 0] = 1
    k = min(dims, len(S))
    proj[:, :k] = U[:, :k] * S[:k] * signs[:k]
    total = float((S * S).sum())
    if total > 0:
        explained[:k] = S[:k] ** 2 / total
    return proj, explained
