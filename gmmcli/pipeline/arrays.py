"""Fit and select on rows already in memory (the Python API's input), through the CLI's code.

``gmmcli fit`` reads a file into a :class:`~gmmcli.pipeline.data.TrainingData` (rows behind a
memory engine, their scaler and shift), runs :func:`~gmmcli.pipeline.fit.run_restarts` and
assembles the model with :func:`~gmmcli.pipeline.fit.build_model`. Here an ndarray becomes the
same TrainingData through the same loader, and the same two functions run on it, so a fit from
Python and one from the command line on the same rows and settings give the same model file,
bit for bit. Nothing here validates like scikit-learn does: that is the API layer's job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from gmmcli.core.init import initialize
from gmmcli.core.missing import ImputedSource
from gmmcli.core.models import DEFAULT_MODEL
from gmmcli.core.params import GaussianMixtureParams, make_params, rescale_params
from gmmcli.errors import UsageError
from gmmcli.io.model_file import Model
from gmmcli.pipeline.data import DataRequest, TrainingData, rows_in_memory
from gmmcli.pipeline.fit import (
    FitRequest, fit_data, prepare_data, restart_init, validate_fit_request, warm_start, with_model_scaling,
)
from gmmcli.pipeline.select import SelectRequest, SelectResult, grid_models, select_data, validate_select_request
from gmmcli.scaler import Scaler

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class StartOverrides:
    """Starting values given by the user, in the data's own units (any of them may be None).

    Attributes
    ----------
    weights : ndarray of shape (n_components,) or None
    means : ndarray of shape (n_components, n_features) or None
    covariances : ndarray, the covariance model's storage shape, or None
    """

    weights: Optional[FloatArray] = None
    means: Optional[FloatArray] = None
    covariances: Optional[FloatArray] = None

    @property
    def complete(self) -> bool:
        """Every parameter is given, so no initialisation method needs to run."""
        return self.weights is not None and self.means is not None and self.covariances is not None

    @property
    def empty(self) -> bool:
        return self.weights is None and self.means is None and self.covariances is None


@dataclass(frozen=True)
class ArrayFit:
    """A model fitted from arrays, and what people should be told about it.

    Attributes
    ----------
    model : Model
        What ``gmmcli fit`` would have written (``save`` writes exactly this).
    notes : tuple of str
        The CLI's warnings and notes ("warning: ..."), for the caller to raise as warnings.
    """

    model: Model
    notes: tuple[str, ...]


def load_array(X: FloatArray, sample_weight: Optional[FloatArray], names: Sequence[str], req: DataRequest,
               covariance_type: str) -> TrainingData:
    """The rows of ``X`` as ``gmmcli fit`` holds a file it has read: scaled, shifted, behind a memory engine.

    Step for step what the CLI's in-memory loader does with the rows it parsed (a Fortran-ordered
    copy, the scaler, the shift, the engine, the same warnings), so that EM then sees the same
    numbers in the same layout.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite floats (or NaN for missing cells), at least one row; copied, never modified.
    sample_weight : ndarray of shape (n_samples,) or None
    names : sequence of str, length n_features
    req : DataRequest
        ``standardize``, ``uniform_scale`` and ``dtype`` are read; the rest is about files.
    covariance_type : str
        Sets the engine's block size.

    Raises
    ------
    DataError
        A constant column when standardizing.
    """
    rows = np.array(X, dtype=np.float64, order="F")  # the engines' layout; the caller's array stays untouched
    weights = None if sample_weight is None else np.array(sample_weight, dtype=np.float64)
    return rows_in_memory(rows, weights, list(names), req, covariance_type)


def fit_array(req: FitRequest, X: FloatArray, sample_weight: Optional[FloatArray], names: Sequence[str],
              *, previous: Optional[Model] = None, overrides: StartOverrides = StartOverrides()) -> ArrayFit:
    """``gmmcli fit`` on the rows of ``X``: restarts, the chosen one, the model document's content.

    Parameters
    ----------
    req : FitRequest
        Its ``data`` says how to scale the rows (``inputs``, ``output`` and ``init_model`` are unused).
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
    names : sequence of str, length n_features
    previous : Model, optional
        Start EM from this model's parameters (a warm start, as ``--init-model``); the components
        keep its order.
    overrides : StartOverrides
        Starting values in original units; the ones not given come from ``req.init`` as the first
        restart draws them. Given any, one restart runs and the components keep their order.

    Raises
    ------
    UsageError, DataError, NumericalError
        As ``gmmcli fit`` would (an invalid setting, unusable rows, every restart failing).
    """
    _, covariance_type = _grid_cell(req)
    validate_fit_request(req)
    req = replace(req, data=with_model_scaling(req.data, (covariance_type,)))
    if previous is not None or not overrides.empty:
        req = replace(req, n_init=1)  # every restart would start from the same point
    with load_array(X, sample_weight, names, req.data, covariance_type) as data:
        prepare_data(req, data)
        start = starting_point(req, data, previous, overrides)
        model, fit_notes = fit_data(req, data, start, None if start is None else _keep_order)
        notes = data.notes + fit_notes
    return ArrayFit(model, tuple(notes))


def _grid_cell(req: FitRequest) -> tuple[int, str]:
    """(k, covariance model) of a request (the CLI may leave them to --init-model; here they are given)."""
    if req.n_components is None or req.covariance_type is None:
        raise UsageError("fitting arrays needs n_components and covariance_type")
    return req.n_components, req.covariance_type


def _keep_order(params: GaussianMixtureParams) -> NDArray[np.int_]:
    return np.arange(params.n_components)


def starting_point(req: FitRequest, data: TrainingData, previous: Optional[Model],
                   overrides: StartOverrides) -> Optional[GaussianMixtureParams]:
    """EM's start in the fitted space: the previous model's, the user's, or None (``req.init`` per restart)."""
    n_components, covariance_type = _grid_cell(req)
    if previous is not None:
        return warm_start(previous, data, covariance_type)
    if overrides.empty:
        return None
    base = None
    if not overrides.complete:  # fill in the missing parts as the first restart would have drawn them
        drawn = initialize(_statistics_source(data), n_components, covariance_type, restart_init(req.init, 0),
                           first_restart_rng(req.seed), req.reg_covar, data.shift)
        base = to_original_units(drawn, data.scaler)
    return to_fitted_space(_merge(base, overrides, covariance_type), data.scaler)


def first_restart_rng(seed: int) -> np.random.Generator:
    """The generator ``run_restarts`` gives its first restart (its seeding, repeated here)."""
    first = np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0]
    return np.random.default_rng(int(first))


def _statistics_source(data: TrainingData) -> Any:
    return ImputedSource(data.engine, data.shift) if data.has_missing else data.engine


def _merge(base: Optional[GaussianMixtureParams], overrides: StartOverrides,
           covariance_type: str) -> GaussianMixtureParams:
    """``base`` with the given parts replaced (``base`` is None only when every part is given)."""
    weights, means, covariances = (given if given is not None else getattr(base, name) for name, given in
                                   (("weights", overrides.weights), ("means", overrides.means),
                                    ("covariances", overrides.covariances)))
    return make_params(weights, means, covariances, covariance_type)


def to_original_units(params: GaussianMixtureParams, scaler: Scaler) -> GaussianMixtureParams:
    """Parameters fitted on ``scaler``'s output, in the data's own units."""
    if scaler.is_identity:
        return params
    return rescale_params(params, scaler.scale, scaler.mean)


def to_fitted_space(params: GaussianMixtureParams, scaler: Scaler) -> GaussianMixtureParams:
    """Parameters in the data's own units, moved to ``scaler``'s output (where EM runs)."""
    if scaler.is_identity:
        return params
    return rescale_params(params, 1.0 / scaler.scale, -scaler.mean / scaler.scale)


def select_array(req: SelectRequest, X: FloatArray, sample_weight: Optional[FloatArray],
                 names: Sequence[str]) -> SelectResult:
    """``gmmcli select`` on the rows of ``X``: every cell of the grid, the chosen model (nothing written).

    :func:`gmmcli.pipeline.select.select_data` on rows from :func:`load_array` instead of a file.

    Raises
    ------
    UsageError, DataError, NumericalError
        As ``gmmcli select`` would.
    """
    validate_select_request(req)
    data_req = with_model_scaling(req.fit.data, grid_models(req.covariance_types, None))
    with load_array(X, sample_weight, names, data_req, req.fit.covariance_type or DEFAULT_MODEL) as data:
        return select_data(req, data)
