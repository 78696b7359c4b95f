"""The README's ```python examples run (in a scratch folder holding sample_data/)."""

import re
import shutil

from tests.helpers import ROOT, SAMPLE


def test_readme_python_examples_run(tmp_path, monkeypatch):
    text = open(f"{ROOT}/README.md").read()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "the README shows Python"
    shutil.copytree(SAMPLE, tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "model.json").exists()
