"""Comparing a model with an earlier one: stable labels (--align-to) and drift (--init-model)."""

from __future__ import annotations

import numpy as np

from gmmcli.core.params import GaussianMixtureParams, rescale_params
from gmmcli.errors import UsageError
from gmmcli.io.model_file import Model
from gmmcli.scaler import Scaler


def in_space_of(old: Model, scaler: Scaler) -> GaussianMixtureParams:
    """The old model's parameters moved into the (standardized) space of ``scaler``."""
    src, dst = old.scaler, scaler
    if np.array_equal(src.mean, dst.mean) and np.array_equal(src.scale, dst.scale):
        return old.params
    return rescale_params(old.params, src.scale / dst.scale, (src.mean - dst.mean) / dst.scale)


def mean_shifts(old: Model, new_params: GaussianMixtureParams, scaler: Scaler) -> np.ndarray:
    """Distance between every new (rows) and old (columns) component mean, in the old model's SDs.

    Means are compared in original units, each feature divided by the old model's scale
    (its training standard deviation), so a shift of 1 is one standard deviation of the data.
    """
    old_scaler = old.scaler
    new_means = scaler.inverse_transform(new_params.means)
    old_means = old_scaler.inverse_transform(old.params.means)
    diff = (new_means[:, None, :] - old_means[None, :, :]) / old_scaler.scale
    return np.sqrt((diff**2).sum(axis=2))


def check_same_columns(old: Model, names, option: str) -> None:
    if tuple(old.feature_names) != tuple(names):
        raise UsageError(f"{option}: the model's columns {list(old.feature_names)} differ from this fit's {list(names)}")


def align_order(old: Model, new_params: GaussianMixtureParams, scaler: Scaler) -> np.ndarray:
    """Order of the new components that best matches the old ones (optimal assignment of mean shifts).

    New components left over (when K grew) follow, by decreasing weight.
    """
    from scipy.optimize import linear_sum_assignment

    cost = mean_shifts(old, new_params, scaler)
    rows, cols = linear_sum_assignment(cost)
    order = [int(r) for _, r in sorted(zip(cols, rows))]
    rest = sorted(set(range(new_params.n_components)) - set(order), key=lambda k: -new_params.weights[k])
    return np.array(order + rest)


def component_report(old: Model, new_params: GaussianMixtureParams, scaler: Scaler) -> list:
    """Per new component: the old component it lines up with (same index), weights and mean shift."""
    shifts = mean_shifts(old, new_params, scaler)
    rows = []
    for k in range(new_params.n_components):
        matched = k < old.n_components
        rows.append({
            "component": k,
            "old_weight": float(old.params.weights[k]) if matched else None,
            "weight": float(new_params.weights[k]),
            "mean_shift_sd": float(shifts[k, k]) if matched else None,
        })
    return rows


def describe(rows: list) -> list:
    lines = []
    for r in rows:
        if r["old_weight"] is None:
            lines.append(f"component {r['component']}: new (weight {r['weight']:.3f})")
        else:
            lines.append(f"component {r['component']}: weight {r['old_weight']:.3f} -> {r['weight']:.3f}, "
                         f"mean moved {r['mean_shift_sd']:.3f} SD")
    return lines
