"""``full`` (mclust's VVV): a covariance matrix per component."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import (
    CovarianceModel, cholesky_precisions, features_full, n_triu, quad_weights_full, unpack_triu,
)


def _mahalanobis(Xc, means_c, prec_chol):
    n_components, n_features, _ = prec_chol.shape
    # One GEMM for all components: Y[:, k*D:(k+1)*D] = Xc @ P_k.
    stacked = prec_chol.transpose(1, 0, 2).reshape(n_features, n_components * n_features)
    offsets = np.einsum("kd,kde->ke", means_c, prec_chol).reshape(-1)
    y = Xc @ stacked
    y -= offsets
    y *= y
    return y.reshape(len(Xc), n_components, n_features).sum(axis=2)


def _m_step(moment, nk, means_c, reg_covar, previous=None):
    cov = moment / nk[:, None, None] - means_c[:, :, None] * means_c[:, None, :]
    idx = np.arange(means_c.shape[1])
    cov[:, idx, idx] += reg_covar
    return cov


MODEL = CovarianceModel(
    name="full",
    mclust_name="VVV",
    shape=lambda k, d: (k, d, d),
    precisions_chol=cholesky_precisions,
    log_det=lambda prec_chol, k, d: np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1),
    mahalanobis=_mahalanobis,
    moment=lambda Xc, resp: np.stack([(Xc * resp[:, k:k + 1]).T @ Xc for k in range(resp.shape[1])]),
    m_step=_m_step,
    n_cov_parameters=lambda k, d: k * n_triu(d),
    features=features_full,
    n_quad_features=lambda d: n_triu(d) + d + 1,
    quad_weights=quad_weights_full,
    moment_from_features=lambda g, d: unpack_triu(g[:, :n_triu(d)], d),
    moment_from_dense=lambda second: second,
    dense=lambda cov, k, d: cov,
    marginal=lambda cov, o: cov[:, o][:, :, o],
    rescale=lambda cov, factor: cov * np.multiply.outer(factor, factor),
    min_variances=lambda cov, k: np.linalg.eigvalsh(cov)[:, 0],
)
