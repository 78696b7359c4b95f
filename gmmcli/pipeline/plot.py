"""`gmmcli plot` and `gmmcli report`: gather what a figure shows, in original units, and write it.

This module never draws: drawing is matplotlib's (``gmmcli.plots``, an optional extra), and
the command line hands a ``draw`` function in. Here the output is opened first (atomically,
so an unwritable destination fails before any work), the model and the input are read in
one bounded pass (:mod:`gmmcli.pipeline.scan`), and the bytes ``draw`` returns are written.

The BIC figure needs the selection grid. ``gmmcli select -o`` embeds it in the model file
(``"selection"``), so a chosen model carries its own; for a model written by ``fit``, the
grid printed by ``gmmcli select --format csv`` (or ``json``) can be given with ``--selection``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from typing import Callable, Optional

from gmmcli.errors import DataError, UsageError
from gmmcli.io.atomic import output_file
from gmmcli.io.csv_reader import CsvFormat, resolve_columns
from gmmcli.io.model_file import Model
from gmmcli.io.source import open_file
from gmmcli.pipeline.data import refuse_overwriting_input
from gmmcli.pipeline.predict import read_model_argument
from gmmcli.pipeline.scan import scan_input
from gmmcli.pipeline.summary import Summary, describe

KINDS = ("classification", "uncertainty", "density", "bic", "trace")
DATA_KINDS = ("classification", "uncertainty", "density")  # drawn from the input's rows
FIGURE_FORMATS = ("svg", "png", "pdf")
DEFAULT_MAX_POINTS = 10_000  # rows drawn; more only blur the picture (and bloat the file)
DEFAULT_MAX_COLUMNS = 6      # a scatter matrix of more columns is unreadable
CRITERIA_COLUMNS = ("bic", "aic", "icl", "holdout")


@dataclass(frozen=True)
class SelectionTable:
    """The (k, covariance type) grid of ``gmmcli select``: rows as in the model file's ``selection``."""

    criterion: str
    rows: tuple
    source: str  # "the model file" or the --selection file


@dataclass(frozen=True)
class TraceSeries:
    """One restart's log-likelihood per iteration, in original units."""

    restart: int
    chosen: bool
    values: tuple


@dataclass(frozen=True)
class FigureData:
    """Everything a figure or the report shows: values only, in original units.

    ``columns`` are the indices of the drawn columns (into ``summary.feature_names``);
    ``summary.scan`` carries the input's totals and its drawing sample.
    """

    model: Model
    summary: Summary
    columns: tuple
    selection: Optional[SelectionTable]
    traces: tuple


@dataclass(frozen=True)
class PlotRequest:
    """``gmmcli plot`` / ``gmmcli report``; ``kind`` None: every figure that applies (the report)."""

    model: str
    inputs: tuple = ()
    fmt: Optional[CsvFormat] = None
    kind: Optional[str] = "classification"
    output: Optional[str] = None
    columns: Optional[str] = None
    max_points: int = DEFAULT_MAX_POINTS
    seed: int = 0
    selection: Optional[str] = None
    outlier_quantile: Optional[float] = None
    missing: bool = False


def figure_format(output: str) -> str:
    """svg, png or pdf from the output's extension; a UsageError naming the choices otherwise."""
    extension = os.path.splitext(output)[1].lower().lstrip(".")
    if extension not in FIGURE_FORMATS:
        raise UsageError(f"-o {output}: the figure's format comes from its extension: .svg, .png or .pdf")
    return extension


def validate_plot_request(req: PlotRequest) -> None:
    """Raise UsageError for a request that cannot be drawn, before anything is read."""
    if req.kind is not None and req.kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)} (got {req.kind!r})")
    if (req.kind is None or req.kind in DATA_KINDS) and not req.inputs:
        what = "the report" if req.kind is None else f"--kind {req.kind}"
        raise UsageError(f"{what} draws the rows of an INPUT: give the data file after the model")
    if req.max_points < 1:
        raise UsageError(f"--max-points must be at least 1 (got {req.max_points})")


def figure_data(req: PlotRequest) -> FigureData:
    """Read the model (and scan the input, when the figure needs it) into a FigureData."""
    model = read_model_argument(req.model, req.inputs[0] if req.inputs else "",
                                "report" if req.kind is None else "plot")
    columns = drawn_columns(model, req.columns)
    scan = None
    if req.inputs and (req.kind is None or req.kind in DATA_KINDS):
        scan = scan_input(model, req.inputs, req.fmt, max_points=req.max_points, seed=req.seed,
                          outlier_quantile=req.outlier_quantile, missing=req.missing)
    selection = selection_table(model, req.selection)
    if req.kind == "bic" and selection is None:
        raise UsageError(f"{req.model} has no selection table (only gmmcli select -o writes one): "
                         "give the grid with --selection FILE (from gmmcli select --format csv)")
    return FigureData(model, describe(model, req.model, scan), columns, selection, trace_series(model))


def plot(req: PlotRequest, draw: Callable[[FigureData, Optional[str], str], bytes]) -> FigureData:
    """Write the figure (or, for ``kind`` None, the report) that ``draw(data, kind, format)`` makes.

    The output is opened before any work and appears only when complete.
    """
    validate_plot_request(req)
    if req.output is None:
        raise UsageError("-o FILE is needed to write a figure")
    kind_of_file = "html" if req.kind is None else figure_format(req.output)
    refuse_overwriting_input(req.inputs, req.output)
    with output_file(req.output) as out:
        data = figure_data(req)
        out.write(draw(data, req.kind, kind_of_file))
    return data


def drawn_columns(model: Model, spec: Optional[str]) -> tuple:
    """The model's columns to draw: ``-c`` names, indices or ranges, else the first six."""
    names = list(model.feature_names)
    if spec is None:
        return tuple(range(min(len(names), DEFAULT_MAX_COLUMNS)))
    selected, _ = resolve_columns(spec, names, [True] * len(names))
    if not selected:
        raise UsageError(f"-c {spec!r} leaves no column to draw")
    return tuple(selected)


def trace_series(model: Model) -> tuple:
    """Every restart's history in original units (the Jacobian offset is the same for all)."""
    ll = model.log_likelihood
    offset = ll["total_original_units"] - ll["total"] if "total_original_units" in ll and "total" in ll else 0.0
    chosen = model.history.get("chosen", 0)
    return tuple(TraceSeries(r, r == chosen, tuple(v + offset for v in run.get("log_likelihood", [])))
                 for r, run in enumerate(model.history.get("restarts", [])) if run.get("log_likelihood"))


def selection_table(model: Model, path: Optional[str]) -> Optional[SelectionTable]:
    """The grid: from ``--selection FILE`` when given, else the one embedded in the model (or None)."""
    if path is not None:
        return read_selection_file(path)
    if model.selection:
        return SelectionTable(model.selection["criterion"], tuple(model.selection["rows"]), "the model file")
    return None


def read_selection_file(path: str) -> SelectionTable:
    """The CSV or JSON that ``gmmcli select --format csv|json`` prints; the chosen row is its ``best``."""
    with open_file(path, "a selection table") as handle:
        text = handle.read().decode("utf-8", errors="replace")
    try:
        rows = json.loads(text) if text.lstrip().startswith("[") else csv_selection_rows(text)
        rows = [normalized_selection_row(r) for r in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a selection table of gmmcli select ({exc})") from None
    if not rows:
        raise DataError(f"{path}: the selection table has no rows")
    return SelectionTable(chosen_criterion(rows), tuple(rows), path)


def csv_selection_rows(text: str) -> list:
    """Rows of ``select --format csv``: empty cells are None, numbers parsed."""
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        rows.append({key: (None if value == "" else value) for key, value in raw.items()})
    return rows


def normalized_selection_row(row: dict) -> dict:
    """A row with numbers as numbers and ``best`` as a bool (CSV gives text)."""
    out = {"k": int(row["k"]), "covariance_type": str(row["covariance_type"]), "error": row.get("error") or None}
    for key in CRITERIA_COLUMNS + ("log_likelihood",):
        value = row.get(key)
        out[key] = None if value is None else float(value)
    out["best"] = str(row.get("best", "")).lower() in ("true", "1")
    return out


def chosen_criterion(rows: list) -> str:
    """Which criterion chose the ``best`` row: the one it is best by (BIC when it ties, or no row is marked)."""
    best = next((r for r in rows if r["best"]), None)
    if best is None:
        return "bic"
    fitted = [r for r in rows if not r["error"]]
    for criterion in CRITERIA_COLUMNS:
        values = [r[criterion] for r in fitted if r[criterion] is not None]
        if best[criterion] is None or not values:
            continue
        if best[criterion] == (max(values) if criterion == "holdout" else min(values)):
            return criterion
    return "bic"
