"""The model file: versioned JSON, validated field by field on load.

Writing uses ``allow_nan=False`` and Python's shortest round-trip float repr,
so save → load → save is byte-identical. Reading refuses NaN/Infinity tokens,
numbers that overflow to infinity and duplicate keys; then every field, nested
ones included, must pass the JSON Schema shipped as ``model.schema.json`` (one
artefact documents the format and enforces it); then the checks that span
fields: shapes, weights summing to 1, positive definite covariances, and
parameters whose scoring and sampling stay finite. Every refusal is one line
naming the file and the field, e.g. ``m.json: field 'means[0][1]': ...``.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np

from gmmcli import __version__
from gmmcli.core.models import MODELS
from gmmcli.core.models.base import decompose
from gmmcli.core.noise import Box, noise_term
from gmmcli.core.params import GaussianMixtureParams, make_params
from gmmcli.errors import ModelError, NoInputError, NumericalError
from gmmcli.io.source import open_file
from gmmcli.scaler import Scaler

FORMAT = "gmmcli-model"
SCHEMA_VERSION = 3
# How far (relative) an mclust model's covariances, net of reg_covar, may stray from its
# constraint: rounding in the M-step leaves ~1e-12; a hand-edited file is far off.
CONSTRAINT_TOLERANCE = 1e-6
# Version 2 added mclust's covariance models and their "decomposition"; a model that
# version 1 can express (scikit-learn's four) is still written as version 1.
FIRST_VERSION_WITH_DECOMPOSITION = 2
FIRST_VERSION_WITH_NOISE = 3  # the "noise" object
WEIGHT_SUM_TOLERANCE = 1e-6
SYMMETRY_TOLERANCE = 1e-8


@dataclass(frozen=True)
class Model:
    """Everything a model file holds.

    ``params`` are in the space the model was fit in: the output of ``scaler``,
    which is ``Scaler.identity(d)`` for a ``--no-standardize`` fit (the file's
    null; the writer also takes None for it). The dict fields are stored as read,
    except that the quantiles' values are floats.
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
    noise_box: Optional[Box] = None  # with a noise component: its region (volume = hypervolume)
    uncertainty: Optional[dict] = None  # written by `gmmcli bootstrap -o`: standard errors and intervals

    @property
    def n_components(self) -> int:
        return self.params.n_components

    @property
    def hypervolume(self) -> Optional[float]:
        """V of the noise component, original units (None without one)."""
        return None if self.noise_box is None else math.exp(self.noise_box.log_volume)


def _list(a: np.ndarray) -> Any:
    return np.asarray(a, dtype=float).tolist()


def model_to_document(model: Model) -> dict:
    """The JSON document of a model, keys in a fixed order."""
    p = model.params
    decomposed = p.model.has_decomposition
    version = FIRST_VERSION_WITH_NOISE if p.noise else FIRST_VERSION_WITH_DECOMPOSITION if decomposed else 1
    doc = {
        "format": FORMAT,
        "schema_version": version,
        "gmmcli_version": model.gmmcli_version,
        "feature_names": list(model.feature_names),
        "has_header": model.has_header,
        # --no-standardize: Scaler.identity in memory, null in the file (as version 1 always wrote it)
        "scaler": None if model.scaler is None or model.scaler.is_identity
        else {"mean": _list(model.scaler.mean), "scale": _list(model.scaler.scale)},
        "covariance_type": p.covariance_type,
        "n_components": p.n_components,
        "weights": _list(p.weights),
        "means": _list(p.means),
        "covariances": _list(p.covariances),
        **({"decomposition": decomposition_document(p)} if decomposed else {}),
        **({"noise": noise_document(model)} if p.noise else {}),
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
    if model.uncertainty is not None:
        doc["uncertainty"] = model.uncertainty
    return doc


def decomposition_document(params: GaussianMixtureParams) -> dict:
    """Volume λ_k, shape A_k and orientation D_k of each Σ_k = λ_k D_k A_k D_kᵀ (mclust's terms)."""
    parts = decompose(params.dense_covariances())
    return {key: _list(value) for key, value in parts.items()}


def noise_document(model: Model) -> dict:
    """The noise component: its proportion, hypervolume and box (original units)."""
    box = model.noise_box
    return {"proportion": float(model.params.noise.weight), "hypervolume": model.hypervolume,
            "box": {"axes": _list(box.axes), "lower": _list(box.lower), "upper": _list(box.upper)}}


def dumps_model(model: Model) -> bytes:
    """Serialize; raises NumericalError if anything is NaN or infinite."""
    try:
        text = _dumps(model_to_document(model), "")
    except ValueError:
        raise NumericalError("the fitted model contains NaN or infinity; it was not written") from None
    return (text + "\n").encode("utf-8")


def write_model(out, model: Model) -> bytes:
    """The model's document, also written to ``out`` (an atomic output) when there is one."""
    document = dumps_model(model)
    if out is not None:
        out.write(document)
    return document


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
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.schema.json")

# Bounds that keep scoring and sampling finite (the schema's $defs bound each field on its own;
# these bound what the code computes from several fields together).
REAL_LIMIT = 1e300       # sums and differences of two such numbers stay finite
ORIGINAL_LIMIT = 1e305   # original units: a few standard deviations further still fit in a float
MIN_SCALE = 1e-300       # x / scale stays finite for ordinary x


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
        The file is not a valid gmmcli model; the one-line message names the field.
    """
    with open_file(path, "a model file", missing="no such model file") as handle:
        try:
            raw = handle.read()
        except OSError as exc:
            raise NoInputError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_model(raw, path)


def parse_model(raw: bytes, path: str) -> Model:
    """Validate a model document given as bytes.

    In order: JSON syntax (numbers a float holds, no duplicate keys); the format
    and version; the JSON Schema (every field's type and range, nested fields
    included); then the checks that span fields.

    Parameters
    ----------
    raw : bytes
        The file's content.
    path : str
        Names the file in messages.

    Raises
    ------
    ModelError
        One line: ``{path}: field '{key path}': {problem}`` (or, for JSON that does
        not parse, what is wrong and where).
    """
    doc = _decode(raw, path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f"{path}: not a gmmcli model file (no \"format\": \"{FORMAT}\")")
    version = doc.get("schema_version")
    if type(version) is int and version > SCHEMA_VERSION:  # before the schema: a newer file may have new fields
        raise ModelError(
            f"{path}: field 'schema_version': {version} is newer than this gmmcli reads ({SCHEMA_VERSION}); "
            "upgrade gmmcli"
        )
    _check_schema(doc, path)
    return _Validator(path).model(doc)


def _decode(raw: bytes, path: str):
    """The parsed JSON; NaN, Infinity, numbers beyond a float and duplicate keys are refused."""
    try:
        return json.loads(
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


def _field_name(where) -> str:
    """A key path as people write it: ``history.restarts[0].log_likelihood``."""
    name = ""
    for part in where:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


# ---------------------------------------------------------------- the JSON Schema
@functools.lru_cache(maxsize=None)
def _schema_validator():
    """The compiled validator of ``model.schema.json``, built once per process.

    jsonschema is imported here, not at the top, so that ``gmmcli --help`` does not pay for it.
    """
    import jsonschema

    with open(SCHEMA_FILE, encoding="utf-8") as handle:
        schema = json.load(handle)
    base = jsonschema.Draft202012Validator
    # JSON Schema counts 1.0 as an integer; gmmcli writes integers without a fraction and indexes with them
    checker = base.TYPE_CHECKER.redefine("integer", lambda _, value: type(value) is int)
    items = functools.partial(_items_in_bulk, base.VALIDATORS["items"], schema["$defs"])
    return jsonschema.validators.extend(base, validators={"items": items}, type_checker=checker)(schema)


def _items_in_bulk(items_keyword, defs, validator, items, instance, schema):
    """The ``items`` keyword, with arrays of numbers checked in one quick loop.

    Parameter arrays are most of a model file, and jsonschema validates a number
    in about 6 µs; a number that passes the plain range test needs no more, and
    any other element is validated the ordinary way (which reports it).
    """
    bounds = _number_bounds(items, defs)
    if bounds is None or "prefixItems" in schema or not isinstance(instance, list):
        yield from items_keyword(validator, items, instance, schema)
        return
    low, high = bounds
    for index, item in enumerate(instance):
        if not ((type(item) is float or type(item) is int) and low <= item <= high):
            yield from validator.descend(item, items, path=index)


def _number_bounds(items, defs) -> Optional[tuple]:
    """(low, high) if a number passes ``items`` exactly when low <= number <= high, else None."""
    if isinstance(items, dict) and set(items) == {"$ref"} and items["$ref"].startswith("#/$defs/"):
        items = defs.get(items["$ref"][len("#/$defs/"):])
    if not isinstance(items, dict) or not set(items) <= {"type", "minimum", "maximum", "items", "description"}:
        return None
    types = items.get("type", ())
    if "number" not in ((types,) if isinstance(types, str) else types):
        return None
    return items.get("minimum", -math.inf), items.get("maximum", math.inf)


def _check_schema(doc: dict, path: str) -> None:
    """Raise ModelError naming the field of the first schema violation.

    The shallowest error wins (a missing or unknown field before a bad value
    inside another); ties go to the first found, so messages are stable.
    """
    try:
        errors = list(_schema_validator().iter_errors(doc))
    except RecursionError:
        raise ModelError(f"{path}: not a model file (nested too deeply)") from None
    if errors:
        where, problem = _describe(min(errors, key=lambda e: len(e.absolute_path)))
        raise ModelError(f"{path}: field {_field_name(where)!r}: {problem}")


_TYPE_NAMES = {"object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _describe(error) -> tuple:
    """(key path, problem) of a jsonschema error, in gmmcli's words."""
    where = list(error.absolute_path)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if "propertyNames" in error.absolute_schema_path:  # the key itself is wrong
        return where + [value], f"the key is not {error.schema.get('description', 'allowed here')}"
    if kind == "required":
        return where + [next(key for key in expected if key not in value)], "missing"
    if kind == "additionalProperties":
        known = error.schema.get("properties", {})
        return where + [next(key for key in value if key not in known)], "unknown field (not part of the model format)"
    if kind == "enum":
        return where, f"{_show(value)} is not one of {', '.join(map(str, expected))}"
    if kind == "uniqueItems":
        return where, "contains duplicates"
    wanted = _expectation(kind, expected)
    if wanted is None:  # a keyword this reader does not word itself
        return where, error.message.replace("\n", " ")[:200]
    return where, f"{wanted}, got {_show(value)}"


def _expectation(kind: str, expected) -> Optional[str]:
    """What a schema keyword asks for, in words ("expected an integer", "must be at least 1")."""
    if kind == "type":
        kinds = [expected] if isinstance(expected, str) else expected
        return "expected " + " or ".join(_TYPE_NAMES[t] for t in kinds)
    bounds = {"minimum": "at least", "exclusiveMinimum": "greater than",
              "maximum": "at most", "exclusiveMaximum": "less than"}
    if kind in bounds:
        return f"must be {bounds[kind]} {_show(expected)}"
    return {
        "const": f"expected {_show(expected)}",
        "minItems": f"expected at least {expected} item(s)",
        "minLength": f"expected at least {expected} character(s)",
    }.get(kind)


def _show(value) -> str:
    """A value as it would appear in JSON, short (containers by kind)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "an array" if value else "an empty array"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------- checks across fields
class _Validator:
    """What the schema cannot say: shapes, sums, definiteness, and arithmetic that stays finite."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, field: str, problem: str) -> ModelError:
        return ModelError(f"{self.path}: field {field!r}: {problem}")

    def array(self, value, shape: tuple, field: str) -> np.ndarray:
        try:
            arr = np.array(value, dtype=float)
        except ValueError:  # ragged nesting
            raise self.fail(field, f"expected an array of numbers of shape {list(shape)}") from None
        if arr.shape != shape:
            raise self.fail(field, f"shape is {list(arr.shape)}, expected {list(shape)}")
        return arr

    def model(self, doc: dict) -> Model:
        """The Model of a document that passed the schema."""
        names = doc["feature_names"]
        params = self.params(doc, doc["n_components"], len(names))
        self.model_constraints(doc, params)
        scaler = self.scaler(doc["scaler"], len(names))
        box = self.noise_box(doc.get("noise"), params)
        if box is not None:
            params = replace(params, noise=noise_term(doc["noise"]["proportion"], box.log_volume, scaler.log_jacobian))
        self.scoring(params)
        self.original_units(params, scaler)
        self.counts(doc)
        self.uncertainty(doc.get("uncertainty"), params, names)
        return Model(
            params=params,
            feature_names=tuple(names),
            has_header=doc["has_header"],
            scaler=scaler,
            settings=doc["settings"],
            n_samples=doc["n_samples"],
            converged=doc["converged"],
            n_iter=doc["n_iter"],
            history=doc["history"],
            log_likelihood=doc["log_likelihood"],
            # floats: predict interpolates them with numpy, which cannot take an integer beyond 64 bits
            log_likelihood_quantiles={level: float(value) for level, value in doc["log_likelihood_quantiles"].items()},
            diagnostics=doc["diagnostics"],
            gmmcli_version=doc["gmmcli_version"],
            selection=doc.get("selection"),
            noise_box=box,
            uncertainty=doc.get("uncertainty"),
        )

    def noise_box(self, noise: Optional[dict], params: GaussianMixtureParams) -> Optional[Box]:
        """The noise's box: D×D orthonormal axes, lower < upper, its volume the hypervolume (that
        the proportion completes the weights to 1 is checked with the weights)."""
        if noise is None:
            return None
        d = params.n_features
        axes = self.array(noise["box"]["axes"], (d, d), "noise.box.axes")
        lower = self.array(noise["box"]["lower"], (d,), "noise.box.lower")
        upper = self.array(noise["box"]["upper"], (d,), "noise.box.upper")
        if not np.allclose(axes.T @ axes, np.eye(d), atol=1e-9):
            raise self.fail("noise.box.axes", "are not orthonormal")
        if not (upper > lower).all():
            raise self.fail("noise.box.upper", "must exceed noise.box.lower in every direction")
        box = Box(axes, lower, upper)
        if not math.isfinite(box.log_volume) or abs(box.log_volume - math.log(noise["hypervolume"])) > 1e-9:
            raise self.fail("noise.hypervolume", "is not the volume of noise.box")
        return box

    def params(self, doc: dict, k: int, d: int) -> GaussianMixtureParams:
        """Weights, means and covariances of the shapes K and D imply; weights sum to 1; covariances SPD."""
        cov_type = doc["covariance_type"]
        weights = self.array(doc["weights"], (k,), "weights")
        if (weights < 0).any():
            raise self.fail("weights", "contains a negative weight")
        total = weights.sum() + (doc["noise"]["proportion"] if "noise" in doc else 0.0)
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise self.fail("weights", f"sum to {weights.sum():.10g}, not 1" + (" with noise.proportion" if "noise" in doc else ""))
        means = self.array(doc["means"], (k, d), "means")
        covariances = self.array(doc["covariances"], MODELS[cov_type].shape(k, d), "covariances")
        components = _components(covariances, cov_type, d)
        for field, _, c in components:
            if c.ndim == 2 and np.abs(c - c.T).max() > SYMMETRY_TOLERANCE * max(1.0, np.abs(c).max()):
                raise self.fail(field, "is not symmetric")
        try:
            return make_params(weights, means, covariances, cov_type)
        except NumericalError:
            for field, stored, _ in components:
                try:
                    MODELS[cov_type].precisions_chol(stored)
                except NumericalError:
                    raise self.fail(field, "is not positive definite") from None
            raise self.fail("covariances", "is not positive definite") from None

    def model_constraints(self, doc: dict, params: GaussianMixtureParams) -> None:
        """The covariances keep their model's constraint (as they are, or net of reg_covar), the decomposition
        rebuilds them, and the settings name the same model."""
        model = params.model
        recorded = doc["settings"].get("covariance_type", params.covariance_type)
        if recorded != params.covariance_type:
            raise self.fail("settings.covariance_type", f"{recorded!r} differs from covariance_type "
                                                        f"{params.covariance_type!r}")
        if not model.has_decomposition:
            return
        dense = params.dense_covariances()
        reg = float(doc["settings"].get("reg_covar", 0.0))
        # reg_covar now enters the scatter matrices, so the covariances keep the constraint as they
        # are; files from before that change hold the estimate plus reg_covar·I
        problem = model.constraint_problem(dense, CONSTRAINT_TOLERANCE)
        if problem is not None and reg > 0:
            net = model.constraint_problem(dense - reg * np.eye(params.n_features), CONSTRAINT_TOLERANCE)
            problem = problem if net is not None else None
        if problem is not None:
            raise self.fail("covariances", f"break the {params.covariance_type} model: {problem}")
        parts = doc.get("decomposition")
        if parts is None:
            raise self.fail("decomposition", f"is missing (the {params.covariance_type} model records one)")
        volume, shape, orientation = (np.asarray(parts[key], dtype=float) for key in ("volume", "shape", "orientation"))
        expected = (params.n_components, params.n_features)
        if volume.shape != expected[:1] or shape.shape != expected or orientation.shape != expected + expected[1:]:
            raise self.fail("decomposition", f"shapes do not fit {expected[0]} components of {expected[1]} columns")
        rebuilt = volume[:, None, None] * np.einsum("kij,kj,klj->kil", orientation, shape, orientation)
        if not np.allclose(rebuilt, dense, rtol=1e-6, atol=1e-12 * np.abs(dense).max()):
            raise self.fail("decomposition", "does not rebuild the covariances")

    def scaler(self, value: Optional[dict], d: int) -> Scaler:
        """The scaler (``Scaler.identity`` for null), with scales from 1e-300 up and a mean that
        standardizes to a finite value."""
        if value is None:
            return Scaler.identity(d)
        mean = self.array(value["mean"], (d,), "scaler.mean")
        scale = self.array(value["scale"], (d,), "scaler.scale")
        if (scale <= 0).any():
            raise self.fail("scaler.scale", "contains a value that is not positive")
        if (scale < MIN_SCALE).any():
            raise self.fail("scaler.scale", f"contains a value below {MIN_SCALE:g} (standardizing would overflow)")
        if not (np.abs(mean) / scale <= REAL_LIMIT).all():
            raise self.fail("scaler.mean", f"lies more than {REAL_LIMIT:g} times scaler.scale from 0 "
                                           "(standardizing would overflow)")
        return Scaler(mean, scale)

    def scoring(self, params: GaussianMixtureParams) -> None:
        """Refuse parameters whose scoring overflows (it would give NaN probabilities, not an error).

        Scoring a row z sums log|Λₖ|, log wₖ and −½(z − μₖ)ᵀΛₖ(z − μₖ); a row so far out
        that the last overflows is scored from mₖ = μₖᵀΛₖμₖ and qₖ(u) = uᵀΛₖu on |u|∞ = 1,
        which D Σⱼ qₖ(eⱼ) bounds. Both must stay within 1e300 for the sums to stay finite.
        """
        ops = params.model
        k, d = params.n_components, params.n_features
        fields = [field for field, _, _ in _components(params.covariances, params.covariance_type, d)]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_det = ops.log_det(params.precisions_chol, k, d)
            spread = d * ops.mahalanobis(np.eye(d), np.zeros((k, d)), params.precisions_chol).sum(axis=0)
            reach = ops.mahalanobis(np.zeros((1, d)), params.means, params.precisions_chol)[0]
        for i in range(k):
            if not (np.isfinite(log_det[i]) and spread[i] <= REAL_LIMIT):
                raise self.fail(fields[min(i, len(fields) - 1)],
                                f"is so nearly singular that scoring overflows (precision above {REAL_LIMIT:g})")
            if not reach[i] <= REAL_LIMIT:
                raise self.fail(f"means[{i}]", "lies so far from 0, in units of its covariance, that scoring "
                                               f"overflows (squared Mahalanobis distance above {REAL_LIMIT:g})")

    def original_units(self, params: GaussianMixtureParams, scaler: Scaler) -> None:
        """Refuse a mixture that overflows in original units, where ``sample`` writes its rows."""
        if scaler.is_identity:  # means within 1e150 and variances within 1e300 are representable as they are
            return
        k, d = params.n_components, params.n_features
        # one component at a time: a dense (K, D, D) copy of diagonal covariances could be large
        variances = [np.diagonal(params.model.dense(stored, 1, d), axis1=1, axis2=2)
                     for _, stored, _ in _components(params.covariances, params.covariance_type, d)]
        sd = np.sqrt(np.broadcast_to(np.concatenate(variances), (k, d)))
        with np.errstate(over="ignore"):
            reach = (np.abs(params.means) + sd) * scaler.scale + np.abs(scaler.mean)
        for i in range(k):
            if not (reach[i] <= ORIGINAL_LIMIT).all():
                raise self.fail(f"means[{i}]", "in original units (times scaler.scale, plus scaler.mean) lies "
                                               f"beyond {ORIGINAL_LIMIT:g}, where sampling overflows")

    def uncertainty(self, section: Optional[dict], params: GaussianMixtureParams, names: list) -> None:
        """Each row of a bootstrap's section names a component and a column (or pair) of this model,
        and its lower bound does not exceed its upper (the schema checked the types)."""
        if section is None:
            return
        columns = set(names) | {f"{a}:{b}" for i, a in enumerate(names) for b in names[i + 1:]}
        for i, row in enumerate(section["rows"]):
            where = f"uncertainty.rows[{i}]"
            component = row["component"]
            if component == "noise" and params.noise is None:
                raise self.fail(f"{where}.component", "names a noise component the model does not have")
            if isinstance(component, int) and component >= params.n_components:
                raise self.fail(f"{where}.component", f"{component} is not a component of the model "
                                                      f"({params.n_components} components)")
            column = row["column"]
            if column is not None and column not in columns:
                raise self.fail(f"{where}.column", f"{column!r} is not a column (or pair a:b) of the model")
            if not row["lower"] <= row["upper"]:
                raise self.fail(f"{where}.lower", "exceeds upper")

    def counts(self, doc: dict) -> None:
        """The chosen restart exists; the rows that averages divide by are not zero."""
        chosen, restarts = doc["history"]["chosen"], doc["history"]["restarts"]
        if chosen >= len(restarts):
            raise self.fail("history.chosen", f"{chosen} is not the index of a restart")
        if doc["n_samples"] < 1 and "total_weight" not in doc["log_likelihood"]:
            raise self.fail("n_samples", "must be at least 1 when log_likelihood.total_weight is not given, got 0")


def _components(covariances: np.ndarray, covariance_type: str, n_features: int) -> list:
    """(field name, as stored, alone) per field: one per component, or the one shared covariance.

    "As stored" has the stored layout (a batch of one component, or the shared covariance
    itself), so the model table's functions take it as it is; "alone" is that component's
    covariance (a matrix, a diagonal or a variance).
    """
    model = MODELS[covariance_type]
    stored = model.per_component(covariances)
    if model.shared:
        return [("covariances", stored[0], stored[0])]
    return [(f"covariances[{i}]", part, part[0]) for i, part in enumerate(stored)]
