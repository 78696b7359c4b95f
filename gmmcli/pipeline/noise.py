"""The noise component of fit and select: its hypervolume, and EM's starting points with it.

The volume is measured in the data's own units (two passes through the engine: the column
ranges and covariance, then the ranges along the principal axes); the starting noise set is
taken on the same sampled rows the hierarchical start uses, so the work is bounded whatever
the number of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Optional

import numpy as np

from gmmcli.core.init import HC_SAMPLE, initialize
from gmmcli.core.noise import Box, extent_block, nnclean, noise_term, principal_axes, smaller_box, start_with_noise
from gmmcli.core.params import GaussianMixtureParams
from gmmcli.core.stats import one_group_block
from gmmcli.engines.base import choose_rows
from gmmcli.errors import DataError, UsageError
from gmmcli.scaler import Scaler


@dataclass(frozen=True)
class NoiseSetup:
    """What EM with a noise component needs before it starts.

    Attributes
    ----------
    box : Box
        The region of the uniform density, original units (volume = ``hypervolume``).
    hypervolume : float
        V, original units.
    log_density : float
        log(1/V) in the fitted space.
    flags : ndarray of bool, shape (n_samples,), or None
        The rows that start as noise (--noise-init); None: found by NNclean.
    scaler : Scaler or None
        The fitted space's: NNclean runs on the rows in original units, as prabclus does on
        the data it is given (its stopping rule is not scale-free).
    """

    box: Box
    hypervolume: float
    log_density: float
    flags: Optional[np.ndarray] = None
    scaler: Optional[Scaler] = None


def noise_setup(data, hypervolume: Optional[float] = None) -> NoiseSetup:
    """The noise's box and density for the training ``data`` (a TrainingData), with the
    volume ``hypervolume`` when given (the data's box grown or shrunk to it)."""
    if hypervolume is not None and not (math.isfinite(hypervolume) and hypervolume > 0):
        raise UsageError(f"--hypervolume must be a finite number > 0 (got {hypervolume:g})")
    box = data_box(data)
    if not math.isfinite(box.log_volume):
        if hypervolume is None:
            raise DataError("--noise: the data have no volume (a constant column, or columns on a line or "
                            "plane); give --hypervolume, or leave such columns out with -c")
        box = Box(box.axes, box.lower - 0.5, box.upper + 0.5)  # only its shape is unknown: a unit cube
    if hypervolume is not None:
        box = box.with_volume(hypervolume)
    log_volume = box.log_volume
    return NoiseSetup(box, math.exp(log_volume), noise_term(0.0, log_volume, data.scaler.log_jacobian).log_density,
                      data.noise_flags, data.scaler)


def data_box(data) -> Box:
    """mclust's ``hypvol`` box: the smaller of the column ranges' box and the principal-axes box."""
    to_original = data.scaler.inverse_transform
    axis_extent = data.engine.reduce(partial(extent_block, to_original=to_original))
    stats = data.engine.reduce(partial(one_group_block, shift=data.shift))
    mean = stats.sx[0] / stats.weight
    covariance = (stats.moment[0] / stats.weight - np.outer(mean, mean)) * np.outer(data.scaler.scale, data.scaler.scale)
    axes = principal_axes(covariance)
    pca_extent = data.engine.reduce(partial(extent_block, to_original=to_original, axes=axes))
    return smaller_box(axis_extent, pca_extent, axes)


def noise_start(engine, setup: NoiseSetup, n_components: int, covariance_type: str, method: str,
                rng: np.random.Generator, reg_covar: float, shift: np.ndarray) -> GaussianMixtureParams:
    """EM's start with noise: on up to 2 000 sampled rows, the noise set (--noise-init's, or
    NNclean's on the rows in original units) and the Gaussian components started by ``method``
    on the rest."""
    # in storage order: every engine's subset returns those rows in that order
    picks = np.sort(choose_rows(engine.n_samples, HC_SAMPLE, rng, engine.sample_weight))
    sample = engine.subset(picks)
    rows = sample.map_rows(_rows)
    flags = setup.flags[picks] if setup.flags is not None else nnclean(original_units(rows, setup.scaler))
    clean = np.flatnonzero(~flags)
    if len(clean) < n_components:
        raise DataError(f"--noise: {len(clean)} of the {len(rows)} rows sampled to start EM are not noise, "
                        f"fewer than the {n_components} components")
    gaussians = initialize(sample.subset(clean), n_components, covariance_type, method, rng, reg_covar, shift)
    w = sample.sample_weight
    share = float(flags.mean() if w is None else w[flags].sum() / w.sum())
    return start_with_noise(gaussians, share, setup.log_density)


def original_units(rows: np.ndarray, scaler: Optional[Scaler]) -> np.ndarray:
    return rows if scaler is None else scaler.inverse_transform(rows)


def _rows(X, sample_weight, start):
    return np.asarray(X, dtype=float)
