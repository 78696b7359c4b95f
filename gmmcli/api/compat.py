"""scikit-learn's estimator conventions, written out so that gmmcli never needs scikit-learn.

An estimator here keeps its constructor's arguments as they were given (``get_params`` reads
the ``__init__`` signature), prints like scikit-learn's (only the parameters that differ from
their defaults), and answers ``__sklearn_tags__`` when scikit-learn asks. The exceptions and
warnings it raises are gmmcli's own classes; when the user has imported scikit-learn, they are
also scikit-learn's (a subclass of both), so ``except sklearn.exceptions.NotFittedError`` and
scikit-learn's own checks catch them while gmmcli itself imports nothing of scikit-learn.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, TypeVar

_Self = TypeVar("_Self", bound="ParamsEstimator")
_Class = TypeVar("_Class", bound=type)


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit`` (as scikit-learn's)."""


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood settled (as scikit-learn's)."""


class FitWarning(UserWarning):
    """Something people should know about a fit: a component that died or collapsed, a
    column that looks like a row number, columns perfectly correlated (``gmmcli fit``'s warnings)."""


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has the wrong type or value (raised by ``fit``, as scikit-learn's)."""


# scikit-learn's classes of the same name and role, by module
_SKLEARN_TWINS = {
    "NotFittedError": "sklearn.exceptions",
    "ConvergenceWarning": "sklearn.exceptions",
    "InvalidParameterError": "sklearn.utils._param_validation",
}


def sklearn_compatible(own: _Class) -> _Class:
    """``own``, or, once the user has imported scikit-learn, a subclass of ``own`` and of
    scikit-learn's class of the same name, so that either ``except`` clause catches it.

    The subclass is made once and kept as a module attribute under its own name, so that
    exceptions raised with it pickle.
    """
    if "sklearn" not in sys.modules:
        return own
    twin_name = "_Sklearn" + own.__name__
    twin = globals().get(twin_name)
    if twin is None:
        twin = _make_twin(own, twin_name)
        globals()[twin_name] = twin
    assert isinstance(twin, type)
    return twin  # type: ignore[return-value]


def _make_twin(own: type, twin_name: str) -> type:
    import importlib

    try:
        theirs = getattr(importlib.import_module(_SKLEARN_TWINS[own.__name__]), own.__name__)
    except (ImportError, AttributeError):  # a scikit-learn without this class: ours alone is right
        return own
    return type(own.__name__, (own, theirs), {"__module__": __name__, "__qualname__": twin_name,
                                              "__doc__": own.__doc__})


def not_fitted_error(estimator: object) -> NotFittedError:
    """scikit-learn's message for a method called before ``fit``."""
    name = type(estimator).__name__
    error: NotFittedError = sklearn_compatible(NotFittedError)(
        f"This {name} instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator."
    )
    return error


class ParamsEstimator:
    """``get_params``, ``set_params``, ``__repr__`` and tags, from the ``__init__`` signature.

    Subclasses store every ``__init__`` argument unchanged under its own name and do nothing
    else in ``__init__`` (validation happens in ``fit``), as scikit-learn requires.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The constructor's parameters, sorted (scikit-learn's order)."""
        signature = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return sorted(p.name for p in signature.parameters.values() if p.name != "self" and p.kind in kinds)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The estimator's parameters by name (``deep`` is accepted for scikit-learn; nothing is nested)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self: _Self, **params: Any) -> _Self:
        """Set parameters by name; values are checked by the next ``fit``, not here.

        Raises
        ------
        ValueError
            For a name that is not a parameter.
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{name}={value!r}" for name, value in self.get_params().items()
                   if repr(value) != repr(defaults.get(name))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags (imported here: only scikit-learn calls this)."""
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type="density_estimator", target_tags=TargetTags(required=False),
                    transformer_tags=None, regressor_tags=None, classifier_tags=None,
                    input_tags=InputTags(allow_nan=False))

    def _more_tags(self) -> dict[str, Any]:
        """The same tags for scikit-learn before 1.6."""
        return {"allow_nan": False, "requires_y": False}
