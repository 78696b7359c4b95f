"""gmmcli's domain errors as the exceptions a Python library raises (ValueError, OSError …).

The pipeline raises :class:`~gmmcli.errors.GmmError` subclasses, which the CLI maps to exit
codes; a Python caller (and scikit-learn's checks) expects the built-in exceptions instead.
The original error stays attached as ``__cause__``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from gmmcli.errors import ConvergenceError, DataError, NoInputError, NumericalError, OutputError, UsageError, WriteError

# scikit-learn's message for a fit that failed numerically (its tests match on it)
FIT_FAILED = ("Fitting the mixture model failed because some components have ill-defined empirical covariance "
              "(for instance caused by singleton or collapsed samples). Try to decrease the number of components, "
              "increase reg_covar, or scale the input data.")


@contextmanager
def library_errors(fitting: bool = False) -> Iterator[None]:
    """Re-raise gmmcli's errors as ValueError, FileNotFoundError or OSError.

    Parameters
    ----------
    fitting : bool
        A numerical failure is then a failed fit, reported with scikit-learn's message and
        gmmcli's detail (which component, which restart).
    """
    try:
        yield
    except NumericalError as exc:
        raise ValueError(f"{FIT_FAILED} ({exc})" if fitting else str(exc)) from exc
    except (UsageError, DataError, ConvergenceError) as exc:  # ModelError is a DataError
        raise ValueError(str(exc)) from exc
    except NoInputError as exc:
        raise FileNotFoundError(str(exc)) from exc
    except (OutputError, WriteError) as exc:
        raise OSError(str(exc)) from exc
