"""Standardization to zero mean and unit variance.

Statistics are merged from blocks (Chan et al.'s parallel update of count, mean
and sum of squared deviations) so a scaler can be fitted in one pass over
chunks; values are first divided by a per-column power of two so that data of
magnitude 1e300 do not overflow when squared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from gmmcli.errors import DataError


@dataclass(frozen=True)
class Scaler:
    """x ↦ (x − mean) / scale, column by column.

    The fitted space of every model is the scaler's output; ``Scaler.identity(d)`` is the
    scaler of ``--no-standardize`` fits, so there is always one.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
    scale : ndarray of shape (n_features,)
        Population standard deviations (ddof=0), all > 0.
    is_identity : bool
        The data were not standardized (mean 0, scale 1).
    """

    mean: np.ndarray
    scale: np.ndarray
    is_identity: bool = False

    @classmethod
    def identity(cls, n_features: int) -> "Scaler":
        return cls(np.zeros(n_features), np.ones(n_features), is_identity=True)

    def transform(self, X: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Standardize (in place when ``out`` is ``X``)."""
        out = np.subtract(X, self.mean, out=out)
        out /= self.scale
        return out

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        return Z * self.scale + self.mean

    @property
    def log_jacobian(self) -> float:
        """log |det| of the map from original units to standardized units."""
        return float(-np.log(self.scale).sum())

    def log_jacobian_rows(self, X: np.ndarray) -> np.ndarray:
        """Per row of ``X``, what turns a log-density in the fitted space into one in the
        data's own units: −Σ log scale over the row's present (non-NaN) cells, shape (n,).

        This is the one place the Jacobian of the standardization is computed.
        """
        missing = np.isnan(X)
        if not missing.any():
            return np.full(len(X), self.log_jacobian)
        return -((~missing) @ np.log(self.scale))

    def to_original_units(self, log_density: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Log-densities of the rows ``X`` (in the fitted space) in the data's own units."""
        return log_density + self.log_jacobian_rows(X)


def jacobian_block(X, sample_weight, start, *, scaler: Scaler) -> float:
    """Σᵢ wᵢ · log|Jacobian| of row i: a block function for an engine's ``reduce``."""
    per_row = scaler.log_jacobian_rows(X)
    return float(per_row.sum() if sample_weight is None else per_row @ sample_weight)


@dataclass(frozen=True)
class ColumnMoments:
    """Mergeable count, mean and sum of squared deviations, in units of ``unit``."""

    count: float
    mean: np.ndarray
    m2: np.ndarray
    unit: np.ndarray

    def __add__(self, other: "ColumnMoments") -> "ColumnMoments":
        # counts may be per column (arrays) when cells are missing
        count = np.asarray(self.count + other.count, dtype=float)
        frac = np.divide(other.count, count, out=np.zeros_like(count), where=count > 0)
        delta = other.mean - self.mean
        mean = self.mean + delta * frac
        m2 = self.m2 + other.m2 + delta**2 * (self.count * frac)
        return ColumnMoments(count if count.ndim else float(count), mean, m2, self.unit)


def column_unit(X: np.ndarray) -> np.ndarray:
    """A power of two near each column's largest magnitude (exact to divide by)."""
    with np.errstate(invalid="ignore"):
        peak = np.nanmax(np.abs(X), axis=0, initial=0.0) if len(X) else np.ones(X.shape[1])
    peak = np.where(peak > 0, peak, 1.0)
    return np.exp2(np.floor(np.log2(peak)))


def block_moments(X: np.ndarray, unit: np.ndarray, weights: Optional[np.ndarray] = None) -> ColumnMoments:
    """(Weighted) moments of one block, computed two-pass within the block."""
    Y = X / unit
    if np.isnan(Y).any():
        return _moments_with_missing(Y, unit, weights)
    if weights is None:
        mean = Y.mean(axis=0)
        return ColumnMoments(float(len(Y)), mean, ((Y - mean) ** 2).sum(axis=0), unit)
    total = float(weights.sum())
    if total == 0:
        return ColumnMoments(0.0, np.zeros(X.shape[1]), np.zeros(X.shape[1]), unit)
    mean = weights @ Y / total
    return ColumnMoments(total, mean, weights @ (Y - mean) ** 2, unit)


def _moments_with_missing(Y, unit, weights) -> ColumnMoments:
    """Per-column counts, means and squared deviations over the cells present."""
    present = ~np.isnan(Y)
    w = np.ones(len(Y)) if weights is None else weights
    count = w @ present
    mean = np.divide(w @ np.where(present, Y, 0.0), count, out=np.zeros(Y.shape[1]), where=count > 0)
    m2 = w @ np.where(present, (Y - mean) ** 2, 0.0)
    return ColumnMoments(count, mean, m2, unit)


def scaler_from_moments(moments: ColumnMoments, feature_names: Sequence[str], uniform: bool = False) -> Scaler:
    """Finish a scaler; a constant column is an error naming it.

    ``uniform``: one scale for every column (the geometric mean of their standard deviations),
    for covariance models that per-column scaling would change (EII, VII, EEV, VEV, EVE, VVE:
    their constraints are kept by a common scale, not by a different one per column).
    """
    empty = [n for n, c in zip(feature_names, np.broadcast_to(moments.count, len(feature_names))) if not c > 0]
    if empty:
        raise DataError(f"column {', '.join(repr(e) for e in empty)} has no values (every cell is missing)")
    variance = moments.m2 / moments.count
    scale = np.sqrt(variance) * moments.unit
    mean = moments.mean * moments.unit
    constant = [name for name, s, m in zip(feature_names, scale, mean) if not s > abs(m) * 1e-13]
    if constant:
        names = ", ".join(repr(c) for c in constant)
        raise DataError(
            f"constant column {names}: cannot standardize (drop it with -c '!{constant[0]}' "
            "or use --no-standardize)"
        )
    if uniform:
        scale = np.full_like(scale, np.exp(np.mean(np.log(scale))))
    return Scaler(mean, scale)


def fit_scaler(X: np.ndarray, feature_names: Sequence[str], weights: Optional[np.ndarray] = None,
               uniform: bool = False) -> Scaler:
    """(Weighted) standardization statistics of ``X`` (in memory); see scaler_from_moments."""
    return scaler_from_moments(block_moments(X, column_unit(X), weights), feature_names, uniform)
