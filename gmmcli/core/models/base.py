"""What every covariance model provides, and the kernels several models share.

A :class:`CovarianceModel` is built with keyword arguments from plain functions; the
table in :mod:`gmmcli.core.models` holds one per model. Shapes follow scikit-learn
(``K`` components, ``D`` features); ``Xc`` and ``means_c`` are already moved by the
same shift, which keeps the expanded quadratic forms free of cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from gmmcli.errors import NumericalError


@dataclass(frozen=True, kw_only=True)
class CovarianceModel:
    """Everything that differs between covariance models.

    Attributes
    ----------
    name : the model's name (``--covariance``, the model file's ``covariance_type``)
    shape : (K, D) -> shape of ``covariances``
    precisions_chol : covariances -> Cholesky factors of the precisions (NumericalError if singular)
    log_det : (precisions_chol, K, D) -> (K,) log-determinants of the precision factors
    mahalanobis : (Xc, means_c, precisions_chol) -> (n, K) squared Mahalanobis distances
    moment : (Xc, resp) -> the second-moment statistic the M-step reads
    m_step : (moment, nk, means_c, reg_covar, previous) -> covariances (``previous``: the last
        iteration's covariances or None, from which iterative M-steps warm-start)
    n_cov_parameters : (K, D) -> free covariance parameters
    features : XT (D, n) -> quadratic features φ (F, n) of the fused kernel
    n_quad_features : D -> F, the rows of φ
    quad_weights : (means_c, precisions_chol) -> (W (F-1, K), constants (K,)): log N linear in φ
    moment_from_features : (g (K, F), D) -> the moment statistic from Σ r φᵀ
    moment_from_dense : (K, D, D) per-component second moments -> the moment statistic
    dense : (covariances, K, D) -> (K, D, D) covariance matrices
    marginal : (covariances, columns) -> the covariances of those columns only
    rescale : (covariances, factor (D,)) -> covariances of y = factor · x
    min_variances : (covariances, K) -> (K,) each component's smallest variance
    rescale_exact : whether ``rescale`` is exact for a non-uniform factor
    shared : one covariance for every component (``covariances`` has no component axis)
    """

    name: str
    shape: Callable
    precisions_chol: Callable
    log_det: Callable
    mahalanobis: Callable
    moment: Callable
    m_step: Callable
    n_cov_parameters: Callable
    features: Callable
    n_quad_features: Callable
    quad_weights: Callable
    moment_from_features: Callable
    moment_from_dense: Callable
    dense: Callable
    marginal: Callable
    rescale: Callable
    min_variances: Callable
    rescale_exact: bool = True
    shared: bool = False
    mclust_name: str = ""
    n_features_only: int = 0  # mclust's one-column models (E, V) take only this many columns
    # iterative M-steps: (W, nk, previous) -> an inner fit with n_iter and converged (diagnostics)
    inner_fit: Optional[Callable] = None

    @property
    def scale_invariant(self) -> bool:
        """Whether scaling each column by its own factor keeps the model's constraint (then
        standardizing column by column changes nothing but the numbers): a model whose
        covariances are spherical (I) or whose orientation is constrained while the shape is not
        free in the same way (EEV, VEV, EVE, VVE) is not."""
        return self.mclust_name in SCALE_INVARIANT_MODELS

    @property
    def has_decomposition(self) -> bool:
        """mclust's own models record λ, A and D in the model file (scikit-learn's four do not)."""
        return self.name == self.mclust_name

    def constraint_problem(self, dense: np.ndarray, rtol: float = 1e-6) -> Optional[str]:
        """What of mclust's constraint the dense covariances (K, D, D) break (None: they keep it),
        read off the model's name: volume, shape and orientation equal (E), variable (V) or
        the identity (I). Covariances regularised by reg_covar are given without it."""
        if not self.has_decomposition:
            return None  # scikit-learn's four: their storage shapes are their constraints
        parts = decompose(dense)
        letters = self.mclust_name if len(self.mclust_name) == 3 else self.mclust_name + "II"
        checks = [
            (letters[0] == "E", lambda: _spread(parts["volume"]), "the volumes differ across components"),
            (letters[1] == "E", lambda: _spread(parts["shape"]), "the shapes differ across components"),
            (letters[1] == "I", lambda: _spread(parts["shape"], 1.0), "a covariance is not spherical"),
            (letters[2] == "E", lambda: _commutator(dense), "the orientations differ across components"),
            (letters[2] == "I" and letters[1] != "I", lambda: _off_diagonal(dense), "a covariance is not diagonal"),
        ]
        for applies, spread, problem in checks:
            if applies and spread() > rtol:
                return problem
        return None

    def permute(self, covariances: np.ndarray, order) -> np.ndarray:
        """``covariances`` (or their precision factors) with the components in ``order``."""
        return covariances if self.shared else covariances[np.asarray(order)]

    def per_component(self, covariances: np.ndarray) -> list:
        """One covariance per component as stored (a batch of one), or the shared one alone."""
        if self.shared:
            return [covariances]
        return [covariances[i:i + 1] for i in range(len(covariances))]


# mclust's models whose constraint survives a different scale per column: the unconstrained and
# common orientations (VVV, EEE, VEE, EVV) and the diagonal ones (EEI, VEI, EVI, VVI), and E, V.
SCALE_INVARIANT_MODELS = frozenset({"VVV", "EEE", "VEE", "EVV", "EEI", "VEI", "EVI", "VVI", "E", "V"})


# ---------------------------------------------------------------- shared kernels
def singular(component: int | None) -> NumericalError:
    which = "the tied covariance" if component is None else f"component {component}"
    return NumericalError(
        f"covariance of {which} is not positive definite "
        "(a collapsed or degenerate component); increase --reg-covar or lower -k"
    )


def cholesky_precision(cov: np.ndarray, component: int | None) -> np.ndarray:
    """Upper-triangular P with P Pᵀ = cov⁻¹, from the Cholesky factor of cov."""
    if not np.all(np.isfinite(cov)):
        raise singular(component)
    try:
        cov_chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise singular(component) from None
    # L⁻¹ of the (small, D x D) lower factor; numpy alone keeps start-up light (scipy.linalg costs 0.2 s)
    return np.linalg.solve(cov_chol, np.eye(cov.shape[0])).T


def cholesky_precisions(covs: np.ndarray) -> np.ndarray:
    """P_k for a stack of covariances (K, D, D), in one batched LAPACK call each for the
    factorization and the triangular inverse (per-matrix calls cost more than the work for small
    D); a failure names the first component that is not positive definite."""
    if not np.all(np.isfinite(covs)):
        raise singular(int(np.flatnonzero(~np.isfinite(covs).reshape(len(covs), -1).all(axis=1))[0]))
    try:
        cov_chol = np.linalg.cholesky(covs)
    except np.linalg.LinAlgError:
        for k, cov in enumerate(covs):
            cholesky_precision(cov, k)  # raises for the first one that fails
        raise singular(None) from None  # not reached: one of them fails alone too
    identity = np.broadcast_to(np.eye(covs.shape[-1]), covs.shape)
    return np.linalg.solve(cov_chol, identity).transpose(0, 2, 1)


def check_positive(variances: np.ndarray) -> None:
    bad = np.flatnonzero(~(np.asarray(variances) > 0).reshape(len(variances), -1).all(axis=1))
    if bad.size:
        raise singular(int(bad[0]))


def prec_chol_of_variances(variances: np.ndarray) -> np.ndarray:
    """1/√σ² for models whose covariances are variances (diagonal or spherical)."""
    check_positive(variances)
    return 1.0 / np.sqrt(variances)


_TRIU_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def triu(n_features: int):
    if n_features not in _TRIU_CACHE:
        _TRIU_CACHE[n_features] = np.triu_indices(n_features)
    return _TRIU_CACHE[n_features]


def n_triu(n_features: int) -> int:
    return n_features * (n_features + 1) // 2


def unpack_triu(packed: np.ndarray, n_features: int) -> np.ndarray:
    """Symmetric matrices from their row-major upper triangles (last axis)."""
    rows, cols = triu(n_features)
    out = np.empty(packed.shape[:-1] + (n_features, n_features))
    out[..., rows, cols] = packed
    out[..., cols, rows] = packed
    return out


# Rows of φ: [second order | x | 1]. Features are built transposed, one row per feature
# and one column per data row, so every write is contiguous and every per-row operation
# over components runs along long rows.
def features_full(XT: np.ndarray) -> np.ndarray:
    """[xᵢxⱼ for i ≤ j (row-major upper triangle) ; x ; 1], shape (D(D+1)/2 + D + 1, n)."""
    d, n = XT.shape
    t = n_triu(d)
    out = np.empty((t + d + 1, n), dtype=XT.dtype)
    pos = 0
    for i in range(d):
        np.multiply(XT[i], XT[i:], out=out[pos:pos + d - i])
        pos += d - i
    out[t:t + d] = XT
    out[-1] = 1.0
    return out


def quad_weights_full(means_c: np.ndarray, prec_chol: np.ndarray):
    """Second-order and linear coefficients, shape (D(D+1)/2 + D, K), and −½ μᵀΛμ (K,)."""
    n_components, d = means_c.shape
    if prec_chol.ndim == 2:
        prec_chol = np.broadcast_to(prec_chol, (n_components,) + prec_chol.shape)
    precisions = prec_chol @ prec_chol.transpose(0, 2, 1)
    rows, cols = triu(d)
    second = -precisions[:, rows, cols] * np.where(rows == cols, 0.5, 1.0)
    linear = np.einsum("kde,ke->kd", precisions, means_c)
    return np.hstack([second, linear]).T, -0.5 * np.einsum("kd,kd->k", linear, means_c)


# ---------------------------------------------------------------- constrained (mclust) models
def scatter_matrices(moment: np.ndarray, nk: np.ndarray, means_c: np.ndarray) -> np.ndarray:
    """W_k = Σᵢ r_ik (xᵢ − x̄_k)(xᵢ − x̄_k)ᵀ from second moments about the shift, shape (K, D, D)."""
    W = moment - nk[:, None, None] * means_c[:, :, None] * means_c[:, None, :]
    return 0.5 * (W + W.transpose(0, 2, 1))  # exactly symmetric


def constrained_model(*, name: str, estimate: Callable, n_cov_parameters: Callable,
                      n_features_only: int = 0, inner_fit: Optional[Callable] = None) -> CovarianceModel:
    """A model of mclust's family Σ_k = λ_k D_k A_k D_kᵀ with some of λ, A, D equal across
    components, stored as dense (K, D, D) covariances so that it shares the ``full`` model's
    kernels; only its M-step and its parameter count are its own.

    ``estimate(W, nk, previous) -> (K, D, D)``: the maximum-likelihood covariances under the
    model's constraints from the scatter matrices W (K, D, D) and the component weights nk
    (``previous``: the last iteration's covariances, or None, for iterative estimates);
    ``inner_fit``: the same estimate with its inner loop's iterations and convergence.
    """
    from dataclasses import replace

    from gmmcli.core.models import full

    def m_step(moment, nk, means_c, reg_covar, previous=None):
        # reg_covar enters the scatter matrices (W_k + n_k·reg·I, as if every component's rows
        # were jittered), not the estimate afterwards: the constrained fit then sees no
        # singular W_k, whose exact optimum puts a zero variance on its null space and drags a
        # shared volume, shape or orientation after it, which adding reg_covar afterwards
        # cannot undo (EM's log-likelihood then fell). For the models whose estimate is linear
        # in W (EEE, VVV, …) the two are the same.
        W = scatter_matrices(moment, nk, means_c)
        idx = np.arange(means_c.shape[1])
        W[:, idx, idx] += reg_covar * np.asarray(nk, dtype=float)[:, None]
        return estimate(W, nk, previous)

    return replace(full.MODEL, name=name, m_step=m_step, n_cov_parameters=n_cov_parameters,
                   rescale_exact=False, mclust_name=name, n_features_only=n_features_only, inner_fit=inner_fit)


def clip_positive(values: np.ndarray) -> np.ndarray:
    """``values`` (..., D) with those at or below ε·max along the last axis raised to that floor.

    The floor is relative to each row's largest value (what an eigensolver cannot resolve)
    and at least the smallest normal float, so a zero or slightly negative variance of a
    collapsed component becomes a tiny positive one and every logarithm stays finite.
    """
    top = np.max(values, axis=-1, keepdims=True)
    return np.maximum(values, np.maximum(np.finfo(float).eps * top, np.finfo(float).tiny))


def normalize(a: np.ndarray) -> np.ndarray:
    """``a`` scaled to product (determinant) 1 along the last axis: a / (Π a)^{1/d}."""
    return a / np.exp(np.mean(np.log(a), axis=-1, keepdims=True))


def decompose(covariances: np.ndarray) -> dict:
    """Volume λ_k = |Σ_k|^{1/d}, shape A_k (eigenvalues / λ_k, descending, product 1) and
    orientation D_k (eigenvectors as columns) of dense covariances (K, D, D)."""
    values, vectors = np.linalg.eigh(covariances)
    order = np.argsort(-values, axis=1, kind="stable")  # ties keep eigh's order (I stays I)
    values = np.take_along_axis(values, order, axis=1)
    vectors = np.take_along_axis(vectors, order[:, None, :], axis=2)
    volume = np.exp(np.mean(np.log(values), axis=1))
    return {"volume": volume, "shape": values / volume[:, None], "orientation": vectors}


def _spread(values: np.ndarray, target=None) -> float:
    """Largest relative difference of ``values`` (K, ...) from the first component's (or ``target``)."""
    reference = values[:1] if target is None else target
    return float(np.max(np.abs(values - reference) / np.maximum(np.abs(reference), 1e-300)))


def _commutator(dense: np.ndarray) -> float:
    """How far the covariances are from sharing eigenvectors: ‖Σ_a Σ_b − Σ_b Σ_a‖ / (‖Σ_a‖ ‖Σ_b‖)."""
    worst = 0.0
    for a in range(1, len(dense)):
        product = dense[0] @ dense[a]
        scale = np.linalg.norm(dense[0]) * np.linalg.norm(dense[a])
        worst = max(worst, float(np.linalg.norm(product - product.T) / scale))
    return worst


def _off_diagonal(dense: np.ndarray) -> float:
    """Largest off-diagonal entry relative to its row's and column's variances."""
    diagonal = np.sqrt(np.abs(np.diagonal(dense, axis1=1, axis2=2)))
    off = dense - np.einsum("kij,ij->kij", dense, np.eye(dense.shape[1]))
    return float(np.max(np.abs(off) / np.maximum(diagonal[:, :, None] * diagonal[:, None, :], 1e-300)))
