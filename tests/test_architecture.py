"""The import rules of ARCHITECTURE.md, checked."""

import ast
import os
import subprocess
import sys

from tests.helpers import ROOT

PACKAGE = os.path.join(ROOT, "gmmcli")


def test_core_imports_no_io_framework():
    code = ("import sys, gmmcli.core.em, gmmcli.core.init, gmmcli.core.stats, gmmcli.core.params;"
            "bad = [m for m in ('pandas', 'typer', 'rich', 'dask', 'pyarrow', 'sklearn') if m in sys.modules];"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def imports_of(path):
    tree = ast.parse(open(path).read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def all_modules():
    for folder, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                yield os.path.relpath(path, ROOT)[:-3].replace(os.sep, "."), path


def test_import_contracts_hold():
    """The layers of ARCHITECTURE.md and the pure-numpy core, as import-linter contracts (pyproject.toml)."""
    lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    proc = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_help_does_not_import_numerical_stack():
    code = ("import sys; from gmmcli import cli;"
            "print(','.join(m for m in ('numpy', 'pandas', 'pyarrow', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_only_the_model_table_names_covariance_models():
    """Nothing outside gmmcli/core/models compares with, or spells out, a covariance model's name."""
    import re

    from gmmcli.core.models import MODEL_NAMES

    quoted = re.compile(r"""["'](%s)["']""" % "|".join(map(re.escape, MODEL_NAMES)))
    offenders = []
    for module, path in all_modules():
        if module.startswith("gmmcli.core.models"):
            continue
        for number, line in enumerate(open(path), 1):
            if quoted.search(line):
                offenders.append(f"{path}:{number}: {line.strip()}")
    assert offenders == []
