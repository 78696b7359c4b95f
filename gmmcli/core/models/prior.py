"""Per-model MAP covariances under mclust's conjugate prior (Fraley & Raftery 2007).

The prior (:class:`gmmcli.core.prior.Prior`) has a shrinkage κ, a mean μ_P, degrees of
freedom ν_P and a scale: a matrix Λ_P for the ellipsoidal models, a number ς² for the
spherical and diagonal ones. Every MAP M-step of mclust's EM (the ``me*p`` routines of
src/mclust.f, which Mclust, mclustBIC and me fit with) has one shape: the covariances minimise

    Σ_k [(n_k + α_k) log|Σ_k| + tr(B_k Σ_k⁻¹)]     over the model's family,
    B_k = W_k + c_k (x̄_k − μ_P)(x̄_k − μ_P)ᵀ + P_k,   c_k = κ n_k / (n_k + κ),

which is the maximum-likelihood problem of the same model with the scatter matrices W_k
replaced by B_k and the counts n_k by n_k + α_k. So each model's MAP estimate below is its
own maximum-likelihood estimate applied to those augmented statistics (for VEI and VEV, the
fixed point of mclust's meveip / mevevp inner loops). Per model, the prior scale P_k and the
extra counts α_k of mclust 6.0.0's routine ([κ>0] is 1 when κ > 0, else 0; n = Σ n_k;
d the number of columns; G the number of components):

=====  ========  ===============================  ========================================
model  routine   P_k                              α_k (the prior's part of the denominator)
=====  ========  ===============================  ========================================
EII    meeiip    0 (ς² is not used)               Σ_k d α_k = ν_P + 2 + G d [κ>0]
VII    meviip    ς² I / d (so tr P_k = ς²)        d α_k = ν_P + 2 + d [κ>0]
EEI    meeeip    ς² I once (ς² I / G each)        Σ_k α_k = ν_P + 1 + [κ>0]; means unshrunk
VEI    meveip    ς² I                             d α_k = ν_P + 2 + [κ>0]
EVI    meevip    ς² I                             Σ_k α_k = ν_P + 1 + [κ>0]
VVI    mevvip    ς² I                             α_k = ν_P + 2 + [κ>0]
EEE    meeeep    Λ_P once (Λ_P / G each)          Σ_k α_k = ν_P + d + 1 + G [κ>0]
EEV    meeevp    Λ_P                              Σ_k α_k = ν_P + d + 1 + [κ>0]
VEV    mevevp    Λ_P                              α_k = 0 (ν_P does not enter)
VVV    mevvvp    Λ_P                              α_k = ν_P + d + 1 + [κ>0]
E      me1ep     ς² once (ς² / G each)            Σ_k α_k = ν_P + 2 + G [κ>0]
V      me1vp     ς²                               α_k = ν_P + 2 + [κ>0]
=====  ========  ===============================  ========================================

(For example VVV: Σ_k = [Λ_P + W_k + c_k (x̄_k − μ_P)(x̄_k − μ_P)ᵀ] / (ν_P + n_k + d + 2).)
Where an ``me*p`` routine adds a term whatever κ (mevvvp's +1, meeiip's + G d, me1ep's + G,
me1vp's +1) the [κ>0] above follows the ``ms*p`` routine's condition; with κ > 0 (mclust's
default) the two agree. The means are μ_k = (n_k x̄_k + κ μ_P) / (n_k + κ), except EEI's:
meeeip (and mseeip) put the mean's term c_k into the covariance but leave the means at x̄_k, so
EEI's estimate is not the exact MAP of a prior (:attr:`MapModel.shrinks_means`).

mclust's one-off ``mstep`` (the ``ms*p`` routines) differs from its EM's M-step for four models,
and gmmcli follows the EM: EII (mseiip takes the scatter about the shrunk means, adding
n_k (κ / (n_k + κ))² |x̄_k − μ_P|²: 2e-7 relative on iris), EEI and EVI (mseeip and msevip divide
by ν_P + n + 2 + G [κ>0]), EEV (mseevp starts with ``if (pshrnk .gt. zero) pshrnk = zero``, so
κ = 0: means unshrunk, no c_k term, Σ_k α_k = ν_P + d + 1).

The same P_k and α_k give the log prior density whose MAP these estimates are
(:func:`gmmcli.core.prior.log_prior`). mclust has no prior version of VEE, EVE, VVE or EVV:
their ``mstep*`` and ``me*`` functions warn "<model> model is not available with prior" and
return no estimate (:data:`NO_PRIOR`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gmmcli.core.models import eei, eev, eii, evi, v, vei, vev
from gmmcli.core.models.base import scatter_matrices

# What mclust 6.0.0 says when asked for these models with a prior.
NO_PRIOR: dict = {name: f"mclust has no prior version of {name} (its mstep{name} warns "
                        f"\"{name} model is not available with prior\")"
                  for name in ("VEE", "EVE", "VVE", "EVV")}


@dataclass(frozen=True)
class MapModel:
    """How one covariance model takes the prior.

    Attributes
    ----------
    statistic : the form of the model's moment statistic: "dense" (K, D, D), "tied" (D, D),
        "diag" (K, D) or "spherical" (K,)
    estimate : (B, counts, n_features, previous) -> covariances in the model's storage shape,
        unregularised: the model's maximum-likelihood estimate from statistics B of that form
        and counts (K,) (``previous``: the last covariances, from which VEI and VEV warm-start)
    extra_counts : (dof, mean_prior, K, D) -> α (K,), what the prior adds to the counts
        (``mean_prior``: whether the means are shrunk)
    prior_scale : (prior, K, D) -> P (K, D, D), what the prior adds to the scatter matrices
    shrinks_means : False where mclust leaves the means at x̄_k (EEI): the covariances still
        take the mean's term c_k
    """

    statistic: str
    estimate: Callable
    extra_counts: Callable
    prior_scale: Callable
    shrinks_means: bool = True

    def mean_shrinkage(self, prior) -> float:
        """The κ the means are shrunk with (0 where mclust leaves them at x̄_k)."""
        return float(prior.shrinkage) if self.shrinks_means else 0.0

    def counts(self, nk: np.ndarray, prior) -> np.ndarray:
        """n_k + α_k."""
        k, d = len(nk), len(prior.mean)
        return nk + self.extra_counts(float(prior.dof), prior.shrinkage > 0, k, d)

    def augmented(self, moment, nk, means_c, offsets, prior):
        """B_k in the form of the model's statistic (see the module docstring).

        ``means_c``: x̄_k − shift, ``offsets``: x̄_k − μ_P, both (K, D).
        """
        k, d = means_c.shape
        kappa = float(prior.shrinkage)
        c = kappa * nk / (nk + kappa) if kappa > 0 else np.zeros_like(nk)
        outer = c[:, None, None] * offsets[:, :, None] * offsets[:, None, :]
        P = self.prior_scale(prior, k, d)
        if self.statistic == "dense":
            return scatter_matrices(moment, nk, means_c) + outer + P
        if self.statistic == "tied":
            B = moment - (nk[:, None] * means_c).T @ means_c + outer.sum(axis=0) + P.sum(axis=0)
            return 0.5 * (B + B.T)
        if self.statistic == "diag":
            diag = np.diagonal(outer + P, axis1=1, axis2=2)
            return moment - nk[:, None] * means_c**2 + diag
        return moment - nk * np.einsum("kd,kd->k", means_c, means_c) + np.trace(outer + P, axis1=1, axis2=2)

    def covariances(self, moment, nk, means_c, offsets, prior, reg_covar=0.0, previous=None):
        """The MAP covariances (storage shape) with ``reg_covar`` added to their diagonals."""
        B = self.augmented(moment, nk, means_c, offsets, prior)
        cov = np.array(self.estimate(B, self.counts(nk, prior), means_c.shape[1], previous), dtype=float)
        if self.statistic in ("dense", "tied"):
            idx = np.arange(means_c.shape[1])
            cov[..., idx, idx] += reg_covar
        else:
            cov += reg_covar
        return cov

    def penalty(self, prior, n_components: int, n_features: int):
        """(α (K,), P (K, D, D), κ): the log prior is −½ Σ_k [α_k log|Σ_k| + tr(P_k Σ_k⁻¹)
        + κ (μ_k − μ_P)ᵀ Σ_k⁻¹ (μ_k − μ_P)] up to a constant (κ = 0 for EEI, whose estimate
        is not that prior's exact MAP: see the module docstring)."""
        alpha = self.extra_counts(float(prior.dof), prior.shrinkage > 0, n_components, n_features)
        return np.broadcast_to(np.asarray(alpha, dtype=float), (n_components,)).copy(), \
            self.prior_scale(prior, n_components, n_features), self.mean_shrinkage(prior)


# ---------------------------------------------------------------- the prior's scale P_k
def _identity(k, d, value):
    return np.broadcast_to(value * np.eye(d), (k, d, d)).copy()


def _no_scale(prior, k, d):
    return np.zeros((k, d, d))


def _variance(prior, k, d):
    return _identity(k, d, float(prior.scalar_scale))


def _variance_once(prior, k, d):
    return _identity(k, d, float(prior.scalar_scale) / k)


def _variance_trace(prior, k, d):
    return _identity(k, d, float(prior.scalar_scale) / d)


def _matrix(prior, k, d):
    return np.broadcast_to(np.asarray(prior.scale, dtype=float), (k, d, d)).copy()


def _matrix_once(prior, k, d):
    return _matrix(prior, k, d) / k


# ---------------------------------------------------------------- the models' own estimates
# Each (B, counts, n_features, previous) -> covariances in the model's storage shape.
def _dense_estimate(module):
    return lambda B, counts, d, previous=None: module.estimate(B, counts, previous)


def _full(B, counts, d, previous=None):
    return B / counts[:, None, None]


def _tied(B, counts, d, previous=None):
    return B / counts.sum()


def _diag(B, counts, d, previous=None):
    return B / counts[:, None]


def _spherical(B, counts, d, previous=None):
    return B / (d * counts)


MAP_MODELS: dict = {
    "EII": MapModel(statistic="dense", estimate=_dense_estimate(eii), prior_scale=_no_scale,
                    extra_counts=lambda dof, m, k, d: (dof + 2.0) / (k * d) + m),
    "spherical": MapModel(statistic="spherical", estimate=_spherical, prior_scale=_variance_trace,
                          extra_counts=lambda dof, m, k, d: (dof + 2.0) / d + m),
    "EEI": MapModel(statistic="dense", estimate=_dense_estimate(eei), prior_scale=_variance_once,
                    extra_counts=lambda dof, m, k, d: (dof + 1.0 + m) / k, shrinks_means=False),
    "VEI": MapModel(statistic="dense", estimate=_dense_estimate(vei), prior_scale=_variance,
                    extra_counts=lambda dof, m, k, d: (dof + 2.0 + m) / d),
    "EVI": MapModel(statistic="dense", estimate=_dense_estimate(evi), prior_scale=_variance,
                    extra_counts=lambda dof, m, k, d: (dof + 1.0 + m) / k),
    "diag": MapModel(statistic="diag", estimate=_diag, prior_scale=_variance,
                     extra_counts=lambda dof, m, k, d: dof + 2.0 + m),
    "tied": MapModel(statistic="tied", estimate=_tied, prior_scale=_matrix_once,
                     extra_counts=lambda dof, m, k, d: (dof + d + 1.0) / k + m),
    "EEV": MapModel(statistic="dense", estimate=_dense_estimate(eev), prior_scale=_matrix,
                    extra_counts=lambda dof, m, k, d: (dof + d + 1.0 + m) / k),
    "VEV": MapModel(statistic="dense", estimate=_dense_estimate(vev), prior_scale=_matrix,
                    extra_counts=lambda dof, m, k, d: np.zeros(k)),
    "full": MapModel(statistic="dense", estimate=_full, prior_scale=_matrix,
                     extra_counts=lambda dof, m, k, d: dof + d + 1.0 + m),
    "E": MapModel(statistic="dense", estimate=_dense_estimate(eii), prior_scale=_variance_once,
                  extra_counts=lambda dof, m, k, d: (dof + 2.0) / k + m),
    "V": MapModel(statistic="dense", estimate=_dense_estimate(v), prior_scale=_variance,
                  extra_counts=lambda dof, m, k, d: dof + 2.0 + m),
}

# name -> (moment, nk, means_c, offsets, prior, reg_covar=0, previous=None) -> MAP covariances
MAP_COVARIANCES: dict = {name: model.covariances for name, model in MAP_MODELS.items()}
