"""The numbers of a bootstrap, as mclust's ``MclustBootstrap`` and ``mclustBootstrapLRT`` define them.

Pure numpy: how a replicate reweights the rows, which generator it draws from, the parameter
vector a replicate yields (in the data's original units), and what the replicates are summed
up to (standard errors, intervals, a p-value). Refitting belongs to the pipeline.

Resampling types (mclust's names):

- ``bs``: the nonparametric bootstrap, rows drawn n times with replacement; drawn as
  multinomial counts, which act as integer row weights (the same sums as repeated rows).
- ``wlbs``: the weighted likelihood bootstrap (Newton and Raftery 1994): every row weighted by
  an Exp(1) = Gamma(1, 1) draw, scaled by the largest (mclust's ``rexp(n)``, ``w / max(w)``).
- ``pb``: the parametric bootstrap, n rows drawn from the fitted mixture.
- ``jk``: the jackknife, one refit without each row in turn.
"""

from __future__ import annotations

from statistics import NormalDist
import numpy as np

from gmmcli.core.params import GaussianMixtureParams

RESAMPLING_TYPES = ("bs", "wlbs", "pb", "jk")
NOISE = "noise"  # the component named in a noise component's rows
# mclust gives up after 10 × nboot failed refits; a replicate here is redrawn at most this many
# times (the same budget, and each replicate's outcome independent of the others').
MAX_ATTEMPTS = 10


def replicate_rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of one replicate: child ``key`` of ``SeedSequence(seed)``.

    ``SeedSequence(seed, spawn_key=(i, a))`` is what ``SeedSequence(seed).spawn()`` hands out as
    the a-th child of the i-th child, so replicates are independent streams, and a replicate's
    draw depends only on its index and attempt, never on which process ran it or in what order.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key)))


def resampling_weights(kind: str, n_samples: int, rng: np.random.Generator, replicate: int) -> np.ndarray:
    """The row weights of one replicate of a resampling ``kind`` (all but ``pb``).

    Returns
    -------
    ndarray of shape (n_samples,)
        ``bs``: how often each row was drawn (sums to n); ``wlbs``: Exp(1) draws over their
        maximum; ``jk``: ones, with a zero at row ``replicate``.
    """
    if kind == "bs":
        return np.bincount(rng.integers(n_samples, size=n_samples), minlength=n_samples).astype(float)
    if kind == "wlbs":
        w = rng.exponential(size=n_samples)
        return w / w.max()
    if kind == "jk":
        w = np.ones(n_samples)
        w[replicate] = 0.0
        return w
    raise ValueError(f"no row weights for resampling type {kind!r}")


# ---------------------------------------------------------------- parameters in original units
def parameter_labels(n_components: int, feature_names, noise: bool = False) -> list:
    """(parameter, component, column) of each entry of :func:`parameter_vector`, in its order.

    Per component: ``weight``; ``mean`` and ``variance`` per column; ``covariance`` per pair of
    columns (named ``a:b``); then the noise's ``weight`` (component ``noise``) when there is one.
    """
    names = [str(n) for n in feature_names]
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    labels = []
    for k in range(n_components):
        labels.append(("weight", k, None))
        labels += [("mean", k, name) for name in names]
        labels += [("variance", k, name) for name in names]
        labels += [("covariance", k, f"{names[i]}:{names[j]}") for i, j in pairs]
    if noise:
        labels.append(("weight", NOISE, None))
    return labels


def parameter_vector(params: GaussianMixtureParams, scale: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The mixture's parameters in original units (x = scale · z + mean), flattened.

    Means become scale ⊙ μ + mean and covariances diag(scale) Σ diag(scale), exact for every
    covariance model. Order as :func:`parameter_labels`.

    Returns
    -------
    ndarray of shape (K (1 + 2D + D(D − 1)/2) [+ 1],)
    """
    d = params.n_features
    means = params.means * scale + mean
    covariances = params.dense_covariances() * np.outer(scale, scale)
    upper = np.triu_indices(d, k=1)
    parts = []
    for k in range(params.n_components):
        parts += [[params.weights[k]], means[k], np.diagonal(covariances[k]), covariances[k][upper]]
    if params.noise is not None:
        parts.append([params.noise.weight])
    return np.concatenate(parts).astype(float)


# ---------------------------------------------------------------- summing up the replicates
def bootstrap_se(values: np.ndarray) -> np.ndarray:
    """Standard deviation of each column over the replicates (R's ``sd``: n − 1).

    Parameters
    ----------
    values : ndarray of shape (n_replicates, n_parameters)
    """
    return np.std(values, axis=0, ddof=1)


def jackknife_se(values: np.ndarray) -> np.ndarray:
    """The jackknife standard error, √((m − 1)/m · Σᵢ (θᵢ − θ̄)²) over m leave-one-out refits.

    mclust's ``summary.MclustBootstrap`` writes it as √(sd² (m − 1)² / m), the same number.

    Parameters
    ----------
    values : ndarray of shape (m, n_parameters)
    """
    m = len(values)
    return np.sqrt((m - 1) / m * ((values - values.mean(axis=0)) ** 2).sum(axis=0))


def percentile_interval(values: np.ndarray, level: float) -> tuple:
    """The (lower, upper) percentile interval of each column: quantiles (1 ∓ level)/2, linearly
    interpolated (R's default, type 7), as mclust's ``summary(boot, what = "ci")``."""
    lower, upper = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return lower, upper


def summarize_replicates(kind: str, values: np.ndarray, level: float) -> tuple:
    """(se, lower, upper) per parameter, as mclust sums up each resampling type.

    The jackknife's interval is mclust's normal one about the replicates' mean, θ̄ ± z·se; the
    other types' are percentile intervals.
    """
    if kind == "jk":
        se = jackknife_se(values)
        z = NormalDist().inv_cdf((1 + level) / 2)
        centre = values.mean(axis=0)
        return se, centre - z * se, centre + z * se
    lower, upper = percentile_interval(values, level)
    return bootstrap_se(values), lower, upper


def lrt_statistic(log_likelihood_null: float, log_likelihood_alternative: float) -> float:
    """2 (ℓ₁ − ℓ₀), the likelihood-ratio statistic of k + 1 components against k."""
    return 2.0 * (log_likelihood_alternative - log_likelihood_null)


def lrt_p_value(observed: float, boot: np.ndarray) -> float:
    """(1 + #{boot ≥ observed}) / (N + 1), mclust's bootstrap p-value (never 0)."""
    boot = np.asarray(boot, dtype=float)
    return float((1 + np.count_nonzero(boot >= observed)) / (len(boot) + 1))

