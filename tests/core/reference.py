"""Reference kernels the tests hold the fast ones to (plain and slow: no quadratic features)."""

from gmmcli.core.models import MODELS
from gmmcli.core.params import GaussianMixtureParams
from gmmcli.core.stats import (
    SufficientStats, estimate_weighted_log_prob, normalize_log_prob, shift_params,
)


def accumulate_statistics_plain(Xc, resp, shift, covariance_type, sample_weight=None, log_likelihood=0.0):
    """Reference accumulation: one moment computation per component type, no features."""
    if sample_weight is not None:
        resp = resp * sample_weight[:, None]
        weight = float(sample_weight.sum())
    else:
        weight = float(len(Xc))
    ops = MODELS[covariance_type]
    return SufficientStats(
        covariance_type, shift, weight, resp.sum(axis=0), resp.T @ Xc, ops.moment(Xc, resp),
        float(log_likelihood),
    )


def block_statistics_plain(X, sample_weight, start, *, params: GaussianMixtureParams, shift) -> SufficientStats:
    """The reference E-step: Mahalanobis distances from Cholesky factors, one moment per component.

    Slower than :func:`block_statistics`, and free of the expanded quadratic form;
    the tests hold the fast path to it.
    """
    if shift.any():
        X = X - shift
        params = shift_params(params, shift)
    log_norm, resp = normalize_log_prob(estimate_weighted_log_prob(X, params))
    ll = log_norm.sum() if sample_weight is None else log_norm @ sample_weight
    return accumulate_statistics_plain(X, resp, shift, params.covariance_type, sample_weight, ll)
