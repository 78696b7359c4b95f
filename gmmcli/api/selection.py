"""``gmmcli.select``: fit a grid of (k, covariance model) cells and keep the best (``gmmcli select``)."""

from __future__ import annotations

import numbers
from typing import Any, Iterable, NamedTuple, Optional, Union

from gmmcli.api.errors import library_errors
from gmmcli.api.estimator import INIT_ALIASES, GaussianMixture
from gmmcli.api.validation import check_array, check_choice, check_sample_weight, feature_names_of, seed_from
from gmmcli.core.criteria import CRITERIA
from gmmcli.core.init import INIT_METHODS
from gmmcli.io.csv_reader import CsvFormat
from gmmcli.pipeline.arrays import select_array
from gmmcli.pipeline.data import DataRequest
from gmmcli.pipeline.fit import FitRequest
from gmmcli.pipeline.select import SelectRequest

Records = list[dict[str, Any]]


class Selection(NamedTuple):
    """What :func:`select` returns: unpack as ``table, estimator = gmmcli.select(X)``.

    Attributes
    ----------
    table : list of dict, or pandas.DataFrame
        One row per cell in grid order: k, covariance_type, seed, log_likelihood, n_parameters,
        bic, aic, icl, holdout, converged, n_iter and error (a failed cell's reason, else None).
    estimator : GaussianMixture
        The chosen cell's model, fitted (its model file records the grid).
    """

    table: Any
    estimator: GaussianMixture


def select(X: Any, k: Union[int, Iterable[int]] = range(1, 10), covariance: Union[str, Iterable[str]] = "all",
           criterion: str = "bic", *, sample_weight: Any = None, standardize: bool = False, tol: float = 1e-7,
           reg_covar: float = 1e-6, max_iter: int = 1000, n_init: int = 3, init_params: str = "hc",
           random_state: Any = 0, prior: bool = False, noise: bool = False, holdout: Optional[float] = None,
           cv: Optional[int] = None, seeds: int = 1, n_jobs: int = 1, polish_within: float = 10.0,
           as_frame: Optional[bool] = None) -> Selection:
    """Fit every (k, covariance model) of a grid and choose one by a criterion, as ``gmmcli select``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    k : int or iterable of int, default=range(1, 10)
        Numbers of components to try.
    covariance : str or iterable of str, default=all
        Covariance models in any spelling (scikit-learn's or mclust's), comma-separated or as a
        list; ``all`` is mclust's 14 models (E and V for one column).
    criterion : {bic, aic, icl, holdout}, default=bic
        What is minimised (holdout: the held-out log-likelihood is maximised; needs ``holdout`` or ``cv``).
    sample_weight : array-like of shape (n_samples,), optional
    standardize, tol, reg_covar, max_iter, n_init, init_params, random_state, prior, noise
        As :class:`GaussianMixture`'s, for every cell, with ``gmmcli select``'s defaults (tol 1e-7,
        max_iter 1000, three restarts from mclust's hierarchical start), except ``standardize``,
        False as everywhere in the Python API. With ``noise``, the table starts with k = 0 (the
        noise alone).
    holdout : float, optional
        Fraction of rows held out to score each cell.
    cv : int, optional
        Folds of cross-validated held-out log-likelihood.
    seeds : int, default=1
        Repeat the grid with this many seeds (the table shows the first; the model is the first's choice).
    n_jobs : int, default=1
        Worker processes (forked; ``gmmcli select -j 0`` uses one per CPU).
    polish_within : float, default=10.0
        Screen the grid first (every cell from its first start to mclust's relative tolerance
        1e-5, at most 200 iterations), then fully fit (``n_init`` restarts, ``tol``) only the cells
        whose criterion is within this of the best, and choose among them; ``math.inf`` fully
        fits every cell. Screened cells have ``screened`` True in the table.
    as_frame : bool, optional
        The table as a pandas DataFrame (default: when pandas is installed) or a list of dicts.

    Returns
    -------
    Selection : ``(table, estimator)``

    Raises
    ------
    ValueError
        Invalid settings or rows, or every cell failing.
    """
    names = feature_names_of(X)
    array = check_array(X, "select", min_samples=2)
    weights = check_sample_weight(sample_weight, len(array))
    init = check_choice("init_params", init_params, INIT_METHODS + tuple(INIT_ALIASES), owner="select")
    check_choice("criterion", criterion, CRITERIA, owner="select")
    fit_request = FitRequest(
        data=DataRequest(fmt=CsvFormat(has_header=names is not None), standardize=bool(standardize)),
        tol=tol, reg_covar=reg_covar, max_iter=max_iter, n_init=n_init, init=INIT_ALIASES.get(init, init),
        seed=seed_from(random_state), prior=bool(prior), noise=bool(noise))
    request = SelectRequest(fit=fit_request, components=_components(k), covariance_types=_covariances(covariance),
                            criterion=criterion, holdout=holdout, cv=cv, seeds=seeds, jobs=n_jobs,
                            polish_within=polish_within)
    columns = list(names) if names is not None else [str(j + 1) for j in range(array.shape[1])]
    with library_errors(fitting=True):
        result = select_array(request, array, weights, columns)
    estimator = GaussianMixture._from_model(result.model, random_state=fit_request.seed, init_params=init_params)
    rows = [cell.row() for cell in result.cells]
    return Selection(_table(rows, as_frame), estimator)


def _components(k: Union[int, Iterable[int]]) -> tuple[int, ...]:
    values: tuple[Any, ...] = (k,) if isinstance(k, numbers.Integral) else tuple(k)  # type: ignore[arg-type]
    if not values or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= 1
                             for v in values):
        raise ValueError(f"k must be an int >= 1 or an iterable of them (got {k!r})")
    return tuple(int(v) for v in values)


def _covariances(covariance: Union[str, Iterable[str]]) -> tuple[str, ...]:
    values = (covariance,) if isinstance(covariance, str) else tuple(covariance)
    if not values or not all(isinstance(v, str) for v in values):
        raise ValueError(f"covariance must be a model name, 'all', or an iterable of names (got {covariance!r})")
    return values


def _table(rows: Records, as_frame: Optional[bool]) -> Any:
    """The rows as a pandas DataFrame when asked (or by default, when pandas is installed)."""
    if as_frame is False:
        return rows
    try:
        import pandas
    except ImportError:
        if as_frame:
            raise ImportError("as_frame=True needs pandas: pip install pandas") from None
        return rows
    return pandas.DataFrame.from_records(rows)
