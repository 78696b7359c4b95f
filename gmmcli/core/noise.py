"""The noise component (Banfield & Raftery 1993, as mclust): a uniform density over the data.

A mixture with noise has density π₀ / V + Σₖ πₖ N(x | μₖ, Σₖ). V is fixed before EM, by
default mclust's ``hypvol``: the smaller of two boxes around the data, the axis-aligned one
and the one along the principal axes (:class:`Box`). The rows that start as noise come from
the user or from :func:`nnclean`, Byers & Raftery's (1998) mixture of k-th nearest-neighbour
distances; the Gaussian components are then started on the other rows.

Everything here works on arrays or through engine block functions; the EM itself is the
usual one (:mod:`gmmcli.core.stats` carries the noise row through the E- and M-steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from gmmcli.core.params import GaussianMixtureParams, NoiseTerm, make_params

# k of the k-th nearest-neighbour distance in NNclean (prabclus' examples and mclust's
# documentation use 5 for 2-D data).
NNCLEAN_K = 5
NNCLEAN_TOL = 1e-3  # prabclus' `convergence`: relative change of the log-likelihood
NNCLEAN_MAX_ITER = 500
# When no row starts as noise, the noise still starts with this share of the rows so that
# EM can grow it (a proportion of 0 would stay 0 forever).
MIN_START_PROPORTION = 0.01


@dataclass(frozen=True)
class Extent:
    """Column-wise minimum and maximum of some rows; two extents add to their union's."""

    lower: np.ndarray
    upper: np.ndarray

    def __add__(self, other: "Extent") -> "Extent":
        return Extent(np.minimum(self.lower, other.lower), np.maximum(self.upper, other.upper))


def extent_block(X, sample_weight, start, *, to_original: Callable, axes: Optional[np.ndarray] = None):
    """The extent of one block's rows in original units, along ``axes`` (columns: directions)
    or the columns; rows of weight 0 are not data and do not count. A block function."""
    rows = to_original(X)
    if sample_weight is not None:
        rows = rows[sample_weight > 0]
    if len(rows) == 0:
        return None
    if axes is not None:
        rows = rows @ axes
    return Extent(rows.min(axis=0), rows.max(axis=0))


@dataclass(frozen=True)
class Box:
    """The box {axes @ y : lower ≤ y ≤ upper} in original units (``axes`` orthonormal)."""

    axes: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def log_volume(self) -> float:
        with np.errstate(divide="ignore"):
            return float(np.sum(np.log(self.upper - self.lower)))

    def with_volume(self, volume: float) -> "Box":
        """The same box grown or shrunk about its centre to ``volume``."""
        factor = math.exp((math.log(volume) - self.log_volume) / len(self.lower))
        centre, half = (self.upper + self.lower) / 2, (self.upper - self.lower) / 2
        return Box(self.axes, centre - factor * half, centre + factor * half)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows drawn uniformly from the box, shape (n, n_features)."""
        y = self.lower + rng.uniform(size=(n, len(self.lower))) * (self.upper - self.lower)
        return y @ self.axes.T


def principal_axes(covariance: np.ndarray) -> np.ndarray:
    """Eigenvectors of a covariance matrix, largest variance first (as R's ``princomp``)."""
    values, vectors = np.linalg.eigh(covariance)
    return vectors[:, ::-1]


def smaller_box(axis_extent: Extent, pca_extent: Extent, axes: np.ndarray) -> Box:
    """mclust's ``hypvol``: the smaller of the axis-aligned box and the principal-axes box.

    A box flat in some direction (a constant column, or collinear columns) has volume 0; the
    other box is then taken if it has a volume, else the caller must be told.
    """
    boxes = [Box(np.eye(len(axes)), axis_extent.lower, axis_extent.upper),
             Box(axes, pca_extent.lower, pca_extent.upper)]
    finite = [b for b in boxes if math.isfinite(b.log_volume)]
    return min(finite or boxes, key=lambda b: b.log_volume)


def noise_term(proportion: float, log_volume: float, log_jacobian: float) -> NoiseTerm:
    """The noise component in the fitted space of a scaler with ``log_jacobian`` (original →
    fitted): the density 1/V in original units is exp(−log V − log_jacobian) there."""
    return NoiseTerm(float(proportion), float(-log_volume - log_jacobian))


def kth_neighbour_distances(X: np.ndarray, k: int) -> np.ndarray:
    """Distance from every row to its k-th nearest other row (Euclidean), shape (n,)."""
    from scipy.spatial import cKDTree

    distances, _ = cKDTree(X).query(X, k=k + 1)
    return distances[:, k]


def _log_kth_distance_density(distance, intensity: float, k: int, d: int, alpha: float) -> np.ndarray:
    """log density of the k-th nearest-neighbour distance in a Poisson process of
    ``intensity`` in d dimensions (the ball of radius r, volume α rᵈ, holds Poisson(λ α rᵈ)
    points), with prabclus' constant 2 where the theory has d: it cancels wherever it is used."""
    with np.errstate(divide="ignore"):
        return (math.log(2.0) + k * math.log(intensity * alpha) + (d * k - 1) * np.log(distance)
                - intensity * alpha * distance**d - math.lgamma(k))


def nnclean(X: np.ndarray, k: int = NNCLEAN_K) -> np.ndarray:
    """Rows that look like noise, by Byers & Raftery's (1998) nearest-neighbour cleaning, as
    prabclus' ``NNclean(X, k)`` computes it.

    The k-th nearest-neighbour distances are modelled as a mixture of two Poisson-process
    distance laws, a dense one (features, λ₁) and a sparse one (noise, λ₂), fitted by EM from
    the split at a third of the distances' range; a row is noise when the noise law is the
    likelier (prabclus rounds the unweighted probability).

    Returns
    -------
    ndarray of bool, shape (n,): True for the rows classed as noise.
    """
    n, d = X.shape
    if n <= k:
        return np.zeros(n, dtype=bool)
    x = kth_neighbour_distances(X, k)
    alpha = 2.0 * math.pi ** (d / 2) / (d * math.gamma(d / 2))
    xd = x**d
    far = x > x.min() + (x.max() - x.min()) / 3.0
    if not far.any():
        return far
    p, lam1, lam2 = 0.5, k / (alpha * xd[~far].mean()), k / (alpha * xd[far].mean())
    old, new = 0.0, 1.0
    for _ in range(NNCLEAN_MAX_ITER):
        if abs((new - old) / new) <= NNCLEAN_TOL:
            break
        delta = _feature_probability(x, p, lam1, lam2, k, d, alpha)
        p, lam1, lam2 = _nnclean_m_step(delta, xd, k, alpha, lam1, lam2)
        old, new = new, _nnclean_criterion(delta, xd, p, lam1, lam2, k, alpha)
    return _feature_probability(x, None, lam1, lam2, k, d, alpha) < 0.5


def _feature_probability(x, p: Optional[float], lam1: float, lam2: float, k: int, d: int, alpha: float):
    """P(feature law | x), weighted by p (None: unweighted, as prabclus' final ``probs``)."""
    log1 = _log_kth_distance_density(x, lam1, k, d, alpha) + (0.0 if p is None else np.log(p))
    log2 = _log_kth_distance_density(x, lam2, k, d, alpha) + (0.0 if p is None else np.log1p(-p))
    with np.errstate(over="ignore", invalid="ignore"):
        delta = 1.0 / (1.0 + np.exp(log2 - log1))
    return np.where(np.isnan(delta), 0.0 if p is not None else 1.0, delta)


def _nnclean_m_step(delta, xd, k: int, alpha: float, lam1: float, lam2: float):
    p = float(delta.mean())
    if p > 0:
        lam1 = k * delta.sum() / (alpha * (delta * xd).sum())
    if p < 1:
        lam2 = k * (1 - delta).sum() / (alpha * ((1 - delta) * xd).sum())
    if p <= 0:
        lam1 = lam2 / 2
    if p >= 1:
        lam2 = 2 * lam1
    return p, float(lam1), float(lam2)


def _nnclean_criterion(delta, xd, p: float, lam1: float, lam2: float, k: int, alpha: float) -> float:
    """prabclus' convergence criterion (not quite the log-likelihood: p multiplies the exponents)."""
    return float(np.sum(-p * lam1 * alpha * xd * delta - (1 - p) * lam2 * alpha * xd * (1 - delta)
                        + delta * k * math.log(lam1 * alpha) + (1 - delta) * k * math.log(lam2 * alpha)))


def start_with_noise(gaussians: GaussianMixtureParams, noise_share: float, log_density: float) -> GaussianMixtureParams:
    """EM's start: the Gaussian components started on the clean rows, the noise holding
    ``noise_share`` of the rows (at least :data:`MIN_START_PROPORTION`)."""
    share = min(max(noise_share, MIN_START_PROPORTION), 1.0 - MIN_START_PROPORTION)
    return make_params(gaussians.weights * (1.0 - share), gaussians.means, gaussians.covariances,
                       gaussians.covariance_type, NoiseTerm(share, log_density))
