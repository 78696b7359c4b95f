"""gmmcli bootstrap and select --lrt against R's mclust, timed in the same run.

Sections (markdown lines; ``bootstrap_section(quick)`` is what `make bench` puts in BENCHMARKS.md):

1. `gmmcli bootstrap MODEL DATA --replicates 999` (nonparametric, every core) against
   `MclustBootstrap(Mclust(X, G = 3, modelNames = "EEE"), nboot = 999)` on faithful and on a
   generated 1e5-row set (3 well-separated EEE clusters in 2-D, seed 20260101). gmmcli's time is the
   command's wall clock (reading the data and Python's start included); mclust's is
   `system.time(MclustBootstrap(...))` alone (the fit and R's start excluded). Both report the
   standard errors of the weights and means; their largest ratio is shown.
2. `gmmcli select faithful.csv -k 1-4 --covariance VVV --lrt --lrt-all --replicates 999` against
   `mclustBootstrapLRT(X, "VVV", nboot = 999, maxG = 3)` (both include their fits).
3. (not with --quick) the LRT's calibration: 200 samples of 120 rows from one Gaussian, the test
   of 1 against 2 components (model V) with 99 replicates each; the p-values' Kolmogorov-Smirnov
   p-value against the uniform, their mean and the share at most 0.05 and 0.1 (the test suite
   runs a 30-sample version).

mclust's rows read "skipped" when Rscript with mclust is not there.

Run: .venv/bin/python benchmarks/bootstrap_bench.py [--quick] [--replicates N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
WORK = os.path.join(ROOT, "bench_out", "bootstrap")
FAITHFUL = os.path.join(ROOT, "sample_data", "faithful.csv")
GMMCLI = [sys.executable, "-m", "gmmcli"]

R_BOOTSTRAP = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1]))
set.seed(1)
fit <- Mclust(X, G = 3, modelNames = "EEE", verbose = FALSE)
seconds <- system.time(boot <- MclustBootstrap(fit, nboot = as.integer(args[2]), type = "bs", verbose = FALSE))[["elapsed"]]
se <- summary(boot, what = "se")
cat(paste0('{"seconds": ', seconds, ', "nonfit": ', boot$nonfit,
    ', "pro": [', paste(format(se$pro, digits = 17), collapse = ","), ']',
    ', "mean": [', paste(format(as.numeric(se$mean), digits = 17), collapse = ","), ']',
    ', "centres": [', paste(format(as.numeric(fit$parameters$mean), digits = 17), collapse = ","), ']}\n'))
"""
R_LRT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1]))
set.seed(1)
seconds <- system.time(lrt <- mclustBootstrapLRT(X, modelName = "VVV", nboot = as.integer(args[2]), maxG = 3,
                                                 verbose = FALSE))[["elapsed"]]
cat(paste0('{"seconds": ', seconds, ', "obs": [', paste(format(lrt$obs, digits = 17), collapse = ","),
           '], "p": [', paste(format(lrt$p.value, digits = 17), collapse = ","), ']}\n'))
"""


def have_mclust() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(mclust)"], capture_output=True)
    return probe.returncode == 0


def generated_csv(n_rows: int) -> str:
    """3 EEE clusters in 2-D (weights 0.5, 0.3, 0.2), seeded; written once."""
    import numpy as np

    path = os.path.join(WORK, f"generated_{n_rows}.csv")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(20260101)
    common = np.array([[1.0, 0.4], [0.4, 0.8]])
    centres = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 5.0]])
    labels = rng.choice(3, size=n_rows, p=[0.5, 0.3, 0.2])
    X = centres[labels] + rng.multivariate_normal(np.zeros(2), common, size=n_rows)
    np.savetxt(path, X, delimiter=",", header="x,y", comments="", fmt="%.17g")
    return path


def gmmcli_bootstrap(path: str, replicates: int) -> dict:
    """Fit EEE k = 3 (hc start, as mclust), then time `gmmcli bootstrap` end to end."""
    model = os.path.join(WORK, os.path.basename(path) + ".eee3.json")
    subprocess.run(GMMCLI + ["fit", path, "-k", "3", "--covariance", "EEE", "--init", "hc", "--tol", "1e-9",
                             "--max-iter", "1000", "-q", "-o", model], check=True)
    started = time.perf_counter()
    out = subprocess.run(GMMCLI + ["bootstrap", model, path, "--replicates", str(replicates), "--seed", "1",
                                   "--format", "json", "-q"], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    rows = json.loads(out.stdout)
    return {"seconds": seconds, "rows": rows}


def mclust_run(script: str, path: str, replicates: int):
    out = subprocess.run(["Rscript", "-e", script, path, str(replicates)], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def largest_se_ratio(ours: list, theirs: dict) -> float:
    """max |gmmcli SE / mclust SE − 1| over weights and means, components matched by their means."""
    import numpy as np

    means = np.array([[r["estimate"] for r in ours if r["parameter"] == "mean" and r["component"] == k]
                      for k in range(3)])
    se_w = np.array([next(r["se"] for r in ours if r["parameter"] == "weight" and r["component"] == k)
                     for k in range(3)])
    se_m = np.array([[r["se"] for r in ours if r["parameter"] == "mean" and r["component"] == k] for k in range(3)])
    centres = np.array(theirs["centres"]).reshape(3, 2)  # mclust's d x G, column-major
    order = [int(np.argmin(((centres - m) ** 2).sum(axis=1))) for m in means]
    ratio_w = se_w / np.array(theirs["pro"])[order]
    ratio_m = se_m / np.array(theirs["mean"]).reshape(3, 2)[order]
    return float(np.max(np.abs(np.concatenate([ratio_w, ratio_m.ravel()]) - 1)))


def bootstrap_rows(replicates: int, n_rows: int, r_ok: bool) -> list:
    lines = []
    for name, path in (("faithful (272 x 2)", FAITHFUL), (f"generated ({n_rows:.0e} x 2)", generated_csv(n_rows))):
        ours = gmmcli_bootstrap(path, replicates)
        theirs = mclust_run(R_BOOTSTRAP, path, replicates) if r_ok else None
        if theirs is None:
            lines.append(f"| {name} | {ours['seconds']:.1f} s | skipped | | |")
        else:
            lines.append(f"| {name} | {ours['seconds']:.1f} s | {theirs['seconds']:.1f} s | "
                         f"{theirs['seconds'] / ours['seconds']:.2f}x | {100 * largest_se_ratio(ours['rows'], theirs):.0f}% |")
        print(lines[-1], flush=True)
    return lines


def lrt_row(replicates: int, r_ok: bool) -> str:
    started = time.perf_counter()
    out = subprocess.run(GMMCLI + ["select", FAITHFUL, "-k", "1-4", "--covariance", "VVV", "--lrt", "--lrt-all",
                                   "--replicates", str(replicates), "--format", "csv", "-q"],
                         capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    ours = ", ".join(f"{r['k']} vs {int(r['k']) + 1}: {float(r['lrt_statistic']):.2f} (p {r['lrt_p_value']})"
                     for r in rows if r["lrt_p_value"])
    theirs = mclust_run(R_LRT, FAITHFUL, replicates) if r_ok else None
    if theirs is None:
        return f"| faithful, VVV, k = 1..3 | {seconds:.1f} s | skipped | | {ours} | |"
    mclust = ", ".join(f"{g} vs {g + 1}: {o:.2f} (p {p:g})" for g, (o, p) in enumerate(zip(theirs["obs"], theirs["p"]), 1))
    return (f"| faithful, VVV, k = 1..3 | {seconds:.1f} s | {theirs['seconds']:.1f} s | "
            f"{theirs['seconds'] / seconds:.2f}x | {ours} | {mclust} |")


def calibration_lines(trials: int = 200, replicates: int = 99) -> list:
    """p-values of the 1 vs 2 test under its null (see the module docstring)."""
    import numpy as np
    from scipy.stats import kstest

    from tests import test_bootstrap_simulation as sim

    sim.N_TRIALS, sim.LRT_REPLICATES = trials, replicates
    rng = np.random.default_rng(20260102)
    contexts, observed = [], []
    for trial in range(trials):
        X = rng.normal(size=(sim.LRT_ROWS, 1))
        one = sim.fit_from(X, sim.make_params([1.0], [X.mean(axis=0)], [[[X.var()]]], "V"), sim.LRT_SETTINGS)
        two = max((sim.fit_from(X, sim.initialize(sim.MemoryEngine(X), 2, "V", "kmeans++", rng, 1e-6, np.zeros(1)),
                                sim.LRT_SETTINGS) for _ in range(3)), key=lambda r: r.final_log_likelihood)
        contexts.append(sim.LrtContext(one.params, two.params, sim.LRT_ROWS, np.zeros(1), sim.LRT_SETTINGS, trial,
                                       (0, 1)))
        observed.append(sim.lrt_statistic(one.final_log_likelihood, two.final_log_likelihood))
    started = time.perf_counter()
    with sim.ReplicateRunner(jobs=os.cpu_count() or 1) as runner:
        boot = runner.run(sim.trial_replicate, tuple(contexts), range(trials * replicates))
    p = np.array([sim.lrt_outcome("V", 1, 2, observed[t], boot[t * replicates:(t + 1) * replicates]).p_value
                  for t in range(trials)])
    return [f"LRT calibration under the null (1 vs 2 components, model V, n = {sim.LRT_ROWS}, {trials} samples x "
            f"{replicates} replicates, {time.perf_counter() - started:.0f} s): Kolmogorov-Smirnov p-value against the "
            f"uniform {kstest(p, 'uniform').pvalue:.3f}; mean p {p.mean():.3f}; share p <= 0.05: {np.mean(p <= 0.05):.3f}, "
            f"p <= 0.1: {np.mean(p <= 0.1):.3f}."]


def bootstrap_section(quick: bool = False, replicates: int = 999, n_rows: int = 100_000) -> list:
    """The markdown lines of the section."""
    os.makedirs(WORK, exist_ok=True)
    if quick:
        replicates, n_rows = min(replicates, 99), min(n_rows, 10_000)
    r_ok = have_mclust()
    lines = [f"`gmmcli bootstrap` ({replicates} nonparametric replicates, EEE, k = 3, every core) against mclust's "
             "`MclustBootstrap` in the same run. gmmcli: the command's wall clock; mclust: `MclustBootstrap` alone. "
             "'SE differs' is the largest relative difference of the standard errors of the weights and means.", "",
             "| data | gmmcli | mclust | mclust / gmmcli | SE differs by at most |", "| --- | --- | --- | --- | --- |"]
    lines += bootstrap_rows(replicates, n_rows, r_ok)
    lines += ["", f"`gmmcli select --lrt --lrt-all` ({replicates} replicates per test, fits included) against "
              "`mclustBootstrapLRT(maxG = 3)`:", "",
              "| data | gmmcli | mclust | mclust / gmmcli | gmmcli: statistic (p) | mclust: statistic (p) |",
              "| --- | --- | --- | --- | --- | --- |", lrt_row(replicates, r_ok)]
    print(lines[-1], flush=True)
    if not quick:
        lines += [""] + calibration_lines()
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="99 replicates, 1e4 rows, no calibration")
    parser.add_argument("--replicates", type=int, default=999)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    lines = bootstrap_section(args.quick, args.replicates, args.rows)
    with open(os.path.join(WORK, "bootstrap.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
