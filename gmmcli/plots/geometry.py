"""The numbers behind the pictures (numpy only): marginals, densities, ellipses, ranges.

A Gaussian mixture's marginal over some columns is the mixture of the components'
marginals (their means and covariance blocks over those columns), so the density of a
pair of columns is exact with the other columns marginalised out: no slicing at a fixed
value of the others, and no Monte Carlo.
"""

from __future__ import annotations

import math

import numpy as np

ELLIPSE_SDS = (1.0, 2.0)          # Mahalanobis radii of the drawn ellipses
HDR_MASSES = (0.25, 0.5, 0.75, 0.95)  # contours enclosing these shares of the rows


def pair_marginal(components, i: int, j: int) -> tuple:
    """(weights (K,), means (K, 2), covariances (K, 2, 2)) of columns i and j."""
    idx = np.array([i, j])
    weights = np.array([c.weight for c in components])
    means = np.array([c.mean[idx] for c in components])
    covariances = np.array([c.covariance[np.ix_(idx, idx)] for c in components])
    return weights, means, covariances


def mixture_density_2d(weights, means, covariances, points: np.ndarray) -> np.ndarray:
    """Σₖ wₖ N(p; μₖ, Σₖ) at ``points`` of shape (n, 2) (closed-form 2 × 2 inverse)."""
    density = np.zeros(len(points))
    for w, mu, cov in zip(weights, means, covariances):
        a, b, d = cov[0, 0], cov[0, 1], cov[1, 1]
        det = a * d - b * b
        dx, dy = points[:, 0] - mu[0], points[:, 1] - mu[1]
        mahalanobis = (d * dx * dx - 2 * b * dx * dy + a * dy * dy) / det
        density += w * np.exp(-0.5 * mahalanobis) / (2 * math.pi * math.sqrt(det))
    return density


def component_densities_1d(components, j: int, x: np.ndarray) -> np.ndarray:
    """wₖ N(x; μₖⱼ, Σₖⱼⱼ) of column j, shape (K, len(x))."""
    out = np.empty((len(components), len(x)))
    for k, c in enumerate(components):
        sd = math.sqrt(c.covariance[j, j])
        out[k] = c.weight * np.exp(-0.5 * ((x - c.mean[j]) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    return out


def ellipse(covariance: np.ndarray, n_sd: float) -> tuple:
    """(width, height, angle in degrees) of the ellipse of Mahalanobis radius ``n_sd`` of a 2 × 2 covariance."""
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 0.0)
    angle = math.degrees(math.atan2(vectors[1, 1], vectors[0, 1]))  # the major axis (largest eigenvalue)
    return 2 * n_sd * math.sqrt(values[1]), 2 * n_sd * math.sqrt(values[0]), angle


def column_range(values: np.ndarray, components, j: int, pad: float = 0.04) -> tuple:
    """The drawn range of column j: the rows shown, padded (the means ± 3 SD when no row is shown)."""
    if len(values):
        lo, hi = float(values.min()), float(values.max())
    else:
        lo = min(c.mean[j] - 3 * math.sqrt(c.covariance[j, j]) for c in components)
        hi = max(c.mean[j] + 3 * math.sqrt(c.covariance[j, j]) for c in components)
    span = hi - lo if hi > lo else max(abs(lo), 1.0)
    return lo - pad * span, hi + pad * span


def hdr_levels(density_at_rows: np.ndarray, masses=HDR_MASSES) -> np.ndarray:
    """Density levels whose regions hold ``masses`` of the rows (Hyndman 1996), increasing.

    The region {f ≥ c} holding a share m of the rows has c = the (1 − m) quantile of f at the rows.
    """
    if not len(density_at_rows):
        return np.array([])
    levels = np.quantile(density_at_rows, [1 - m for m in sorted(masses, reverse=True)])
    return np.unique(levels[levels > 0])


def point_size(n_points: int) -> float:
    """Marker area (pt²) that keeps a scatter readable from hundreds to tens of thousands of points."""
    return 16.0 if n_points <= 500 else 7.0 if n_points <= 5000 else 2.5
