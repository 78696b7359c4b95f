"""Inner loops shared by mclust's iteratively estimated covariance models (VEI, VEV, VEE, EVE, VVE).

Each of those models' M-steps minimises the negative complete-data log-likelihood

    −ℓ(Σ) = ½ Σ_k [n_k log|Σ_k| + tr(W_k Σ_k⁻¹)]   (+ a constant)

over its constraint family by block-coordinate descent: every step minimises −ℓ exactly
over one block of parameters (a volume, a shape, a common matrix) with the others held,
or, for a common orientation D, takes a safeguarded Newton step on the orthogonal group or
a majorization–minimization step (Browne & McNicholas 2014), so −ℓ never increases. A
model supplies its starting state, its step, the parameters whose relative change stops the
loop (mclust's ``|old − new| / (1 + |new|)`` against ``emControl()$tol[2]`` = √eps) and its
dense covariances; :func:`run_inner` does the rest and, on request, records −ℓ after every
step.

Degenerate inputs (a component with n_k ≈ 0, a singular W_k) stay finite: eigenvalues,
volumes and shape entries are clipped at a tiny positive floor (:func:`floor_of`), and the
estimate may then be singular; the caller adds ``reg_covar`` to its diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, NamedTuple

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
    current = parameters(state)  # carried over: each state's parameters are built once
    while n_iter < max_iter:
        new = step(state)
        n_iter += 1
        following = parameters(new)
        change = relative_change(current, following)
        state, current = new, following
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


def mm_orientation(W: np.ndarray, omega: np.ndarray, D: np.ndarray, diag: np.ndarray, *,
                   WD: np.ndarray | None = None) -> np.ndarray:
    """One MM1 and one MM2 step (Browne & McNicholas 2014) for the common orientation D.

    Minimises f(D) = Σ_k tr(Dᵀ W_k D Δ_k⁻¹) over orthogonal D with the diagonal Δ_k
    (``diag``, shape (K, D)) held. f = g + const with g concave in D (MM1:
    W_k − ω_k I ⪯ 0, ω_k the largest eigenvalue of W_k; MM2: Δ_k⁻¹ − max(Δ_k⁻¹) I ⪯ 0),
    so g lies below its tangent plane, whose minimiser over orthogonal matrices is the polar
    factor of minus its gradient: each step cannot increase f. (mclust takes the polar
    factor of the gradient itself, i.e. −D, which gives the same covariances.) ``WD``: W @ D,
    if already at hand.
    """
    inv = 1.0 / diag
    # MM1: gradient Σ_k (W_k − ω_k I) D Δ_k⁻¹
    minus_grad = D * (omega @ inv) - np.einsum("kil,kl->il", W @ D if WD is None else WD, inv)
    D = align_signs(D, polar(minus_grad))
    # MM2: gradient Σ_k W_k D (Δ_k⁻¹ − m_k I), m_k = max_j 1/δ_kj
    minus_grad = np.einsum("kil,kl->il", W @ D, inv.max(axis=1)[:, None] - inv)
    return align_signs(D, polar(minus_grad))


def align_signs(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``new`` with each column's sign chosen to agree with ``old`` (Σ does not see signs)."""
    signs = np.where(np.einsum("ij,ij->j", old, new) < 0, -1.0, 1.0)
    return new * signs


# ---------------------------------------------------------------- Newton steps for the orientation (EVE, VVE)
# Given D, EVE's and VVE's other parameters have closed forms in x_k = diag(Dᵀ W_k D), so −ℓ
# is a function f(D) = Σ_k φ_k(x_k) of the orientation alone (for VVE, Flury's (1984) common
# principal components objective). Browne & McNicholas's MM steps decrease it at a linear rate
# close to 1 (on wine's 13 columns 100 steps rarely reach √eps), so near a minimum each step
# here is Newton's on the orthogonal group (Absil, Mahony & Sepulchre 2008, ch. 6): f pulled
# back to the skew-symmetric S of D exp(S), its gradient g and Hessian H at S = 0 in the
# d(d−1)/2 upper entries θ of S, the step θ = −H⁻¹g (damped where H is not positive
# definite), moved along by the Cayley transform, which agrees with exp(S) to second order
# and so keeps Newton's quadratic convergence. A step is taken only if it does not increase
# −ℓ (halved a few times if needed); otherwise the MM step is, so −ℓ never increases.
NEWTON_HALVINGS = 4  # step halvings before the MM step is taken instead
MAX_ANGLE = 0.2  # largest plane rotation (radians) a Newton step may take
ROUNDING = 32 * EPS  # relative rounding of a computed −ℓ: no step can be told from 0 below it
DAMPING_TRIES = 12  # μ = 0, then 1e-8, 1e-7, … 1e2 of H's largest diagonal entry
FREE_STRIKES = 6  # damped or failed Newton steps before Newton's tries are spaced out
MAX_WAIT = 8  # most MM steps between two Newton tries
SINGULAR = 1e-10  # W_k with λ_min ≤ SINGULAR λ_max count as singular: MM steps only
# Newton's Hessian is d(d−1)/2 square and is built through a d⁴ array: 6.5 MB and a 435-square
# Cholesky factorisation at d = 30, but 800 MB at d = 100. Wider data take MM steps only.
NEWTON_MAX_COLUMNS = 32


@dataclass(frozen=True)
class Profile:
    """−ℓ as a function of the orientation alone, through x_k = diag(Dᵀ W_k D).

    Attributes
    ----------
    given : x (K, D) -> (closed, value): the model's parameters that are optimal given x (its
        own closed forms, floors included) and −ℓ there
    magnitude : x -> float, the sum of the absolute values of −ℓ's terms (−ℓ's rounding is
        :data:`ROUNDING` times that; taken once, at the start)
    derivatives : x -> (G, curvature, c, u), φ_k's gradient G_k and Hessian
        diag(curvature_k) + c_k u_k u_kᵀ in x_k (c, u may be None), of a smooth version of φ
    mm_weights : closed -> (K, D), the diagonals Δ_k that :func:`mm_orientation` holds
    """

    given: Callable
    magnitude: Callable
    derivatives: Callable
    mm_weights: Callable


class Rotated(NamedTuple):
    """An orientation D with WD_k = W_k D, x = diag(Dᵀ W_k D), the model's ``closed``
    parameters given x and −ℓ (``value``); ``strikes`` counts the Newton steps so far that were
    damped or failed, ``wait`` the MM steps to take before Newton's next try. (A named tuple:
    built every step, it costs less than a dataclass.)"""

    D: np.ndarray
    WD: np.ndarray
    x: np.ndarray
    closed: object
    value: float
    strikes: int = 0
    wait: int = 0


def rotate(W: np.ndarray, D: np.ndarray, profile: Profile, strikes: int = 0, wait: int = 0) -> Rotated:
    """The point D: W_k D, the diagonals of Dᵀ W_k D (as :func:`rotated_diagonals`, so that MM
    steps alone repeat the MM-only loop's arithmetic exactly) and −ℓ."""
    WD = W @ D
    x = np.einsum("ji,kji->ki", D, WD)
    return Rotated(D, WD, x, *profile.given(x), strikes, wait)


def fit_orientation(W: np.ndarray, nk: np.ndarray, D: np.ndarray, profile: Profile, parameters: Callable,
                    dense: Callable, *, record: bool = False) -> InnerFit:
    """Minimise −ℓ over the common orientation from D by safeguarded Newton steps, with MM
    steps where a Newton step fails.

    Where H is not positive definite (far from a minimum) the step is damped, −(H + μI)⁻¹g
    (Levenberg–Marquardt): MM's steps are too short there. A damped or failed step is a
    strike; after :data:`FREE_STRIKES` of them Newton is tried only after 2, 4, … (at most
    :data:`MAX_WAIT`) MM steps, so a problem Newton does not suit costs little more than MM.
    If some W_k is singular (a component with fewer rows than columns), −ℓ is least at the
    floors, with an axis of D in W_k's null space, not at a minimum inside them for Newton to
    find: then MM steps alone, with the arithmetic of the MM-only loop, so that EM's path
    through such fits, which the smallest change sends elsewhere, stays as it was. MM steps
    alone too beyond :data:`NEWTON_MAX_COLUMNS` columns, where the Hessian costs too much.
    ``parameters`` and ``dense`` take a :class:`Rotated` (the model's stopping parameters and
    covariances); the loop is :func:`run_inner`'s, capped at :data:`MAX_MM_ITER` steps.
    """
    eigenvalues = np.linalg.eigvalsh(W)
    omega = eigenvalues[:, -1]
    singular = np.any(eigenvalues[:, 0] <= SINGULAR * omega)
    never = MAX_MM_ITER if singular or W.shape[-1] > NEWTON_MAX_COLUMNS else 0
    start = rotate(W, D, profile, wait=never)
    slack = ROUNDING * profile.magnitude(start.x)

    def step(point: Rotated) -> Rotated:
        if point.wait > 0:
            return mm_step(point, point.strikes, point.wait - 1)
        new, damped = newton_orientation(W, point, profile, slack)
        if new is not None and not damped:
            return new
        strikes = point.strikes + 1
        wait = min(2 ** (strikes - FREE_STRIKES), MAX_WAIT) if strikes > FREE_STRIKES else 0
        if new is None:
            return mm_step(point, strikes, wait)
        return new._replace(strikes=strikes, wait=wait)

    def mm_step(point: Rotated, strikes: int, wait: int) -> Rotated:
        D = mm_orientation(W, omega, point.D, profile.mm_weights(point.closed), WD=point.WD)
        return rotate(W, D, profile, strikes, wait)

    return run_inner(start, step, parameters, dense, W, nk, max_iter=MAX_MM_ITER, record=record)


def newton_orientation(W: np.ndarray, point: Rotated, profile: Profile, slack: float = 0.0):
    """(new, damped): the (damped) Newton step from ``point``, a :class:`Rotated`, and whether
    it needed damping. new is None if the step cannot be computed or raises −ℓ by more than
    ``slack`` (its rounding) even when halved :data:`NEWTON_HALVINGS` times. (Near the minimum
    −ℓ is flat to its rounding over steps of √eps, the size of the last steps before the loop
    stops, so a strict test would reject them.)"""
    gradient, hessian = orientation_hessian(point.D.T @ point.WD, *profile.derivatives(point.x))
    theta, damped = damped_newton(gradient, hessian)
    if theta is None:
        return None, damped
    largest = float(np.max(np.abs(theta), initial=0.0))
    if largest > MAX_ANGLE:  # the quadratic model means nothing a large rotation away
        theta = theta * (MAX_ANGLE / largest)
    for _ in range(NEWTON_HALVINGS):
        new = rotate(W, point.D @ cayley(theta, len(point.D)), profile, point.strikes)
        if new.value <= point.value + slack:
            return new, damped
        theta = 0.5 * theta
    return None, damped


@lru_cache(maxsize=None)
def _pairs(d: int):
    """(a, b, upper, lower): the pairs a < b indexing θ and their flat indices a·d+b, b·d+a."""
    a, b = np.triu_indices(d, 1)
    return a, b, a * d + b, b * d + a


def orientation_hessian(B: np.ndarray, G: np.ndarray, curvature: np.ndarray, c=None, u=None):
    """Gradient g and Hessian H of θ ↦ Σ_k φ_k(diag(exp(−S) B_k exp(S))) at θ = 0.

    S is skew with S_ab = θ_ab = −S_ba (a < b). To second order the diagonals move by
    dx_kj = 2 Σ_l B_k,jl S_lj and q_kj = (B_k S²)_jj − (S B_k S)_jj, so
    g_ab = 2 Σ_k B_k,ab (G_kb − G_ka) and ½ θᵀHθ = Σ_kj G_kj q_kj + ½ Σ_k dx_kᵀ ∇²φ_k dx_k,
    a quadratic form in vec(S) whose d²×d² matrix T has three diagonal-structured parts,
    written through strided views; H = Pᵀ(T + Tᵀ)P with P mapping θ to vec(S).

    Parameters
    ----------
    B : ndarray of shape (K, D, D), Dᵀ W_k D
    G, curvature : ndarray of shape (K, D), φ_k's gradient and Hessian diagonal in x_k
    c, u : ndarray of shape (K,) and (K, D), or None: a rank-one part c_k u_k u_kᵀ of ∇²φ_k
    """
    k, d, _ = B.shape
    a, b, upper, lower = _pairs(d)
    C = np.einsum("kj,kjl->jl", G, B)  # Σ_k G_kj B_k,jl
    E = (G.T @ B.reshape(k, d * d)).reshape(d, d, d)  # Σ_k G_kj B_k,lm
    Bt = B.transpose(1, 2, 0)
    F = (Bt * curvature.T[:, None, :]) @ Bt.transpose(0, 2, 1)  # Σ_k h_kj B_k,jl B_k,jm
    T = np.zeros((d, d, d, d))
    s0, s1, s2, s3 = T.strides
    _strided(T, (s0, s1 + s2, s3))[...] = C.T[:, None, :]  # Σ G_j (B S²)_jj: T[l,m,m,j] = C[j,l]
    _strided(T, (s0 + s3, s1, s2))[...] -= E  # −Σ G_j (S B S)_jj: T[j,l,m,j] = −E[j,l,m]
    _strided(T, (s0, s1 + s3, s2))[...] += 2.0 * F.transpose(1, 0, 2)  # T[l,j,m,j] = 2 F[j,l,m]
    T = T.reshape(d * d, d * d)
    half = T[:, upper] - T[:, lower]
    half = half[upper] - half[lower]
    H = half + half.T
    if c is not None:  # ½ Σ_k c_k (u_k·dx_k)², dx_k linear in θ through V_k
        A = 2.0 * (B * u[:, None, :]).reshape(k, d * d)
        V = A[:, upper] - A[:, lower]
        H += (V.T * c) @ V
    return 2.0 * (C[b, a] - C[a, b]), H


def _strided(T: np.ndarray, strides) -> np.ndarray:
    """A writable (d, d, d) view of the (d, d, d, d) array T with the given strides."""
    d = T.shape[0]
    return np.lib.stride_tricks.as_strided(T, (d, d, d), strides, writeable=True)


def damped_newton(gradient: np.ndarray, hessian: np.ndarray):
    """(θ, damped): θ = −(H + μ s I)⁻¹ g for the first μ in 0, 1e-8, 1e-7, … (s = max |H_ii|)
    that makes the matrix positive definite (so θ descends), and whether μ > 0; θ is None if
    no μ up to 1e2 does or H or g is not finite."""
    # LAPACK directly (imported here: scipy.linalg costs 0.2 s to load, and its checked
    # wrappers cost more than these d(d−1)/2-square solves)
    from scipy.linalg.lapack import dpotrf, dpotrs

    if len(gradient) == 0:  # one column: nothing to rotate
        return None, True
    mu, scale = 0.0, 0.0
    for _ in range(DAMPING_TRIES):
        factor, info = dpotrf(hessian + (mu * scale) * np.eye(len(gradient)) if mu else hessian, lower=1, clean=0)
        if info == 0:
            theta, info = dpotrs(factor, gradient, lower=1)
            return (-theta if info == 0 and np.all(np.isfinite(theta)) else None), mu > 0
        if mu == 0.0:  # not positive definite (or not finite): damp, relative to H's scale
            scale = float(np.max(np.abs(np.diagonal(hessian)), initial=0.0))
            if not (np.isfinite(scale) and scale > 0):
                return None, True
        mu = 10.0 * mu if mu else 1e-8
    return None, True


def cayley(theta: np.ndarray, d: int) -> np.ndarray:
    """The rotation (I − S/2)⁻¹(I + S/2) of the skew S with upper entries θ (exp(S) + O(|S|³))."""
    a, b, _, _ = _pairs(d)
    S = np.zeros((d, d))
    S[a, b] = 0.5 * theta
    S[b, a] = -0.5 * theta
    eye = np.eye(d)
    return np.linalg.solve(eye - S, eye + S)


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
