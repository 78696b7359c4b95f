"""What people see, as pure functions returning text (no terminal needed)."""

from __future__ import annotations

import csv
import io
import json
import math

MARKERS = "*o+x#@%&=~^$?!abcdefgh"  # one per series: mclust's 14 models fit


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
               x_name: str = "iteration", x_labels: tuple = ()) -> str:
    """An ASCII chart of one or more series against their index.

    Parameters
    ----------
    series : dict of name -> sequence of float (None for a missing point)
    width, height : size of the plotting area in characters
    x_name : the x axis's name
    x_labels : (first, last) labels of the x axis (default: 0 and the last index)
    """
    values = [v for s in series.values() for v in s if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    longest = max(len(s) for s in series.values())
    grid = [[" "] * width for _ in range(height)]
    def cell(i, v):
        x = 0 if longest == 1 else round(i * (width - 1) / (longest - 1))
        return x, round((v - lo) / (hi - lo) * (height - 1))

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
    label_hi, label_lo = format_number(hi), format_number(lo)
    pad = max(len(label_hi), len(label_lo))
    lines = [title] if title else []
    for r, cells in enumerate(grid):
        label = label_hi if r == 0 else label_lo if r == height - 1 else ""
        lines.append(f"{label.rjust(pad)} |{''.join(cells)}")
    lines.append(" " * pad + " +" + "-" * width)
    first, last = (str(x) for x in (x_labels or (0, longest - 1)))
    axis = f"{first}{x_name.center(width - len(first) - len(last))}{last}"
    lines.append(" " * (pad + 2) + axis)
    if len(series) > 1:
        lines.append("  ".join(f"{MARKERS[m % len(MARKERS)]} {name}" for m, name in enumerate(series)))
    return "\n".join(lines) + "\n"


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
    out += ["", "2. Gaussian densities (log, original units)",
            "   component   log weight   log density   weighted log density"]
    weighted = ex.log_weights + ex.log_densities
    for k in range(len(ex.probabilities)):
        out.append(f"   {k:>9}   {ex.log_weights[k]:>10.4f}   {ex.log_densities[k]:>11.4f}   {weighted[k]:>20.4f}")
    out += ["", "3. normalization (log-sum-exp: p_k = exp(w_k - max) / sum_j exp(w_j - max))"]
    for k, p in enumerate(ex.probabilities):
        bar = "#" * int(round(p * 40))
        out.append(f"   p_{k} = {p:.6f}  {bar}")
    out.append(f"   log p(x) = {ex.log_likelihood:.6f} (original units)")
    out += ["", f"4. assigned cluster: {ex.label} (probability {ex.probabilities[ex.label]:.6f}, "
            f"uncertainty {1 - ex.probabilities[ex.label]:.6f})"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- select
SELECT_COLUMNS = ("k", "covariance_type", "log_likelihood", "n_parameters", "bic", "aic", "icl", "holdout",
                  "converged", "n_iter", "seconds", "wins", "best", "error")


def select_rows(result) -> list:
    """One dict per cell of the main seed, with timing, wins and the best marked."""
    rows = []
    for i, cell in enumerate(result.cells):
        row = cell.row()
        row.pop("seed")
        row.update(seconds=round(cell.seconds, 3), wins=result.wins.get((cell.k, cell.covariance_type), 0),
                   best=i == result.best)
        rows.append({key: row[key] for key in SELECT_COLUMNS})
    return rows


def select_table(rows: list, criterion: str) -> str:
    """A plain-text table, the chosen cell marked with '*'."""
    header = ["", "k", "covariance", "log-lik", "params", "BIC", "AIC", "ICL"]
    has_holdout = any(r["holdout"] is not None for r in rows)
    has_wins = any(r["wins"] for r in rows) and sum(r["wins"] for r in rows) > 1
    header += (["holdout"] if has_holdout else []) + ["conv", "iter", "s"] + (["wins"] if has_wins else [])
    body = []
    for r in rows:
        if r["error"]:
            cells = ["", str(r["k"]), r["covariance_type"], f"failed: {r['error']}"]
            body.append(cells + [""] * (len(header) - len(cells)))
            continue
        cells = ["*" if r["best"] else "", str(r["k"]), r["covariance_type"], f"{r['log_likelihood']:.3f}",
                 str(r["n_parameters"]), f"{r['bic']:.3f}", f"{r['aic']:.3f}", f"{r['icl']:.3f}"]
        cells += [f"{r['holdout']:.5f}"] if has_holdout else []
        cells += ["yes" if r["converged"] else "no", str(r["n_iter"]), f"{r['seconds']:.2f}"]
        cells += [str(r["wins"])] if has_wins else []
        body.append(cells)
    widths = [max([len(h)] + [len(b[i]) for b in body if len(b[i]) < 40]) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)).rstrip() for cells in body]
    best = next(r for r in rows if r["best"])
    what = "highest held-out log-likelihood" if criterion == "holdout" else f"lowest {criterion.upper()}"
    lines.append(f"* chosen: k={best['k']}, {best['covariance_type']} ({what})")
    return "\n".join(lines) + "\n"


def criterion_chart(rows: list, criterion: str) -> str:
    """mclust's BIC plot in the terminal: the criterion against k, one line per covariance type."""
    ks = sorted({r["k"] for r in rows})
    types = list(dict.fromkeys(r["covariance_type"] for r in rows))
    series = {}
    for t in types:
        by_k = {r["k"]: r[criterion] for r in rows if r["covariance_type"] == t and not r["error"]}
        series[t] = [by_k.get(k) for k in ks]
    label = "held-out log-likelihood per row (higher is better)" if criterion == "holdout" \
        else f"{criterion.upper()} (lower is better)"
    return line_chart(series, title=label, x_name="k", x_labels=(ks[0], ks[-1]))
