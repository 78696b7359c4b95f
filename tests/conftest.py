import numpy as np
import pytest

from gmmcli import cli


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def run(capsysbinary):
    """Run the CLI in-process; returns exit code, stdout bytes and stderr text."""

    def _run(*args):
        code = cli.run([str(a) for a in args])
        captured = capsysbinary.readouterr()
        return Result(code, captured.out, captured.err.decode())

    return _run


@pytest.fixture(scope="session")
def cluster():
    """One LocalCluster of 2 worker processes for every Dask test (start-up is the slow part)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=50)
    yield cluster
    cluster.close()
