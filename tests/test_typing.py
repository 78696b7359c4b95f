"""The public Python API passes ``mypy --strict`` (its configuration is pyproject.toml's [tool.mypy])."""

import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def test_public_api_passes_mypy_strict():
    if shutil.which("mypy") is None and subprocess.run([sys.executable, "-m", "mypy", "--version"],
                                                       capture_output=True).returncode:
        pytest.fail("mypy is not installed (it is in the dev extra)")
    res = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success: no issues found" in res.stdout
