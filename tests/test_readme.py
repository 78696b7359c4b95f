"""The README is tested: every `$ ` example of its ```console blocks runs and prints what it shows.

Sybil parses README.md with the console parser of tests/readme_console.py (which documents
the matching rules). The examples run in document order, in one temporary working directory
shared by the whole README (so `fit ... -o model.json` feeds the later `predict model.json`),
holding a copy of sample_data/. Run one example alone with -k (e.g. `-k "README.md:120"`):
the examples before it are run first, unchecked, to build its files.
"""

import shutil
from pathlib import Path

import pytest
from sybil import Sybil

from tests.readme_console import Command, ConsoleParser, compare, split_examples

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

DOCUMENT = Sybil(parsers=[ConsoleParser()], path=str(ROOT)).parse(README)
EXAMPLES = list(DOCUMENT.examples())


@pytest.fixture(scope="module")
def readme_cwd(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "sample_data", cwd / "sample_data")
    DOCUMENT.namespace.update(cwd=cwd, evaluated=set())
    return cwd


@pytest.mark.parametrize("index", range(len(EXAMPLES)),
                         ids=[f"README.md:{example.line}" for example in EXAMPLES])
def test_readme_example(index, readme_cwd):
    evaluated = DOCUMENT.namespace["evaluated"]
    for earlier in range(index):  # only when examples were deselected: build their files
        if earlier not in evaluated:
            evaluated.add(earlier)
            try:
                EXAMPLES[earlier].evaluate()
            except Exception:  # reported by its own test when that one is selected
                pass
    evaluated.add(index)
    EXAMPLES[index].evaluate()


def test_readme_has_examples():
    commands = [example.parsed for example in EXAMPLES]
    assert len(commands) >= 30
    assert all(isinstance(c, Command) for c in commands)
    assert any(c.skip_reason == "needs a Dask cluster" for c in commands)
    assert not any("--engine dask" in c.command for c in commands if c.skip_reason is None)


# The matcher itself: each rule passes what it should, and fails what it should.

SUMMARY = ("fitted 3 full component(s) to 300 rows x 2 columns ('x', 'y'): converged after "
           "2 iteration(s), log-likelihood -995.3507 (-3.317836 per row, original units), 0.05 s")
PREDICTIONS = ["id,label,log_likelihood", "new-1,1,-2.7402992389203007", "new-2,0,-2.0839500615958637"]


@pytest.mark.parametrize("actual", [
    PREDICTIONS,
    ["id,label,log_likelihood", "new-1,1,-2.74029923892", "new-2,0,-2.08395006159586"],  # last digits
    PREDICTIONS + ["", ""],  # blank lines at the end
    [line + "   " for line in PREDICTIONS],  # trailing spaces
])
def test_matcher_accepts(actual):
    assert compare(PREDICTIONS, actual) is None


@pytest.mark.parametrize("actual, why", [
    (["id,label,log_likelihood", "new-1,2,-2.7402992389203007", PREDICTIONS[2]], "number 2 where 1"),
    (["id,label", "new-1,1", "new-2,0"], "expected 'id,label,log_likelihood'"),
    (PREDICTIONS + ["new-3,2,-2.47"], "unexpected line 4"),
    (PREDICTIONS[:2], "missing line: 'new-2,0,-2.0839500615958637'"),
    (["id,label,log_likelihood", "new-1,1,-2.7406", PREDICTIONS[2]], "number -2.7406 where"),
    (["id,label,log_likelihood", "new-1,1,-2.7402992389203007", "new-2,0,-2.0839500615958637,x"],
     "expected 'new-2,0"),
    (["id,label,log_likelihood", "new-1,1,2.7402992389203007", PREDICTIONS[2]], "number 2.74"),
    (["id, label,log_likelihood"] + PREDICTIONS[1:], "expected 'id,label,log_likelihood'"),
])
def test_matcher_refuses(actual, why):
    assert why in compare(PREDICTIONS, actual)


def test_matcher_numbers():
    assert compare(["153.90,-995.3507"], ["153.90,-995.3508"]) is None  # within 1e-4
    assert "number 153.9 where 153.90" in compare(["153.90"], ["153.9"])  # verbatim
    assert "number 0.0001960 where 0.000196" in compare(["p = 0.000196"], ["p = 0.0001960"])
    assert compare(["0.9999999999999998"], ["1"]) is None  # a repr() float may move
    assert "number 0.9999999999999998 where 1" in compare(["1"], ["0.9999999999999998"])
    assert compare(["1.2564151402997017e-17"], ["1.3e-17"]) is None  # below the absolute 1e-12
    assert "number 3 where 2" in compare(["label 2"], ["label 3"])


def test_matcher_timing_and_ellipsis():
    assert compare([SUMMARY], [SUMMARY.replace("0.05 s", "12.5 s")]) is None
    assert compare([SUMMARY.replace("0.05 s", "... s")], [SUMMARY]) is None
    assert "number 301" in compare([SUMMARY], [SUMMARY.replace("300 rows", "301 rows")])
    assert "number 3" in compare([SUMMARY], [SUMMARY.replace("after 2", "after 3")])
    assert compare(["a", "...", "z"], ["a", "b", "c", "z"]) is None
    assert compare(["a", "...", "z"], ["a", "z"]) is None
    assert "'z'" in compare(["a", "...", "z"], ["a", "b"])
    assert compare(['{"level": "info", "seconds": ...}'], ['{"level": "info", "seconds": 0.041}']) is None
    assert compare(['{"level": "info", ...}'], ['{"level": "warning", "x": 1}']) is not None


def test_split_examples():
    source = "$ gmmcli fit a.csv -k 3 \\\n    -o m.json\n$ gmmcli trace m.json\nx\n\ny\n\n$ echo\n"
    commands = [command for _, _, command in split_examples(source)]
    assert commands == [Command("gmmcli fit a.csv -k 3 \\\n    -o m.json", ()),
                        Command("gmmcli trace m.json", ("x", "", "y", "")),
                        Command("echo", ())]
    with pytest.raises(ValueError, match="output before the first"):
        split_examples("stray\n$ echo\n")
