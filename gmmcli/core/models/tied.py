"""``tied`` (mclust's EEE): one covariance matrix shared by every component."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import (
    CovarianceModel, cholesky_precision, features_full, n_triu, quad_weights_full, unpack_triu,
)


def _mahalanobis(Xc, means_c, prec_chol):
    y = Xc @ prec_chol
    offsets = means_c @ prec_chol
    diff = y[:, None, :] - offsets[None, :, :]
    diff *= diff
    return diff.sum(axis=2)


def _m_step(moment, nk, means_c, reg_covar, previous=None):
    cov = (moment - (nk[:, None] * means_c).T @ means_c) / nk.sum()
    cov.flat[:: len(cov) + 1] += reg_covar
    return cov


MODEL = CovarianceModel(
    name="tied",
    mclust_name="EEE",
    shape=lambda k, d: (d, d),
    precisions_chol=lambda cov: cholesky_precision(cov, None),
    log_det=lambda prec_chol, k, d: np.full(k, np.log(np.diag(prec_chol)).sum()),
    mahalanobis=_mahalanobis,
    # Σᵢ (Σₖ rᵢₖ) xᵢxᵢᵀ: the pooled second moment
    moment=lambda Xc, resp: (Xc * resp.sum(axis=1)[:, None]).T @ Xc,
    m_step=_m_step,
    n_cov_parameters=lambda k, d: n_triu(d),
    features=features_full,
    n_quad_features=lambda d: n_triu(d) + d + 1,
    quad_weights=quad_weights_full,
    moment_from_features=lambda g, d: unpack_triu(g[:, :n_triu(d)].sum(axis=0), d),
    moment_from_dense=lambda second: second.sum(axis=0),
    dense=lambda cov, k, d: np.broadcast_to(cov, (k, d, d)),
    marginal=lambda cov, o: cov[np.ix_(o, o)],
    shared=True,
    rescale=lambda cov, factor: cov * np.multiply.outer(factor, factor),
    min_variances=lambda cov, k: np.full(k, np.linalg.eigvalsh(cov)[0]),
)
