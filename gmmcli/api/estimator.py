"""``gmmcli.GaussianMixture``: scikit-learn's estimator over gmmcli's core and pipeline.

``fit`` runs the code of ``gmmcli fit`` (:func:`gmmcli.pipeline.arrays.fit_array`): the same
initialisation, EM loop, covariance-model table and MAP step, so a fit from Python and one from
the command line agree. The fitted estimator holds the model file's content; ``save`` writes it,
:func:`load_model` reads any model file the CLI wrote, and scoring goes through the function
``gmmcli predict`` uses, so both print the same numbers.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
from numpy.typing import NDArray

from gmmcli.api.compat import ConvergenceWarning, FitWarning, ParamsEstimator, not_fitted_error, sklearn_compatible
from gmmcli.api.errors import library_errors
from gmmcli.api.parameters import fitted_attributes, start_overrides
from gmmcli.api.validation import (
    FloatArray, ObjectArray, check_array, check_bool, check_choice, check_feature_names, check_float, check_int,
    check_covariance_type, check_n_features, check_sample_weight, feature_names_of, seed_from,
)
from gmmcli.core import criteria
from gmmcli.core.init import INIT_METHODS
from gmmcli.core.models import DEFAULT_MODEL, get_model
from gmmcli.core.params import n_parameters
from gmmcli.core.prior import supported_models
from gmmcli.core.sampling import sample as draw
from gmmcli.io.atomic import output_file
from gmmcli.io.csv_reader import CsvFormat
from gmmcli.io.model_file import Model, read_model, write_model
from gmmcli.io.predictions import labels_of
from gmmcli.pipeline.arrays import StartOverrides, fit_array
from gmmcli.pipeline.data import DataRequest
from gmmcli.pipeline.fit import FitRequest
from gmmcli.pipeline.predict import score_block
from gmmcli.pipeline.sample import SAMPLE_BLOCK

IntArray = NDArray[np.int64]
PathLike = Union[str, "os.PathLike[str]"]

# scikit-learn's spellings of the initialisations, beside the CLI's own (INIT_METHODS)
INIT_ALIASES = {"k-means++": "kmeans++", "random_from_data": "random-from-data"}
# the CLI's options named in the pipeline's warnings, and this class's parameters for them
CLI_OPTIONS = {"--reg-covar": "reg_covar", "--max-iter": "max_iter", "--n-init": "n_init", "--covariance": "covariance_type",
               "lower -k": "lower n_components"}
CONVERGENCE_MESSAGE = ("Best performing initialization did not converge. Try different init parameters, or increase "
                       "max_iter, tol, or check for degenerate data.")


@dataclass(frozen=True)
class _Settings:
    """The constructor's parameters, checked and in the pipeline's terms."""

    n_components: int
    covariance_type: str  # the model table's name
    init: str  # one of INIT_METHODS
    seed: int


class GaussianMixture(ParamsEstimator):
    """A Gaussian mixture fitted by EM: scikit-learn's estimator, with mclust's models, priors
    and gmmcli's model file.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : str, default=full
        scikit-learn's full, tied, diag or spherical, or one of mclust's 14 models (EII, VII, EEI,
        VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV; E and V for one column), any case.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood per row changes by less.
    reg_covar : float, default=1e-6
        Added to the covariances' diagonal.
    max_iter : int, default=100
        Most EM iterations (M-steps); 0 returns the starting point.
    n_init : int, default=1
        Restarts; the best is kept (fewest collapsed components, then highest likelihood).
    init_params : str, default=kmeans++
        kmeans++ (the CLI's default), kmeans, random, random-from-data, or hc (mclust's
        hierarchical agglomeration); scikit-learn's k-means++ and random_from_data are accepted.
    weights_init, means_init, precisions_init : array-like, optional
        Starting values in the data's units, shapes (n_components,), (n_components, n_features)
        and the covariance model's (as scikit-learn's ``precisions_``). The parts not given are
        drawn by ``init_params``; with any given, one restart runs and components keep their order.
    random_state : int, RandomState, Generator or None, default=None
        The seed of initialisation and sampling (the seed used is recorded in the model file).
    warm_start : bool, default=False
        Start each ``fit`` from the last one's parameters (one restart), as scikit-learn.
    standardize : bool, default=False
        Fit on standardized columns, as ``gmmcli fit`` does by default (scikit-learn does not);
        parameters, scores and samples are in the data's units either way.
    noise : bool, default=False
        Add mclust's uniform noise component over the data's hypervolume (``gmmcli fit
        --noise``): ``predict`` labels its rows -1 and ``predict_proba`` gives its probability
        in a last column; ``weights_`` then sum to 1 minus its proportion.
    prior : bool, default=False
        MAP EM under mclust's default conjugate prior (``gmmcli fit --prior``).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Shape by covariance model: full and mclust's (n_components, n_features, n_features),
        tied (n_features, n_features), diag (n_components, n_features), spherical (n_components,).
    precisions_, precisions_cholesky_ : ndarray, the same shape as ``covariances_``
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood per row at the fitted parameters.
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The mean log-likelihood after every E-step of the chosen restart, from its start.
    n_features_in_ : int
    noise_weight_ : float
        The noise component's proportion (``noise=True``; 0.0 otherwise): ``weights_`` sum to 1
        minus it.
    hypervolume_ : float or None
        The noise's hypervolume V in the data's units (None without noise).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Present when fitted on a data frame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmcli import GaussianMixture
    >>> X = np.r_[np.random.default_rng(0).normal(0, 1, (50, 2)), np.random.default_rng(1).normal(6, 1, (50, 2))]
    >>> gm = GaussianMixture(n_components=2, covariance_type="VVV", random_state=0).fit(X)
    >>> gm.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, n_components: int = 1, *, covariance_type: str = DEFAULT_MODEL, tol: float = 1e-3,
                 reg_covar: float = 1e-6, max_iter: int = 100, n_init: int = 1, init_params: str = "kmeans++",
                 weights_init: Any = None, means_init: Any = None, precisions_init: Any = None,
                 random_state: Any = None, warm_start: bool = False, standardize: bool = False, noise: bool = False,
                 prior: bool = False) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.standardize = standardize
        self.noise = noise
        self.prior = prior

    # ---------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "GaussianMixture":
        """Fit the mixture to the rows of ``X`` by EM (``gmmcli fit``'s code).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A data frame's string column names become ``feature_names_in_`` (and the model
            file's column names).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative frequency weights (a weight of 2 counts a row twice).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Invalid parameters or rows, fewer rows than components, or a numerical failure of
            every restart.
        """
        settings = self._checked_settings()
        names = feature_names_of(X)
        array = check_array(X, type(self).__name__, min_samples=2)
        weights = check_sample_weight(sample_weight, len(array))
        self._check_enough_rows(array, weights, settings)
        self._check_model_fits(array.shape[1], settings)
        previous = self._warm_start_model(settings, array.shape[1])
        overrides = StartOverrides() if previous is not None else start_overrides(
            self.weights_init, self.means_init, self.precisions_init, settings.covariance_type,
            settings.n_components, array.shape[1])
        columns = list(names) if names is not None else [str(j + 1) for j in range(array.shape[1])]
        with library_errors(fitting=True):
            result = fit_array(self._fit_request(settings, names is not None), array, weights, columns,
                               previous=previous, overrides=overrides)
        self._set_model(result.model)
        self._warn(result.notes, result.model.converged)
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> IntArray:
        """Fit, then label the same rows (the labels ``predict`` gives them).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def _checked_settings(self) -> _Settings:
        """The parameters checked (InvalidParameterError, scikit-learn's message) and translated."""
        check_float("tol", self.tol, 0.0)
        check_float("reg_covar", self.reg_covar, 0.0)
        check_int("max_iter", self.max_iter, 0)
        check_int("n_init", self.n_init, 1)
        for name in ("warm_start", "standardize", "noise", "prior"):
            check_bool(name, getattr(self, name))
        covariance_type = check_covariance_type(self.covariance_type)
        init = check_choice("init_params", self.init_params, INIT_METHODS + tuple(INIT_ALIASES))
        if self.prior and covariance_type not in supported_models():
            raise ValueError(f"prior=True: mclust has no prior for the {covariance_type} model (it has one for "
                             f"{', '.join(supported_models())})")
        if self.noise and any(v is not None for v in (self.weights_init, self.means_init, self.precisions_init)):
            raise ValueError("noise=True cannot be combined with weights_init, means_init or precisions_init "
                             "(their weights would have to leave room for the noise's)")
        return _Settings(check_int("n_components", self.n_components, 1), covariance_type,
                         INIT_ALIASES.get(init, init), seed_from(self.random_state))

    @staticmethod
    def _check_enough_rows(X: FloatArray, weights: Optional[FloatArray], settings: _Settings) -> None:
        n_samples = len(X) if weights is None else int(np.count_nonzero(weights))
        if n_samples < settings.n_components:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = {settings.n_components}, "
                             f"n_samples = {n_samples}")

    @staticmethod
    def _check_model_fits(n_features: int, settings: _Settings) -> None:
        only = get_model(settings.covariance_type).n_features_only
        if only and only != n_features:
            raise ValueError(f"covariance_type={settings.covariance_type!r} is a model of {only} column(s), but X "
                             f"has {n_features}")

    def _warm_start_model(self, settings: _Settings, n_features: int) -> Optional[Model]:
        """The last fit's model when ``warm_start`` applies (same k, model and columns), else None."""
        model: Optional[Model] = getattr(self, "_model", None)
        if not self.warm_start or model is None:
            return None
        same = (model.n_components == settings.n_components and model.params.n_features == n_features
                and model.params.covariance_type == settings.covariance_type)
        return model if same else None

    def _fit_request(self, settings: _Settings, has_names: bool) -> FitRequest:
        """``gmmcli fit``'s request for these parameters (the CLI's option of the same meaning)."""
        data = DataRequest(fmt=CsvFormat(has_header=has_names), standardize=bool(self.standardize))
        return FitRequest(data=data, n_components=settings.n_components, covariance_type=settings.covariance_type,
                          reg_covar=float(self.reg_covar), tol=float(self.tol), max_iter=int(self.max_iter),
                          n_init=int(self.n_init), init=settings.init, seed=settings.seed, prior=bool(self.prior),
                          noise=bool(self.noise))

    def _set_model(self, model: Model) -> None:
        """Hold ``model`` and set the fitted attributes from it (dropping a previous fit's names)."""
        self._model = model
        self.__dict__.pop("feature_names_in_", None)
        for name, value in fitted_attributes(model).items():
            setattr(self, name, value)

    @staticmethod
    def _warn(notes: tuple[str, ...], converged: bool) -> None:
        """The CLI's warnings as FitWarning, its options named as this class's parameters."""
        for note in notes:
            if note.startswith("warning: "):
                text = note[len("warning: "):]
                for option, parameter in CLI_OPTIONS.items():
                    text = text.replace(option, parameter)
                warnings.warn(text, FitWarning, stacklevel=3)
        if not converged:
            warnings.warn(CONVERGENCE_MESSAGE, sklearn_compatible(ConvergenceWarning), stacklevel=3)

    # ---------------------------------------------------------------- scoring
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_model")

    def _fitted_model(self) -> Model:
        model: Optional[Model] = getattr(self, "_model", None)
        if model is None:
            raise not_fitted_error(self)
        return model

    def _score(self, X: Any) -> tuple[FloatArray, FloatArray]:
        """(log p(x) per row in the data's units, responsibilities): ``gmmcli predict``'s numbers."""
        model = self._fitted_model()
        names = feature_names_of(X)
        array = check_array(X, type(self).__name__)
        fitted_names: Optional[ObjectArray] = getattr(self, "feature_names_in_", None)
        check_feature_names(fitted_names, names, type(self).__name__)
        check_n_features(array.shape[1], model.params.n_features, type(self).__name__)
        log_likelihood, resp = score_block(model, array)
        return np.asarray(log_likelihood, dtype=np.float64), np.asarray(resp, dtype=np.float64)

    def bootstrap(self, X: Any, kind: str = "bs", n_replicates: Optional[int] = None, *, sample_weight: Any = None,
                  level: float = 0.95, random_state: Any = 0, n_jobs: int = 1, tol: Optional[float] = None,
                  max_iter: int = 1000, as_frame: Optional[bool] = None) -> Any:
        """Standard errors and intervals of the fitted parameters (``gmmcli bootstrap``, mclust's
        ``MclustBootstrap``): every replicate refits this model from its parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows the model was fitted to.
        kind : {bs, wlbs, pb, jk}, default=bs
            Rows resampled; weighted likelihood bootstrap; parametric (rows drawn from the model);
            jackknife (one refit without each row).
        n_replicates : int, optional
            Default 999 (the jackknife refits once per row and takes none).
        sample_weight : array-like of shape (n_samples,), optional
            The fit's row weights, if it had some.
        level : float, default=0.95
            Coverage of the intervals.
        random_state : int, RandomState, Generator or None, default=0
        n_jobs : int, default=1
            Replicates refitted in parallel processes (the result does not depend on it).
        tol, max_iter
            EM's in each refit (tol default 1e-8 per row, 1e-10 for the jackknife).
        as_frame : bool, optional
            A pandas DataFrame (default: when pandas is installed) or a list of dicts.

        Returns
        -------
        DataFrame or list of dict
            One row per parameter: parameter (weight, mean, variance, covariance), component,
            column, estimate, se, lower, upper, in the data's original units.
        """
        from gmmcli.api.selection import _table
        from gmmcli.core.bootstrap import RESAMPLING_TYPES
        from gmmcli.pipeline.bootstrap import BootstrapRequest, bootstrap_array

        model = self._fitted_model()
        array = check_array(X, type(self).__name__, min_samples=2)
        check_n_features(array.shape[1], model.params.n_features, type(self).__name__)
        weights = check_sample_weight(sample_weight, len(array))
        request = BootstrapRequest(model="", kind=check_choice("kind", kind, RESAMPLING_TYPES), replicates=n_replicates,
                                   seed=seed_from(random_state), jobs=check_int("n_jobs", n_jobs, 1), level=level,
                                   tol=tol, max_iter=check_int("max_iter", max_iter, 1))
        with library_errors():
            result = bootstrap_array(request, model, array, weights)
        return _table([dict(row) for row in result.rows], as_frame)

    def predict(self, X: Any) -> IntArray:
        """The most probable component of every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            0 … n_components − 1, or −1 for rows the noise component takes (as ``gmmcli predict``).
        """
        return np.asarray(labels_of(self._score(X)[1], self._fitted_model().n_components), dtype=np.int64)

    def predict_proba(self, X: Any) -> FloatArray:
        """Each row's probability of belonging to each component.

        Returns
        -------
        ndarray of shape (n_samples, n_components), or (n_samples, n_components + 1) with noise
            Rows sum to 1; the noise component's probability is the last column.
        """
        return self._score(X)[1]

    def score_samples(self, X: Any) -> FloatArray:
        """log p(x) of every row, in the data's own units (also when fitted standardized).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._score(X)[0]

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per row of ``X``."""
        return float(self.score_samples(X).mean())

    def _n_parameters(self) -> int:
        """Free parameters of the fitted mixture (scikit-learn's count)."""
        model = self._fitted_model()
        return n_parameters(model.params.covariance_type, model.n_components, model.params.n_features)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X``: −2 log L + p ln n (lower is better)."""
        log_likelihood = self.score_samples(X)
        return criteria.bic(float(log_likelihood.sum()), self._n_parameters(), len(log_likelihood))

    def aic(self, X: Any) -> float:
        """Akaike information criterion on ``X``: −2 log L + 2p (lower is better)."""
        return criteria.aic(float(self.score_samples(X).sum()), self._n_parameters())

    def icl(self, X: Any) -> float:
        """Integrated completed likelihood on ``X``: BIC + twice the classification entropy (lower is better)."""
        log_likelihood, resp = self._score(X)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -float(np.where(resp > 0, resp * np.log(resp), 0.0).sum())
        bic = criteria.bic(float(log_likelihood.sum()), self._n_parameters(), len(log_likelihood))
        return criteria.icl(bic, entropy)

    def sample(self, n_samples: int = 1) -> tuple[FloatArray, IntArray]:
        """Draw rows from the fitted mixture (``gmmcli sample``'s rows for the same seed).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            In the data's own units, in random order.
        y : ndarray of shape (n_samples,)
            The component each row came from.
        """
        model = self._fitted_model()
        if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples} . The sampling requires at least one "
                             "sample.")
        rng = np.random.default_rng(seed_from(self.random_state))
        parts, labels = [], []
        for start in range(0, int(n_samples), SAMPLE_BLOCK):  # the CLI's blocks, so its draws are the same
            Z, drawn = draw(model.params, min(SAMPLE_BLOCK, int(n_samples) - start), rng)
            parts.append(model.scaler.inverse_transform(Z) if model.scaler is not None else Z)
            labels.append(drawn)
        return np.concatenate(parts), np.concatenate(labels).astype(np.int64)

    # ---------------------------------------------------------------- model files
    def save(self, path: PathLike) -> None:
        """Write the fitted model as a gmmcli model file (atomically), which every CLI command reads.

        Raises
        ------
        OSError
            The file cannot be written.
        """
        model = self._fitted_model()
        with library_errors(), output_file(os.fspath(path)) as out:
            write_model(out, model)

    def to_sklearn(self) -> Any:
        """scikit-learn's ``Pipeline(StandardScaler, GaussianMixture)`` with this model's parameters.

        The scaler is the identity when the model was fitted unstandardized. Labels and
        probabilities are the same as this estimator's; scikit-learn's ``score_samples`` are
        log-densities of the standardized rows, which differ from these by the constant
        log|Jacobian| of the standardization. Needs scikit-learn, and one of its four models.
        """
        from gmmcli.api.sklearn_export import to_sklearn_pipeline

        return to_sklearn_pipeline(self._fitted_model(), self.get_params())

    @classmethod
    def _from_model(cls, model: Model, **params: Any) -> "GaussianMixture":
        """A fitted estimator holding ``model`` (parameters from its settings, then ``params``)."""
        settings = model.settings
        init = settings.get("init", "kmeans++")
        estimator = cls(n_components=model.n_components, covariance_type=model.params.covariance_type,
                        tol=settings.get("tol", 1e-3), reg_covar=settings.get("reg_covar", 1e-6),
                        max_iter=settings.get("max_iter", 100), n_init=settings.get("n_init", 1),
                        init_params=init if init in INIT_METHODS else "kmeans++", random_state=settings.get("seed"),
                        standardize=bool(settings.get("standardize", False)), prior=bool(settings.get("prior", False)),
                        noise=bool(settings.get("noise", False)))
        estimator.set_params(**params)
        estimator._set_model(model)
        return estimator


def load_model(path: PathLike) -> GaussianMixture:
    """A fitted :class:`GaussianMixture` from any gmmcli model file (from the CLI or ``save``).

    The model's standardization comes with it: the estimator takes rows in the data's own units,
    and predicts what ``gmmcli predict`` prints for them.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a valid model file (the message names the field).
    """
    with library_errors():
        model = read_model(os.fspath(path))
    return GaussianMixture._from_model(model)
