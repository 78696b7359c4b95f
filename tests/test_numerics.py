"""Numerical robustness: extreme offsets and scales, collapsed components, far rows in every output."""

import os

import numpy as np
import pytest

from gmmcli import pipeline
from gmmcli.core.em import EMResult
from gmmcli.core.params import make_params
from tests.helpers import COVARIANCE_TYPES, SAMPLE, gmmcli, fit_request

WALK = os.path.join(SAMPLE, "walkthrough.csv")
BASE = np.loadtxt(WALK, delimiter=",", skiprows=1)


def fit_scaled(tmp_path, covariance_type, scale, offset):
    path = tmp_path / "d.csv"
    X = BASE * scale + offset
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist()))
    return pipeline.fit(fit_request(str(path), n_components=3, covariance_type=covariance_type)).model


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("scale,offset", [(1.0, 1e8), (1e-8, 0.0), (1e300, 0.0), (1e-300, 0.0), (1e-3, -1e5)])
def test_offset_and_scale_do_not_change_the_fit(tmp_path, covariance_type, scale, offset):
    reference = fit_scaled(tmp_path, covariance_type, 1.0, 0.0)
    model = fit_scaled(tmp_path, covariance_type, scale, offset)
    # in standardized units the fits agree (up to the rounding of the shifted data)
    tol = 1e-7
    np.testing.assert_allclose(model.params.means, reference.params.means, atol=tol)
    np.testing.assert_allclose(model.params.covariances, reference.params.covariances, atol=tol)
    np.testing.assert_allclose(model.scaler.scale / scale, reference.scaler.scale, rtol=1e-9)
    assert np.isfinite(model.log_likelihood["total_original_units"])


def test_no_standardize_with_offset_uses_a_shift(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "".join(f"{a + 1e8!r},{b!r}\n" for a, b in BASE.tolist()))
    settings = dict(n_components=3, covariance_type="diag", standardize=False, tol=0, max_iter=30)
    model = pipeline.fit(fit_request(str(path), **settings)).model
    ref = pipeline.fit(fit_request(WALK, **settings)).model
    np.testing.assert_allclose(model.params.means - [1e8, 0], ref.params.means, atol=1e-6)
    np.testing.assert_allclose(model.params.covariances, ref.params.covariances, rtol=1e-6)


def test_far_rows_never_give_nan_in_any_output(tmp_path):
    model = tmp_path / "m.json"
    assert gmmcli("fit", WALK, "-k", 3, "-o", model, "-q").returncode == 0
    far = tmp_path / "far.csv"
    far.write_text("x,y\n1e200,1e200\n-1e300,5\n1e10,-1e10\n1.7e308,-1.7e308\n")
    for fmt in ("csv", "jsonl"):
        proc = gmmcli("predict", model, far, "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        text = proc.stdout.decode().lower()
        assert "nan" not in text and "inf" not in text
    explain = gmmcli("predict", model, far, "--explain", 1)
    assert explain.returncode == 0 and b"nan" not in explain.stdout.lower()


def fake_run(weights, means, covs, ll):
    params = make_params(weights, means, covs, "full")
    return pipeline.Restart(0, EMResult(params, (ll,), 1, True, None))


def test_best_of_restarts_never_prefers_a_collapsed_spike():
    healthy = fake_run([0.5, 0.5], [[0, 0], [3, 3]], [np.eye(2), np.eye(2)], ll=-100.0)
    spike = fake_run([0.5, 0.5], [[0, 0], [3, 3]], [np.eye(2), np.eye(2) * 1.5e-6], ll=+500.0)
    assert pipeline.choose_restart([spike, healthy], reg_covar=1e-6) == 1
    assert pipeline.choose_restart([spike, pipeline.Restart(1, None, "failed")], 1e-6) == 0


def test_duplicated_rows_are_reported_recorded_and_fatal_under_strict(tmp_path):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(140, 2)), np.tile([[0.5, 0.5]], (60, 1))])
    path = tmp_path / "dup.csv"
    path.write_text("a,b\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist()))
    proc = gmmcli("fit", path, "-k", 3, "-o", tmp_path / "m.json")
    assert proc.returncode == 0
    assert b"gmmcli: warning: component(s) " in proc.stderr and b"collapsed" in proc.stderr
    from gmmcli.io.model_file import read_model

    assert read_model(str(tmp_path / "m.json")).diagnostics["collapsed_components"]
    strict = gmmcli("fit", path, "-k", 3, "--strict", "-o", tmp_path / "s.json")
    assert strict.returncode == 3 and not (tmp_path / "s.json").exists()


def test_more_components_than_distinct_points(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("a,b\n" + "1,2\n3,1\n0,0\n" * 10)
    proc = gmmcli("fit", path, "-k", 5, "-o", tmp_path / "m.json")
    assert proc.returncode == 0, proc.stderr
    assert b"warning:" in proc.stderr
    strict = gmmcli("fit", path, "-k", 5, "--strict", "-o", tmp_path / "s.json")
    assert strict.returncode == 3


def test_reg_covar_zero_keeps_the_likelihood_monotone(tmp_path):
    model = pipeline.fit(fit_request(WALK, n_components=3, reg_covar=0.0, tol=0, max_iter=40,
                                             init="random")).model
    history = np.array(model.history["restarts"][0]["log_likelihood"])
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
