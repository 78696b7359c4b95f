"""Starting points for EM.

Every method works through a *statistics source* (an engine): ``reduce(fn)``
sums ``fn(X_block, weight_block, start)`` over the blocks of the data and
``sample_rows(n, rng)`` returns up to ``n`` rows drawn without replacement. So
initialisation, like EM, runs unchanged in memory, out of core or distributed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import partial
from typing import Callable, Protocol

import numpy as np

from gmmcli.core.params import GaussianMixtureParams
from gmmcli.errors import NumericalError
from gmmcli.core.stats import accumulate_statistics, m_step

INIT_METHODS = ("kmeans++", "kmeans", "random", "random-from-data", "hc")

# Rows used for the k-means++ seeding, and for the Lloyd iterations that
# follow; one hard-assignment pass over all rows then gives the first M-step.
SEEDING_SAMPLE = 20_000
LLOYD_SAMPLE = 200_000
KMEANS_PLUS_PLUS_ITER = 10
KMEANS_MAX_ITER = 100
# Model-based hierarchical agglomeration is O(n²) in memory: above this many rows it runs on
# a seeded subset, as mclust does (mclust.options("subset")), and EM then runs on all rows.
HC_SAMPLE = 2_000


class StatisticsSource(Protocol):
    n_samples: int

    def reduce(self, fn: Callable): ...

    def sample_rows(self, n: int, rng: np.random.Generator) -> np.ndarray: ...


@dataclass(frozen=True)
class KMeansStats:
    """Additive statistics of one Lloyd step: counts, sums and inertia per cluster."""

    counts: np.ndarray
    sums: np.ndarray
    inertia: float

    def __add__(self, other: "KMeansStats") -> "KMeansStats":
        return KMeansStats(
            self.counts + other.counts, self.sums + other.sums, self.inertia + other.inertia
        )


def nearest_center(X, centers):
    """Index of and squared distance to the nearest center, for every row."""
    dist = (
        np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * (X @ centers.T)
        + np.einsum("ij,ij->i", centers, centers)[None, :]
    )
    labels = dist.argmin(axis=1)
    return labels, np.maximum(dist[np.arange(len(X)), labels], 0.0)


def kmeans_block(X, sample_weight, start, *, centers) -> KMeansStats:
    labels, dist = nearest_center(X, centers)
    w = np.ones(len(X)) if sample_weight is None else sample_weight
    onehot = np.zeros((len(X), len(centers)))
    onehot[np.arange(len(X)), labels] = w
    return KMeansStats(onehot.sum(axis=0), onehot.T @ X, float(dist @ w))


def hard_assignment_block(X, sample_weight, start, *, centers, shift, covariance_type):
    labels, _ = nearest_center(X, centers)
    resp = np.zeros((len(X), len(centers)))
    resp[np.arange(len(X)), labels] = 1.0
    return accumulate_statistics(X - shift, resp, shift, covariance_type, sample_weight)


def random_resp_block(X, sample_weight, start, *, seed, n_components, shift, covariance_type):
    rng = np.random.default_rng([seed, start])
    resp = rng.uniform(size=(len(X), n_components))
    resp /= resp.sum(axis=1)[:, None]
    return accumulate_statistics(X - shift, resp, shift, covariance_type, sample_weight)


def kmeans_plus_plus(X, n_clusters, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii; 2 + ln k trials per step)."""
    n_samples = len(X)
    n_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, X.shape[1]))
    centers[0] = X[rng.integers(n_samples)]
    closest = ((X - centers[0]) ** 2).sum(axis=1)
    for c in range(1, n_clusters):
        total = closest.sum()
        if total <= 0:  # fewer distinct points than clusters
            centers[c:] = X[rng.integers(n_samples, size=n_clusters - c)]
            break
        cumulative = np.cumsum(closest)
        candidates = np.searchsorted(cumulative, rng.uniform(size=n_trials) * total)
        candidates = np.minimum(candidates, n_samples - 1)
        dist = ((X[None, :, :] - X[candidates][:, None, :]) ** 2).sum(axis=2)
        dist = np.minimum(closest[None, :], dist)
        best = int(dist.sum(axis=1).argmin())
        centers[c] = X[candidates[best]]
        closest = dist[best]
    return centers


def lloyd(X, centers, max_iter: int) -> np.ndarray:
    """Lloyd iterations over the rows ``X``; an empty cluster keeps its center."""
    for _ in range(max_iter):
        stats = kmeans_block(X, None, 0, centers=centers)
        filled = stats.counts > 0
        new = centers.copy()
        new[filled] = stats.sums[filled] / stats.counts[filled, None]
        moved = np.abs(new - centers).max()
        centers = new
        if moved <= 1e-12 * max(1.0, np.abs(centers).max()):
            break
    return centers


def initialize(
    source: StatisticsSource,
    n_components: int,
    covariance_type: str,
    method: str,
    rng: np.random.Generator,
    reg_covar: float,
    shift: np.ndarray,
) -> GaussianMixtureParams:
    """Initial parameters by ``method`` (one of :data:`INIT_METHODS`).

    kmeans++ seeds on up to 20 000 sampled rows, then runs at most 10 Lloyd
    iterations on up to 200 000 sampled rows; kmeans starts Lloyd (at most 100
    iterations, same sample) from random rows; random draws uniform
    responsibilities for every row; random-from-data takes random rows as
    means. All but random and hc then assign every row to its nearest mean and take
    that hard assignment's M-step (one pass over all rows). hc cuts mclust's hierarchical
    tree (VVV merge cost on SVD-transformed rows) of up to 2 000 sampled rows into k groups
    and takes their M-step.
    """
    if method == "random":
        fn = partial(
            random_resp_block, seed=int(rng.integers(2**63)), n_components=n_components,
            shift=shift, covariance_type=covariance_type,
        )
        return m_step(source.reduce(fn), reg_covar)
    if method in ("kmeans++", "kmeans"):
        sample = source.sample_rows(LLOYD_SAMPLE, rng)
        if method == "kmeans++":
            seeds, n_iter = kmeans_plus_plus(sample[:SEEDING_SAMPLE], n_components, rng), KMEANS_PLUS_PLUS_ITER
        else:
            seeds, n_iter = sample[:n_components].copy(), KMEANS_MAX_ITER
        centers = lloyd(sample, seeds, n_iter)
    elif method == "hc":
        return hc_start(source, n_components, covariance_type, rng, reg_covar, shift)
    elif method == "random-from-data":
        centers = source.sample_rows(n_components, rng)
    else:
        raise ValueError(f"unknown init method {method!r}")
    fn = partial(hard_assignment_block, centers=centers, shift=shift, covariance_type=covariance_type)
    return m_step(source.reduce(fn), reg_covar)


def hc_start(source, n_components: int, covariance_type: str, rng: np.random.Generator, reg_covar: float,
             shift: np.ndarray) -> GaussianMixtureParams:
    """The M-step of the k-group cut of mclust's hierarchical tree of (up to) 2 000 sampled rows.

    The tree is built once per set of rows and cut for every k up to max(9, k) at once, so
    select's cells of one seed (which sample the same rows) share it.
    """
    rows = hc_rows(source, rng)
    if n_components > len(rows):
        raise NumericalError(f"hierarchical start: {len(rows)} rows cannot make {n_components} groups")
    labels = _hc_cuts(rows.tobytes(), rows.shape, min(max(9, n_components), len(rows)))[n_components]
    resp = np.zeros((len(rows), n_components))
    resp[np.arange(len(rows)), labels] = 1.0
    return m_step(accumulate_statistics(rows - shift, resp, shift, covariance_type), reg_covar)


@dataclass(frozen=True)
class _Rows:
    """Rows of blocks, concatenated in row order by ``+`` (what an engine's reduce adds)."""

    X: np.ndarray

    def __add__(self, other: "_Rows") -> "_Rows":
        return _Rows(np.concatenate([self.X, other.X]))


def _rows_with_weight(X, sample_weight, start) -> _Rows:
    return _Rows(np.array(X if sample_weight is None else X[sample_weight > 0], dtype=float))


def hc_rows(source, rng: np.random.Generator) -> np.ndarray:
    """The rows the hierarchical start agglomerates: all of them in their own order when there
    are at most 2 000 (so the tree is mclust's, whose ties follow the row order), else 2 000
    sampled ones (as mclust's subset). Rows of weight 0 are not data."""
    if source.n_samples <= HC_SAMPLE:
        return source.reduce(_rows_with_weight).X
    return source.sample_rows(HC_SAMPLE, rng)


@functools.lru_cache(maxsize=4)
def _hc_cuts(raw: bytes, shape: tuple, k_max: int) -> dict:
    """{k: labels} for k = 1..k_max from the one tree of these rows (cached: the tree is the O(n²) part)."""
    from gmmcli.core.hc import hc_labels

    return hc_labels(np.frombuffer(raw).reshape(shape), range(1, k_max + 1))
