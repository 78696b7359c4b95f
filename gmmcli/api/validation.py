"""Input checks with scikit-learn's messages: arrays, feature names, sample weights, parameters.

scikit-learn's own checks (``check_estimator``) look for these messages, and users know them;
they are written here by hand because gmmcli does not import scikit-learn.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from gmmcli.api.compat import InvalidParameterError, sklearn_compatible

FloatArray = NDArray[np.float64]
ObjectArray = NDArray[np.object_]


def feature_names_of(X: Any) -> Optional[ObjectArray]:
    """Column names of a data frame whose columns are all strings (else None), as scikit-learn.

    Raises
    ------
    TypeError
        Column names that mix strings with other types.
    """
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    are_strings = [isinstance(name, str) for name in names]
    if names.size == 0 or not any(are_strings):
        return None
    if not all(are_strings):
        kinds = sorted({type(name).__name__ for name in names})
        raise TypeError("Feature names are only supported if all input features have string names, but your "
                        f"input has {kinds} as feature name / column name types. Convert them to strings.")
    return names


def check_array(X: Any, estimator_name: str, *, min_samples: int = 1) -> FloatArray:
    """``X`` as a 2-D float64 array of finite values, or scikit-learn's error for what it is not.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    estimator_name : str
        Names the estimator in messages.
    min_samples : int
        Fewest rows accepted (2 to fit, as scikit-learn's mixtures; 1 to score).

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        A new array when ``X`` needed converting; ``X`` itself otherwise (never modified here).

    Raises
    ------
    TypeError
        Sparse input, or cells that are not numbers.
    ValueError
        Complex numbers, not two dimensions, too few rows or columns, NaN or infinity.
    """
    if _is_sparse(X):
        raise TypeError("Sparse data was passed for X, but dense data is required. Use '.toarray()' to convert "
                        "to a dense numpy array.")
    raw = X if isinstance(X, np.ndarray) else np.asarray(X)
    if np.iscomplexobj(raw):
        raise ValueError(f"Complex data not supported\n{raw}\n")
    array = np.asarray(raw, dtype=np.float64)
    _check_dimensions(array, estimator_name, min_samples)
    _check_finite(array)
    return array


def _is_sparse(X: Any) -> bool:
    return type(X).__module__.startswith("scipy.sparse") or hasattr(X, "tocsr")


def _check_dimensions(array: FloatArray, estimator_name: str, min_samples: int) -> None:
    if array.ndim == 0:
        raise ValueError(f"Expected 2D array, got scalar array instead:\narray={array}.\nReshape your data either "
                         "using array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) if "
                         "it contains a single sample.")
    if array.ndim == 1:
        raise ValueError(f"Expected 2D array, got 1D array instead:\narray={array}.\nReshape your data either "
                         "using array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) if "
                         "it contains a single sample.")
    if array.ndim > 2:
        raise ValueError(f"Found array with dim {array.ndim}, while dim <= 2 is required by {estimator_name}.")
    n_samples, n_features = array.shape
    if n_samples < min_samples:
        raise ValueError(f"Found array with {n_samples} sample(s) (shape={array.shape}) while a minimum of "
                         f"{min_samples} is required by {estimator_name}.")
    if n_features < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is required "
                         f"by {estimator_name}.")


def _check_finite(array: FloatArray, name: str = "X") -> None:
    if np.isfinite(array).all():
        return
    if np.isnan(array).any():
        raise ValueError(f"Input {name} contains NaN.")
    raise ValueError(f"Input {name} contains infinity or a value too large for dtype('float64').")


def check_n_features(n_features: int, expected: int, estimator_name: str) -> None:
    """Rows to score must have the columns the estimator was fitted on."""
    if n_features != expected:
        raise ValueError(f"X has {n_features} features, but {estimator_name} is expecting {expected} features "
                         "as input.")


def check_feature_names(fitted: Optional[ObjectArray], given: Optional[ObjectArray], estimator_name: str) -> None:
    """scikit-learn's rules for scoring rows: names must match the fit's; a mismatch in whether
    there are names at all is a warning."""
    if fitted is None and given is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {estimator_name} was fitted without feature names", UserWarning,
                      stacklevel=3)
        return
    if given is None:
        warnings.warn(f"X does not have valid feature names, but {estimator_name} was fitted with feature names",
                      UserWarning, stacklevel=3)
        return
    if len(fitted) != len(given) or not (fitted == given).all():
        unexpected = [str(n) for n in given if n not in set(fitted)]
        missing = [str(n) for n in fitted if n not in set(given)]
        detail = "".join(f"\n{label}:\n- " + "\n- ".join(names) for label, names in
                         (("Feature names unseen at fit time", unexpected), ("Feature names seen at fit time, yet "
                                                                             "now missing", missing)) if names)
        raise ValueError("The feature names should match those that were passed during fit." +
                         (detail or "\nFeature names must be in the same order as they were in fit.\n"))


def check_sample_weight(sample_weight: Any, n_samples: int) -> Optional[FloatArray]:
    """Weights of the rows as float64 of shape (n_samples,), or None (every row weighs 1).

    Raises
    ------
    ValueError
        The wrong shape, a negative or non-finite weight, or every weight zero.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        weights = np.full(n_samples, float(sample_weight))  # type: ignore[arg-type]
    else:
        weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar, got shape {weights.shape}.")
    if weights.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected {(n_samples,)}!")
    _check_finite(weights, "sample_weight")
    if (weights < 0).any():
        raise ValueError("Negative values in data passed to sample_weight")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def seed_from(random_state: Any) -> int:
    """The integer seed gmmcli's fit takes, from scikit-learn's ``random_state``.

    An int is the seed; a ``RandomState`` or ``Generator`` gives the next seed it draws (so
    repeated fits differ, as in scikit-learn); None gives a fresh seed (recorded in the model,
    so the fit can be repeated).
    """
    if random_state is None:
        return int(np.random.default_rng().integers(2**31))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise _invalid("random_state", "an int >= 0, a numpy RandomState or Generator, or None", random_state)
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31))
    raise _invalid("random_state", "an int >= 0, a numpy RandomState or Generator, or None", random_state)


def check_int(name: str, value: Any, low: int) -> int:
    """An integer parameter of at least ``low`` (bools refused)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise _invalid(name, f"an int in the range [{low}, inf)", value)
    return int(value)


def check_float(name: str, value: Any, low: float) -> float:
    """A finite real parameter of at least ``low``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value < low:
        raise _invalid(name, f"a float in the range [{low:g}, inf)", value)
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _invalid(name, "an instance of 'bool'", value)
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str], owner: str = "GaussianMixture") -> str:
    if not isinstance(value, str) or value not in choices:
        raise _invalid(name, f"a str among {sorted(set(choices))}", value, owner)
    return value


def check_covariance_type(value: Any) -> str:
    """A covariance model's name in the table, from any spelling (scikit-learn's, mclust's, any case)."""
    from gmmcli.core.models import all_spellings, canonical_name

    try:
        if isinstance(value, str):
            return str(canonical_name(value))
    except ValueError:
        pass
    raise _invalid("covariance_type", f"one of {', '.join(all_spellings())} (any case)", value)


def _invalid(name: str, wanted: str, value: Any, owner: str = "GaussianMixture") -> InvalidParameterError:
    """scikit-learn's wording: "The 'tol' parameter of GaussianMixture must be ... Got -1 instead."."""
    error: InvalidParameterError = sklearn_compatible(InvalidParameterError)(
        f"The {name!r} parameter of {owner} must be {wanted}. Got {value!r} instead.")
    return error
