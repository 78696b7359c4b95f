"""The command line: parse, call one pipeline function, render.

This is the only module that imports typer, and the only place exit codes are
decided (see :data:`EXIT_CODES`). Heavy modules (numpy, pandas, pyarrow,
scipy) are imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import traceback
from dataclasses import replace
from enum import Enum
from typing import Annotated, List, Optional

import typer

try:  # typer >= 0.25 vendors click as typer._click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer
    from click import exceptions as click_exceptions


from gmmcli import __version__
from gmmcli.console import LOG, LOG_FORMATS, stderr_is_terminal
from gmmcli.core.models import DEFAULT_MODEL, all_spellings, canonical_name, resolve_model_names
from gmmcli.errors import (
    ConvergenceError, DataError, GmmError, NoInputError, NumericalError, OutputError,
    UsageError, WriteError,
)

EXIT_OK, EXIT_USAGE, EXIT_NUMERICAL, EXIT_DATA, EXIT_NOINPUT = 0, 2, 3, 65, 66
EXIT_SOFTWARE, EXIT_CANTCREAT, EXIT_IOERR = 70, 73, 74
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_TERMINATED = 130, 141, 143

EXIT_CODES = (
    (EXIT_OK, "success"),
    (EXIT_USAGE, "usage error: a bad option or argument"),
    (EXIT_NUMERICAL, "numerical failure, or not converged / collapsed under --strict"),
    (EXIT_DATA, "bad input data or model file"),
    (EXIT_NOINPUT, "an input file is missing or unreadable"),
    (EXIT_SOFTWARE, "internal error (a bug: please report it with the --debug output)"),
    (EXIT_CANTCREAT, "the output file cannot be created"),
    (EXIT_IOERR, "I/O error while writing (e.g. disk full)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
    (EXIT_BROKEN_PIPE, "broken pipe (the reader of stdout went away)"),
    (EXIT_TERMINATED, "terminated (SIGTERM)"),
)
ERROR_EXIT = (  # most specific first
    (UsageError, EXIT_USAGE), (ConvergenceError, EXIT_NUMERICAL), (NumericalError, EXIT_NUMERICAL),
    (DataError, EXIT_DATA), (NoInputError, EXIT_NOINPUT), (OutputError, EXIT_CANTCREAT),
    (WriteError, EXIT_IOERR),
)
EPILOG = ("Exit codes: " + "; ".join(f"{c} {m}" for c, m in EXIT_CODES) + ". "
          "--debug and --log-format may also come after the command.")
# Options that belong to the whole program but may be written after the command
# (`gmmcli fit … --debug`): moved in front of it before parsing.
GLOBAL_FLAGS = ("--debug",)
GLOBAL_VALUED = ("--log-format",)

app = typer.Typer(
    name="gmmcli", add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Fit Gaussian mixture models to CSV data and apply them.", epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Terminated(BaseException):
    """Raised from the SIGTERM handler so that clean-up code runs."""


# ---------------------------------------------------------------- help labels
def _help_label(param, ctx):
    """The type column of --help: the metavar, or the choices; never a Python type
    (``<int>``, ``<list[str]>``), and nothing for flags."""
    if getattr(param, "is_flag", False) or isinstance(param, typer.core.TyperArgument):
        return None
    if param.metavar is not None:
        return param.metavar
    if param.type_descriptor.is_choice:
        return "[" + "|".join(str(c.value if isinstance(c, Enum) else c) for c in param.type_descriptor.choices) + "]"
    return param.name.upper()


# typer offers no setting for this column; its one hook is this method.
typer.core.TyperOption.display_type_rich = _help_label
typer.core.TyperArgument.display_type_rich = _help_label


# ---------------------------------------------------------------- shared options
def choices(name: str, values) -> type:
    """A str Enum of the option values (typer shows and checks them)."""
    return Enum(name, {v.replace("++", "_pp").replace("-", "_"): v for v in values}, type=str)


MODELS_HELP = (f"{', '.join(all_spellings())} (any case; mclust's VVV, EEE, VVI and VII are full, tied, diag "
               "and spherical; E and V are mclust's one-column models)")
Init = choices("Init", ("kmeans++", "kmeans", "random", "random-from-data", "hc"))
Dtype = choices("Dtype", ("float64", "float32"))
PredictMissing = choices("PredictMissing", ("error", "drop", "marginalize"))
FitMissing = choices("FitMissing", ("error", "marginalize"))
Engine = choices("Engine", ("memory", "dask"))
PredictFormat = choices("PredictFormat", ("csv", "jsonl"))
Criterion = choices("Criterion", ("bic", "aic", "icl", "holdout"))
TraceFormat = choices("TraceFormat", ("table", "csv", "json"))
SummaryFormat = choices("SummaryFormat", ("table", "json", "csv"))
PlotKind = choices("PlotKind", ("classification", "uncertainty", "density", "bic", "trace"))  # pipeline.plot.KINDS
ViewMissing = choices("ViewMissing", ("error", "marginalize"))
LogFormat = choices("LogFormat", LOG_FORMATS)

INPUT_HELP = ("CSV file (also .gz, .bz2, .xz or .zst), Parquet (.parquet) or Arrow or Feather (.arrow, .feather) "
              "file, or - for stdin; several files or globs (data/*.csv.gz, quoted) are read as one table.")
Inputs = Annotated[Optional[List[str]], typer.Argument(help=INPUT_HELP, show_default=False, metavar="INPUT")]
Output = Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (atomically); - or no -o: stdout.")]
NoHeader = Annotated[bool, typer.Option("--no-header", "-H", help="The first row is data; columns are named 1, 2, …")]
Delimiter = Annotated[str, typer.Option("--delimiter", "-d", metavar="CHAR", help="Field delimiter (one character; \\t for tab).")]
Tabs = Annotated[bool, typer.Option("--tabs", "-t", help="Tab-delimited input (same as -d '\\t').")]
Decimal = Annotated[str, typer.Option("--decimal", metavar="CHAR", help="Decimal mark of the numbers: . or , (then use another delimiter, e.g. -d ';').")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No summary or notes on stderr.")]
Columns = Annotated[Optional[str], typer.Option("--columns", "-c", metavar="SPEC", help="Columns to use: names, 1-based indices, ranges a-b; '!' excludes (e.g. '!id'). Default: every numeric column.")]
RegCovar = Annotated[float, typer.Option("--reg-covar", metavar="FLOAT", help="Added to the covariance diagonal (as scikit-learn; for mclust's constrained models, to each scatter matrix before the fit).")]
Tol = Annotated[float, typer.Option("--tol", metavar="FLOAT", help="Stop when the mean per-row log-likelihood changes by less (0: run --max-iter).")]
MaxIter = Annotated[int, typer.Option("--max-iter", metavar="N", help="Maximum EM iterations per restart.")]
NInit = Annotated[int, typer.Option("--n-init", metavar="N", help="Restarts; the best log-likelihood is kept.")]
InitOption = Annotated[Init, typer.Option("--init", help="Initialisation: k-means++ and friends, or hc (mclust's hierarchical agglomeration on up to 2 000 rows; further --n-init restarts use k-means++).")]
Seed = Annotated[int, typer.Option("--seed", metavar="N", help="Random seed; the same seed gives a byte-identical model.")]
NoStandardize = Annotated[bool, typer.Option("--no-standardize", help="Fit on the raw columns.")]
MaxMemory = Annotated[Optional[str], typer.Option("--max-memory", help="Out of core: spool the data to a temporary file and keep memory near SIZE (e.g. 256M, 2G). Automatic for files too large for memory.", metavar="SIZE")]
WeightColumn = Annotated[Optional[str], typer.Option("--weight-column", "-w", help="A column of row weights >= 0 (never a feature): weighted EM; integer weights act as repeated rows.", metavar="COLUMN")]
Scheduler = Annotated[Optional[str], typer.Option("--scheduler", help="With --engine dask: the scheduler's address (default $GMMCLI_SCHEDULER, else a local cluster).", metavar="ADDRESS")]
DtypeOption = Annotated[Dtype, typer.Option("--dtype", help="Working precision of EM (float32: faster and half the memory; statistics are still summed in float64).")]
FitMissingOption = Annotated[FitMissing, typer.Option("--missing", help="Empty or NA cells: error, or marginalize (EM with their conditional expectations).")]
Strict = Annotated[bool, typer.Option("--strict", help="Exit 3 (and write nothing) if EM does not converge or a component dies.")]
ModelArg = Annotated[str, typer.Argument(help="A model file written by gmmcli fit.", metavar="MODEL")]
NoiseOption = Annotated[bool, typer.Option("--noise", help="Add a noise component: a uniform density over the data's hypervolume, for background rows (mclust's noise; predict adds prob_noise and labels noise rows -1).")]
HypervolumeOption = Annotated[Optional[float], typer.Option("--hypervolume", metavar="VOLUME", help="With --noise: the volume of the noise's uniform density, in the data's own units (default: mclust's hypvol, the smaller of the bounding box and the principal-axes box).")]
NoiseInitOption = Annotated[Optional[str], typer.Option("--noise-init", metavar="COLUMN", help="With --noise: a 0/1 column marking the rows that start as noise (never a feature; default: chosen by k-th nearest-neighbour cleaning, as prabclus' NNclean).")]
PriorOption = Annotated[bool, typer.Option("--prior", help="MAP EM under mclust's default conjugate prior (keeps small components from collapsing; not for VEE, EVE, VVE, EVV, as in mclust).")]


def fit_request(options: dict, **more):
    """The FitRequest (with its DataRequest) from the options fit and select share, given as
    the command's ``locals()``; ``more``: the command's own fields."""
    from gmmcli.pipeline import DataRequest, FitRequest

    o = options
    data = DataRequest(
        inputs=tuple(o["inputs"] or ["-"]), fmt=csv_format(o["delimiter"], o["tabs"], o["no_header"], o["decimal"]),
        columns=o["columns"], weight_column=o["weight_column"], missing=o["missing"].value,
        standardize=not o["no_standardize"], max_memory=memory_size(o["max_memory"]), dtype=o["dtype"].value,
        engine=o["engine"].value, scheduler=o["scheduler"],
    )
    return FitRequest(data=data, output=output_path(o["output"]), reg_covar=o["reg_covar"], tol=o["tol"],
                      max_iter=o["max_iter"], n_init=o["n_init"], init=o["init"].value, seed=o["seed"],
                      strict=o["strict"], prior=o["prior"], noise=o["noise"] or o["hypervolume"] is not None
                      or o["noise_init"] is not None, hypervolume=o["hypervolume"], noise_init=o["noise_init"], **more)


def output_path(output: Optional[str]) -> Optional[str]:
    """``-o -`` is stdout, as no ``-o``."""
    return None if output in (None, "-") else output


def csv_format(delimiter: str, tabs: bool, no_header: Optional[bool], decimal: str = "."):
    from gmmcli.io.csv_reader import CsvFormat

    delimiter = "\t" if tabs or delimiter in ("\\t", "tab") else delimiter
    if len(delimiter) != 1 or delimiter in "\r\n\"":
        raise UsageError(f"--delimiter must be one character other than a quote or newline (got {delimiter!r})")
    if decimal not in (".", ","):
        raise UsageError(f"--decimal must be . or , (got {decimal!r})")
    if decimal == delimiter:
        raise UsageError(f"--decimal {decimal} needs another --delimiter (e.g. -d ';')")
    return CsvFormat(delimiter=delimiter, has_header=None if no_header is None else not no_header, decimal=decimal)


_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """'256M', '2G', '512k', '1.5GB' or a number of bytes → bytes (ValueError otherwise)."""
    match = _SIZE.fullmatch(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a size: {text!r} (examples: 256M, 2G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_k_spec(spec: str) -> tuple:
    """'3', '1-9' or '2,4,8' (and mixtures such as '1-3,8') → sorted distinct ints ≥ 0.

    Raises ValueError with a message for the user.
    """
    values = set()
    for part in (p.strip() for p in str(spec).split(",")):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise ValueError(f"-k takes numbers and ranges such as 3, 1-9 or 2,4,8 (got {spec!r})") from None
        if a < 0 or b < a:
            raise ValueError(f"-k range {part!r} must be increasing and at least 0 (0: the noise alone, with --noise)")
        values.update(range(a, b + 1))
    if not values:
        raise ValueError(f"-k takes numbers and ranges such as 3, 1-9 or 2,4,8 (got {spec!r})")
    return tuple(sorted(values))


def memory_size(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError as exc:
        raise UsageError(f"--max-memory: {exc}") from None


# ---------------------------------------------------------------- output to people
def say(message: str) -> None:
    """A line of the pipeline's (``note: …``/``warning: …``) for people, on stderr."""
    LOG.note(message)


class StdoutClosed(Exception):
    """The reader of stdout went away (``| head``); not an OSError, so typer lets it through."""


def write_stdout(data: bytes) -> None:
    """Write every byte to stdout, or raise StdoutClosed.

    An unbuffered stdout (PYTHONUNBUFFERED=1) is a raw file whose ``write`` may take only
    part of the bytes (a pipe takes 64 KiB at a time): write the rest until all is written.
    """
    out = sys.stdout.buffer
    view = memoryview(data)
    try:
        while view:
            written = out.write(view)
            view = view[len(view) if written is None else written:]
    except BrokenPipeError:
        raise StdoutClosed() from None


def refuse_terminal_stdin(ctx: typer.Context, inputs) -> None:
    if "-" in (inputs or ["-"]) and sys.stdin.isatty():
        sys.stderr.write(ctx.get_usage() + "\n")
        raise UsageError("no input: give a file, or pipe data to stdin")


class TerminalProgress:
    """A transient rich progress line on stderr when it is a terminal; nothing otherwise.

    ``template`` uses rich's ``{task.completed}``, ``{task.total}`` and ``{task.fields[...]}``.
    The line appears at the first :meth:`update` (after the input was read), so an input
    error is never preceded by an empty progress line.
    """

    def __init__(self, enabled: bool, template: str, bar: bool = False, **fields):
        self.progress = None
        if enabled and stderr_is_terminal() and not LOG.json_lines:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            columns = [TextColumn(template)] + ([BarColumn()] if bar else [])
            self.progress = Progress(*columns, console=Console(stderr=True), transient=True,
                                     redirect_stdout=False, redirect_stderr=False)
            self.task = self.progress.add_task("", **fields)
        self.started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.started:
            self.progress.stop()

    def update(self, **fields) -> None:
        if self.progress:
            self.progress.update(self.task, **fields)
            if not self.started:
                self.started = True
                self.progress.start()


# ---------------------------------------------------------------- commands
def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"gmmcli {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", "-V", help="Print the version and exit.", is_eager=True,
                                          callback=_print_version)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error (before or after the command).")] = False,
    log_format: Annotated[LogFormat, typer.Option("--log-format", help="stderr as text, or json: one JSON object per line (level, message, figures); before or after the command.")] = LogFormat.text,
):
    """Fit Gaussian mixture models to CSV data and apply them.

    Example: gmmcli fit sample_data/walkthrough.csv -k 3 -o model.json
    """
    LOG.json_lines = log_format is LogFormat.json


@app.command(epilog=EPILOG)
def fit(
    ctx: typer.Context,
    inputs: Inputs = None,
    components: Annotated[Optional[int], typer.Option("--components", "-k", metavar="K", show_default=False, help="Number of mixture components (required; to choose it, run gmmcli select).")] = None,
    output: Output = None,
    columns: Columns = None,
    no_header: NoHeader = False,
    delimiter: Delimiter = ",",
    tabs: Tabs = False,
    decimal: Decimal = ".",
    covariance: Annotated[Optional[str], typer.Option("--covariance", metavar="MODEL", show_default=False, help=f"Covariance model (default {DEFAULT_MODEL}, or the --init-model's): {MODELS_HELP}.")] = None,
    reg_covar: RegCovar = 1e-6,
    tol: Tol = 1e-3,
    max_iter: MaxIter = 100,
    n_init: NInit = 1,
    init: InitOption = Init.kmeans_pp,
    init_model: Annotated[Optional[str], typer.Option("--init-model", metavar="MODEL", help="Warm start from this model's weights, means and covariances (and report the drift from it); -k defaults to its k.")] = None,
    missing: FitMissingOption = FitMissing.error,
    align_to: Annotated[Optional[str], typer.Option("--align-to", metavar="MODEL", help="Number the components to match this earlier model's (optimal matching); report how far each moved.")] = None,
    seed: Seed = 0,
    no_standardize: NoStandardize = False,
    strict: Strict = False,
    prior: PriorOption = False,
    noise: NoiseOption = False,
    hypervolume: HypervolumeOption = None,
    noise_init: NoiseInitOption = None,
    max_memory: MaxMemory = None,
    dtype: DtypeOption = Dtype.float64,
    weight_column: WeightColumn = None,
    engine: Annotated[Engine, typer.Option("--engine", help="memory (this machine, in or out of core) or dask (a Dask cluster; pip install 'gmmcli\\[dask]').")] = Engine.memory,
    scheduler: Scheduler = None,
    quiet: Quiet = False,
):
    """Fit a Gaussian mixture to a data file (CSV, Parquet, Arrow) and write the model as JSON.

    Example: gmmcli fit sample_data/walkthrough.csv -k 3 -o model.json
    """
    from gmmcli import pipeline, render

    if components is None and init_model is None:
        raise UsageError("-k/--components is required: how many components to fit "
                         "(to choose k, run: gmmcli select INPUT)")
    refuse_terminal_stdin(ctx, inputs)
    request = fit_request(locals(), n_components=components,
                          covariance_type=None if covariance is None else parse_model_option(covariance),
                          init_model=init_model, align_to=align_to)
    template = "restart {task.fields[restart]}  iteration {task.completed}/{task.total}  " \
               "log-likelihood per row {task.fields[ll]}"
    with TerminalProgress(not quiet, template, total=max_iter, restart=0, ll="") as progress:
        live = not quiet and stderr_is_terminal()  # the dashboard link while it is useful
        result = pipeline.fit(request, on_iteration=lambda restart, n_iter, ll: progress.update(
                                  completed=n_iter, restart=restart, ll=f"{ll:.6f}"),
                              on_note=say if live else None)
    if request.output is None:
        write_stdout(result.document)
    if not quiet:
        for note in result.notes:
            say(note)
        if not result.model.converged and tol > 0:
            say(f"warning: EM did not converge in {result.model.n_iter} iterations (raise --max-iter or --tol)")
        summary = render.fit_summary(result.model, result.seconds)
        LOG.emit("info", summary, text=summary, **render.fit_figures(result.model, result.seconds))


@app.command(epilog=EPILOG)
def select(
    ctx: typer.Context,
    inputs: Inputs = None,
    components: Annotated[str, typer.Option("--components", "-k", metavar="KS", help="Values of k: 3, 1-9 or 2,4,8.")] = "1-9",
    covariance: Annotated[str, typer.Option("--covariance", metavar="MODELS", help=f"Covariance models to try, comma-separated, or all (mclust's 14; E and V for one column): {MODELS_HELP}.")] = "all",
    criterion: Annotated[Criterion, typer.Option("--criterion", help="What chooses: BIC, AIC, ICL (lower is better) or held-out log-likelihood.")] = Criterion.bic,
    holdout: Annotated[Optional[float], typer.Option("--holdout", help="Also score each cell on this fraction of rows held out.", metavar="FRACTION")] = None,
    cv: Annotated[Optional[int], typer.Option("--cv", help="Also score each cell by K-fold cross-validation.", metavar="FOLDS")] = None,
    seeds: Annotated[int, typer.Option("--seeds", metavar="N", help="Rerun the grid with this many seeds and count how often each cell wins.")] = 1,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", help="Cells fitted in parallel processes (0: one per CPU).")] = 0,
    output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write the chosen model here (atomically); - for stdout (the table then goes to stderr).")] = None,
    output_format: Annotated[Optional[TraceFormat], typer.Option("--format", help="table (default on a terminal), csv (default when piped) or json.", show_default=False)] = None,
    columns: Columns = None,
    no_header: NoHeader = False,
    delimiter: Delimiter = ",",
    tabs: Tabs = False,
    decimal: Decimal = ".",
    reg_covar: RegCovar = 1e-6,
    tol: Annotated[float, typer.Option("--tol", metavar="FLOAT", help="Stop when the mean per-row log-likelihood changes by less: stricter than mclust's relative 1e-5 whenever a row's log-likelihood is 0.01 or more in size.")] = 1e-7,
    max_iter: MaxIter = 1000,
    n_init: Annotated[int, typer.Option("--n-init", metavar="N", help="Restarts per cell; the best log-likelihood is kept (with --init hc: the hierarchical start and N-1 k-means++ starts).")] = 3,
    polish_within: Annotated[float, typer.Option("--polish-within", metavar="GAP", help="Screen first: every cell from its first start to mclust's relative tolerance 1e-5 (at most 200 iterations), as mclust fits; then the full fit (every --n-init restart, --tol, --max-iter) only for the cells whose criterion is within GAP of the best, and the choice among those. inf: fully fit every cell.")] = 10.0,
    init: InitOption = Init.hc,
    missing: FitMissingOption = FitMissing.error,
    seed: Seed = 0,
    no_standardize: NoStandardize = False,
    strict: Annotated[bool, typer.Option("--strict", help="A cell that does not converge or whose component dies or collapses fails (is never chosen); exit 3 if all fail.")] = False,
    prior: PriorOption = False,
    noise: NoiseOption = False,
    hypervolume: HypervolumeOption = None,
    noise_init: NoiseInitOption = None,
    max_memory: MaxMemory = None,
    dtype: DtypeOption = Dtype.float64,
    weight_column: WeightColumn = None,
    engine: Annotated[Engine, typer.Option("--engine", help="Where the cells run: memory (parallel processes here) or dask (tasks on a Dask cluster).")] = Engine.memory,
    scheduler: Scheduler = None,
    lrt: Annotated[bool, typer.Option("--lrt", help="Also test k against the next k of the grid, per covariance model: mclust's sequential bootstrap likelihood-ratio test (parametric bootstrap from the k fit; adds lrt_statistic and lrt_p_value).")] = False,
    replicates: Annotated[int, typer.Option("--replicates", metavar="N", help="With --lrt: bootstrap samples per test (p-values are multiples of 1/(N+1)).")] = 999,
    lrt_all: Annotated[bool, typer.Option("--lrt-all", help="With --lrt: test every k, instead of stopping at the first k not rejected.")] = False,
    lrt_level: Annotated[float, typer.Option("--lrt-level", metavar="ALPHA", help="With --lrt: a test rejects k (more components are warranted) when its p-value is at most this.")] = 0.05,
    quiet: Quiet = False,
):
    """Choose k and the covariance type: fit a grid and rank it by BIC, AIC, ICL or held-out likelihood.

    Prints one row per (k, covariance type) cell and a chart of the criterion
    against k; writes the chosen model with -o. With --lrt, also the bootstrap
    likelihood-ratio test of k against k + 1 for each covariance model.

    Example: gmmcli select sample_data/walkthrough.csv -k 1-6 -o best.json
    """
    from gmmcli.parallel import default_threads
    from gmmcli.pipeline.select import SelectRequest, select as run_select

    refuse_terminal_stdin(ctx, inputs)
    request = SelectRequest(fit=fit_request(locals()), components=parse_k_option(components),
                            covariance_types=parse_models_option(covariance), criterion=criterion.value,
                            holdout=holdout, cv=cv, seeds=seeds, jobs=jobs or default_threads(), lrt=lrt,
                            lrt_replicates=replicates, lrt_all=lrt_all, lrt_level=lrt_level,
                            polish_within=polish_within)
    with TerminalProgress(not quiet, "{task.fields[what]} {task.completed}/{task.total}", bar=True,
                          what="fitting cells") as progress:
        result = run_select(request, on_cell=lambda done, total: progress.update(completed=done, total=total),
                            on_lrt=lambda what, done, total: progress.update(what=what, completed=done, total=total))
    show_selection(result, criterion.value, model_to_stdout=output == "-", output_format=output_format)
    if not quiet:
        for note in result.grid_notes:
            say(note)
        best = result.cells[result.best]
        for note in result.notes:
            say(note.replace(": ", f": chosen cell (k={best.k}, {best.covariance_type}): ", 1))


def parse_k_option(components: str) -> tuple:
    try:
        return parse_k_spec(components)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def parse_model_option(covariance: str) -> str:
    """fit's --covariance: one model, any spelling → the table's name."""
    try:
        return canonical_name(covariance)
    except ValueError as exc:
        raise UsageError(f"--covariance: {exc}") from None


def parse_models_option(covariance: str) -> tuple:
    """select's --covariance: names and ``all``, checked here, resolved once the data's columns are known."""
    try:
        resolve_model_names(covariance)
    except ValueError as exc:
        raise UsageError(f"--covariance: {exc}") from None
    return tuple(t.strip() for t in covariance.split(",") if t.strip())


def show_selection(result, criterion: str, model_to_stdout: bool, output_format: Optional[TraceFormat]) -> None:
    """The grid as a table (terminal), CSV or JSON; with ``-o -`` the model takes stdout and the grid stderr."""
    from gmmcli import render

    rows = render.select_rows(result)
    table_stream = sys.stderr if model_to_stdout else sys.stdout
    shown = output_format or (TraceFormat.table if table_stream.isatty() else TraceFormat.csv)
    text = show_rows(rows, shown, columns=render.select_columns(result),
                     table=lambda r: render.select_table(r, criterion, result.lrt) + "\n" +
                     render.criterion_chart(r, criterion))
    if not model_to_stdout:
        write_stdout(text.encode())
        return
    write_stdout(result.document)
    if LOG.json_lines:  # stderr carries JSON objects only: one per cell
        for row in rows:
            LOG.emit("info", f"cell k={row['k']} {row['covariance_type']}", **row)
    else:
        sys.stderr.write(text)


def show_rows(rows: list, shown: TraceFormat, columns, table) -> str:
    """Rows as CSV (these ``columns``), JSON, or the command's ``table(rows)`` for people."""
    from gmmcli import render

    if shown is TraceFormat.csv:
        return render.rows_csv(rows, columns)
    return render.rows_json(rows) if shown is TraceFormat.json else table(rows)


@app.command(epilog=EPILOG)
def predict(
    ctx: typer.Context,
    model: ModelArg,
    inputs: Inputs = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (atomically; Parquet or Arrow for a .parquet, .arrow or .feather name, else CSV or --format); - or no -o: stdout. With --engine dask, a pattern such as out/part-*.csv (one part per input, in order).")] = None,
    keep: Annotated[Optional[List[str]], typer.Option("--keep", metavar="COLUMNS", help="Input columns to copy first, verbatim (e.g. an id); repeatable or comma-separated.")] = None,
    emit: Annotated[str, typer.Option("--emit", metavar="FIELDS", show_default=False, help="Which outputs, in this order, comma-separated (from prob, label, log_likelihood, uncertainty; default: all four).")] = "prob,label,log_likelihood,uncertainty",
    output_format: Annotated[PredictFormat, typer.Option("--format", help="Output format.")] = PredictFormat.csv,
    no_header: Annotated[Optional[bool], typer.Option("--no-header/--header", "-H", help="Override whether the input has a header (default: as the model's training data).", show_default=False)] = None,
    delimiter: Delimiter = ",",
    tabs: Tabs = False,
    decimal: Decimal = ".",
    explain: Annotated[Optional[int], typer.Option("--explain", metavar="N", help="Instead of predictions, explain data row N (1-based) in four layers.")] = None,
    missing: Annotated[PredictMissing, typer.Option("--missing", help="Rows with empty or NA cells: error, drop them, or marginalize (score them on their observed cells).")] = PredictMissing.error,
    outlier_quantile: Annotated[Optional[float], typer.Option("--outlier-quantile", help="Add an 'outlier' column: 1 when the row's log-likelihood is below this quantile of the training rows' (e.g. 0.001).", metavar="Q")] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="memory (stream on this machine) or dask (one output part per input file, on a Dask cluster).")] = Engine.memory,
    scheduler: Scheduler = None,
    quiet: Quiet = False,
):
    """Write per-row component probabilities for a data file (CSV, Parquet, Arrow) under a model.

    Columns: prob_0 … prob_{K-1}, label (argmax, 0-based), log_likelihood (log
    density in original units) and uncertainty (1 − max probability).

    Example: gmmcli predict model.json sample_data/walkthrough.csv | head
    """
    from gmmcli import pipeline, render
    from gmmcli.io.predictions import OUTPUT_FIELDS

    inputs = inputs or ["-"]
    refuse_terminal_stdin(ctx, inputs)
    fmt = csv_format(delimiter, tabs, no_header, decimal)  # has_header None: as the model's training data
    if explain is not None:
        text = render.render_explanation(pipeline.explain(model, inputs[0], explain, fmt))
        write_stdout(text.encode())
        return
    fields = tuple(f.strip() for f in emit.split(",") if f.strip())
    unknown = [f for f in fields if f not in OUTPUT_FIELDS]
    if unknown or not fields:
        raise UsageError(f"--emit takes a list of {', '.join(OUTPUT_FIELDS)} (got {emit!r})")
    request = pipeline.PredictRequest(
        model=model, input=inputs[0], inputs=tuple(inputs), output=output_path(output), fmt=fmt,
        keep=",".join(keep) if keep else None, fields=fields, output_format=output_format.value,
        outlier_quantile=outlier_quantile, missing=missing.value,
    )
    if engine is Engine.dask:
        result = pipeline.predict_on_dask(request, tuple(inputs), scheduler)
    else:
        result = pipeline.predict(request, write_stdout)
    if not quiet and result.n_dropped:
        say(f"note: dropped {result.n_dropped} row(s) with missing cells (--missing drop)")
    if not quiet and stderr_is_terminal() and request.output:
        say(f"note: wrote {result.n_rows} rows to {output} in {result.seconds:.2f} s")


@app.command(epilog=EPILOG)
def sample(
    model: ModelArg,
    n_samples: Annotated[int, typer.Option("-n", "--n-samples", metavar="N", help="How many rows to draw.")] = 100,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed of the draw; the same model, -n and seed give the same rows.")] = 0,
    labels: Annotated[bool, typer.Option("--labels", help="Add a 'component' column: which component drew the row.")] = False,
    output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (atomically; Parquet or Arrow for a .parquet, .arrow or .feather name, else CSV); - or no -o: stdout.")] = None,
):
    """Draw rows from a model, as CSV in the original units and column names.

    Example: gmmcli sample model.json -n 1000 --seed 1 --labels > synthetic.csv
    """
    from gmmcli import pipeline

    request = pipeline.SampleRequest(model=model, n_samples=n_samples, seed=seed, labels=labels,
                                     output=output_path(output))
    pipeline.sample(request, write_stdout)


@app.command(epilog=EPILOG)
def trace(
    model: ModelArg,
    all_restarts: Annotated[bool, typer.Option("--all", help="Every restart, not only the chosen one.")] = False,
    output_format: Annotated[Optional[TraceFormat], typer.Option("--format", help="table (default on a terminal), csv (default when piped) or json.", show_default=False)] = None,
):
    """Print the log-likelihood per EM iteration (original units), and an ASCII convergence chart.

    Example: gmmcli trace model.json
    """
    from gmmcli import pipeline, render

    fitted = pipeline.trace(model)
    chosen = output_format or (TraceFormat.table if sys.stdout.isatty() else TraceFormat.csv)
    rows = render.trace_rows(fitted, all_restarts)
    text = show_rows(rows, chosen, columns=render.TRACE_COLUMNS,
                     table=lambda r: render.trace_table(r) + "\n" + render.trace_chart(fitted, all_restarts))
    write_stdout(text.encode())


# ---------------------------------------------------------------- summary, plot, report
ViewMissingOption = Annotated[ViewMissing, typer.Option("--missing", help="Rows with empty or NA cells: error, or marginalize (score them on their observed cells, as predict does; they are counted but not drawn).")]
OutlierQuantile = Annotated[Optional[float], typer.Option("--outlier-quantile", metavar="Q", help="Count the rows whose log-likelihood is below this quantile of the training rows' (as predict --outlier-quantile).")]
DrawColumns = Annotated[Optional[str], typer.Option("--columns", "-c", metavar="SPEC", help="The model's columns to draw: names, 1-based indices, ranges a-b, '!' excludes (default: the first 6).")]
MaxPoints = Annotated[int, typer.Option("--max-points", metavar="N", help="Rows drawn at most: a larger input is subsampled (reproducibly, by --seed); the figure says how many it shows.")]
DrawSeed = Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the subsample drawn from a large input.")]
SelectionFile = Annotated[Optional[str], typer.Option("--selection", metavar="FILE", help="The grid for --kind bic when the model has none embedded (gmmcli select -o embeds it): the output of gmmcli select --format csv or json.")]
InputHeader = Annotated[Optional[bool], typer.Option("--no-header/--header", "-H", help="Override whether the input has a header (default: as the model's training data).", show_default=False)]


def view_request(model: str, inputs, options: dict, **more):
    """The PlotRequest of plot and report (their shared options, given as the command's ``locals()``)."""
    from gmmcli.pipeline.plot import PlotRequest

    o = options
    return PlotRequest(model=model, inputs=tuple(inputs or ()),
                       fmt=csv_format(o["delimiter"], o["tabs"], o["no_header"], o["decimal"]),
                       columns=o["columns"], max_points=o["max_points"], seed=o["seed"],
                       outlier_quantile=o.get("outlier_quantile"), missing=o["missing"] is ViewMissing.marginalize,
                       **more)


@app.command(epilog=EPILOG)
def summary(
    ctx: typer.Context,
    model: ModelArg,
    inputs: Annotated[Optional[List[str]], typer.Argument(help="Optional data (read as predict reads it): adds the classification table, uncertainty, outliers and ICL. " + INPUT_HELP, show_default=False, metavar="INPUT")] = None,
    output_format: Annotated[Optional[SummaryFormat], typer.Option("--format", help="table (default on a terminal), json (default when piped: everything) or csv (one row per component).", show_default=False)] = None,
    outlier_quantile: OutlierQuantile = None,
    missing: ViewMissingOption = ViewMissing.error,
    no_header: InputHeader = None,
    delimiter: Delimiter = ",",
    tabs: Tabs = False,
    decimal: Decimal = ".",
):
    """Summarize a model in the data's original units, as mclust's summary(): criteria, and per component its weight, means, SDs and correlations.

    With INPUT: how many rows each component takes (predict's labels), the uncertainty, outliers
    (--outlier-quantile) and ICL. A model written by gmmcli select -o also shows its top three cells.

    Example: gmmcli summary model.json sample_data/walkthrough.csv
    """
    from gmmcli import render
    from gmmcli.pipeline.summary import SummaryRequest, summarize

    if inputs:
        refuse_terminal_stdin(ctx, inputs)
    request = SummaryRequest(model=model, inputs=tuple(inputs or ()), fmt=csv_format(delimiter, tabs, no_header, decimal),
                             outlier_quantile=outlier_quantile, missing=missing is ViewMissing.marginalize)
    result = summarize(request)
    shown = output_format or (SummaryFormat.table if sys.stdout.isatty() else SummaryFormat.json)
    if shown is SummaryFormat.table:
        text = render.summary_table(result)
    elif shown is SummaryFormat.json:
        text = json.dumps(render.summary_document(result), indent=1, allow_nan=False) + "\n"
    else:
        text = render.rows_csv(*render.summary_rows(result))
    write_stdout(text.encode())


@app.command(epilog=EPILOG)
def plot(
    ctx: typer.Context,
    model: ModelArg,
    inputs: Annotated[Optional[List[str]], typer.Argument(help="The data to draw (classification, uncertainty, density; not needed for bic and trace). " + INPUT_HELP, show_default=False, metavar="INPUT")] = None,
    kind: Annotated[PlotKind, typer.Option("--kind", help="classification, uncertainty or density (scatter matrices of the columns), bic (the selection grid) or trace (EM's log-likelihood per iteration).")] = PlotKind.classification,
    output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write the figure here (atomically): .svg, .png or .pdf. Without -o, on a terminal: drawn with characters.")] = None,
    columns: DrawColumns = None,
    max_points: MaxPoints = 10_000,
    seed: DrawSeed = 0,
    selection: SelectionFile = None,
    missing: ViewMissingOption = ViewMissing.error,
    no_header: InputHeader = None,
    delimiter: Delimiter = ",",
    tabs: Tabs = False,
    decimal: Decimal = ".",
):
    """Draw the fit in original units: a classification, uncertainty or density scatter matrix, the BIC grid or the EM trace.

    Writes SVG, PNG or PDF by the -o extension (matplotlib: pip install 'gmmcli[plot]').
    Without -o on a terminal it draws the classification scatter (or the bic and trace
    charts) with characters, in colour unless NO_COLOR is set; piped without -o it is a usage
    error. --kind bic reads the selection table that gmmcli select -o embeds in the model
    (for a model from gmmcli fit: --selection GRID.csv, from gmmcli select --format csv).

    Example: gmmcli plot model.json sample_data/walkthrough.csv --kind classification -o classes.svg
    """
    from gmmcli.pipeline.plot import plot as draw_to_file, validate_plot_request

    request = view_request(model, inputs, locals(), kind=kind.value, output=output_path(output),
                           selection=selection)
    validate_plot_request(request)
    if request.inputs:
        refuse_terminal_stdin(ctx, request.inputs)
    if request.output is None:
        show_in_terminal(request)
        return
    from gmmcli import plots

    plots.require_matplotlib()  # before any reading: the hint comes at once
    draw_to_file(request, plots.draw)


def show_in_terminal(request) -> None:
    """plot without -o: characters on a terminal; a usage error when stdout is a pipe or file."""
    import shutil

    from gmmcli import render
    from gmmcli.pipeline.plot import figure_data

    if not sys.stdout.isatty():
        raise UsageError("plot draws on a terminal only; to write a figure, give -o FILE.svg, .png or .pdf")
    if request.kind == "density":
        raise UsageError("--kind density draws to a file only: give -o FILE.svg, .png or .pdf")
    data = figure_data(request)
    if request.kind == "trace":
        text = render.trace_chart(data.model, all_restarts=True)
    elif request.kind == "bic":
        text = render.criterion_chart(list(data.selection.rows), data.selection.criterion)
    else:
        size = shutil.get_terminal_size((80, 24))
        text = terminal_scatter(data, width=max(20, size.columns - 12), height=max(8, min(30, size.lines - 8)))
    write_stdout(text.encode())


def terminal_scatter(data, width: int, height: int) -> str:
    """The first two drawn columns of the rows shown, coloured by label when colour is allowed."""
    from gmmcli import render

    colour = "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    scan, names = data.summary.scan, data.summary.feature_names
    i, j = (data.columns + data.columns)[:2] if len(data.columns) == 1 else data.columns[:2]
    sample = scan.sample
    shown = f"all {sample.n_shown} rows" if sample.n_shown == sample.n_rows else \
        f"{sample.n_shown} of {sample.n_rows} rows (random sample, seed {sample.seed})"
    chart = render.scatter_chart(
        sample.X[:, i], sample.X[:, j], sample.labels, [(c.mean[i], c.mean[j]) for c in data.summary.components],
        width=width, height=height, colour=colour, x_name=names[i], y_name=names[j],
        title=f"classification of {scan.name}: {shown}; X / reverse video = component mean",
    )
    return chart + render.scatter_legend(data.summary.components, scan.counts, colour) + "\n"


@app.command(epilog=EPILOG)
def report(
    ctx: typer.Context,
    model: ModelArg,
    inputs: Annotated[Optional[List[str]], typer.Argument(help="The data to draw and classify. " + INPUT_HELP, show_default=False, metavar="INPUT")] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write the HTML report here (atomically); required.")] = None,
    columns: DrawColumns = None,
    max_points: Annotated[int, typer.Option("--max-points", metavar="N", help="Rows drawn at most per figure (a larger input is subsampled, reproducibly by --seed).")] = 5_000,
    seed: DrawSeed = 0,
    outlier_quantile: OutlierQuantile = None,
    missing: ViewMissingOption = ViewMissing.error,
    no_header: InputHeader = None,
    delimiter: Delimiter = ",",
    tabs: Tabs = False,
    decimal: Decimal = ".",
):
    """Write one self-contained HTML file: the summary, every figure that applies (inline SVG), the settings and diagnostics.

    No network, no JavaScript; readable on a phone; a few hundred kB to a few MB whatever the
    input's size (rows are subsampled for drawing and the figures say how many they show).
    The BIC figure is included when the model has an embedded selection table (gmmcli select -o).

    Example: gmmcli report model.json sample_data/walkthrough.csv -o report.html
    """
    from gmmcli.pipeline.plot import plot as draw_to_file

    if output_path(output) is None:
        raise UsageError("report writes an HTML file: give -o FILE.html")
    request = view_request(model, inputs, locals(), kind=None, output=output)
    refuse_terminal_stdin(ctx, request.inputs or ("-",))
    request = request if request.inputs else replace(request, inputs=("-",))
    from gmmcli import plots

    plots.require_matplotlib()
    draw_to_file(request, plots.draw)


# ---------------------------------------------------------------- bootstrap
Resampling = choices("Resampling", ("bs", "wlbs", "pb", "jk"))  # core.bootstrap.RESAMPLING_TYPES


@app.command(epilog=EPILOG)
def bootstrap(
    ctx: typer.Context,
    model: ModelArg,
    inputs: Annotated[Optional[List[str]], typer.Argument(help="The data the model was fitted to (read with the model's columns, weights and scaling). " + INPUT_HELP, show_default=False, metavar="INPUT")] = None,
    replicates: Annotated[Optional[int], typer.Option("--replicates", "-n", metavar="N", show_default=False, help="Bootstrap replicates (default 999, as mclust; the jackknife always refits once per row).")] = None,
    kind: Annotated[Resampling, typer.Option("--type", help="bs: rows resampled with replacement; wlbs: weighted likelihood bootstrap (Exp(1) row weights, weighted EM); pb: parametric (rows drawn from the model); jk: jackknife (leave one row out). mclust's MclustBootstrap types.")] = Resampling.bs,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed; the same seed gives the same output for any --jobs.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", help="Replicates refitted in parallel processes (0: one per CPU).")] = 0,
    level: Annotated[float, typer.Option("--level", metavar="LEVEL", help="Coverage of the intervals: percentile intervals (the jackknife: mclust's normal ones).")] = 0.95,
    output_format: Annotated[Optional[TraceFormat], typer.Option("--format", help="table (default on a terminal), csv (default when piped) or json.", show_default=False)] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write the model with an 'uncertainty' section here (atomically; summary then shows the standard errors); - for stdout (the table then goes to stderr).")] = None,
    tol: Annotated[Optional[float], typer.Option("--tol", metavar="FLOAT", show_default=False, help="EM's tolerance in each refit, on the change of the mean per-row log-likelihood (default 1e-8; jk 1e-10, its refits move by O(1/n)). A looser one stops refits near the start and shrinks the standard errors.")] = None,
    max_iter: MaxIter = 1000,
    no_header: InputHeader = None,
    delimiter: Delimiter = ",",
    tabs: Tabs = False,
    decimal: Decimal = ".",
    max_memory: MaxMemory = None,
    engine: Annotated[Engine, typer.Option("--engine", help="memory (processes on this machine) or dask (each replicate a task on a Dask cluster; the rows are read here and sent to every worker once).")] = Engine.memory,
    scheduler: Scheduler = None,
    quiet: Quiet = False,
):
    """Standard errors and confidence intervals of a fitted model's parameters, by bootstrap or jackknife (mclust's MclustBootstrap).

    Each replicate refits the model's covariance model and k from its fitted parameters (so the
    components keep their labels) on resampled, reweighted, simulated or leave-one-out rows.
    Prints one row per weight, mean, variance and covariance: estimate, se, lower, upper, in
    the data's original units.

    Example: gmmcli bootstrap model.json sample_data/walkthrough.csv --replicates 999 --seed 1
    """
    from gmmcli import render
    from gmmcli.parallel import default_threads
    from gmmcli.pipeline import DataRequest
    from gmmcli.pipeline.bootstrap import BootstrapRequest, bootstrap as run_bootstrap

    inputs = inputs or ["-"]
    refuse_terminal_stdin(ctx, inputs)
    data = DataRequest(inputs=tuple(inputs), fmt=csv_format(delimiter, tabs, no_header, decimal),
                       max_memory=memory_size(max_memory), engine=engine.value, scheduler=scheduler)
    request = BootstrapRequest(model=model, data=data, kind=kind.value, replicates=replicates, seed=seed,
                               jobs=jobs or default_threads(), level=level, tol=tol, max_iter=max_iter,
                               output=output_path(output))
    with TerminalProgress(not quiet, "replicates {task.completed}/{task.total}", bar=True) as progress:
        live = not quiet and stderr_is_terminal()
        result = run_bootstrap(request, on_replicate=lambda done, total: progress.update(completed=done, total=total),
                               on_note=say if live else None)
    show_bootstrap(result, level, model_to_stdout=output == "-", output_format=output_format)
    if not quiet:
        for note in result.notes:
            say(note)
        line = render.bootstrap_summary(result)
        LOG.emit("info", line, text=line, **render.bootstrap_figures(result))


def show_bootstrap(result, level: float, model_to_stdout: bool, output_format: Optional[TraceFormat]) -> None:
    """The rows as a table (terminal), CSV or JSON; with ``-o -`` the model takes stdout and the rows stderr."""
    from gmmcli import render
    from gmmcli.pipeline.bootstrap import BOOTSTRAP_COLUMNS

    rows = list(result.rows)
    stream = sys.stderr if model_to_stdout else sys.stdout
    shown = output_format or (TraceFormat.table if stream.isatty() else TraceFormat.csv)
    text = show_rows(rows, shown, columns=BOOTSTRAP_COLUMNS, table=lambda r: render.bootstrap_table(r, level))
    if model_to_stdout:
        write_stdout(result.document)
        sys.stderr.write(text)
    else:
        write_stdout(text.encode())


# ---------------------------------------------------------------- running
def _on_sigterm(signum, frame):
    raise Terminated()


def _fail(message: str, code: int, text: Optional[str] = None) -> int:
    LOG.emit("error", message, text=text, exit_code=code)
    return code


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def hoist_global_options(args: List[str]) -> List[str]:
    """Move ``--debug`` and ``--log-format X`` written after the command in front of it
    (they are the root's options); ``--`` ends options."""
    front, rest = [], []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg in GLOBAL_VALUED and i + 1 < len(args):
            front += args[i:i + 2]
            i += 1
        elif arg in GLOBAL_FLAGS or arg.split("=", 1)[0] in GLOBAL_VALUED:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _usage_message(exc) -> str:
    # pydantic-backed validation in typer prefixes its messages with "Value error, "
    return exc.format_message().replace("\n", " ").replace("Value error, ", "")


def run(argv: Optional[List[str]] = None) -> int:
    """Run the CLI and return the exit code (never raises, except under --debug)."""
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args
    LOG.json_lines = any(a in ("--log-format=json",) for a in args) or \
        any(a == "--log-format" and b == "json" for a, b in zip(args, args[1:]))  # before parsing: usage errors too
    try:
        result = app(args=args, prog_name="gmmcli", standalone_mode=False)
        sys.stdout.flush()
        if result == EXIT_INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
            _fail("interrupted", EXIT_INTERRUPTED, text="gmmcli: interrupted")
        return result if isinstance(result, int) else EXIT_OK
    except typer.Exit as exc:
        return exc.exit_code
    except click_exceptions.NoArgsIsHelpError as exc:
        sys.stderr.write(exc.ctx.get_help() + "\n")
        return EXIT_USAGE
    except click_exceptions.UsageError as exc:
        return _fail(_usage_message(exc), EXIT_USAGE)
    except GmmError as exc:
        if debug:  # the traceback, then the documented exit code
            traceback.print_exc()
        code = next(code for cls, code in ERROR_EXIT if isinstance(exc, cls))
        return _fail(str(exc), code)
    except (BrokenPipeError, StdoutClosed):
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except (KeyboardInterrupt, typer.Abort):
        return _fail("interrupted", EXIT_INTERRUPTED, text="gmmcli: interrupted")
    except Terminated:
        return _fail("terminated", EXIT_TERMINATED, text="gmmcli: terminated")
    except Exception as exc:  # a bug
        if debug:
            raise
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (please report this; --debug shows the traceback)",
            EXIT_SOFTWARE,
        )


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        code = EXIT_BROKEN_PIPE
    try:
        sys.stderr.flush()
    except OSError:
        pass
    # Leave without interpreter finalization: native thread pools (Arrow's, OpenBLAS's)
    # torn down at exit can abort the process after all work is done (apache/arrow#34314).
    # Every file and temp file is already closed or removed by now.
    os._exit(code)
