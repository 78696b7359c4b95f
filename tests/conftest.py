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
