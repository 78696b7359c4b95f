"""gmmcli select against R's mclust: the best log-likelihood (so BIC) and the time per (k, model).

Needs Rscript with the mclust package (Debian: r-base-core r-cran-mclust). Both see the same
raw data (gmmcli with --no-standardize, since most of the models are not scale invariant).
gmmcli's full, tied, diag and spherical are mclust's VVV, EEE, VVI and VII; the parameter
counts are equal (tests/core/test_mclust_reference.py), so a higher log-likelihood in a cell
is a better BIC.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
DATASETS = {"faithful": "sample_data/faithful.csv", "iris": "sample_data/iris.csv"}
# mclust's own data sets (exported by sample_data/make_r_datasets.R) and generated ones, for
# `select DATA` with no options
MORE_DATASETS = {"diabetes": "sample_data/diabetes.csv", "banknote": "sample_data/banknote.csv",
                 "thyroid": "sample_data/thyroid.csv", "wreath": "sample_data/wreath.csv"}
GENERATED = os.path.join(ROOT, "bench_out", "generated")
# within this relative distance a log-likelihood "reaches" mclust's: gmmcli adds reg_covar 1e-6 to
# every (standardized) variance, which costs ~1e-3 of log-likelihood on faithful at k = 2
REACH_RTOL = 1e-6
R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- read.csv(args[1])
X <- X[, sapply(X, is.numeric)]
cat("k,model,loglik,seconds\n")
for (m in c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV"))
  for (g in 1:%d) {
    t <- system.time(fit <- tryCatch(Mclust(X, G = g, modelNames = m, verbose = FALSE), error = function(e) NULL))
    ll <- if (is.null(fit)) NA else fit$loglik
    cat(g, ",", m, ",", format(ll, digits = 17), ",", t[["elapsed"]], "\n", sep = "")
  }
"""


def generated_datasets() -> dict:
    """Two seeded data sets with known structure, written to bench_out/generated/:
    three elongated clusters of different shapes in 2-D (VVV), and four clusters of one common
    shape in 4-D (EEE)."""
    import numpy as np

    os.makedirs(GENERATED, exist_ok=True)
    rng = np.random.default_rng(20261125)
    shapes = [np.array([[3.0, 2.5], [2.5, 3.0]]), np.array([[1.0, -0.8], [-0.8, 1.0]]), np.diag([4.0, 0.3])]
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 6.0]])
    vvv = np.vstack([rng.multivariate_normal(c, s, size=n) for c, s, n in zip(centres, shapes, (200, 150, 100))])
    common = np.array([[1.0, 0.6, 0.2, 0.0], [0.6, 1.0, 0.3, 0.1], [0.2, 0.3, 1.0, 0.4], [0.0, 0.1, 0.4, 1.0]])
    eee = np.vstack([rng.multivariate_normal(c, common, size=150) for c in np.eye(4) * 5.0])
    paths = {}
    for name, X in (("generated_vvv_2d", vvv), ("generated_eee_4d", eee)):
        path = os.path.join(GENERATED, f"{name}.csv")
        header = ",".join(f"x{j + 1}" for j in range(X.shape[1]))
        np.savetxt(path, X, delimiter=",", header=header, comments="", fmt="%.17g")
        paths[name] = path
    return paths


def mclust_cells(path: str, max_k: int) -> dict:
    """(k, mclust model) → (log-likelihood or None, seconds)."""
    out = subprocess.run(["Rscript", "-e", R_SCRIPT % max_k, path], capture_output=True, text=True, check=True)
    result = {}
    for row in csv.DictReader(io.StringIO(out.stdout)):
        value = row["loglik"].strip()
        result[(int(row["k"]), row["model"])] = (None if value in ("NA", "") else float(value), float(row["seconds"]))
    return result


def gmmcli_cells(path: str, max_k: int, n_init: int, options=None) -> dict:
    """(k, mclust model) → (log-likelihood or None, seconds), from one `select --covariance all`
    (or from `select` with ``options`` alone, e.g. [] for its defaults)."""
    from gmmcli.core.models import get_model

    options = ["-k", f"1-{max_k}", "--covariance", "all", "--no-standardize", "--n-init", str(n_init), "--tol", "1e-8",
               "--max-iter", "1000", "--init", "kmeans++", "--polish-within", "inf"] if options is None else options
    cmd = [sys.executable, "-m", "gmmcli", "select", path, "--format", "csv", "-q", "-j", "1", *options]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result = {}
    for row in csv.DictReader(io.StringIO(out.stdout)):
        value = row["log_likelihood"]
        model = get_model(row["covariance_type"]).mclust_name
        result[(int(row["k"]), model)] = (float(value) if value else None, float(row["seconds"] or 0))
    return result


def compare(max_k: int = 9, n_init: int = 10) -> list:
    if shutil.which("Rscript") is None:
        return ["Skipped: Rscript with mclust is not installed (apt-get install r-base-core r-cran-mclust)."]
    from gmmcli.core.models import MCLUST_ORDER

    lines = [f"`gmmcli select --covariance all --no-standardize --n-init {n_init} --tol 1e-8 -j 1` against mclust "
             f"{_mclust_version()} (`Mclust(X, G, modelNames)`, its default hierarchical initialisation), best "
             f"log-likelihood per cell, k = 1..{max_k}; equal parameter counts make it the BIC. A cell *matches* when "
             "gmmcli's log-likelihood is within 1e-4 of mclust's, *beats* when higher, *loses* when lower. Time: "
             "the model's cells summed (gmmcli: each cell's fit with its restarts, in one process; mclust: "
             "`system.time` of each `Mclust` call). The times are not like for like: gmmcli runs 10 k-means++ "
             "restarts per cell to 1e-8 (up to 1000 iterations), mclust one hierarchical start to its 1e-5 "
             "default; they show what the M-steps cost, the iterative ones (VEI, VEE, EVE, VVE, VEV) most.", "",
             "| data | model | matches | beats | loses | mclust failed | largest loss | gmmcli s | mclust s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    totals = [0, 0, 0, 0]
    for name, rel in DATASETS.items():
        path = os.path.join(ROOT, rel)
        theirs, ours = mclust_cells(path, max_k), gmmcli_cells(path, max_k, n_init)
        for model in MCLUST_ORDER:
            counts, worst = tally(ours, theirs, model, max_k)
            totals = [t + c for t, c in zip(totals, counts)]
            seconds = [sum(cells.get((k, model), (None, 0.0))[1] for k in range(1, max_k + 1))
                       for cells in (ours, theirs)]
            lines.append(f"| {name} | {model} | {counts[0]} | {counts[1]} | {counts[2]} | {counts[3]} | "
                         f"{worst:.4f} | {seconds[0]:.2f} | {seconds[1]:.2f} |")
    compared = sum(totals) - totals[3]
    lines += ["", f"Overall: {totals[0] + totals[1]} of {compared} cells matched or beat mclust "
              f"({100 * (totals[0] + totals[1]) / max(compared, 1):.1f}%; {totals[1]} beat it, {totals[2]} lost); "
              f"mclust failed on {totals[3]} cells."]
    return lines


def defaults_section(max_k: int = 9) -> list:
    """`gmmcli select DATA` with no options against `Mclust(DATA, G = 1:9)`: cells, chosen BIC, wall time,
    on mclust's data sets and generated ones."""
    import time

    lines = ["`gmmcli select DATA` with no options (k = 1..9, all 14 models, hierarchical start plus two k-means++ "
             "restarts, tol 1e-7; standardized, with one common scale for the models that need it) against "
             "`Mclust(DATA, G = 1:9)` over all 14 models, on mclust's data sets and two generated ones "
             "(`generated_datasets`). A cell *reaches* mclust's when its log-likelihood is at least mclust's "
             f"less {REACH_RTOL:g} of it (gmmcli's reg_covar 1e-6 costs about that much); *strictly*: within 1e-4 "
             "absolute. The cells are those of `--polish-within inf` (every cell fully fitted: the quality of a cell's fit); the chosen model, its BIC and the first time are those of the defaults, which screen the grid (the cells away from the best keep a single start to mclust's tolerance). Wall time of the whole grid (gmmcli with -j 1; mclust: the cells' `system.time` summed).", "",
             "| data | n × d | cells reached | strictly | chosen (gmmcli) | BIC | chosen (mclust) | BIC | gmmcli s "
             "| gmmcli s, every cell full | mclust s |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    sets = {name: os.path.join(ROOT, rel) for name, rel in {**DATASETS, **MORE_DATASETS}.items()}
    sets.update(generated_datasets())
    totals = [0, 0, 0]
    for name, path in sets.items():
        theirs = mclust_cells(path, max_k)
        started = time.perf_counter()
        chosen_cells = gmmcli_cells(path, max_k, 0, options=[])
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        ours = gmmcli_cells(path, max_k, 0, options=["--polish-within", "inf"])  # every cell fully fitted
        full_seconds = time.perf_counter() - started
        n, d = _shape(path)
        reached, strict, compared = _reach(ours, theirs)
        totals = [totals[0] + reached, totals[1] + strict, totals[2] + compared]
        best_ours, best_theirs = (max(((key, value) for key, value in cells.items() if value[0] is not None),
                                      key=lambda kv: _bic(kv, n, d)) for cells in (chosen_cells, theirs))
        lines.append(f"| {name} | {n} × {d} | {reached} of {compared} ({100 * reached / compared:.1f}%) | {strict} "
                     f"| {best_ours[0][1]}, k={best_ours[0][0]} | {_bic(best_ours, n, d):.2f} "
                     f"| {best_theirs[0][1]}, k={best_theirs[0][0]} | {_bic(best_theirs, n, d):.2f} "
                     f"| {seconds:.1f} | {full_seconds:.1f} | {sum(v[1] for v in theirs.values()):.1f} |")
        print(lines[-1], flush=True)
    lines += ["", f"Overall: {totals[0]} of {totals[2]} cells reached ({100 * totals[0] / max(totals[2], 1):.1f}%), "
              f"{totals[1]} strictly. BIC here is mclust's sign (2·LL − p·ln n, higher is better), with mclust's "
              "parameter counts."]
    return lines


def _shape(path: str) -> tuple:
    with open(path) as f:
        d = len(f.readline().split(","))
        return sum(1 for _ in f), d


def _reach(ours: dict, theirs: dict) -> tuple:
    """(cells reached within REACH_RTOL, within 1e-4 absolute, cells mclust fitted)."""
    reached = strict = compared = 0
    for key, (b, _) in theirs.items():
        if b is None:
            continue
        compared += 1
        a = ours.get(key, (None, 0))[0]
        reached += a is not None and a >= b - REACH_RTOL * abs(b)
        strict += a is not None and a >= b - 1e-4
    return reached, strict, compared


NOISE_R = r"""
suppressMessages({library(mclust); library(prabclus)})
args <- commandArgs(trailingOnly = TRUE)
X <- read.csv(args[1])[, strsplit(args[2], ",")[[1]]]
t <- system.time({
  noise <- NNclean(X, k = 5)$z == 0
  B <- mclustBIC(X, initialization = list(noise = noise), verbose = FALSE)
})
cat("k,model,bic
")
for (g in rownames(B)) for (m in colnames(B)) cat(g, ",", m, ",", format(B[g, m], digits = 17), "
", sep = "")
cat("seconds,", t[["elapsed"]], "
", sep = "")
"""
NOISE_DATASETS = {"chevron": ("sample_data/chevron.csv", "x,y"), "faithful": ("sample_data/faithful.csv",
                                                                             "eruptions,waiting")}


def noise_section() -> list:
    """`gmmcli select DATA --noise` against `mclustBIC(DATA, initialization = list(noise = NNclean))`
    (G = 0..9, mclust's default with noise)."""
    import time

    if shutil.which("Rscript") is None or subprocess.run(["Rscript", "-e", "library(prabclus)"],
                                                         capture_output=True).returncode:
        return ["Skipped: Rscript with mclust and prabclus is not installed (apt-get install r-cran-prabclus)."]
    from gmmcli.core.models import canonical_name

    lines = ["`gmmcli select DATA -c COLUMNS --noise` (its defaults: k = 0..9, the k = 0 row being the noise alone) "
             "against `mclustBIC(DATA, initialization = list(noise = NNclean(DATA, k = 5)$z == 0))` (G = 0..9). "
             "BIC in mclust's sign; a cell is reached as above (by `--polish-within inf`, every cell fully fitted; the chosen model and the time are the defaults').", "",
             "| data | cells reached | chosen (gmmcli) | BIC | chosen (mclust) | BIC | gmmcli s | mclust s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, (rel, columns) in NOISE_DATASETS.items():
        path = os.path.join(ROOT, rel)
        out = subprocess.run(["Rscript", "-e", NOISE_R, path, columns], capture_output=True, text=True, check=True)
        text = out.stdout.strip().split("\n")
        theirs = {(int(r["k"]), r["model"]): float(r["bic"]) for r in csv.DictReader(io.StringIO("\n".join(text[:-1])))
                  if r["bic"] not in ("NA", "")}
        r_seconds = float(text[-1].split(",")[1])
        started = time.perf_counter()
        cmd = [sys.executable, "-m", "gmmcli", "select", path, "-c", columns, "--noise", "--format", "csv", "-q", "-j", "1"]
        rows = list(csv.DictReader(io.StringIO(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)))
        seconds = time.perf_counter() - started
        chosen = next(r for r in rows if r["best"] == "True")
        full = subprocess.run(cmd + ["--polish-within", "inf"], capture_output=True, text=True, check=True).stdout
        ours = {(int(r["k"]), r["covariance_type"]): -float(r["bic"]) for r in csv.DictReader(io.StringIO(full)) if r["bic"]}
        reached = sum(ours.get((k, "noise" if k == 0 else canonical_name(m)), -math.inf) >= v - REACH_RTOL * abs(v)
                      for (k, m), v in theirs.items())
        best_ours = ((int(chosen["k"]), chosen["covariance_type"]), -float(chosen["bic"]))
        best_theirs = max(theirs.items(), key=lambda kv: kv[1])
        lines.append(f"| {name} | {reached} of {len(theirs)} | {best_ours[0][1]}, k={best_ours[0][0]} | "
                     f"{best_ours[1]:.2f} | {best_theirs[0][1]}, k={best_theirs[0][0]} | {best_theirs[1]:.2f} | "
                     f"{seconds:.1f} | {r_seconds:.1f} |")
        print(lines[-1], flush=True)
    return lines


SPEED_R = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- read.csv(args[1])
t <- system.time(B <- mclustBIC(X, G = 1:9, verbose = FALSE))
best <- which(B == max(B, na.rm = TRUE), arr.ind = TRUE)[1, ]
cat(t[["elapsed"]], rownames(B)[best[1]], colnames(B)[best[2]], format(max(B, na.rm = TRUE), digits = 17), "\n")
"""
SPEED_DATASETS = {"wine": "sample_data/wine.csv", "wdbc": "sample_data/wdbc.csv", "gvhd": "sample_data/gvhd.csv"}


R_TIMEOUT = 1200  # seconds: mclust's grid on wdbc runs for more than half an hour here


def speed_section(repeats: int = 3) -> list:
    """The performance issue's select target: `gmmcli select DATA` (its defaults, every CPU) against
    `mclustBIC(DATA, G = 1:9)` on wine, wdbc and GvHD.pos: wall time (medians) and the chosen BIC.
    gmmcli's runs all come first, then R's (one each, stopped after R_TIMEOUT), so neither shares
    the cores with the other."""
    import statistics
    import time

    ours = {}
    for name, rel in SPEED_DATASETS.items():
        path = os.path.join(ROOT, rel)
        times, rows = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            cmd = [sys.executable, "-m", "gmmcli", "select", path, "--format", "csv", "-q"]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            times.append(time.perf_counter() - started)
            rows = list(csv.DictReader(io.StringIO(out)))
        best = next(r for r in rows if r["best"] == "True")
        ours[name] = (statistics.median(times), f"{best['covariance_type']}, k={best['k']} | {-float(best['bic']):.2f}")
        print(name, ours[name], flush=True)
    lines = ["`gmmcli select DATA -q` with its defaults (k = 1..9, all 14 models; the grid screened from the "
             "hierarchical start to mclust's relative tolerance, the cells within 10 of the best BIC then fully "
             "fitted with three restarts to tol 1e-7; `-j 0`: one process per CPU) against "
             "`mclustBIC(DATA, G = 1:9)` (mclust " + _mclust_version() + ": one hierarchical start per cell; "
             f"single-threaded R). gmmcli: median wall time of {repeats} runs, Python's start-up included; mclust: "
             f"`system.time` inside R, one run, stopped after {R_TIMEOUT} s. BIC in mclust's sign (higher is "
             "better).", "",
             "| data | n × d | gmmcli s | mclust s | mclust / gmmcli | chosen (gmmcli) | BIC | chosen (mclust) | BIC |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, rel in SPEED_DATASETS.items():
        path = os.path.join(ROOT, rel)
        n, d = _shape(path)
        seconds, chosen = ours[name]
        r_time, ratio, r_chosen = "not run (no Rscript with mclust)", "", " | "
        if shutil.which("Rscript") is not None:
            try:
                out = subprocess.run(["Rscript", "-e", SPEED_R, path], capture_output=True, text=True, check=True,
                                     timeout=R_TIMEOUT).stdout.split()
                r_time, ratio = f"{float(out[0]):.1f}", f"{float(out[0]) / seconds:.1f}"
                r_chosen = f"{out[2]}, k={out[1]} | {float(out[3]):.2f}"
            except subprocess.TimeoutExpired:
                r_time, ratio, r_chosen = f"> {R_TIMEOUT} (stopped)", f"> {R_TIMEOUT / seconds:.1f}", "did not finish | "
        lines.append(f"| {name} | {n} × {d} | {seconds:.1f} | {r_time} | {ratio} | {chosen} | {r_chosen} |")
        print(lines[-1], flush=True)
    return lines


def _bic(item, n: int, d: int) -> float:
    """mclust's BIC of a cell ((k, model), (log-likelihood, seconds)) on n rows of d columns."""
    import math

    from gmmcli.core.models import canonical_name
    from gmmcli.core.params import n_parameters

    (k, model), (ll, _) = item
    return 2 * ll - n_parameters(canonical_name(model), k, d) * math.log(n)


def tally(ours: dict, theirs: dict, model: str, max_k: int):
    """[matches, beats, loses, mclust failed] over k, and the largest loss."""
    counts, worst = [0, 0, 0, 0], 0.0
    for k in range(1, max_k + 1):
        a, b = ours.get((k, model), (None, 0))[0], theirs.get((k, model), (None, 0))[0]
        if b is None:
            counts[3] += 1
        elif a is None or a < b - 1e-4:
            counts[2] += 1
            worst = max(worst, (b - a) if a is not None else float("inf"))
        elif a > b + 1e-4:
            counts[1] += 1
        else:
            counts[0] += 1
    return counts, worst


def _mclust_version() -> str:
    out = subprocess.run(["Rscript", "-e", 'cat(as.character(packageVersion("mclust")))'], capture_output=True, text=True)
    return out.stdout.strip() or "?"


if __name__ == "__main__":
    print("\n".join(compare()))
