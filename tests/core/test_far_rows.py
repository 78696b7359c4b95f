"""Rows far from every component: finite probabilities, the limiting label, never NaN."""

import numpy as np
import pytest

from gmmcli.core.stats import LOWEST, score_rows
from tests.helpers import COVARIANCE_TYPES, random_params


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_rows_take_the_limiting_label(rng, covariance_type):
    params = random_params(rng, covariance_type, k=4, d=3)
    directions = rng.normal(size=(20, 3))
    directions /= np.abs(directions).max(axis=1, keepdims=True)
    near_limit, near_resp = score_rows(directions * 1e6, params)   # still computed the ordinary way
    far_ll, far_resp = score_rows(directions * 1e200, params)       # overflows the ordinary way
    assert np.isfinite(far_resp).all() and np.isfinite(far_ll).all()
    np.testing.assert_allclose(far_resp.sum(axis=1), 1.0)
    assert (far_resp.argmax(axis=1) == near_resp.argmax(axis=1)).all()
    assert (far_ll == LOWEST).all()
    assert np.isfinite(near_limit).all()


def test_ordinary_rows_are_untouched(rng):
    params = random_params(rng, "full", k=3, d=2)
    X = rng.normal(size=(10, 2))
    from gmmcli.core.stats import estimate_weighted_log_prob, normalize_log_prob

    a = score_rows(X, params)
    b = normalize_log_prob(estimate_weighted_log_prob(X, params))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
