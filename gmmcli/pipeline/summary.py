"""`gmmcli summary`: the fitted model in the data's original units, mclust-style.

A model file stores its parameters in the standardized space it was fit in, with the
scaler that leads there. Here they are put back: x = s ⊙ z + m, so each mean becomes
s ⊙ μ + m and each covariance diag(s) Σ diag(s) (exact for every covariance model, also
the spherical ones, whose original-units covariance is no longer spherical when the
column scales differ). Standard deviations and correlations come from that covariance.

With an INPUT, one streaming pass (:mod:`gmmcli.pipeline.scan`) adds the classification
table, the uncertainty and the outlier count, and the ICL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from gmmcli.core.criteria import aic, bic, icl
from gmmcli.core.models import ALIASES
from gmmcli.core.params import n_parameters
from gmmcli.io.csv_reader import CsvFormat
from gmmcli.io.model_file import Model
from gmmcli.pipeline.predict import read_model_argument
from gmmcli.pipeline.scan import InputScan, scan_input
from gmmcli.scaler import Scaler

TOP_CELLS = 3  # as mclust's summary of an mclustBIC table


@dataclass(frozen=True)
class ComponentSummary:
    """One Gaussian component in original units.

    Attributes
    ----------
    index : int (predict's label)
    weight : float (mixing proportion; with noise, the Gaussians' weights sum to 1 − noise)
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
    """

    index: int
    weight: float
    mean: np.ndarray
    covariance: np.ndarray

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation of each column, shape (n_features,)."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix, shape (n_features, n_features), ones on the diagonal."""
        sd = self.sd
        corr = self.covariance / np.outer(sd, sd)
        np.fill_diagonal(corr, 1.0)
        return corr


@dataclass(frozen=True)
class Summary:
    """What ``gmmcli summary`` shows (log-likelihoods and criteria in original units, lower-is-better).

    ``noise_weight`` is the noise component's proportion (None without one). ``icl`` and
    ``scan`` need an INPUT. ``top_cells`` are the best rows of an embedded selection table
    (dicts as ``selection.rows``, plus ``difference`` from the best), by ``criterion``.
    """

    model_path: str
    feature_names: tuple
    covariance_type: str
    n_components: int
    n_samples: float
    log_likelihood: float
    n_parameters: int
    bic: float
    aic: float
    icl: Optional[float]
    converged: bool
    n_iter: int
    components: tuple
    noise_weight: Optional[float] = None
    mclust_name: str = ""
    scan: Optional[InputScan] = None
    criterion: Optional[str] = None
    top_cells: tuple = ()
    uncertainty: Optional[dict] = None  # the model's bootstrap section (gmmcli bootstrap -o), if any
    standard_errors: Optional[dict] = None  # its (parameter, component, column) -> se

    def standard_error(self, parameter: str, component, column: Optional[str] = None) -> Optional[float]:
        """The bootstrap standard error of a parameter (original units), or None without one."""
        return None if self.standard_errors is None else self.standard_errors.get((parameter, component, column))


@dataclass(frozen=True)
class SummaryRequest:
    """``gmmcli summary MODEL [INPUT]``; ``inputs`` empty: the model alone."""

    model: str
    inputs: tuple = ()
    fmt: Optional[CsvFormat] = None
    outlier_quantile: Optional[float] = None
    missing: bool = False


def original_units_components(model: Model) -> tuple:
    """Each component's weight, mean and covariance in the data's original units."""
    params = model.params
    scaler = model.scaler or Scaler.identity(params.n_features)
    means = scaler.inverse_transform(params.means)
    covariances = params.dense_covariances() * np.outer(scaler.scale, scaler.scale)
    return tuple(ComponentSummary(k, float(params.weights[k]), means[k], covariances[k])
                 for k in range(params.n_components))


def noise_weight(model: Model) -> Optional[float]:
    """The noise component's proportion, or None for a model without one."""
    noise = getattr(model.params, "noise", None)
    return None if noise is None else float(noise.weight)


def free_parameters(model: Model) -> int:
    """mclust's ``nMclustParams`` of the model (a noise component adds its own)."""
    p = model.params
    if noise_weight(model) is None:
        return n_parameters(p.covariance_type, p.n_components, p.n_features)
    return n_parameters(p.covariance_type, p.n_components, p.n_features, noise=True)


def mclust_name(covariance_type: str) -> str:
    """mclust's name of a model (VVV for full …); the table's own name for mclust's other models."""
    return next((m for m, name in ALIASES.items() if name == covariance_type), covariance_type)


def top_cells(selection: Optional[dict], how_many: int = TOP_CELLS) -> tuple:
    """The best cells of an embedded selection table, each with its ``difference`` from the best.

    The criterion is lower-is-better, except ``holdout`` (a log-likelihood per row).
    """
    if not selection:
        return ()
    criterion = selection["criterion"]
    sign = -1.0 if criterion == "holdout" else 1.0
    fitted = [r for r in selection["rows"] if not r.get("error") and r.get(criterion) is not None]
    ranked = sorted(fitted, key=lambda r: sign * r[criterion])[:how_many]
    return tuple({**r, "difference": r[criterion] - ranked[0][criterion]} for r in ranked)


def describe(model: Model, path: str, scan: Optional[InputScan] = None) -> Summary:
    """The summary of a loaded model (and of an input's scan, when there is one)."""
    n = model.log_likelihood.get("total_weight", model.n_samples)
    ll = model.log_likelihood.get("total_original_units", math.nan)
    p = free_parameters(model)
    bic_value = bic(ll, p, n)
    selection = model.selection or None
    return Summary(
        path, tuple(model.feature_names), model.params.covariance_type, model.n_components, n, ll, p,
        bic_value, aic(ll, p), None if scan is None else icl(bic_value, scan.entropy),
        model.converged, model.n_iter, original_units_components(model), noise_weight(model),
        mclust_name(model.params.covariance_type), scan,
        selection["criterion"] if selection else None, top_cells(selection), model.uncertainty,
        None if model.uncertainty is None else standard_errors(model.uncertainty),
    )


def standard_errors(uncertainty: dict) -> dict:
    """(parameter, component, column) -> standard error, from a model's uncertainty section."""
    return {(r["parameter"], r["component"], r["column"]): r["se"] for r in uncertainty["rows"]}


def summarize(req: SummaryRequest) -> Summary:
    """Load the model, scan the input if one is given, and summarize both."""
    model = read_model_argument(req.model, req.inputs[0] if req.inputs else "", "summary")
    scan = None
    if req.inputs:
        scan = scan_input(model, req.inputs, req.fmt, max_points=0, outlier_quantile=req.outlier_quantile,
                          missing=req.missing)
    return describe(model, req.model, scan)
