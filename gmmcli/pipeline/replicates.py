"""Replicates of a fit: EM from a fitted start on reweighted or simulated rows, run on every
core (processes) or as tasks on a Dask cluster.

What ``gmmcli bootstrap`` and ``select --lrt`` share. A replicate is a function of a shared,
read-only *context* and its index; its random draws come from its index alone
(:func:`gmmcli.core.bootstrap.replicate_rng`), and results come back in index order, so the
outcome is the same for a seed whatever ``--jobs`` or the cluster.
"""

from __future__ import annotations

import copy
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, is_dataclass, replace
from functools import partial
from typing import Callable, Optional

import numpy as np

from gmmcli.core.diagnostics import collapsed_components
from gmmcli.core.em import EMResult, run_em
from gmmcli.core.params import GaussianMixtureParams
from gmmcli.core.prior import map_m_step
from gmmcli.core.sampling import sample
from gmmcli.core.stats import block_statistics, m_step
from gmmcli.engines.memory import MemoryEngine
from gmmcli.errors import NumericalError
from gmmcli.pipeline.data import TrainingData
from gmmcli.pipeline.fit import data_prior
from gmmcli.scaler import Scaler

# Memory-engine rows are copied for a replicate when at least this share of them has weight 0
# (a bootstrap resample leaves out 1/e ≈ 37% of the rows: fewer rows to score every iteration).
SUBSET_ZERO_SHARE = 0.25
CHUNKS_PER_WORKER = 8  # tasks go to worker processes in chunks: fewer round trips, still balanced


@dataclass(frozen=True)
class RefitSettings:
    """How a replicate's EM runs (``tol`` on the change of the mean log-likelihood per row, as fit's)."""

    reg_covar: float = 1e-6
    tol: float = 1e-8
    max_iter: int = 1000
    prior: bool = False  # MAP EM under mclust's default prior, computed from the replicate's rows


def refit(engine, start: GaussianMixtureParams, shift: np.ndarray, settings: RefitSettings) -> EMResult:
    """EM on ``engine``'s (weighted) rows from ``start``: the same model, k and component order.

    Raises
    ------
    NumericalError
        The refit failed as mclust's would (its log-likelihood is NA then): a covariance that is
        not positive definite, a log-likelihood that is not finite, or a component collapsed
        onto a point or subspace (held up by ``reg_covar`` alone).
    """
    maximize = m_step
    if settings.prior:
        prior = data_prior(TrainingData([], engine, Scaler.identity(len(shift)), shift), start.n_components)
        maximize = partial(_map_step, prior=prior)
    result = run_em(lambda p: engine.reduce(partial(block_statistics, params=p, shift=shift)), start,
                    reg_covar=settings.reg_covar, tol=settings.tol, max_iter=settings.max_iter, maximize=maximize)
    if not np.isfinite(result.final_log_likelihood):
        raise NumericalError("the log-likelihood is not finite")
    collapsed = collapsed_components(result.params, settings.reg_covar)
    if collapsed.size:
        raise NumericalError(f"component {int(collapsed[0])} collapsed")
    return result


def _map_step(stats, reg_covar, previous=None, *, prior):
    return map_m_step(stats, prior, reg_covar, previous)


def reweighted(engine, weights: np.ndarray):
    """The engine's rows under new row ``weights`` (shape (n_samples,)), without copying the data,
    except that in memory the rows of weight 0 are left out when they are many."""
    if isinstance(engine, MemoryEngine) and np.count_nonzero(weights == 0) >= SUBSET_ZERO_SHARE * len(weights):
        rows = np.flatnonzero(weights)
        twin = engine.subset(rows)
        twin.sample_weight = weights[rows]
        return twin
    twin = copy.copy(engine)
    twin.sample_weight = weights
    return twin


def simulated(params: GaussianMixtureParams, n_samples: int, rng: np.random.Generator,
              noise_sampler: Optional[Callable] = None, n_threads: int = 1) -> MemoryEngine:
    """``n_samples`` rows drawn from ``params`` (their space), behind a memory engine."""
    X, _ = sample(params, n_samples, rng, draw_noise=noise_sampler)
    return MemoryEngine(X, n_threads=n_threads)


@dataclass(frozen=True)
class NoiseSampler:
    """Rows from a noise component's box (original units), moved into the fitted space of ``scaler``.

    A value, not a closure, so that a context holding it travels to Dask workers."""

    box: object  # gmmcli.core.noise.Box
    scaler: Scaler

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.scaler.transform(self.box.sample(n, rng))


# ---------------------------------------------------------------- running many replicates
_CONTEXT = None  # the shared context in a worker process (set by the pool's initializer)


def _set_context(context) -> None:
    global _CONTEXT
    _CONTEXT = context


def _run_in_worker(task: Callable, index: int):
    return task(_CONTEXT, index)


def _call(index: int, task: Callable, context):
    return task(context, index)


def single_threaded(context):
    """The context with its engine (if it has one) on one thread: processes share the cores."""
    if is_dataclass(context) and getattr(context, "engine", None) is not None:
        return replace(context, engine=context.engine.with_threads(1))
    return context


class ReplicateRunner:
    """Runs ``task(context, index)`` for many indices: in this process, on ``jobs`` forked
    processes, or as Dask tasks (``dask``; one connection for every batch while open).

    Use as a context manager; :meth:`run` returns the results in index order.
    """

    def __init__(self, jobs: int = 1, dask: bool = False, scheduler: Optional[str] = None):
        self.jobs, self.dask, self.scheduler = jobs, dask, scheduler
        self.client = None

    def __enter__(self) -> "ReplicateRunner":
        if self.dask:
            from gmmcli.engines import dask_engine

            self.client = dask_engine.connect(self.scheduler)
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            from gmmcli.engines import dask_engine

            dask_engine.close_client(self.client)
            self.client = None

    @property
    def dashboard_link(self) -> Optional[str]:
        return getattr(self.client, "dashboard_link", None)

    def run(self, task: Callable, context, indices, on_done: Optional[Callable] = None) -> list:
        """``[task(context, i) for i in indices]``; ``on_done(done, total)`` as results arrive."""
        indices = [int(i) for i in indices]
        if self.client is not None:
            return self._run_on_dask(task, context, indices, on_done)
        if self.jobs == 1 or len(indices) <= 1:
            return _collect(map(partial(task, context), indices), len(indices), on_done)
        workers = min(self.jobs, len(indices))
        # fork: the workers inherit the context (the rows) instead of receiving a copy each
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_set_context, initargs=(single_threaded(context),))
        try:
            chunk = max(1, len(indices) // (workers * CHUNKS_PER_WORKER))
            return _collect(pool.map(partial(_run_in_worker, task), indices, chunksize=chunk), len(indices), on_done)
        finally:
            pool.shutdown(cancel_futures=True)

    def _run_on_dask(self, task: Callable, context, indices: list, on_done) -> list:
        """Each replicate one task; the context is sent to every worker once."""
        from distributed import as_completed

        shared = self.client.scatter(single_threaded(context), broadcast=True)
        futures = self.client.map(_call, indices, task=task, context=shared, pure=False)
        for done, _ in enumerate(as_completed(futures), 1):
            if on_done is not None:
                on_done(done, len(indices))
        return self.client.gather(futures)  # index order, whatever order they finished in


def _collect(results, total: int, on_done) -> list:
    out = []
    for done, result in enumerate(results, 1):
        out.append(result)
        if on_done is not None:
            on_done(done, total)
    return out
