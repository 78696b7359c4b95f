"""Shared test helpers: random mixtures, model files, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from gmmcli.core.models import ALIASES
from gmmcli.core.params import make_params
from gmmcli.io.model_file import Model, dumps_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "sample_data")
COVARIANCE_TYPES = tuple(ALIASES.values())  # scikit-learn's four (its oracle knows no others)


def random_covariances(rng, covariance_type, k, d):
    if covariance_type == "full":
        A = rng.normal(size=(k, d, d))
        return A @ A.transpose(0, 2, 1) / d + 0.3 * np.eye(d)
    if covariance_type == "tied":
        A = rng.normal(size=(d, d))
        return A @ A.T / d + 0.3 * np.eye(d)
    if covariance_type == "diag":
        return rng.uniform(0.2, 2.0, size=(k, d))
    return rng.uniform(0.2, 2.0, size=k)


def random_params(rng, covariance_type, k=3, d=2):
    weights = rng.dirichlet(np.ones(k) * 5)
    means = rng.normal(scale=3.0, size=(k, d))
    return make_params(weights, means, random_covariances(rng, covariance_type, k, d), covariance_type)


def blobs(rng, n=600, d=2, k=3, spread=4.0):
    centers = rng.normal(scale=spread, size=(k, d))
    labels = rng.integers(k, size=n)
    return centers[labels] + rng.normal(size=(n, d)) * rng.uniform(0.3, 1.0, size=(k, 1))[labels]


def write_model(path, params, feature_names, scaler=None, has_header=True):
    model = Model(
        params=params, feature_names=tuple(feature_names), has_header=has_header, scaler=scaler,
        settings={}, n_samples=1, converged=True, n_iter=0,
        history={"chosen": 0, "restarts": [{"restart": 0, "log_likelihood": [0.0]}]},
        log_likelihood={}, log_likelihood_quantiles={},
    )
    with open(path, "wb") as f:
        f.write(dumps_model(model))
    return path


def write_csv(path, X, names=None, header=True):
    names = names or [f"x{j}" for j in range(X.shape[1])]
    with open(path, "w") as f:
        if header:
            f.write(",".join(names) + "\n")
        for row in X:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    return path


def gmmcli(*args, stdin=None, cwd=None, env=None):
    """Run the real console entry point in a subprocess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "gmmcli", *map(str, args)],
        input=stdin, capture_output=True, cwd=cwd, env=full_env,
    )


def em_on(engine, params, shift, *, max_iter, reg_covar=1e-6, tol=0.0, e_step=None):
    """Run EM on an engine from ``params`` (the wiring the pipeline does, for core-level tests)."""
    from functools import partial

    from gmmcli.core.em import run_em
    from gmmcli.core.stats import block_statistics

    fn = e_step or block_statistics
    return run_em(lambda p: engine.reduce(partial(fn, params=p, shift=shift)),
                  params, reg_covar=reg_covar, tol=tol, max_iter=max_iter)


def fit_request(inputs, **settings):
    """A FitRequest for ``inputs`` (a path or several), its DataRequest's fields picked out of ``settings``."""
    from dataclasses import fields

    from gmmcli.pipeline import DataRequest, FitRequest

    data_fields = {f.name for f in fields(DataRequest)}
    data = DataRequest(inputs=(str(inputs),) if isinstance(inputs, (str, os.PathLike)) else tuple(map(str, inputs)),
                       **{k: v for k, v in settings.items() if k in data_fields})
    return FitRequest(data=data, **{k: v for k, v in settings.items() if k not in data_fields})
