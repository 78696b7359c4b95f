"""What people see, as pure functions returning text (no terminal needed)."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Optional

MARKERS = "*o+x#@%&=~^$?!abcdefgh"  # one per series: mclust's 14 models fit
# Okabe and Ito's colours (2008), told apart with every common colour-vision deficiency; black
# is kept for means and totals, grey for the noise component. Past seven components the
# colours repeat (figures then change the marker).
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442")
NOISE_COLOUR = "#8C8C8C"


def component_colour(label: int) -> str:
    """The colour of a component (predict's label; -1, the noise, is grey)."""
    return NOISE_COLOUR if label < 0 else OKABE_ITO[label % len(OKABE_ITO)]


def format_number(value: float, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}g}" if abs(value) < 1e6 else f"{value:.{digits + 2}g}"


# ---------------------------------------------------------------- trace
def original_units_offset(model) -> float:
    """What turns the stored (fitted-space) log-likelihood history into original units.

    The Jacobian of the standardization does not depend on the parameters, so it is the
    same for every iteration and restart: the difference of the two stored totals.
    """
    ll = model.log_likelihood
    if "total_original_units" not in ll or "total" not in ll:
        return 0.0
    return ll["total_original_units"] - ll["total"]


def trace_history(model, restart: int) -> list:
    """One restart's log-likelihood per iteration, in original units."""
    offset = original_units_offset(model)
    return [total + offset for total in model.history["restarts"][restart]["log_likelihood"]]


def trace_rows(model, all_restarts: bool = False) -> list:
    """Rows (restart, iteration, total, mean per row, change) of the history, in original units."""
    n = model.log_likelihood.get("total_weight", model.n_samples)
    chosen = model.history["chosen"]
    restarts = range(len(model.history["restarts"])) if all_restarts else [chosen]
    rows = []
    for r in restarts:
        values = trace_history(model, r)
        for i, total in enumerate(values):
            change = None if i == 0 else total - values[i - 1]
            rows.append({"restart": r, "chosen": r == chosen, "iteration": i, "log_likelihood": total,
                         "mean_log_likelihood": total / n, "change": change})
    return rows


TRACE_COLUMNS = ("restart", "iteration", "log_likelihood", "mean_log_likelihood", "change")


def rows_csv(rows: list, columns) -> str:
    """Rows (dicts) as CSV: floats as their shortest round-trip repr, None as an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else repr(float(row[c])) if isinstance(row[c], float) else row[c]
                         for c in columns])
    return buf.getvalue()


def rows_json(rows: list) -> str:
    """Rows (dicts) as a JSON array, one key per line."""
    return json.dumps(rows, indent=1, allow_nan=False) + "\n"


def trace_table(rows: list) -> str:
    """A plain-text table of the trace (rich is not needed to read it)."""
    multi = len({r["restart"] for r in rows}) > 1
    header = (["restart"] if multi else []) + ["iter", "log-likelihood (original units)", "per row", "change"]
    body = []
    for row in rows:
        cells = [f"{row['restart']}{'*' if row['chosen'] else ''}"] if multi else []
        cells += [str(row["iteration"]), f"{row['log_likelihood']:.4f}", f"{row['mean_log_likelihood']:.6f}",
                  "" if row["change"] is None else f"{row['change']:+.4f}"]
        body.append(cells)
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in body]
    return "\n".join(lines) + "\n"


def line_chart(series: dict, width: int = 60, height: int = 12, title: str = "",
               x_name: str = "iteration", x_labels: tuple = (), y_scale=None, y_ticks: tuple = (),
               legend: str = "") -> str:
    """An ASCII chart of one or more series against their index.

    Parameters
    ----------
    series : dict of name -> sequence of float (None for a missing point)
    width, height : size of the plotting area in characters
    x_name : the x axis's name
    x_labels : (first, last) labels of the x axis (default: 0 and the last index)
    y_scale : callable, optional
        Where a value goes on the y axis (e.g. a logarithm); default: the value itself.
    y_ticks : sequence of (value, label), optional
        Labels of the y axis at these values (default: the highest and lowest value).
    legend : str, optional
        The legend line (default: each series' marker and name, when there are several).
    """
    scale = y_scale or (lambda v: v)
    values = [scale(v) for s in series.values() for v in s if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    longest = max(len(s) for s in series.values())
    grid = [[" "] * width for _ in range(height)]

    def cell(i, v):
        x = 0 if longest == 1 else round(i * (width - 1) / (longest - 1))
        return x, round((scale(v) - lo) / (hi - lo) * (height - 1))

    for m, (name, s) in enumerate(series.items()):
        marker = MARKERS[m % len(MARKERS)]
        points = [cell(i, v) for i, v in enumerate(s) if v is not None]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):  # join neighbours with dots
            for x in range(x0 + 1, x1):
                y = round(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
                if grid[height - 1 - y][x] == " ":
                    grid[height - 1 - y][x] = "."
        for x, y in points:
            grid[height - 1 - y][x] = marker
    labels = _y_axis_labels(y_ticks, scale, lo, hi, height) if y_ticks else \
        {0: format_number(hi), height - 1: format_number(lo)}
    pad = max(len(label) for label in labels.values())
    lines = [title] if title else []
    for r, cells in enumerate(grid):
        lines.append(f"{labels.get(r, '').rjust(pad)} |{''.join(cells)}")
    lines.append(" " * pad + " +" + "-" * width)
    first, last = (str(x) for x in (x_labels or (0, longest - 1)))
    axis = f"{first}{x_name.center(width - len(first) - len(last))}{last}"
    lines.append(" " * (pad + 2) + axis)
    if legend:
        lines.append(legend)
    elif len(series) > 1:
        lines.append("  ".join(f"{MARKERS[m % len(MARKERS)]} {name}" for m, name in enumerate(series)))
    return "\n".join(lines) + "\n"


def _y_axis_labels(ticks, scale, lo: float, hi: float, height: int) -> dict:
    """Row (0 at the top) -> label of the ticks inside the range; the first tick on a row keeps it."""
    labels: dict = {}
    for value, label in ticks:
        y = (scale(value) - lo) / (hi - lo) * (height - 1)
        if -0.5 <= y <= height - 0.5:
            labels.setdefault(height - 1 - round(y), label)
    return labels


def trace_chart(model, all_restarts: bool = False) -> str:
    chosen = model.history["chosen"]
    restarts = range(len(model.history["restarts"])) if all_restarts else [chosen]
    series = {
        f"restart {r}{' (chosen)' if r == chosen else ''}": trace_history(model, r)
        for r in restarts if model.history["restarts"][r]["log_likelihood"]
    }
    return line_chart(series, title="log-likelihood per iteration (original units)")


# ---------------------------------------------------------------- fit summary
def fit_figures(model, seconds: float) -> dict:
    """The fit summary's figures (the fields of its JSON log line); log-likelihoods in original units."""
    ll = model.log_likelihood
    return {
        "rows": model.n_samples, "columns": list(model.feature_names), "components": model.n_components,
        "covariance_type": model.params.covariance_type, "iterations": model.n_iter,
        "converged": model.converged, "log_likelihood": ll["total_original_units"],
        "mean_log_likelihood": ll["mean_original_units"], "seconds": round(seconds, 3),
        **({"total_weight": ll["total_weight"]} if "total_weight" in ll else {}),
    }


def column_list(names, shown: int = 6) -> str:
    """Quoted column names, the first few and a count of the rest."""
    quoted = [repr(str(n)) for n in names]
    if len(quoted) <= shown:
        return ", ".join(quoted)
    return ", ".join(quoted[:shown]) + f" and {len(quoted) - shown} more"


def fit_summary(model, seconds: float) -> str:
    f = fit_figures(model, seconds)
    state = "converged" if f["converged"] else "NOT converged"
    rows = f"{f['rows']} rows" if "total_weight" not in f else f"rows of total weight {f['total_weight']:g}"
    return (
        f"fitted {f['components']} {f['covariance_type']} component(s) to {rows} x "
        f"{len(f['columns'])} columns ({column_list(f['columns'])}): {state} after {f['iterations']} "
        f"iteration(s), log-likelihood {f['log_likelihood']:.4f} ({f['mean_log_likelihood']:.6f} per row, "
        f"original units), {seconds:.2f} s"
    )


# ---------------------------------------------------------------- explain
def render_explanation(ex) -> str:
    """The four layers of a prediction: input, densities, normalization, cluster."""
    out = [f"row {ex.row} ({ex.location})", "", "1. input sample"]
    width = max(len(n) for n in ex.feature_names)
    for j, name in enumerate(ex.feature_names):
        std = "" if ex.standardized is None else f"   standardized {ex.standardized[j]: .6f}"
        out.append(f"   {name.ljust(width)}  {format_number(ex.raw[j], 10):>14}{std}")
    names = [str(k) for k in range(len(ex.probabilities) - ex.noise)] + (["noise"] if ex.noise else [])
    title = "2. Gaussian densities (log, original units)" + ("; the noise: uniform, 1 / hypervolume" if ex.noise else "")
    out += ["", title, "   component   log weight   log density   weighted log density"]
    weighted = ex.log_weights + ex.log_densities
    for k, name in enumerate(names):
        out.append(f"   {name:>9}   {ex.log_weights[k]:>10.4f}   {ex.log_densities[k]:>11.4f}   {weighted[k]:>20.4f}")
    out += ["", "3. normalization (log-sum-exp: p_k = exp(w_k - max) / sum_j exp(w_j - max))"]
    for name, p in zip(names, ex.probabilities):
        bar = "#" * int(round(p * 40))
        out.append(f"   p_{name} = {p:.6f}  {bar}")
    out.append(f"   log p(x) = {ex.log_likelihood:.6f} (original units)")
    assigned = "noise (label -1)" if ex.label == -1 else str(ex.label)
    out += ["", f"4. assigned cluster: {assigned} (probability {ex.probabilities[ex.label]:.6f}, "
            f"uncertainty {1 - ex.probabilities[ex.label]:.6f})"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- select
SELECT_COLUMNS = ("k", "covariance_type", "log_likelihood", "n_parameters", "bic", "aic", "icl", "holdout",
                  "converged", "n_iter", "screened", "seconds", "wins", "best", "error")


LRT_COLUMNS = ("lrt_statistic", "lrt_p_value")  # with select --lrt


def select_columns(result) -> tuple:
    """The columns of select's CSV and JSON: with --lrt, the test's statistic and p-value too."""
    return SELECT_COLUMNS + (LRT_COLUMNS if getattr(result, "lrt", None) else ())


def select_rows(result) -> list:
    """One dict per cell of the main seed, with timing, wins and the best marked (and --lrt's test
    of k against the next k, on the row of k)."""
    rows = []
    columns = select_columns(result)
    for i, cell in enumerate(result.cells):
        row = cell.row()
        row.pop("seed")
        row.update(seconds=round(cell.seconds, 3), wins=result.wins.get((cell.k, cell.covariance_type), 0),
                   best=i == result.best, lrt_statistic=cell.lrt_statistic, lrt_p_value=cell.lrt_p_value)
        rows.append({key: row[key] for key in columns})
    return rows


def select_table(rows: list, criterion: str, lrt: Optional[dict] = None) -> str:
    """A plain-text table, the chosen cell marked with '*' (with ``lrt``, --lrt's settings: the
    statistic and p-value of k against the next k, and each covariance model's k by the test)."""
    header = ["", "k", "covariance", "log-lik", "params", "BIC", "AIC", "ICL"]
    has_holdout = any(r["holdout"] is not None for r in rows)
    has_wins = any(r["wins"] for r in rows) and sum(r["wins"] for r in rows) > 1
    header += (["holdout"] if has_holdout else []) + ["conv", "iter", "s"] + (["wins"] if has_wins else [])
    header += ["LRT vs next", "p"] if lrt else []
    body = []
    for r in rows:
        if r["error"]:
            cells = ["", str(r["k"]), r["covariance_type"], f"failed: {r['error']}"]
            body.append(cells + [""] * (len(header) - len(cells)))
            continue
        cells = ["*" if r["best"] else "", str(r["k"]), r["covariance_type"], f"{r['log_likelihood']:.3f}",
                 str(r["n_parameters"]), f"{r['bic']:.3f}", f"{r['aic']:.3f}", f"{r['icl']:.3f}"]
        cells += [f"{r['holdout']:.5f}"] if has_holdout else []
        # a screened cell converged only to select's screening tolerance (and was never chosen)
        conv = ("yes" if r["converged"] else "no") + ("°" if r.get("screened") else "")
        cells += [conv, str(r["n_iter"]), f"{r['seconds']:.2f}"]
        cells += [str(r["wins"])] if has_wins else []
        cells += lrt_cells(r) if lrt else []
        body.append(cells)
    widths = [max([len(h)] + [len(b[i]) for b in body if len(b[i]) < 40]) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)).rstrip() for cells in body]
    best = next(r for r in rows if r["best"])
    what = "highest held-out log-likelihood" if criterion == "holdout" else f"lowest {criterion.upper()}"
    lines.append(f"* chosen: k={best['k']}, {best['covariance_type']} ({what})")
    if any(r.get("screened") for r in rows):
        lines.append("° screened only (one start, to mclust's tolerance); the cells within --polish-within of the best got the full fit")
    lines += lrt_lines(rows, lrt) if lrt else []
    return "\n".join(lines) + "\n"


def lrt_cells(row: dict) -> list:
    """The statistic and p-value of a row's test ('' when its k was not tested)."""
    if row.get("lrt_p_value") is None:
        return ["", ""]
    return [f"{row['lrt_statistic']:.3f}", format_number(row["lrt_p_value"], 4)]


def lrt_lines(rows: list, lrt: dict) -> list:
    """Per covariance model, the k the sequential test stops at: the first k not rejected (or the
    largest k tested when every test rejected)."""
    lines = [f"bootstrap LRT of k against the next k ({lrt['replicates']} replicates, level {lrt['level']:g}; "
             "mclust's mclustBootstrapLRT):"]
    for model in dict.fromkeys(r["covariance_type"] for r in rows):
        tested = sorted((r for r in rows if r["covariance_type"] == model and r.get("lrt_p_value") is not None),
                        key=lambda r: r["k"])
        if not tested:
            continue
        kept = next((r["k"] for r in tested if r["lrt_p_value"] > lrt["level"]), None)
        verdict = f"k={kept}" if kept is not None else f"more than k={tested[-1]['k']} (every test rejected)"
        steps = ", ".join(f"{r['k']}: p={format_number(r['lrt_p_value'], 3)}" for r in tested)
        lines.append(f"  {model}: {verdict}  ({steps})")
    return lines


# A criterion's differences from the best cell are drawn on log10(1 + Δ / unit): 0, 2, 10, 100 and
# 1000 BIC units all get rows of their own, where a linear axis squeezes every near-best cell into
# one or two rows (faithful: k = 1 is ~300 above the rest, which differ by 2 to 30). For BIC,
# differences of 2, 6 and 10 are the usual "positive / strong / very strong" steps (Kass and
# Raftery 1995). The held-out log-likelihood is per row, so its unit is smaller.
CRITERION_UNITS = {"bic": 1.0, "aic": 1.0, "icl": 1.0, "holdout": 1e-3}


def criterion_differences(rows: list, criterion: str) -> tuple:
    """(best row, {covariance type: [difference from the best, per k]}, the ks): worse is positive."""
    ks = sorted({r["k"] for r in rows})
    fitted = [r for r in rows if not r["error"] and r[criterion] is not None]
    sign = -1.0 if criterion == "holdout" else 1.0  # holdout: higher is better
    best = min(fitted, key=lambda r: sign * r[criterion]) if fitted else None
    series = {}
    for t in dict.fromkeys(r["covariance_type"] for r in rows):
        by_k = {r["k"]: sign * (r[criterion] - best[criterion]) for r in fitted if r["covariance_type"] == t}
        series[t] = [by_k.get(k) for k in ks]
    return best, series, ks


def difference_ticks(largest: float, unit: float) -> tuple:
    """(value, label) ticks of a difference axis: 0, the powers of ten below ``largest``, and it."""
    ticks = [(0.0, "best 0")]
    if largest > 0:
        ticks.append((largest, f"+{format_number(largest, 4)}"))
        power = unit * 10.0
        while power < largest * 0.7:
            ticks.append((power, f"+{format_number(power, 4)}"))
            power *= 10.0
    return tuple(ticks)


def criterion_chart(rows: list, criterion: str, width: int = 60, height: int = 14) -> str:
    """mclust's BIC plot in the terminal, made to separate close cells.

    One line per covariance type: each cell's difference from the best cell against k, on a
    log scale (see ``CRITERION_UNITS``), so the near-best cells that decide the choice are
    rows apart; then the top three cells, as mclust's summary prints them.
    """
    best, series, ks = criterion_differences(rows, criterion)
    if best is None:
        return ""
    unit = CRITERION_UNITS.get(criterion, 1.0)
    largest = max((v for s in series.values() for v in s if v is not None), default=0.0)
    what = "held-out log-likelihood per row (higher is better)" if criterion == "holdout" \
        else f"{criterion.upper()} (lower is better)"
    title = (f"{what}: difference from the best cell, k={best['k']} {best['covariance_type']} "
             f"({format_number(best[criterion], 8)}), log scale")
    chart = line_chart(series, width=width, height=height, title=title, x_name="k", x_labels=(ks[0], ks[-1]),
                       y_scale=lambda v: math.log10(1.0 + v / unit), y_ticks=difference_ticks(largest, unit))
    return chart + top_cells_line(series, ks, criterion) + "\n"


def top_cells_line(series: dict, ks: list, criterion: str, how_many: int = 3) -> str:
    """``top 3: k=3 full (best), k=4 full +27.4, …`` from the differences."""
    cells = sorted((d, k, t) for t, s in series.items() for k, d in zip(ks, s) if d is not None)[:how_many]
    shown = [f"k={k} {t} " + ("(best)" if i == 0 else f"+{format_number(d, 4)}") for i, (d, k, t) in enumerate(cells)]
    return f"top {len(shown)}: " + ", ".join(shown)


# ---------------------------------------------------------------- bootstrap
RESAMPLING_NAMES = {"bs": "nonparametric bootstrap", "wlbs": "weighted likelihood bootstrap",
                    "pb": "parametric bootstrap", "jk": "jackknife"}


def bootstrap_table(rows: list, level: float) -> str:
    """The bootstrap's rows as a plain table: each parameter's estimate, standard error and interval."""
    header = ["parameter", "component", "column", "estimate", "se",
              f"lower {format_number(100 * level, 4)}%", f"upper {format_number(100 * level, 4)}%"]
    body = [[r["parameter"], str(r["component"]), r["column"] or ""] +
            [format_number(r[key]) for key in ("estimate", "se", "lower", "upper")] for r in rows]
    return "\n".join(aligned(header, body, left=3)) + "\n"


def bootstrap_figures(result) -> dict:
    """The bootstrap's figures (the fields of its JSON log line)."""
    params = result.model.params
    return {"type": result.kind, "replicates": result.replicates, "failed": result.failed, "lost": result.lost,
            "not_converged": result.not_converged, "covariance_type": params.covariance_type,
            "components": params.n_components, "seconds": round(result.seconds, 3)}


def bootstrap_summary(result) -> str:
    """One line for people: what was resampled, how often, and how it went."""
    f = bootstrap_figures(result)
    failed = f", {f['failed']} failed refit(s)" if f["failed"] else ""
    return (f"{RESAMPLING_NAMES[f['type']]}: {f['replicates']} replicate(s) of {f['components']} "
            f"{f['covariance_type']} component(s){failed}; standard errors in original units, {result.seconds:.2f} s")


# ---------------------------------------------------------------- summary
def summary_document(summary) -> dict:
    """The summary as a JSON-ready dict: one object per component, values keyed by column name."""
    names = list(summary.feature_names)
    scan = summary.scan
    doc = {
        "model": summary.model_path, "columns": names, "covariance_type": summary.covariance_type,
        "mclust_name": summary.mclust_name,
        "n_components": summary.n_components, "n_samples": summary.n_samples,
        "log_likelihood": summary.log_likelihood, "n_parameters": summary.n_parameters,
        "bic": summary.bic, "aic": summary.aic, "icl": summary.icl,
        "converged": summary.converged, "n_iter": summary.n_iter,
        "noise": None if summary.noise_weight is None else {"weight": summary.noise_weight},
        "components": [component_document(c, names, summary) for c in summary.components],
        "input": None, "classification": None, "uncertainty": None, "outliers": None,
        "selection": None if not summary.top_cells else {
            "criterion": summary.criterion,
            "top": [{"k": r["k"], "covariance_type": r["covariance_type"], summary.criterion: r[summary.criterion],
                     "difference": r["difference"]} for r in summary.top_cells]},
    }
    if scan is not None:
        doc.update(scan_document(scan, summary.noise_weight is not None))
    if summary.uncertainty is not None:
        u = summary.uncertainty
        doc["uncertainty"] = {"type": u["type"], "replicates": u["replicates"], "level": u["level"]}
    return doc


def component_document(component, names: list, summary=None) -> dict:
    correlation = component.correlation
    doc = {
        "component": component.index, "weight": component.weight,
        "mean": {n: float(v) for n, v in zip(names, component.mean)},
        "sd": {n: float(v) for n, v in zip(names, component.sd)},
        "correlation": {a: {b: float(correlation[i, j]) for j, b in enumerate(names)} for i, a in enumerate(names)},
    }
    if summary is not None and summary.standard_errors is not None:  # gmmcli bootstrap -o wrote them
        k = component.index
        doc["se"] = {"weight": summary.standard_error("weight", k),
                     "mean": {n: summary.standard_error("mean", k, n) for n in names},
                     "variance": {n: summary.standard_error("variance", k, n) for n in names}}
    return doc


def scan_document(scan, has_noise: bool) -> dict:
    """The input's part of the summary: classification, uncertainty, outliers."""
    n = scan.n_rows
    classes = [{"component": k, "rows": int(c), "share": c / n if n else 0.0} for k, c in enumerate(scan.counts)]
    if has_noise:
        classes.append({"component": "noise", "rows": scan.noise_rows, "share": scan.noise_rows / n if n else 0.0})
    outliers = None
    if scan.n_outliers is not None:
        outliers = {"quantile": scan.outlier_quantile, "threshold": scan.outlier_threshold, "rows": scan.n_outliers}
    return {
        "input": {"name": scan.name, "rows": n, "incomplete_rows": scan.incomplete_rows},
        "classification": classes,
        "uncertainty": {"mean": scan.mean_uncertainty, "max": scan.max_uncertainty},
        "outliers": outliers,
    }


def summary_rows(summary) -> tuple:
    """(rows, columns) of the CSV summary: one row per component, its mean, SD and correlations."""
    names = list(summary.feature_names)
    counts = None if summary.scan is None else summary.scan.counts
    columns = ["component", "weight"] + (["rows"] if counts is not None else [])
    columns += [f"mean_{n}" for n in names] + [f"sd_{n}" for n in names]
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    columns += [f"cor_{names[i]}_{names[j]}" for i, j in pairs]
    with_se = summary.standard_errors is not None
    columns += (["se_weight"] + [f"se_mean_{n}" for n in names]) if with_se else []
    rows = []
    for c in summary.components:
        row = {"component": c.index, "weight": c.weight, **({"rows": int(counts[c.index])} if counts is not None else {})}
        row.update({f"mean_{n}": float(v) for n, v in zip(names, c.mean)})
        row.update({f"sd_{n}": float(v) for n, v in zip(names, c.sd)})
        row.update({f"cor_{names[i]}_{names[j]}": float(c.correlation[i, j]) for i, j in pairs})
        if with_se:
            row["se_weight"] = summary.standard_error("weight", c.index)
            row.update({f"se_mean_{n}": summary.standard_error("mean", c.index, n) for n in names})
        rows.append(row)
    return rows, columns


def aligned(header: list, body: list, left: int = 0) -> list:
    """Lines of a plain table: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), line(["-" * w for w in widths])] + [line(b) for b in body]


def summary_table(summary, max_correlation_columns: int = 8) -> str:
    """mclust's ``summary()`` in plain text: the model, its criteria, each component, the input."""
    s = summary
    noise = "" if s.noise_weight is None else f" and a noise component (weight {s.noise_weight:.4f})"
    alias = f" (mclust {s.mclust_name})" if s.mclust_name != s.covariance_type else ""
    out = [f"Gaussian mixture fitted by EM: {s.covariance_type}{alias}, "
           f"{s.n_components} component(s){noise}", f"model file {s.model_path}; columns {column_list(s.feature_names)}", ""]
    header = ["log-likelihood", "n", "params", "BIC", "AIC"] + (["ICL"] if s.icl is not None else [])
    cells = [f"{s.log_likelihood:.4f}", format_number(s.n_samples), str(s.n_parameters), f"{s.bic:.3f}", f"{s.aic:.3f}"]
    out += aligned(header, [cells + ([f"{s.icl:.3f}"] if s.icl is not None else [])])
    state = "converged" if s.converged else "NOT converged"
    out += [f"{state} after {s.n_iter} iteration(s); original units; criteria lower is better "
            "(mclust's BIC is -1 times ours)", ""]
    if s.uncertainty is not None:
        u = s.uncertainty
        out += [f"se: standard errors by {RESAMPLING_NAMES.get(u['type'], u['type'])} ({u['replicates']} replicates; "
                f"{format_number(100 * u['level'], 4)}% intervals in the model's uncertainty section)", ""]
    for c in s.components:
        out += component_lines(c, s.feature_names, s.scan, max_correlation_columns, s)
    if s.scan is not None:
        out += scan_lines(s.scan, s.noise_weight is not None)
    if s.top_cells:
        out += top_cells_lines(s.top_cells, s.criterion)
    return "\n".join(out).rstrip("\n") + "\n"


def component_lines(component, names, scan, max_correlation_columns: int, summary=None) -> list:
    """One component: weight (and rows), then per column its mean, SD and correlations (and the
    bootstrap's standard errors of the weight and means, when the model has them)."""
    rows = ""
    if scan is not None and scan.n_rows:
        count = int(scan.counts[component.index])
        rows = f", {count} rows ({100 * count / scan.n_rows:.1f}%)"
    se = (lambda *key: summary.standard_error(*key)) if summary is not None and summary.standard_errors else None
    weight_se = "" if se is None else f" (se {format_number(se('weight', component.index), 4)})"
    lines = [f"component {component.index}: weight {component.weight:.4f}{weight_se}{rows}"]
    with_correlation = 1 < len(names) <= max_correlation_columns
    header = ["  column", "mean"] + (["se"] if se else []) + ["sd"] + ([f"cor {n}" for n in names] if with_correlation else [])
    body = []
    for j, name in enumerate(names):
        cells = [f"  {name}", format_number(float(component.mean[j]))]
        cells += [format_number(se("mean", component.index, str(name)))] if se else []
        cells += [format_number(float(component.sd[j]))]
        body.append(cells + ([f"{component.correlation[j, i]:.3f}" for i in range(len(names))] if with_correlation else []))
    lines += aligned(header, body, left=1)
    if len(names) > max_correlation_columns:
        lines.append("  (correlations: --format json or csv)")
    return lines + [""]


def scan_lines(scan, has_noise: bool) -> list:
    """The classification table of an input, its uncertainty and outliers."""
    n = scan.n_rows
    share = (lambda c: f"{100 * c / n:.1f}%") if n else (lambda c: "")
    body = [[str(k), str(int(c)), share(c)] for k, c in enumerate(scan.counts)]
    body += [["noise", str(scan.noise_rows), share(scan.noise_rows)]] if has_noise else []
    lines = [f"classification of {scan.name} ({n} rows, labels as gmmcli predict gives them)"]
    lines += aligned(["component", "rows", "share"], body)
    lines.append(f"uncertainty (1 - max probability): mean {scan.mean_uncertainty:.4g}, max {scan.max_uncertainty:.4g}")
    if scan.incomplete_rows:
        lines.append(f"{scan.incomplete_rows} row(s) with missing cells, scored on their observed cells")
    if scan.n_outliers is not None:
        lines.append(f"outliers: {scan.n_outliers} row(s) with a log-likelihood below {scan.outlier_threshold:.6g}, "
                     f"the training rows' {scan.outlier_quantile:g} quantile")
    if has_noise:
        lines.append(f"noise: {scan.noise_rows} row(s) labelled -1")
    return lines + [""]


def top_cells_lines(cells: tuple, criterion: str) -> list:
    """mclust's "Best BIC values" from the model's embedded selection table."""
    name = "held-out log-likelihood" if criterion == "holdout" else criterion.upper()
    header = [""] + [f"k={r['k']} {r['covariance_type']}" for r in cells]
    body = [[name] + [format_number(r[criterion], 8) for r in cells],
            ["difference"] + [f"{r['difference']:+.4g}" if i else "best" for i, r in enumerate(cells)]]
    return [f"best {name} values (the model's selection table):"] + aligned(header, body, left=1) + [""]


# ---------------------------------------------------------------- terminal scatter
# Braille characters hold 2 × 4 dots: (column, row) -> bit of U+2800 + bits.
BRAILLE_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def hex_to_rgb(colour: str) -> tuple:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def coloured(text: str, colour: str) -> str:
    """``text`` in a 24-bit ANSI colour."""
    r, g, b = hex_to_rgb(colour)
    return f"\x1b[38;2;{r};{g};{b}m{text}\x1b[0m"


def grid_positions(values, lo: float, hi: float, cells: int):
    """Index of the cell (0 … cells − 1) of each value in [lo, hi]."""
    span = hi - lo if hi > lo else 1.0
    return [min(cells - 1, max(0, int((v - lo) / span * cells))) for v in values]


def scatter_chart(x, y, labels, means=(), *, width: int = 60, height: int = 18, colour: bool = False,
                  x_name: str = "x", y_name: str = "y", title: str = "", note: str = "") -> str:
    """A scatter plot of labelled points in the terminal.

    With ``colour``, braille dots (2 × 4 per character) in each component's colour (a
    character takes the colour of most of its points); without, one character per cell:
    the label's digit (``.`` for noise), so it reads on any terminal and in a log file.
    Component means are drawn as their label in reverse video (colour) or as ``X`` (plain).

    Parameters
    ----------
    x, y : sequences of float (the points, original units)
    labels : sequence of int (predict's labels; -1 noise)
    means : sequence of (x, y) per component, optional
    """
    xs, ys, labels = list(x), list(y), list(labels)
    values_x = xs + [m[0] for m in means]
    values_y = ys + [m[1] for m in means]
    if not values_x:
        return f"{title}\n(no rows to draw)\n" if title else "(no rows to draw)\n"
    (x_lo, x_hi), (y_lo, y_hi) = (min(values_x), max(values_x)), (min(values_y), max(values_y))
    dot_cols = grid_positions(xs, x_lo, x_hi, width * 2)
    dot_rows = grid_positions(ys, y_lo, y_hi, height * 4)
    cells = _braille_cells(dot_cols, dot_rows, labels, height) if colour else \
        _text_cells(dot_cols, dot_rows, labels, height)
    for k, (mx, my) in enumerate(means):
        col = grid_positions([mx], x_lo, x_hi, width)[0]
        row = height - 1 - grid_positions([my], y_lo, y_hi, height)[0]
        cells[(row, col)] = ("\x1b[1;7m" + str(k % 10) + "\x1b[0m") if colour else "X"
    return _frame(cells, width, height, (x_lo, x_hi), (y_lo, y_hi), x_name, y_name, title, note)


def _braille_cells(dot_cols, dot_rows, labels, height: int) -> dict:
    """(row, column) -> a coloured braille character."""
    bits: dict = {}
    votes: dict = {}
    for c, r, label in zip(dot_cols, dot_rows, labels):
        top_row = height * 4 - 1 - r  # dots counted from the top
        cell = (top_row // 4, c // 2)
        bits[cell] = bits.get(cell, 0) | BRAILLE_BITS[c % 2][top_row % 4]
        tally = votes.setdefault(cell, {})
        tally[label] = tally.get(label, 0) + 1
    return {cell: coloured(chr(0x2800 + b), component_colour(max(votes[cell], key=votes[cell].get)))
            for cell, b in bits.items()}


def _text_cells(dot_cols, dot_rows, labels, height: int) -> dict:
    """(row, column) -> the digit of the label most points in the cell have."""
    votes: dict = {}
    for c, r, label in zip(dot_cols, dot_rows, labels):
        tally = votes.setdefault((height - 1 - r // 4, c // 2), {})
        tally[label] = tally.get(label, 0) + 1
    marks = {}
    for cell, tally in votes.items():
        label = max(tally, key=tally.get)
        marks[cell] = "." if label < 0 else "0123456789abcdefghijklmnopqrstuvwxyz"[label % 36]
    return marks


def _frame(cells: dict, width: int, height: int, x_range, y_range, x_name, y_name, title, note) -> str:
    """The plotting area with its axes, the ranges as labels and the axis names."""
    top, bottom = format_number(y_range[1], 5), format_number(y_range[0], 5)
    pad = max(len(top), len(bottom), len(y_name))
    lines = [title] if title else []
    for r in range(height):
        label = top if r == 0 else bottom if r == height - 1 else y_name if r == height // 2 else ""
        lines.append(f"{label.rjust(pad)} |" + "".join(cells.get((r, c), " ") for c in range(width)))
    lines.append(" " * pad + " +" + "-" * width)
    first, last = format_number(x_range[0], 5), format_number(x_range[1], 5)
    lines.append(" " * (pad + 2) + first + x_name.center(max(1, width - len(first) - len(last))) + last)
    if note:
        lines.append(note)
    return "\n".join(lines) + "\n"


def scatter_legend(components, counts, colour: bool) -> str:
    """``0 weight 0.494 148 rows  1 …`` with each label in its colour."""
    parts = []
    for c in components:
        mark = coloured("\u2588", component_colour(c.index)) if colour else str(c.index)
        rows = f", {int(counts[c.index])} rows" if counts is not None else ""
        parts.append(f"{mark} {c.index}: weight {c.weight:.3f}{rows}")
    return "  ".join(parts)
