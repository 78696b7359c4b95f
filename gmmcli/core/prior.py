"""mclust's conjugate prior (Fraley & Raftery 2007) and the MAP M-step under it.

The prior on component k's mean and covariance is a normal for the mean given the covariance,
μ_k | Σ_k ~ N(μ_P, Σ_k / κ), and an inverse Wishart (ellipsoidal models: ν_P, Λ_P) or inverse
gamma (spherical and diagonal models: ν_P, ς²) for the covariance; the mixing proportions have
none (π_k = n_k / n, as mclust). A MAP M-step replaces the maximum-likelihood one:

    μ_k = (n_k x̄_k + κ μ_P) / (n_k + κ),

and covariances from the scatter matrices augmented by the prior: each model's formula is that
of the M-step of mclust's EM (its ``me*p`` routines, which Mclust and mclustBIC fit with; where
mclust's one-off ``mstep`` differs, for EII, EEI, EVI and EEV, :mod:`gmmcli.core.models.prior`
says how). The prior keeps a component that holds one point, or a few identical rows, away from
a singular covariance.

:func:`default_prior` gives mclust's ``priorControl()`` defaults (``defaultPrior``): κ = 0.01,
μ_P = the column means, ν_P = d + 2, Λ_P = var(X) / G^{2/d} and ς² = (Σ_j var_j / d) / G^{2/d},
with var the sample covariance (denominator n − 1). mclust has no prior version of VEE, EVE, VVE
and EVV; :func:`map_m_step` refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmcli.core.models import MODEL_NAMES
from gmmcli.core.models.prior import MAP_MODELS, NO_PRIOR
from gmmcli.core.params import GaussianMixtureParams, make_params
from gmmcli.core.stats import COUNT_EPS, SufficientStats, mixing_weights

DEFAULT_SHRINKAGE = 0.01  # mclust's defaultPrior


@dataclass(frozen=True)
class Prior:
    """mclust's conjugate prior, as ``defaultPrior`` returns it.

    Attributes
    ----------
    shrinkage : float
        κ ≥ 0, the prior's weight on μ_P in rows (0: the means are not shrunk).
    mean : ndarray of shape (n_features,)
        μ_P.
    dof : float
        ν_P, the degrees of freedom of the covariances' prior.
    scale : ndarray of shape (n_features, n_features)
        Λ_P, the inverse-Wishart scale the ellipsoidal models read (EEE, EEV, VEV, VVV).
    scalar_scale : float
        ς², the inverse-gamma scale the spherical and diagonal models read (EII, VII, EEI,
        VEI, EVI, VVI; and E, V for one column). mclust's defaultPrior returns one of the
        two, by model; both are kept here so one prior serves every model.
    """

    shrinkage: float
    mean: np.ndarray
    dof: float
    scale: np.ndarray
    scalar_scale: float

    def __post_init__(self):
        if not self.shrinkage >= 0:
            raise ValueError(f"the prior's shrinkage must be 0 or more, not {self.shrinkage!r}")
        d = len(self.mean)
        if np.shape(self.scale) != (d, d):
            raise ValueError(f"the prior's scale must be a {d} x {d} matrix, not of shape {np.shape(self.scale)}")


def default_prior(X_mean, X_cov, n_components: int, *, shrinkage: float = DEFAULT_SHRINKAGE,
                  n_samples: int | None = None) -> Prior:
    """mclust's ``defaultPrior(X, G = n_components, modelName)`` (``priorControl()``'s prior).

    Parameters
    ----------
    X_mean : array-like of shape (n_features,)
        The data's column means.
    X_cov : array-like of shape (n_features, n_features)
        The data's sample covariance with denominator n − 1 (R's ``var``, numpy's ``np.cov``).
    n_components : int
        G. The scales are those of the data shrunk so that G components of that size fill
        the data's volume: both are divided by G^{2/d}.
    shrinkage : float
        κ (mclust's default 0.01).
    n_samples : int, optional
        With n ≤ d rows (``var(X)`` singular) mclust's Λ_P keeps only the variances,
        diag(var(X)) / G^{2/d}; give n to get that.

    Returns
    -------
    Prior
        κ, μ_P = X_mean, ν_P = d + 2, Λ_P = X_cov / G^{2/d}, ς² = tr(X_cov) / d / G^{2/d}.
        (For one column these are mclust's E and V defaults too: ν_P = 3, ς² = var / G².)
    """
    mean = np.atleast_1d(np.asarray(X_mean, dtype=float)).copy()
    cov = np.atleast_2d(np.asarray(X_cov, dtype=float))
    d = len(mean)
    if cov.shape != (d, d):
        raise ValueError(f"X_cov must be a {d} x {d} matrix (X_mean has {d} entries), not of shape {cov.shape}")
    if n_components < 1:
        raise ValueError(f"n_components must be at least 1, not {n_components}")
    factor = (1.0 / n_components) ** (2.0 / d)
    scale = factor * cov if n_samples is None or n_samples > d else factor * np.diag(np.diag(cov))
    return Prior(shrinkage=float(shrinkage), mean=mean, dof=float(d + 2),
                 scale=0.5 * (scale + scale.T), scalar_scale=float(factor * np.trace(cov) / d))


def map_m_step(stats: SufficientStats, prior: Prior, reg_covar: float,
               previous: GaussianMixtureParams | None = None) -> GaussianMixtureParams:
    """The MAP weights, means and covariances from summed statistics.

    Parameters
    ----------
    stats : SufficientStats
        Σ r, Σ r (x − shift) and the model's second moments about ``stats.shift``.
    prior : Prior
    reg_covar : float
        Added to the covariances' diagonals after the MAP estimate (as the models' m_step).
    previous : GaussianMixtureParams, optional
        The last iteration's parameters, from which VEI and VEV warm-start their inner loops.

    Returns
    -------
    GaussianMixtureParams
        π_k = n_k / n, μ_k = x̄_k − κ / (n_k + κ) (x̄_k − μ_P) (x̄_k for EEI, as mclust), and
        the model's MAP covariances.

    Raises
    ------
    ValueError
        For a model mclust has no prior version of (VEE, EVE, VVE, EVV), or a prior of
        another dimension.
    NumericalError
        If a covariance is not positive definite (from make_params).
    """
    model = _map_model(stats.covariance_type)
    if len(prior.mean) != len(stats.shift):
        raise ValueError(f"the prior has {len(prior.mean)} columns, the data {len(stats.shift)}")
    nk = stats.nk + COUNT_EPS
    means_c = stats.sx / nk[:, None]  # x̄_k − shift
    offsets = means_c - (prior.mean - stats.shift)  # x̄_k − μ_P
    kappa = model.mean_shrinkage(prior)
    means = means_c + stats.shift - (kappa / (nk + kappa))[:, None] * offsets
    covariances = model.covariances(stats.moment, nk, means_c, offsets, prior, reg_covar,
                                    None if previous is None else previous.covariances)
    weights, noise = mixing_weights(nk, stats, previous)
    return make_params(weights, means, covariances, stats.covariance_type, noise)


def log_prior(params: GaussianMixtureParams, prior: Prior) -> float:
    """log p(μ, Σ) of the prior whose MAP :func:`map_m_step` computes, up to a constant.

    −½ Σ_k [α_k log|Σ_k| + tr(P_k Σ_k⁻¹) + κ (μ_k − μ_P)ᵀ Σ_k⁻¹ (μ_k − μ_P)] with the model's
    α_k and P_k (:mod:`gmmcli.core.models.prior`). EM with the MAP M-step never decreases
    log-likelihood + log_prior (without ``reg_covar``, which is outside the prior), for every
    model but EEI, whose means mclust leaves unshrunk (so its estimate is no exact MAP).
    """
    model = _map_model(params.covariance_type)
    alpha, P, kappa = model.penalty(prior, params.n_components, params.n_features)
    covariances = params.dense_covariances()
    log_det = np.linalg.slogdet(covariances)[1]
    trace = np.trace(np.linalg.solve(covariances, P), axis1=1, axis2=2)
    offsets = params.means - prior.mean
    quad = np.einsum("kd,kd->k", offsets, np.linalg.solve(covariances, offsets[:, :, None])[:, :, 0])
    return float(-0.5 * np.sum(alpha * log_det + trace + kappa * quad))


def supported_models() -> tuple:
    """The table's models that have a prior version in mclust, in the table's order."""
    return tuple(name for name in MODEL_NAMES if name in MAP_MODELS)


def _map_model(name: str):
    model = MAP_MODELS.get(name)
    if model is not None:
        return model
    reason = NO_PRIOR.get(name, f"{name!r} is not a covariance model with a prior")
    raise ValueError(f"no conjugate prior for covariance model {name}: {reason}; "
                     f"the models with one are {', '.join(supported_models())}")
