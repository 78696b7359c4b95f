"""The EM loop, independent of where the data live.

The loop only sees a function ``compute_statistics(params) -> SufficientStats``
(one pass of an engine) and the M-step; in memory, out of core or on a cluster
the iteration is the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from gmmcli.core.params import GaussianMixtureParams
from gmmcli.core.stats import SufficientStats, m_step


@dataclass(frozen=True)
class EMResult:
    """Outcome of one EM run.

    Attributes
    ----------
    params : GaussianMixtureParams
        The parameters after the last M-step.
    log_likelihood : tuple of float
        Total (weighted) log-likelihood of the parameters after 0, 1, 2, …
        M-steps; the last entry is that of ``params`` itself.
    n_iter : int
        Number of M-steps taken.
    converged : bool
    statistics : SufficientStats
        The statistics of ``params`` on the data (the last E-step).
    """

    params: GaussianMixtureParams
    log_likelihood: tuple
    n_iter: int
    converged: bool
    statistics: SufficientStats

    @property
    def final_log_likelihood(self) -> float:
        return self.log_likelihood[-1]

    @property
    def mean_log_likelihood(self) -> float:
        return self.log_likelihood[-1] / self.statistics.weight


def run_em(
    compute_statistics: Callable[[GaussianMixtureParams], SufficientStats],
    params: GaussianMixtureParams,
    *,
    reg_covar: float,
    tol: float,
    max_iter: int,
    on_iteration: Optional[Callable[[int, float], None]] = None,
    maximize: Callable = m_step,
) -> EMResult:
    """Run EM from ``params`` until the mean log-likelihood changes by less than ``tol``.

    Every E-step scores the current parameters, so the recorded history ends
    with the log-likelihood of the parameters returned (no extra pass needed).
    With ``tol == 0`` exactly ``max_iter`` M-steps are taken.

    Parameters
    ----------
    compute_statistics : callable
        One pass over the data: parameters → summed statistics.
    params : GaussianMixtureParams
        The starting point.
    reg_covar, tol, max_iter : see ``gmmcli fit --help``.
    on_iteration : callable(n_iter, total_log_likelihood), optional
        Called after each E-step (for progress displays).
    maximize : callable(stats, reg_covar, previous=params) -> params
        The M-step: maximum likelihood (default), or a MAP step under a prior.
    """
    history: list[float] = []
    converged = False
    n_iter = 0
    while True:
        stats = compute_statistics(params)
        history.append(stats.log_likelihood)
        if on_iteration is not None:
            on_iteration(n_iter, stats.log_likelihood)
        if n_iter > 0 and abs(history[-1] - history[-2]) < tol * stats.weight:
            converged = True
            break
        if n_iter >= max_iter:
            break
        params = maximize(stats, reg_covar, previous=params)
        n_iter += 1
    return EMResult(params, tuple(history), n_iter, converged, stats)
