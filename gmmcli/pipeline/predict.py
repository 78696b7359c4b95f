"""`gmmcli predict`, `--explain` and `gmmcli trace`."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, Optional

import numpy as np

from gmmcli.core.missing import score_rows_missing
from gmmcli.core.stats import LOWEST, estimate_weighted_log_prob, score_rows
from gmmcli.errors import ModelError, OutputError, UsageError
from gmmcli.io.atomic import output_file
from gmmcli.io.columnar import table_output
from gmmcli.io.csv_reader import CsvFormat, resolve_columns
from gmmcli.io.inputs import model_columns, open_inputs
from gmmcli.io.model_file import Model, read_model
from gmmcli.io.predictions import OUTPUT_FIELDS, PredictionWriter, labels_of, prediction_columns
from gmmcli.io.source import STDIN
from gmmcli.parallel import default_threads, ordered_map

# Predict streams the input in blocks of about this many bytes: memory is flat in the input size.
PREDICT_BLOCK_BYTES = 4 << 20
from gmmcli.pipeline.data import refuse_overwriting_input


# ---------------------------------------------------------------- predict
@dataclass(frozen=True)
class PredictRequest:
    model: str
    input: str = STDIN
    inputs: tuple = ()  # several files or globs, read one after the other (default: input)
    output: Optional[str] = None
    fmt: Optional[CsvFormat] = None
    keep: Optional[str] = None
    fields: tuple = OUTPUT_FIELDS
    output_format: str = "csv"
    block_bytes: int = PREDICT_BLOCK_BYTES
    outlier_quantile: Optional[float] = None
    missing: str = "error"


@dataclass(frozen=True)
class PredictResult:
    n_rows: int
    seconds: float
    n_dropped: int = 0  # rows with missing cells left out (--missing drop)


def read_model_argument(model_path: str, input_path: str, command: str = "predict") -> Model:
    """The MODEL argument's model; when it is not one but the input is, say the two were swapped
    (in the words of ``command``: predict, summary, plot, report)."""
    try:
        return read_model(model_path)
    except ModelError:
        if input_path.lower().endswith(".json") and not model_path.lower().endswith(".json"):
            raise ModelError(f"{model_path}: not a model file; the model comes first "
                             f"(gmmcli {command} {input_path} {model_path}?)") from None
        raise


def open_for_model(model: Model, inputs, fmt: Optional[CsvFormat], keep_spec: Optional[str],
                   block_bytes: int = PREDICT_BLOCK_BYTES):
    """A reader of the input(s) and the indices of the model's and the kept columns."""
    fmt = fmt or CsvFormat()
    if fmt.has_header is None:
        fmt = replace(fmt, has_header=model.has_header)
    reader = open_inputs([inputs] if isinstance(inputs, str) else inputs, fmt, block_bytes=block_bytes)
    try:
        selected = model_columns(reader, model.feature_names, model.has_header)
        keep, _ = resolve_columns(keep_spec, reader.names, [True] * len(reader.names)) if keep_spec else ([], [])
    except BaseException:
        reader.close()
        raise
    return reader, selected, keep


def score_block(model: Model, X: np.ndarray):
    """log p(x) in original units, and responsibilities, for raw rows ``X``.

    Rows with NaN cells are scored on their observed cells (the marginal mixture).
    """
    Z = model.scaler.transform(X)
    log_norm, resp = score_rows_missing(Z, model.params) if np.isnan(Z).any() else score_rows(Z, model.params)
    return np.maximum(model.scaler.to_original_units(log_norm, Z), LOWEST), resp


def outlier_threshold(model: Model, quantile: float) -> float:
    """The training log-likelihood at ``quantile`` (interpolated between the levels the model stores)."""
    stored = sorted((float(level), value) for level, value in model.log_likelihood_quantiles.items())
    levels = [level for level, _ in stored]
    if not stored or not levels[0] <= quantile <= levels[-1]:
        span = f"between {levels[0]:g} and {levels[-1]:g}" if stored else "available (the model stores no quantiles)"
        raise UsageError(f"--outlier-quantile must be {span}, the levels the model stores (got {quantile:g})")
    return float(np.interp(quantile, levels, [value for _, value in stored]))


def _score_and_format(model: Model, writer: PredictionWriter, missing: str, block) -> tuple:
    """(rows written, rows dropped, formatted bytes) of one block."""
    X, keep = block.X, block.keep
    n_dropped = 0
    if missing == "drop":
        complete = ~np.isnan(X).any(axis=1)
        if not complete.all():
            X, keep = X[complete], [column.filter(complete) for column in keep]
            n_dropped = len(complete) - len(X)
    log_likelihood, resp = score_block(model, X)
    return len(X), n_dropped, writer.format(keep, resp, log_likelihood)


def predict(req: PredictRequest, sink: Callable[[bytes], None]) -> PredictResult:
    """Stream per-row probabilities of ``req.input`` under the model to ``sink`` (or ``req.output``)."""
    started = time.perf_counter()
    inputs = req.inputs or (req.input,)
    refuse_overwriting_input(inputs, req.output)
    with output_file(req.output) as out:
        model = read_model_argument(req.model, inputs[0])
        noise = model.params.noise is not None
        if noise and req.missing == "marginalize":
            raise UsageError(f"{req.model}: a model with a noise component cannot score rows with missing cells "
                             "(--missing marginalize); use --missing drop")
        reader, selected, keep = open_for_model(model, inputs, req.fmt, req.keep, req.block_bytes)
        threshold = None if req.outlier_quantile is None else outlier_threshold(model, req.outlier_quantile)
        keep_names = [reader.names[j] for j in keep]
        table = table_output(out, req.output, prediction_columns(keep_names, model.n_components, req.fields,
                                                                 threshold is not None, noise))
        writer = PredictionWriter(table.write if table else out.write if out else sink,
                                  table.kind if table else req.output_format, keep_names, model.n_components,
                                  req.fields, threshold, noise)
        n_rows = n_dropped = 0
        score = partial(_score_and_format, model, writer, req.missing)
        blocks = reader.blocks(selected, keep, missing=req.missing != "error")
        try:
            for n, dropped, data in ordered_map(score, blocks, default_threads()):
                writer.sink(data)
                n_rows += n
                n_dropped += dropped
        finally:
            reader.close()
        if table is not None:
            table.close()
    return PredictResult(n_rows, time.perf_counter() - started, n_dropped)


# ---------------------------------------------------------------- explain
@dataclass(frozen=True)
class Explanation:
    """The four layers of one prediction (see ``render.render_explanation``)."""

    row: int
    location: str  # line N (or row N of a columnar file)
    feature_names: tuple
    raw: np.ndarray
    standardized: Optional[np.ndarray]
    log_weights: np.ndarray
    log_densities: np.ndarray
    probabilities: np.ndarray
    label: int  # -1: the noise component
    log_likelihood: float
    noise: bool = False  # the last entry of the arrays is the noise component (uniform density)


def explain(model_path: str, input_path: str, row: int, fmt: Optional[CsvFormat] = None) -> Explanation:
    """Explain the prediction for data row ``row`` (1-based) of the input."""
    if row < 1:
        raise UsageError(f"--explain takes a data row number >= 1 (got {row})")
    model = read_model_argument(model_path, input_path)
    reader, selected, _ = open_for_model(model, input_path, fmt, None)
    seen = 0
    try:
        for block in reader.blocks(selected):
            if seen + len(block.X) >= row:
                x = block.X[row - seen - 1]
                location = block.position(row - seen - 1)  # exact unless blank lines or quoted newlines precede
                break
            seen += len(block.X)
        else:
            raise UsageError(f"--explain {row}: {reader.name} has only {seen} data rows")
    finally:
        reader.close()
    z = model.scaler.transform(x[None, :])[0]
    params = model.params
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        weighted = estimate_weighted_log_prob(z[None, :], params)[0]
        log_weights = np.log(params.weights if params.noise is None else np.append(params.weights, params.noise.weight))
    log_norm, resp = score_rows(z[None, :], params)
    jac = model.scaler.log_jacobian
    return Explanation(  # densities in original units: the Jacobian is the same for every component
        row, location, model.feature_names, x, None if model.scaler.is_identity else z,
        log_weights, weighted - log_weights + jac, resp[0], int(labels_of(resp, params.n_components)[0]),
        float(log_norm[0] + jac), params.noise is not None,
    )


# ---------------------------------------------------------------- trace
def trace(model_path: str) -> Model:
    """The model whose log-likelihood history ``gmmcli trace`` shows."""
    return read_model(model_path)


def _predict_part(path: str, output: str, request: PredictRequest) -> int:
    """One input file → one output part (runs on a Dask worker)."""
    return predict(replace(request, input=path, inputs=(), output=output), sink=None).n_rows


def predict_on_dask(req: PredictRequest, inputs: tuple, scheduler: Optional[str]) -> PredictResult:
    """Predict every input file on a Dask cluster, one output part per file, in input order.

    ``req.output`` is a pattern whose ``*`` becomes the part number (00000, 00001, …). Every
    part is written atomically; if any file fails, the parts this run wrote are removed.
    """
    from gmmcli.engines import dask_engine

    started = time.perf_counter()
    dask_engine.require_dask()
    if not req.output or req.output.count("*") != 1:
        raise UsageError("with --engine dask, -o takes a pattern with one '*', such as 'out/part-*.csv'")
    paths = dask_engine.expand_inputs(inputs)
    outputs = [req.output.replace("*", f"{i:05d}") for i in range(len(paths))]
    folder = os.path.dirname(os.path.abspath(outputs[0]))
    if not os.path.isdir(folder):
        raise OutputError(f"{req.output}: folder {folder} does not exist")
    read_model(req.model)  # a bad model fails here, once, before any work
    existed = {o for o in outputs if os.path.exists(o)}
    client = dask_engine.connect(scheduler)
    try:
        futures = client.map(_predict_part, paths, outputs, request=req, pure=False)
        n_rows = sum(client.gather(futures))
    except BaseException:
        for o in outputs:
            if o not in existed and os.path.exists(o):
                os.unlink(o)
        raise
    finally:
        dask_engine.close_client(client)
    return PredictResult(n_rows, time.perf_counter() - started)
