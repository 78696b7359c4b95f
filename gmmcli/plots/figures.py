"""The five figures of ``gmmcli plot``: classification, uncertainty, density, bic and trace.

The first three are scatter matrices of the drawn columns (lower triangle: pairs; diagonal:
each column's histogram with the components' weighted densities; top right: the legend),
all in original units with the CSV's column names on the axes. Each says how many of the
input's rows it shows.
"""

from __future__ import annotations

import math

import numpy as np

from gmmcli.plots import geometry
from gmmcli.plots.style import RASTERIZE_ABOVE, component_colour, component_marker, figure, save, series_style

MEAN_MARKER = {"marker": "X", "s": 70, "edgecolors": "black", "linewidths": 0.8, "zorder": 5}


def draw_figure(data, kind: str, file_format: str) -> bytes:
    """One figure of ``kind`` as SVG, PNG or PDF bytes."""
    with figure(*figure_size(data, kind)) as fig:
        FIGURES[kind](fig, data)
        return save(fig, file_format)


def figure_size(data, kind: str) -> tuple:
    """Inches: a scatter matrix grows with its columns (up to a page); charts are wide."""
    if kind in ("bic", "trace"):
        return 10.0, 4.2
    n = len(data.columns)
    return (7.0, 4.6) if n == 1 else (min(2.4 * n + 1.2, 14.0),) * 2


# ---------------------------------------------------------------- scatter matrices
def scatter_matrix(fig, data, draw_pair, title: str, strip=None) -> None:
    """The matrix of the drawn columns; ``draw_pair(ax, i, j, ranges)`` fills a lower panel.

    One column: the diagonal panel alone, with ``strip(ax, j)`` (the rows under the curves), if given.
    """
    columns, sample = data.columns, data.summary.scan.sample
    ranges = [geometry.column_range(sample.X[:, j], data.summary.components, j) for j in columns]
    n = len(columns)
    axes = fig.subplots(n, n, squeeze=False)
    for r in range(n):
        for c in range(n):
            ax = axes[r][c]
            if c > r:
                ax.axis("off")
                continue
            if r == c:
                draw_marginal(ax, data, columns[c], ranges[c])
                if n == 1 and strip is not None:
                    strip(ax, columns[c])
            else:
                draw_pair(ax, columns[r], columns[c], (ranges[c], ranges[r]))
            label_panel(ax, data, r, c, n)
    draw_legend(fig if n == 1 else axes[0][n - 1], data, outside=n == 1)
    fig.suptitle(f"{title}\n{data.summary.n_components} {data.summary.covariance_type} component(s), "
                 f"original units; {shown_note(data.summary.scan)}", fontsize=9)


def label_panel(ax, data, r: int, c: int, n: int) -> None:
    """Axis labels (the CSV's column names) on the outer panels only."""
    names = data.summary.feature_names
    if r == n - 1:
        ax.set_xlabel(names[data.columns[c]])
    else:
        ax.tick_params(labelbottom=False)
    if c == 0:
        ax.set_ylabel("density" if r == 0 else names[data.columns[r]])
    elif r != c:
        ax.tick_params(labelleft=False)


def draw_marginal(ax, data, j: int, x_range: tuple) -> None:
    """Histogram of column j (the rows shown) under each component's weighted density and their sum."""
    x = data.summary.scan.sample.X[:, j]
    if len(x):
        ax.hist(x, bins=int(min(60, max(10, math.sqrt(len(x))))), range=x_range, density=True,
                color="#D9D9D9", edgecolor="none")
    grid = np.linspace(*x_range, 400)
    curves = geometry.component_densities_1d(data.summary.components, j, grid)
    for k, curve in enumerate(curves):
        ax.plot(grid, curve, color=component_colour(k), lw=1.3)
    ax.plot(grid, curves.sum(axis=0), color="black", lw=1.0)
    ax.set_xlim(*x_range)
    ax.set_yticks([])


def stroke(label: int) -> float:
    """Filled markers need no outline; the noise's "x" is drawn by its strokes alone."""
    return 0.8 if label == -1 else 0.0


def draw_points(ax, sample, i: int, j: int, sizes=None, alpha: float = 0.6) -> None:
    """The rows shown, coloured by label; larger groups first, so small clusters stay visible."""
    labels, counts = np.unique(sample.labels, return_counts=True)
    rasterized = sample.n_shown > RASTERIZE_ABOVE
    for label in labels[np.argsort(-counts, kind="stable")]:
        rows = sample.labels == label
        s = geometry.point_size(sample.n_shown) if sizes is None else sizes[rows]
        ax.scatter(sample.X[rows, j], sample.X[rows, i], s=s, c=component_colour(int(label)),
                   marker=component_marker(int(label)), alpha=alpha, linewidths=stroke(int(label)),
                   rasterized=rasterized)


def draw_components(ax, components, i: int, j: int, sds=geometry.ELLIPSE_SDS) -> None:
    """Each component's mean and its 1- and 2-SD ellipses (Mahalanobis radius) over columns (j, i)."""
    from matplotlib.patches import Ellipse

    weights, means, covariances = geometry.pair_marginal(components, j, i)
    for k in range(len(weights)):
        for n_sd, style in zip(sds, ("-", "--")):
            width, height, angle = geometry.ellipse(covariances[k], n_sd)
            ax.add_patch(Ellipse(means[k], width, height, angle=angle, fill=False, lw=1.2, ls=style,
                                 edgecolor=component_colour(k), zorder=4))
        ax.scatter([means[k, 0]], [means[k, 1]], c=component_colour(k), **MEAN_MARKER)


def draw_strip(ax, sample, j: int, sizes=None) -> None:
    """One column's rows as a jittered strip below the density curves, coloured by label."""
    top = ax.get_ylim()[1]
    jitter = np.random.default_rng(0).uniform(0.03, 0.12, sample.n_shown) * top
    for label in np.unique(sample.labels):
        rows = sample.labels == label
        s = geometry.point_size(sample.n_shown) if sizes is None else sizes[rows]
        ax.scatter(sample.X[rows, j], -jitter[rows], s=s, c=component_colour(int(label)), linewidths=stroke(int(label)),
                   marker=component_marker(int(label)), alpha=0.6, rasterized=sample.n_shown > RASTERIZE_ABOVE)
    ax.set_ylim(-0.14 * top, top)


def set_ranges(ax, ranges: tuple) -> None:
    ax.set_xlim(*ranges[0])
    ax.set_ylim(*ranges[1])


def classification_figure(fig, data) -> None:
    """mclust's classification plot, with densities on the diagonal and the legend's counts."""
    sample, components = data.summary.scan.sample, data.summary.components

    def pair(ax, i, j, ranges):
        draw_points(ax, sample, i, j)
        draw_components(ax, components, i, j)
        set_ranges(ax, ranges)

    scatter_matrix(fig, data, pair, "classification (colour: label; X: mean; ellipses: 1 and 2 SD)",
                   strip=lambda ax, j: draw_strip(ax, sample, j))


def uncertainty_figure(fig, data) -> None:
    """Point area grows with the uncertainty 1 − max probability (the most uncertain drawn last)."""
    sample, components = data.summary.scan.sample, data.summary.components
    most = max(1.0 - 1.0 / max(data.summary.n_components, 2), 1e-12)  # the largest possible uncertainty
    sizes = 1.0 + 90.0 * np.clip(sample.uncertainty / most, 0, 1)

    def pair(ax, i, j, ranges):
        draw_points(ax, sample, i, j, sizes=sizes, alpha=0.55)
        draw_components(ax, components, i, j, sds=(1.0,))
        set_ranges(ax, ranges)

    uncertain = int((sample.uncertainty > 0.1).sum())
    scatter_matrix(fig, data, pair, f"uncertainty (area: 1 - max probability; {uncertain:,} rows shown above 0.1)",
                   strip=lambda ax, j: draw_strip(ax, sample, j, sizes))


def density_figure(fig, data) -> None:
    """Contours of each pair's exact marginal mixture density, at the levels that hold 25–95 % of the rows."""
    sample, components = data.summary.scan.sample, data.summary.components

    def pair(ax, i, j, ranges):
        weights, means, covariances = geometry.pair_marginal(components, j, i)
        gx, gy = (np.linspace(*r, 120) for r in ranges)
        xx, yy = np.meshgrid(gx, gy)
        grid = geometry.mixture_density_2d(weights, means, covariances, np.column_stack([xx.ravel(), yy.ravel()]))
        at_rows = geometry.mixture_density_2d(weights, means, covariances, sample.X[:, [j, i]])
        levels = geometry.hdr_levels(at_rows)
        ax.scatter(sample.X[:, j], sample.X[:, i], s=1.5, c="#9A9A9A", linewidths=0, alpha=0.5,
                   rasterized=sample.n_shown > RASTERIZE_ABOVE)
        if len(levels):
            top = max(float(grid.max()), float(levels[-1])) * 1.0001
            ax.contourf(xx, yy, grid.reshape(xx.shape), levels=[*levels, top], cmap="cividis_r", alpha=0.45)
            ax.contour(xx, yy, grid.reshape(xx.shape), levels=levels, colors="#00204D", linewidths=0.7)
        ax.scatter(means[:, 0], means[:, 1], c=[component_colour(k) for k in range(len(means))], **MEAN_MARKER)
        set_ranges(ax, ranges)

    scatter_matrix(fig, data, pair, "density (exact marginal of each pair; regions holding 25, 50, 75 and 95 % of the rows)")


def draw_legend(where, data, outside: bool) -> None:
    """One entry per component: colour, weight and rows (and the noise, when there is one).

    ``where``: the empty top-right panel of a matrix, or (``outside``) the figure, right of its one panel.
    """
    from matplotlib.lines import Line2D

    scan, handles = data.summary.scan, []
    for c in data.summary.components:
        rows = f", {int(scan.counts[c.index])} rows" if scan is not None else ""
        handles.append(Line2D([], [], ls="", marker=component_marker(c.index), color=component_colour(c.index),
                              markersize=7, label=f"{c.index}: weight {c.weight:.3f}{rows}"))
    if data.summary.noise_weight is not None:
        rows = f", {scan.noise_rows} rows" if scan is not None else ""
        handles.append(Line2D([], [], ls="", marker="x", color=component_colour(-1), markersize=7,
                              label=f"noise: weight {data.summary.noise_weight:.3f}{rows}"))
    where.legend(handles=handles, title="component", loc="outside right upper" if outside else "center",
                 fontsize=8, title_fontsize=8)


def shown_note(scan) -> str:
    """How many of the input's rows the figure shows."""
    sample = scan.sample
    where = f"of {scan.name}"
    text = f"all {sample.n_shown:,} rows {where}" if sample.n_shown == sample.n_rows else \
        f"{sample.n_shown:,} of {sample.n_rows:,} rows {where} shown (random sample, seed {sample.seed})"
    if scan.incomplete_rows:
        text += f"; {scan.incomplete_rows:,} rows with missing cells not drawn"
    return text


# ---------------------------------------------------------------- charts
def bic_figure(fig, data) -> None:
    """The criterion against k per covariance model (the chosen cell ringed), and a zoom on the best cells."""
    table = data.selection
    criterion = table.criterion
    sign = -1.0 if criterion == "holdout" else 1.0
    fitted = [r for r in table.rows if not r.get("error") and r.get(criterion) is not None]
    best = min(fitted, key=lambda r: sign * r[criterion])
    left, right = fig.subplots(1, 2)
    for index, name in enumerate(dict.fromkeys(r["covariance_type"] for r in table.rows)):
        cells = sorted((r["k"], r[criterion]) for r in fitted if r["covariance_type"] == name)
        if not cells:
            continue
        ks, values = zip(*cells)
        style = series_style(index)
        left.plot(ks, values, label=name, ms=4, lw=1.2, **style)
        right.plot(ks, [sign * (v - best[criterion]) for v in values], ms=4, lw=1.2, **style)
    from matplotlib.ticker import MaxNLocator

    for ax, y in ((left, best[criterion]), (right, 0.0)):
        ax.scatter([best["k"]], [y], s=180, facecolors="none", edgecolors="black", linewidths=1.6, zorder=6)
        ax.set_xlabel("k (number of components)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    label = "held-out log-likelihood per row" if criterion == "holdout" else criterion.upper()
    left.set_ylabel(f"{label} ({'higher' if criterion == 'holdout' else 'lower'} is better)")
    zoom_on_best(right, label)
    left.legend(fontsize=7, ncol=2, title="covariance model", title_fontsize=7)
    fig.suptitle(f"{label} of the grid ({table.source}): chosen k={best['k']}, {best['covariance_type']}",
                 fontsize=10)


def zoom_on_best(ax, label: str) -> None:
    """A symmetric-log axis of the difference from the best, with the Kass–Raftery steps 2, 6 and 10."""
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=-0.3)
    for step, words in ((2, "positive"), (6, "strong"), (10, "very strong")):
        ax.axhline(step, color="#BBBBBB", lw=0.8, ls=":")
        ax.text(ax.get_xlim()[1], step, f" {words}", fontsize=7, color="#777777", va="center", ha="left")
    ax.set_ylabel(f"{label} minus the best (log scale)")


def trace_figure(fig, data) -> None:
    """Log-likelihood per EM iteration for every restart (the chosen one in black), and its gains."""
    left, right = fig.subplots(1, 2)
    for index, series in enumerate(data.traces):
        style = {"color": "black", "lw": 2.0, "zorder": 5} if series.chosen else \
            {"color": series_style(index)["color"], "lw": 1.0, "alpha": 0.8}
        name = f"restart {series.restart}{' (chosen)' if series.chosen else ''}"
        left.plot(range(len(series.values)), series.values, label=name, **style)
        gains = np.diff(series.values)
        if len(gains):
            right.plot(range(1, len(series.values)), np.maximum(np.abs(gains), 1e-16), **style)
    from matplotlib.ticker import MaxNLocator

    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("iteration")
    left.set_ylabel("log-likelihood (original units)")
    right.set_xlabel("iteration")
    right.set_ylabel("|change| of the log-likelihood (log scale)")
    right.set_yscale("log")
    if len(data.traces) <= 12:
        left.legend(fontsize=7)
    chosen = next((s for s in data.traces if s.chosen), None)
    final = f": final {chosen.values[-1]:.4f}" if chosen and chosen.values else ""
    fig.suptitle(f"EM trace, {len(data.traces)} restart(s){final}", fontsize=10)


FIGURES = {"classification": classification_figure, "uncertainty": uncertainty_figure,
           "density": density_figure, "bic": bic_figure, "trace": trace_figure}
