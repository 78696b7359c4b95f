"""Inner loops shared by mclust's iteratively estimated covariance models (VEI, VEV, VEE, EVE, VVE).

Each of those models' M-steps minimises the negative complete-data log-likelihood

    −ℓ(Σ) = ½ Σ_k [n_k log|Σ_k| + tr(W_k Σ_k⁻¹)]   (+ a constant)

over its constraint family by block-coordinate descent: every step minimises −ℓ exactly
over one block of parameters (a volume, a shape, a common matrix) with the others held,
or, for a common orientation D, takes a majorization–minimization step (Browne &
McNicholas 2014), so −ℓ never increases. A model supplies its starting state, its step,
the parameters whose relative change stops the loop (mclust's ``|old − new| / (1 + |new|)``
against ``emControl()$tol[2]`` = √eps) and its dense covariances; :func:`run_inner` does
the rest and, on request, records −ℓ after every step.

Degenerate inputs (a component with n_k ≈ 0, a singular W_k) stay finite: eigenvalues,
volumes and shape entries are clipped at a tiny positive floor (:func:`floor_of`), and the
estimate may then be singular; the caller adds ``reg_covar`` to its diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

EPS = float(np.finfo(float).eps)
TOL = float(np.sqrt(EPS))  # mclust's emControl()$tol[2]
MAX_ITER = 100  # fixed-point iterations (VEI, VEV, VEE)
MAX_MM_ITER = 100  # majorization–minimization iterations (EVE, VVE)
REL_FLOOR = EPS * EPS  # floors are this fraction of the data's scale
TINY = float(np.finfo(float).tiny)


@dataclass(frozen=True)
class InnerFit:
    """The outcome of one inner loop.

    Attributes
    ----------
    covariances : ndarray of shape (K, D, D)
        The estimate, unregularised.
    n_iter : int
        Steps taken from the starting point.
    converged : bool
        Whether the largest relative parameter change fell to :data:`TOL` within the cap.
    history : tuple of float
        −ℓ at the starting point and after each step (empty unless recorded).
    """

    covariances: np.ndarray
    n_iter: int
    converged: bool
    history: tuple


def run_inner(state, step: Callable, parameters: Callable, dense: Callable, W, nk, *,
              max_iter: int, record: bool = False) -> InnerFit:
    """Iterate ``state = step(state)`` until the parameters settle or ``max_iter`` steps.

    Parameters
    ----------
    state : the starting state (any value ``step``, ``parameters`` and ``dense`` accept)
    step : state -> state, one block-coordinate (or MM) sweep
    parameters : state -> 1-d array, the values whose relative change stops the loop
    dense : state -> (K, D, D) covariances
    W, nk : the scatter matrices and component weights (for the recorded −ℓ)
    record : whether to record −ℓ after every step (costs one factorisation per step)
    """
    history = [neg_log_likelihood(W, nk, dense(state))] if record else []
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        new = step(state)
        n_iter += 1
        change = relative_change(parameters(state), parameters(new))
        state = new
        if record:
            history.append(neg_log_likelihood(W, nk, dense(state)))
        if change <= TOL:
            converged = True
            break
    covariances = dense(state)
    return InnerFit(0.5 * (covariances + covariances.transpose(0, 2, 1)), n_iter, converged, tuple(history))


def relative_change(old: np.ndarray, new: np.ndarray) -> float:
    """mclust's stopping quantity: max |old − new| / (1 + |new|)."""
    with np.errstate(invalid="ignore", over="ignore"):
        change = np.max(np.abs(old - new) / (1.0 + np.abs(new)))
    return float(change) if np.isfinite(change) else np.inf


def neg_log_likelihood(W: np.ndarray, nk: np.ndarray, covariances: np.ndarray) -> float:
    """−ℓ = ½ Σ_k [n_k log|Σ_k| + tr(W_k Σ_k⁻¹)], the objective every inner loop decreases.

    Parameters
    ----------
    W : ndarray of shape (K, D, D)
    nk : ndarray of shape (K,)
    covariances : ndarray of shape (K, D, D), positive definite
    """
    values, vectors = np.linalg.eigh(covariances)
    values = np.maximum(values, TINY)
    rotated = np.einsum("kji,kji->ki", vectors, W @ vectors)  # diag(Vᵀ W V)
    log_det = np.log(values).sum(axis=1)
    return float(0.5 * np.sum(nk * log_det + (rotated / values).sum(axis=1)))


# ---------------------------------------------------------------- numerics shared by the models
def floor_of(W: np.ndarray, nk: np.ndarray) -> float:
    """A tiny positive variance: REL_FLOOR times the pooled mean variance (1 if that is 0)."""
    d = W.shape[-1]
    scale = np.trace(W.sum(axis=0)) / (d * max(float(np.sum(nk)), TINY))
    if not (np.isfinite(scale) and scale > 0):
        scale = 1.0
    return float(scale * REL_FLOOR)


def counts(nk: np.ndarray) -> np.ndarray:
    """Component weights kept away from zero (the caller already adds 10·eps)."""
    return np.maximum(np.asarray(nk, dtype=float), TINY)


def normalize_positive(values: np.ndarray) -> np.ndarray:
    """Positive entries scaled to product 1 along the last axis; zeros clipped first."""
    top = np.max(values, axis=-1, keepdims=True)
    values = np.maximum(values, np.maximum(top * REL_FLOOR, TINY))
    return values / np.exp(np.mean(np.log(values), axis=-1, keepdims=True))


def sorted_eigh(matrices: np.ndarray):
    """Eigenvalues (descending) and eigenvectors (as columns) of symmetric matrices."""
    values, vectors = np.linalg.eigh(matrices)
    return values[..., ::-1], vectors[..., ::-1]


def diagonal(matrices: np.ndarray) -> np.ndarray:
    return np.diagonal(matrices, axis1=-2, axis2=-1).copy()


def rotated_diagonals(W: np.ndarray, D: np.ndarray) -> np.ndarray:
    """diag(Dᵀ W_k D) for every component, shape (K, D)."""
    return np.einsum("ji,kji->ki", D, W @ D)


def geometric_mean_shape(covariances: np.ndarray) -> np.ndarray:
    """A common shape (product 1, descending) from the eigenvalues of covariances (K, D, D)."""
    values = np.maximum(np.linalg.eigvalsh(covariances)[:, ::-1], TINY)
    return normalize_positive(np.exp(np.mean(np.log(normalize_positive(values)), axis=0)))


# ---------------------------------------------------------------- common orientation (EVE, VVE)
def polar(M: np.ndarray) -> np.ndarray:
    """The orthogonal polar factor U Vᵀ of M = U S Vᵀ: argmax over orthogonal Q of tr(Qᵀ M)."""
    U, _, Vt = np.linalg.svd(M)
    return U @ Vt


def mm_orientation(W: np.ndarray, omega: np.ndarray, D: np.ndarray, diag: np.ndarray) -> np.ndarray:
    """One MM1 and one MM2 step (Browne & McNicholas 2014) for the common orientation D.

    Minimises f(D) = Σ_k tr(Dᵀ W_k D Δ_k⁻¹) over orthogonal D with the diagonal Δ_k
    (``diag``, shape (K, D)) held. f = g + const with g concave in D (MM1:
    W_k − ω_k I ⪯ 0, ω_k the largest eigenvalue of W_k; MM2: Δ_k⁻¹ − max(Δ_k⁻¹) I ⪯ 0),
    so g lies below its tangent plane, whose minimiser over orthogonal matrices is the polar
    factor of minus its gradient: each step cannot increase f. (mclust takes the polar
    factor of the gradient itself, i.e. −D, which gives the same covariances.)
    """
    inv = 1.0 / diag
    # MM1: gradient Σ_k (W_k − ω_k I) D Δ_k⁻¹
    minus_grad = D * (omega @ inv) - np.einsum("kil,kl->il", W @ D, inv)
    D = align_signs(D, polar(minus_grad))
    # MM2: gradient Σ_k W_k D (Δ_k⁻¹ − m_k I), m_k = max_j 1/δ_kj
    minus_grad = np.einsum("kil,kl->il", W @ D, inv.max(axis=1)[:, None] - inv)
    return align_signs(D, polar(minus_grad))


def align_signs(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``new`` with each column's sign chosen to agree with ``old`` (Σ does not see signs)."""
    signs = np.where(np.einsum("ij,ij->j", old, new) < 0, -1.0, 1.0)
    return new * signs


def common_orientation(covariances: np.ndarray) -> np.ndarray:
    """Eigenvectors shared by commuting covariances (K, D, D), from a generic combination."""
    k = len(covariances)
    traces = np.maximum(np.trace(covariances, axis1=1, axis2=2), TINY)
    weights = np.arange(1.0, k + 1) + (np.sqrt(2.0) * np.arange(k)) % 1.0  # distinct: no ties
    mix = np.einsum("k,kij->ij", weights / traces, covariances)
    return sorted_eigh(0.5 * (mix + mix.T))[1]


# ---------------------------------------------------------------- variable volume, common shape (VEI, VEV)
def fit_volume_shape(values: np.ndarray, nk: np.ndarray, shape: np.ndarray, dense: Callable, W: np.ndarray,
                     *, record: bool = False) -> InnerFit:
    """The fixed point of mclust's msvei / msvev: Σ_k = λ_k R_k diag(a) R_kᵀ, det diag(a) = 1.

    ``values`` (K, D) are what W_k puts on the shape's axes (diag W_k for VEI, the
    eigenvalues of W_k in descending order for VEV, whose R_k are W_k's eigenvectors).
    Alternately λ_k = Σ_j v_kj / a_j / (d n_k) and a = normalize(Σ_k v_k / λ_k), each the
    exact minimiser of −ℓ given the other, from the shape ``shape`` (D,).

    ``dense(volumes, shape) -> (K, D, D)`` builds the covariances.
    """
    d = values.shape[1]
    floor = floor_of(W, nk)
    n = counts(nk)

    def volumes(a):
        return np.maximum((values / a).sum(axis=1) / (d * n), floor)

    def step(state):
        a = normalize_positive((values / state[0][:, None]).sum(axis=0))
        return volumes(a), a

    shape = normalize_positive(np.asarray(shape, dtype=float))
    return run_inner((volumes(shape), shape), step, np.concatenate, lambda s: dense(*s), W, nk,
                     max_iter=MAX_ITER, record=record)


def diagonal_matrices(values: np.ndarray) -> np.ndarray:
    """Diagonal matrices (..., D, D) with ``values`` (..., D) on their diagonals."""
    out = np.zeros(values.shape + values.shape[-1:])
    idx = np.arange(values.shape[-1])
    out[..., idx, idx] = values
    return out
