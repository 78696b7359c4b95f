"""The model file: versioned JSON, validated field by field on load.

Writing uses ``allow_nan=False`` and Python's shortest round-trip float repr,
so save → load → save is byte-identical. Reading refuses NaN/Infinity tokens,
numbers that overflow to infinity and duplicate keys, and names the field that
is wrong. The JSON Schema in ``model.schema.json`` documents the format.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from gmmcli import __version__
from gmmcli.core import COVARIANCE_TYPES
from gmmcli.core.covariance import COVARIANCE_OPS
from gmmcli.core.params import GaussianMixtureParams, make_params
from gmmcli.errors import ModelError, NoInputError, NumericalError
from gmmcli.scaler import Scaler

FORMAT = "gmmcli-model"
SCHEMA_VERSION = 1
WEIGHT_SUM_TOLERANCE = 1e-6
SYMMETRY_TOLERANCE = 1e-8


@dataclass(frozen=True)
class Model:
    """Everything a model file holds.

    ``params`` are in the space the model was fit in (standardized units when
    ``scaler`` is set). The dict fields are stored as they are.
    """

    params: GaussianMixtureParams
    feature_names: tuple
    has_header: bool
    scaler: Optional[Scaler]
    settings: dict
    n_samples: int
    converged: bool
    n_iter: int
    history: dict
    log_likelihood: dict
    log_likelihood_quantiles: dict
    diagnostics: dict = field(default_factory=dict)
    gmmcli_version: str = __version__
    selection: Optional[dict] = None

    @property
    def n_components(self) -> int:
        return self.params.n_components


def _list(a: np.ndarray) -> Any:
    return np.asarray(a, dtype=float).tolist()


def model_to_document(model: Model) -> dict:
    """The JSON document of a model, keys in a fixed order."""
    p = model.params
    doc = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "gmmcli_version": model.gmmcli_version,
        "feature_names": list(model.feature_names),
        "has_header": model.has_header,
        "scaler": None if model.scaler is None
        else {"mean": _list(model.scaler.mean), "scale": _list(model.scaler.scale)},
        "covariance_type": p.covariance_type,
        "n_components": p.n_components,
        "weights": _list(p.weights),
        "means": _list(p.means),
        "covariances": _list(p.covariances),
        "settings": model.settings,
        "n_samples": model.n_samples,
        "converged": model.converged,
        "n_iter": model.n_iter,
        "log_likelihood": model.log_likelihood,
        "log_likelihood_quantiles": model.log_likelihood_quantiles,
        "history": model.history,
        "diagnostics": model.diagnostics,
    }
    if model.selection is not None:
        doc["selection"] = model.selection
    return doc


def dumps_model(model: Model) -> bytes:
    """Serialize; raises NumericalError if anything is NaN or infinite."""
    try:
        text = _dumps(model_to_document(model), "")
    except ValueError:
        raise NumericalError("the fitted model contains NaN or infinity; it was not written") from None
    return (text + "\n").encode("utf-8")


def _dumps(value, indent: str) -> str:
    """JSON with objects and nested arrays indented, arrays of scalars on one line."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {_dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (list, dict)) for v in value):
        return "[\n" + ",\n".join(inner + _dumps(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, allow_nan=False)


# ---------------------------------------------------------------- reading
class _Reject(Exception):
    pass


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise _Reject(f"duplicate key {key!r}")
        out[key] = value
    return out


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject(f"number {text} is out of range")
    return value


def _no_constant(name: str):
    raise _Reject(f"{name} is not valid JSON")


def read_model(path: str) -> Model:
    """Load and validate a model file.

    Raises
    ------
    NoInputError
        The file does not exist or cannot be read.
    ModelError
        The file is not a valid gmmcli model; the message names the field.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise NoInputError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise NoInputError(f"{path}: is a directory, not a model file") from None
    except OSError as exc:
        raise NoInputError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_model(raw, path)


def parse_model(raw: bytes, path: str) -> Model:
    """Validate a model document given as bytes (``path`` names it in messages)."""
    try:
        doc = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
            parse_float=_finite_float, parse_constant=_no_constant,
        )
    except _Reject as exc:
        raise ModelError(f"{path}: not a valid model file: {exc}") from None
    except UnicodeDecodeError:
        raise ModelError(f"{path}: not a model file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(raw.rstrip()) or exc.msg.startswith("Unterminated string")
        what = "truncated" if truncated else "invalid JSON"
        raise ModelError(f"{path}: not a model file ({what} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ModelError(f"{path}: not a model file (nested too deeply)") from None
    return _Validator(path).model(doc)


class _Validator:
    def __init__(self, path: str):
        self.path = path

    def fail(self, field: str, problem: str) -> ModelError:
        return ModelError(f"{self.path}: field {field!r}: {problem}")

    def get(self, doc: dict, key: str, kinds, field: Optional[str] = None):
        field = field or key
        if key not in doc:
            raise self.fail(field, "missing")
        value = doc[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise self.fail(field, f"expected {_kind_name(kinds)}, got {_kind_name(type(value))}")
        return value

    def array(self, value, shape: tuple, field: str) -> np.ndarray:
        try:
            arr = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise self.fail(field, f"expected an array of numbers of shape {list(shape)}") from None
        if arr.shape != shape:
            raise self.fail(field, f"shape is {list(arr.shape)}, expected {list(shape)}")
        if not np.isfinite(arr).all():
            raise self.fail(field, "contains a non-finite number")
        return arr

    def model(self, doc) -> Model:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ModelError(f"{self.path}: not a gmmcli model file (no \"format\": \"{FORMAT}\")")
        version = self.get(doc, "schema_version", int)
        if version > SCHEMA_VERSION:
            raise self.fail(
                "schema_version",
                f"{version} is newer than this gmmcli reads ({SCHEMA_VERSION}); upgrade gmmcli",
            )
        if version < 1:
            raise self.fail("schema_version", f"{version} is not a valid version")
        names = self.get(doc, "feature_names", list)
        if not names or not all(isinstance(n, str) for n in names):
            raise self.fail("feature_names", "expected a non-empty list of strings")
        if len(set(names)) != len(names):
            raise self.fail("feature_names", "contains duplicate names")
        cov_type = self.get(doc, "covariance_type", str)
        if cov_type not in COVARIANCE_TYPES:
            raise self.fail("covariance_type", f"{cov_type!r} is not one of {', '.join(COVARIANCE_TYPES)}")
        k = self.get(doc, "n_components", int)
        if k < 1:
            raise self.fail("n_components", "must be at least 1")
        d = len(names)
        weights = self.array(self.get(doc, "weights", list), (k,), "weights")
        if (weights < 0).any():
            raise self.fail("weights", "contains a negative weight")
        if abs(weights.sum() - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise self.fail("weights", f"sum to {weights.sum():.10g}, not 1")
        means = self.array(self.get(doc, "means", list), (k, d), "means")
        shape = COVARIANCE_OPS[cov_type].shape(k, d)
        covariances = self.array(self.get(doc, "covariances", list), shape, "covariances")
        params = self.params(weights, means, covariances, cov_type)
        return Model(
            params=params,
            feature_names=tuple(names),
            has_header=self.get(doc, "has_header", bool),
            scaler=self.scaler(doc, d),
            settings=self.get(doc, "settings", dict),
            n_samples=self.get(doc, "n_samples", int),
            converged=self.get(doc, "converged", bool),
            n_iter=self.get(doc, "n_iter", int),
            history=self.history(doc),
            log_likelihood=self.get(doc, "log_likelihood", dict),
            log_likelihood_quantiles=self.get(doc, "log_likelihood_quantiles", dict),
            diagnostics=self.get(doc, "diagnostics", dict),
            gmmcli_version=self.get(doc, "gmmcli_version", str),
            selection=self.get(doc, "selection", dict) if "selection" in doc else None,
        )

    def params(self, weights, means, covariances, cov_type) -> GaussianMixtureParams:
        if cov_type in ("full", "tied"):
            stack = covariances[None] if cov_type == "tied" else covariances
            for i, c in enumerate(stack):
                if np.abs(c - c.T).max() > SYMMETRY_TOLERANCE * max(1.0, np.abs(c).max()):
                    where = "covariances" if cov_type == "tied" else f"covariances[{i}]"
                    raise self.fail(where, "is not symmetric")
        try:
            return make_params(weights, means, covariances, cov_type)
        except NumericalError:
            for i, c in enumerate(covariances if cov_type != "tied" else [covariances]):
                try:
                    COVARIANCE_OPS[cov_type].precisions_chol(np.asarray([c]) if cov_type != "tied" else c)
                except NumericalError:
                    where = "covariances" if cov_type == "tied" else f"covariances[{i}]"
                    raise self.fail(where, "is not positive definite") from None
            raise self.fail("covariances", "is not positive definite") from None

    def scaler(self, doc, d) -> Optional[Scaler]:
        if "scaler" not in doc:
            raise self.fail("scaler", "missing")
        value = doc["scaler"]
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail("scaler", "expected an object or null")
        mean = self.array(self.get(value, "mean", list, "scaler.mean"), (d,), "scaler.mean")
        scale = self.array(self.get(value, "scale", list, "scaler.scale"), (d,), "scaler.scale")
        if (scale <= 0).any():
            raise self.fail("scaler.scale", "contains a value that is not positive")
        return Scaler(mean, scale)

    def history(self, doc) -> dict:
        history = self.get(doc, "history", dict)
        restarts = self.get(history, "restarts", list, "history.restarts")
        chosen = self.get(history, "chosen", int, "history.chosen")
        if not 0 <= chosen < len(restarts):
            raise self.fail("history.chosen", f"{chosen} is not the index of a restart")
        for i, restart in enumerate(restarts):
            if not isinstance(restart, dict):
                raise self.fail(f"history.restarts[{i}]", "expected an object")
            values = self.get(restart, "log_likelihood", list, f"history.restarts[{i}].log_likelihood")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise self.fail(f"history.restarts[{i}].log_likelihood", "expected a list of numbers")
        return history


def _tuple(kinds):
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _kind_name(kinds) -> str:
    names = {dict: "an object", list: "an array", str: "a string", int: "an integer",
             float: "a number", bool: "true or false", type(None): "null"}
    return " or ".join(names.get(k, k.__name__) for k in _tuple(kinds))
