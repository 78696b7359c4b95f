"""`make bench`: gmmcli against scikit-learn, measured in the same run.

Writes BENCHMARKS.md. Every measurement runs in its own child process (so peak
RSS is that of the measured work alone) and is repeated; medians are reported.
Run with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (the Makefile does).

    python benchmarks/run.py            # the default subset
    python benchmarks/run.py --all      # every N x D x K x covariance case
    python benchmarks/run.py --quick    # a smoke run (small N, 1 repeat)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
WORK = os.path.join(ROOT, "bench_out")
TYPES = ("full", "tied", "diag", "spherical")


# ---------------------------------------------------------------- data
def make_data(n, d, k, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    labels = rng.integers(k, size=n)
    scales = rng.uniform(0.5, 1.5, size=(k, 1))
    X = centers[labels] + rng.normal(size=(n, d)) * scales[labels]
    return (X - X.mean(axis=0)) / X.std(axis=0)


def write_csv(path, n, d, k, seed=0):
    if os.path.exists(path):
        return path
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with pacsv.CSVWriter(path + ".part", pa.schema([(f"f{j}", pa.float64()) for j in range(d)]),
                         write_options=pacsv.WriteOptions(quoting_style="none")) as writer:
        done = 0
        while done < n:
            m = min(1_000_000, n - done)
            X = make_data(m, d, k, seed + done)
            writer.write_table(pa.table({f"f{j}": X[:, j] for j in range(d)}))
            done += m
    # pyarrow quotes the header; plain names are what users have
    os.replace(path + ".part", path)
    return path


# ---------------------------------------------------------------- workers (child processes)
def worker_iteration(tool, n, d, k, cov, n_iter):
    """Per-iteration EM cost from one shared initialization, tol 0."""
    import warnings

    import numpy as np

    X = make_data(n, d, k)
    from gmmcli.core.init import initialize
    from gmmcli.engines.memory import MemoryEngine

    start = initialize(MemoryEngine(X[:200_000]), k, cov, "kmeans++", np.random.default_rng(1), 1e-6, np.zeros(d))
    if tool.startswith("gmmcli"):
        from functools import partial

        from gmmcli.core.em import run_em
        from gmmcli.core.stats import block_statistics

        dtype = np.float32 if tool == "gmmcli-float32" else np.float64
        kernel = tool.split(":")[1] if ":" in tool else None  # gmmcli:features / gmmcli:direct force one
        engine = MemoryEngine(X, covariance_type=cov, dtype=dtype)
        shift = np.zeros(d)
        t0 = time.perf_counter()
        res = run_em(lambda p: engine.reduce(partial(block_statistics, params=p, shift=shift, kernel=kernel)),
                     start, reg_covar=1e-6, tol=0.0, max_iter=n_iter)
        seconds = time.perf_counter() - t0
        # n_iter M-steps and n_iter + 1 E-steps; sklearn does n_iter of each plus one final E-step
        mean_ll = res.log_likelihood[-2] / n
    else:
        from sklearn.mixture import GaussianMixture

        prec = np.linalg.inv(start.covariances) if cov in ("full", "tied") else 1.0 / start.covariances
        gm = GaussianMixture(k, covariance_type=cov, weights_init=start.weights, means_init=start.means,
                             precisions_init=prec, tol=0.0, max_iter=n_iter, reg_covar=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            gm.fit(X)
            seconds = time.perf_counter() - t0
        mean_ll = float(gm.lower_bound_)
    return {"seconds_per_iter": seconds / (n_iter + 1), "mean_ll": mean_ll}


SKLEARN_FIT_SCRIPT = """
import json, sys, time
import numpy as np, pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.mixture import GaussianMixture
path, k, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
X = pd.read_csv(path).to_numpy()
scaler = StandardScaler().fit(X)
Z = scaler.transform(X)
gm = GaussianMixture(k, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, random_state=0).fit(Z)
ll = gm.score(Z) - np.log(scaler.scale_).sum()
json.dump({"weights": gm.weights_.tolist(), "means": gm.means_.tolist(), "covariances": gm.covariances_.tolist(),
           "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(), "mean_ll_original": ll}, open(out, "w"))
"""

SKLEARN_PREDICT_SCRIPT = """
import json, sys
import numpy as np, pandas as pd
from sklearn.mixture import GaussianMixture
model, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
m = json.load(open(model))
gm = GaussianMixture(len(m["weights"]), covariance_type="full")
gm.weights_ = np.array(m["weights"]); gm.means_ = np.array(m["means"]); gm.covariances_ = np.array(m["covariances"])
gm.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(gm.covariances_))
X = pd.read_csv(path).to_numpy()
Z = (X - np.array(m["mean"])) / np.array(m["scale"])
P = gm.predict_proba(Z)
df = pd.DataFrame(P, columns=[f"prob_{i}" for i in range(P.shape[1])])
df["label"] = P.argmax(axis=1)
df.to_csv(out, index=False)
"""


def child_rss(cmd):
    """Wall seconds and peak RSS (MB) of one command, measured by a wrapper process."""
    wrapper = ("import resource, subprocess, sys, time;"
               "t=time.perf_counter(); r=subprocess.run(sys.argv[1:]);"
               "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,"
               " r.returncode)")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
    seconds, rss, code = out.stdout.split()[-3:]
    if code != "0":
        raise RuntimeError(f"{cmd} failed: {out.stderr[-2000:]}")
    return float(seconds), float(rss)


def run_worker(args):
    out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(args)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.splitlines()[-1])


# ---------------------------------------------------------------- sections
def machine_section():
    import numpy
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    blas = [f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} threads={i.get('num_threads')}"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return [
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        f"- numpy {numpy.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}",
        f"- BLAS: {'; '.join(sorted(set(blas)))}",
        f"- OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}",
    ]


GRID = [(1_000_000 if d <= 10 else 100_000, d, k, cov) for d in (2, 10, 50, 100) for k in (2, 8, 32)
        for cov in ("full", "tied", "diag", "spherical")]  # issue 17's bench grid


def iteration_section(cases, repeats, n_iter=10):
    lines = ["| N | D | K | covariance | gmmcli s/iter | scikit-learn s/iter | speed-up | mean LL rel. diff | counts |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    results = []
    for n, d, k, cov in cases:
        ours = [run_worker(["gmmcli", n, d, k, cov, n_iter]) for _ in range(repeats)]
        theirs = [run_worker(["sklearn", n, d, k, cov, n_iter]) for _ in range(repeats)]
        t_ours = statistics.median(r["seconds_per_iter"] for r in ours)
        t_theirs = statistics.median(r["seconds_per_iter"] for r in theirs)
        rel = abs(ours[0]["mean_ll"] - theirs[0]["mean_ll"]) / abs(theirs[0]["mean_ll"])
        counts = rel <= 1e-9
        results.append((n, d, k, cov, t_theirs / t_ours, counts))
        lines.append(f"| {n:.0e} | {d} | {k} | {cov} | {t_ours:.4f} | {t_theirs:.4f} | "
                     f"**{t_theirs / t_ours:.1f}x** | {rel:.1e} | {'yes' if counts else 'NO'} |")
        print(lines[-1], flush=True)
    return lines, results


def kernel_section(repeats, n=100_000, n_iter=5):
    """Both E-step kernels on full covariances across D and K, and whether the cost model
    (gmmcli.core.stats.choose_kernel) picks the faster."""
    import numpy as np

    from gmmcli.core.params import make_params
    from gmmcli.core.stats import choose_kernel

    lines = [f"Per-iteration time of the two E-step kernels (N={n:.0e}, full covariance, float64): the "
             "quadratic-feature kernel (memory traffic ∝ D²) and the direct one (Mahalanobis terms by one "
             "GEMM, moments by K GEMMs). *chosen* is what `choose_kernel` picks (direct when D ≥ 16 + 3·K).", "",
             "| D | K | features s/iter | direct s/iter | faster | chosen | right |", "| --- | --- | --- | --- | --- | --- | --- |"]
    right = 0
    cases = [(d, k) for d in (10, 24, 50, 100) for k in (2, 8, 32)]
    for d, k in cases:
        times = {kern: statistics.median(run_worker([f"gmmcli:{kern}", n, d, k, "full", n_iter])["seconds_per_iter"]
                                         for _ in range(repeats)) for kern in ("features", "direct")}
        probe = make_params(np.ones(k) / k, np.zeros((k, d)), np.broadcast_to(np.eye(d), (k, d, d)), "full")
        chosen, faster = choose_kernel(probe, np.float64), min(times, key=times.get)
        # within 10% the two are a tie on this noisy machine: either choice is right
        ok = chosen == faster or times[chosen] <= 1.1 * times[faster]
        right += ok
        lines.append(f"| {d} | {k} | {times['features']:.4f} | {times['direct']:.4f} | {faster} | {chosen} | "
                     f"{'yes' if ok else 'NO'} |")
        print(lines[-1], flush=True)
    return lines + ["", f"The cost model picks the faster kernel (or one within 10%) in {right} of {len(cases)} cases."]


def float32_section(n, d, k, repeats):
    n_iter = 5
    f64 = [run_worker(["gmmcli", n, d, k, "full", n_iter]) for _ in range(repeats)]
    f32 = [run_worker(["gmmcli-float32", n, d, k, "full", n_iter]) for _ in range(repeats)]
    t64 = statistics.median(r["seconds_per_iter"] for r in f64)
    t32 = statistics.median(r["seconds_per_iter"] for r in f32)
    rel = abs(f32[0]["mean_ll"] - f64[0]["mean_ll"]) / abs(f64[0]["mean_ll"])
    return [
        f"`--dtype float32`, N={n:.0e}, D={d}, K={k}, full: {t32:.4f} s/iter against {t64:.4f} in float64 "
        f"(**{t64 / t32:.1f}x**); the mean log-likelihood after {n_iter} iterations differs by {rel:.1e} relative. "
        "Data in memory take half the space. Statistics are summed in float64 in both.",
    ]


def fit_section(n, repeats):
    os.makedirs(WORK, exist_ok=True)
    data = write_csv(os.path.join(WORK, f"fit_{n}x10.csv"), n, 10, 8)
    script = os.path.join(WORK, "sklearn_fit.py")
    open(script, "w").write(SKLEARN_FIT_SCRIPT)
    gm_model, sk_model = os.path.join(WORK, "gmmcli_model.json"), os.path.join(WORK, "sklearn_model.json")
    ours = [child_rss([sys.executable, "-m", "gmmcli", "fit", data, "-k", "8", "-o", gm_model, "-q"]) for _ in range(repeats)]
    theirs = [child_rss([sys.executable, script, data, "8", sk_model]) for _ in range(repeats)]
    ll_ours = json.load(open(gm_model))["log_likelihood"]["mean_original_units"]
    ll_theirs = json.load(open(sk_model))["mean_ll_original"]
    t_ours, t_theirs = statistics.median(s for s, _ in ours), statistics.median(s for s, _ in theirs)
    return [
        f"`gmmcli fit` on a {n:.0e} x 10 CSV ({os.path.getsize(data) / 1e6:.0f} MB), K=8, full, tol 1e-3, "
        "against pandas.read_csv + StandardScaler + GaussianMixture(random_state=0) + json dump:",
        "",
        "| tool | wall s (median) | peak RSS MB | mean log-likelihood (original units) |",
        "| --- | --- | --- | --- |",
        f"| gmmcli | {t_ours:.2f} | {max(r for _, r in ours):.0f} | {ll_ours:.6f} |",
        f"| scikit-learn script | {t_theirs:.2f} | {max(r for _, r in theirs):.0f} | {ll_theirs:.6f} |",
        "",
        f"Speed-up **{t_theirs / t_ours:.1f}x**; final log-likelihood "
        f"{'no worse' if ll_ours >= ll_theirs - 1e-6 else 'WORSE'} (difference {ll_ours - ll_theirs:+.2e} per row).",
    ], gm_model, sk_model


def predict_section(n_values, gm_model, sk_model, repeats):
    script = os.path.join(WORK, "sklearn_predict.py")
    open(script, "w").write(SKLEARN_PREDICT_SCRIPT)
    lines = ["| rows | CSV MB | gmmcli s | gmmcli rows/s | gmmcli peak RSS MB | scikit-learn s | scikit-learn peak RSS MB | throughput ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for i, n in enumerate(n_values):
        data = write_csv(os.path.join(WORK, f"predict_{n}x10.csv"), n, 10, 8, seed=99)
        out = os.path.join(WORK, "pred.csv")
        ours = [child_rss([sys.executable, "-m", "gmmcli", "predict", gm_model, data, "-o", out]) for _ in range(repeats)]
        t_ours, rss_ours = statistics.median(s for s, _ in ours), max(r for _, r in ours)
        if i == 0:
            theirs = [child_rss([sys.executable, script, sk_model, data, out]) for _ in range(repeats)]
            t_theirs, rss_theirs = statistics.median(s for s, _ in theirs), max(r for _, r in theirs)
            cells = f"{t_theirs:.2f} | {rss_theirs:.0f} | **{t_theirs / t_ours:.1f}x**"
        else:
            cells = "(not run) | | "
        lines.append(f"| {n:.0e} | {os.path.getsize(data) / 1e6:.0f} | {t_ours:.2f} | {n / t_ours:,.0f} | {rss_ours:.0f} | {cells} |")
        print(lines[-1], flush=True)
    return lines


def out_of_core_section(n, limit="256M"):
    data = write_csv(os.path.join(WORK, f"predict_{n}x10.csv"), n, 10, 8, seed=99)
    model = os.path.join(WORK, "ooc_model.json")
    seconds, rss = child_rss([sys.executable, "-m", "gmmcli", "fit", data, "-k", "8", "--max-memory", limit,
                              "-o", model, "-q"])
    doc = json.load(open(model))
    return [
        f"`gmmcli fit --max-memory {limit}` on a {n:.0e} x 10 CSV ({os.path.getsize(data) / 1e9:.2f} GB), K=8, full: "
        f"{seconds:.1f} s, {doc['n_iter']} iterations, peak RSS **{rss:.0f} MB** "
        f"(limit {limit}; the data parsed would take {n * 10 * 8 / 1e6:.0f} MB). "
        "That the spooled fit equals the in-memory one (1e-9) is a unit test (tests/test_out_of_core.py).",
    ]


def worker_dask(n, n_files, repeats):
    """Per-iteration time of the Dask engine (2 workers) against the memory engine, same data and parameters."""
    from functools import partial

    import distributed
    import numpy as np

    from gmmcli.core.init import initialize
    from gmmcli.core.stats import block_statistics
    from gmmcli.engines import dask_engine
    from gmmcli.engines.memory import MemoryEngine
    from gmmcli.io.csv_reader import CsvFormat

    folder = os.path.join(WORK, f"dask_{n}")
    os.makedirs(folder, exist_ok=True)
    per = n // n_files
    paths = [write_csv(os.path.join(folder, f"part-{i:02d}.csv"), per, 10, 8, seed=1000 + i) for i in range(n_files)]
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=50)
    client = distributed.Client(cluster)
    names = [f"f{j}" for j in range(10)]
    engine, scaler, _ = dask_engine.load(client, paths, CsvFormat(), tuple(names), list(range(10)), True, names)
    params = initialize(engine, 8, "full", "kmeans++", np.random.default_rng(0), 1e-6, np.zeros(10))
    fn = partial(block_statistics, params=params, shift=np.zeros(10))
    memory = MemoryEngine(np.concatenate(client.gather(engine.partitions)))
    times = {"dask": [], "memory": []}
    stats = {}
    for i in range(repeats + 1):  # interleaved, so both see the same machine; round 0 warms up
        for name, e in (("dask", engine), ("memory", memory)):
            t0 = time.perf_counter()
            stats[name] = e.reduce(fn)
            if i:
                times[name].append(time.perf_counter() - t0)
    client.close()
    cluster.close()
    rel = abs(stats["dask"].log_likelihood - stats["memory"].log_likelihood) / abs(stats["memory"].log_likelihood)
    ratio = statistics.median([d / m for d, m in zip(times["dask"], times["memory"])])
    return {"dask": statistics.median(times["dask"]), "memory": statistics.median(times["memory"]),
            "ratio": ratio, "rel": rel}


def dask_section(quick, repeats):
    cases = [(10_000, 4)] + ([(200_000, 4)] if quick else [(10_000_000, 20)])
    lines = ["Dask engine, LocalCluster of 2 worker processes (1 thread each) against the memory engine (2 threads) "
             "in the same rounds, interleaved: one E-step + statistics pass with the same parameters (K=8, D=10, "
             "full); the partitions are already parsed and standardized on the workers.", "",
             "| rows | files | Dask s/iter | memory s/iter | Dask / memory (median of paired rounds; target ≤ 1.5) "
             "| log-likelihood rel. diff |", "| --- | --- | --- | --- | --- | --- |"]
    for n, files in cases:
        out = subprocess.run([sys.executable, __file__, "--dask-worker", json.dumps([n, files, repeats])],
                             capture_output=True, text=True)
        if out.returncode != 0:
            lines.append(f"| {n:.0e} | {files} | failed: {out.stderr.strip().splitlines()[-1][:120]} | | | |")
            continue
        r = json.loads(out.stdout.splitlines()[-1])
        lines.append(f"| {n:.0e} | {files} | {r['dask']:.4f} | {r['memory']:.4f} | {r['ratio']:.2f}x | {r['rel']:.1e} |")
        print(lines[-1], flush=True)
    return lines


def tree_peak(cmd):
    """Wall seconds and the peak of the summed RSS (MB) of a command and all its processes, sampled
    every 50 ms (an upper bound: forked workers share the parent's pages), and its stdout."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [root] + root.children(recursive=True)
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed: {err[-2000:]}")
    return time.perf_counter() - started, peak / 2**20, out


def scale_section(n=1_000_000, d=10, k=8):
    """Hierarchical initialisation and select on n x d rows: wall time and peak memory (target < 2 GB)."""
    path = write_csv(os.path.join(WORK, f"scale_{n}x{d}.csv"), n, d, k, seed=7)
    gm = [sys.executable, "-m", "gmmcli"]
    lines = [f"{n:,} rows x {d} columns, {k} clusters (`make_data`, seed 7), read from CSV. Peak memory: the summed "
             "RSS of the command's processes, sampled every 50 ms (forked workers share the parent's pages, so this "
             "overstates). One run each.", "", "| command | wall s | peak MB | outcome |", "| --- | --- | --- | --- |"]
    fits = [("fit --init hc -k 8", ["fit", path, "--init", "hc", "-k", str(k), "-q", "-o", os.path.join(WORK, "hc.json")]),
            ("fit --init kmeans++ -k 8", ["fit", path, "--init", "kmeans++", "-k", str(k), "-q",
                                          "-o", os.path.join(WORK, "kmpp.json")])]
    for label, args in fits:
        seconds, peak, _ = tree_peak(gm + args)
        with open(args[-1]) as f:
            model = json.load(f)
        outcome = f"{model['n_iter']} iterations, mean log-lik {model['log_likelihood']['mean_original_units']:.4f}"
        lines.append(f"| `gmmcli {label}` | {seconds:.1f} | {peak:.0f} | {outcome} |")
        print(lines[-1], flush=True)
    for label, args in (("select (defaults: k 1-9, 14 models, -j 0)", []),):
        seconds, peak, out = tree_peak(gm + ["select", path, "--format", "csv", "-q", *args])
        rows = list(csv.DictReader(io.StringIO(out)))
        best = next(r for r in rows if r["best"] == "True")
        polished = sum(r["screened"] == "False" for r in rows)
        outcome = (f"chose {best['covariance_type']}, k={best['k']}; {polished} of {len(rows)} cells fully fitted, "
                   f"{sum(bool(r['error']) for r in rows)} failed")
        lines.append(f"| `gmmcli {label}` | {seconds:.1f} | {peak:.0f} | {outcome} |")
        print(lines[-1], flush=True)
    return lines


def help_section(repeats):
    times = [child_rss([sys.executable, "-m", "gmmcli", "--help"])[0] for _ in range(max(5, repeats))]
    return [f"`gmmcli --help`: median {statistics.median(times):.3f} s over {len(times)} runs (target < 0.3 s)."]


def mclust_section(quick: bool) -> list:
    from mclust import compare, defaults_section, noise_section

    lines = compare(max_k=4 if quick else 9, n_init=3 if quick else 10)
    lines += ["", "### `gmmcli select DATA`, no options", ""] + defaults_section(4 if quick else 9)
    return lines + ["", "### `gmmcli select DATA --noise`", ""] + noise_section()


def replace_section(heading: str, lines: list) -> None:
    """Put ``lines`` under ``heading`` in BENCHMARKS.md, in place of what was there."""
    target = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(target).read().split("\n")
    if heading not in text:  # a new section: before float32's (the order of a full run), else at the end
        text[text.index("## float32") if "## float32" in text else len(text):0] = [heading, ""]
    start = text.index(heading)
    end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    text[start:end] = [heading, ""] + lines + [""]
    with open(target, "w") as f:
        f.write("\n".join(text))
    print(f"wrote {heading!r} in {target}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--all", action="store_true", help="every N x D x K x covariance case")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small data, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dask-worker", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap-only", action="store_true",
                        help="run only the bootstrap and LRT comparison and replace its section of BENCHMARKS.md")
    parser.add_argument("--grid-only", action="store_true",
                        help="run only the EM-iteration grid (D 2-100, K 2-32, four types) and replace its section")
    parser.add_argument("--kernels-only", action="store_true",
                        help="run only the E-step kernel comparison and replace its section of BENCHMARKS.md")
    parser.add_argument("--select-speed-only", action="store_true",
                        help="run only select's speed against mclustBIC (wine, wdbc, GvHD) and replace its section")
    parser.add_argument("--scale-only", action="store_true",
                        help="run only hc and select on 1e6 x 10 rows (time, peak memory) and replace its section")
    parser.add_argument("--mclust-only", action="store_true",
                        help="run only the comparison with mclust and replace its section of BENCHMARKS.md")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_iteration(*json.loads(args.worker))))
        return
    if args.dask_worker:
        print(json.dumps(worker_dask(*json.loads(args.dask_worker))))
        return
    repeats = 1 if args.quick else args.repeats
    if args.mclust_only:
        replace_section("## Model selection quality against mclust", mclust_section(args.quick))
        return
    if args.select_speed_only:
        from mclust import speed_section

        replace_section("## select against mclustBIC: speed", speed_section(repeats))
        return
    if args.scale_only:
        replace_section("## hc and select on 1e6 x 10", scale_section())
        return
    if args.bootstrap_only:
        from bootstrap_bench import bootstrap_section

        replace_section("## Bootstrap and the LRT against mclust", bootstrap_section(args.quick))
        return
    if args.grid_only:
        lines, results = iteration_section(GRID, repeats, n_iter=5)
        below = [r for r in results if r[4] < 10]
        lines += ["", f"{len(results) - len(below)} of {len(results)} cases at 10x or more; below: "
                  + (", ".join(f"D={d} K={k} {c} {s:.1f}x" for _, d, k, c, s, _ in below) or "none") + "."]
        replace_section("## EM iteration grid (N = 1e6 for D <= 10, 1e5 above; 5 iterations)", lines)
        return
    if args.kernels_only:
        replace_section("## E-step kernel: the cost model's choice", kernel_section(repeats))
        return
    if args.all:
        cases = [(n, d, k, c) for n in (100_000, 1_000_000) for d in (2, 10, 50) for k in (3, 8, 32) for c in TYPES]
    elif args.quick:
        cases = [(20_000, 10, 8, c) for c in TYPES]
    else:
        cases = [(1_000_000, 10, 8, c) for c in TYPES] + [
            (100_000, 2, 3, "full"), (100_000, 10, 32, "full"), (100_000, 50, 8, "full"), (100_000, 50, 8, "diag"),
        ]
    started = time.time()
    report = ["# Benchmarks", "", "Made by `make bench` (benchmarks/run.py); every ratio is against the peer "
              f"measured in the same run, median of {repeats} run(s).", "", "## Machine", ""]
    report += machine_section()
    report += ["", "## EM iteration (same initialization, tol 0, float64, reg_covar 1e-6)", "",
               "Per-iteration time: wall time of the whole fit divided by its E-steps. A case counts only if "
               "the final mean log-likelihoods agree to 1e-9 relative.", ""]
    lines, _ = iteration_section(cases, repeats)
    report += lines
    n_fit = 100_000 if args.quick else 1_000_000
    report += ["", "## E-step kernel: the cost model's choice", ""] + kernel_section(repeats)
    report += ["", "## float32", ""] + float32_section(n_fit, 10, 8, repeats)
    report += ["", "## fit end to end", ""]
    fit_lines, gm_model, sk_model = fit_section(n_fit, repeats)
    report += fit_lines
    report += ["", "## predict throughput and memory", ""]
    report += predict_section([n_fit] if args.quick else [1_000_000, 10_000_000], gm_model, sk_model, repeats)
    if not args.quick:
        report += ["", "## Out of core", ""] + out_of_core_section(10_000_000)
    report += ["", "## Dask engine", ""] + dask_section(args.quick, repeats)
    report += ["", "## Model selection quality against mclust", ""] + mclust_section(args.quick)
    if not args.quick:
        from mclust import speed_section

        report += ["", "## select against mclustBIC: speed", ""] + speed_section(repeats)
        report += ["", "## hc and select on 1e6 x 10", ""] + scale_section()
    from bootstrap_bench import bootstrap_section

    report += ["", "## Bootstrap and the LRT against mclust", ""] + bootstrap_section(args.quick)
    report += ["", "## Start-up", ""] + help_section(repeats)
    report += ["", f"Total benchmark time: {time.time() - started:.0f} s.", ""]
    target = os.path.join(ROOT, "BENCHMARKS.md")
    with open(target, "w") as f:
        f.write("\n".join(report) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
