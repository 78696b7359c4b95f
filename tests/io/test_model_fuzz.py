"""Every field of a model file, mutated: gmmcli reads it or refuses it in one line, never NaN, never exit 70.

Two models: the golden 'diag' file and a 'full' model fitted here. Every key path of
each (recursively, array elements included) gets every mutation of ``MUTATIONS``.
Reading is fast, so every mutated file is read. The files the reader accepts are the
ones that could reach scoring and sampling, so every one of them goes through predict
--outlier-quantile, trace and sample (each command once per distinct content of the
fields it reads). A hypothesis test draws mutated files, accepted or refused, to run
through all three commands without that shortcut.
"""

import copy
import json
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmmcli import cli
from gmmcli.errors import ModelError
from gmmcli.io.model_file import parse_model
from tests.helpers import ROOT, SAMPLE

GOLDEN = os.path.join(ROOT, "tests", "golden", "model_v1_diag.json")
WALK = os.path.join(SAMPLE, "walkthrough.csv")
DELETE, EXTRA = "<delete>", "<extra>"
TOKEN = "__json_token__"  # a string placeholder that becomes a bare NaN/Infinity token in the file
MUTATIONS = {
    "a string": "abc", "an empty string": "", "true": True, "null": None, "an object": {"junk": 1},
    "an empty object": {}, "an empty array": [], "NaN": TOKEN + "NaN", "Infinity": TOKEN + "Infinity",
    "-Infinity": TOKEN + "-Infinity", "1e308": 1e308, "-1e308": -1e308, "-1": -1, "-0.5": -0.5, "0": 0,
    "1.0": 1.0, "10**30": 10**30, "deleted": DELETE, "an extra key or item": EXTRA,
}
COMMANDS = (["predict", "{model}", WALK, "--outlier-quantile", "0.01"], ["trace", "{model}"],
            ["sample", "{model}", "-n", "5"])
PARAMETERS = ("feature_names", "has_header", "scaler", "covariance_type", "n_components", "weights", "means",
              "covariances")
# What each command reads: the exhaustive sweep runs a command once per distinct content of these
# (a mutation elsewhere cannot change what it does); the hypothesis test runs without this shortcut.
READS = {"predict": PARAMETERS + ("log_likelihood_quantiles",), "trace": ("history", "log_likelihood", "n_samples"),
         "sample": PARAMETERS}
NOT_FINITE = re.compile(rb"\b(nan|inf|infinity)\b", re.IGNORECASE)
SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def key_paths(node, prefix=()):
    """Every key path below ``node``, parents before children."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield prefix + (key,)
        yield from key_paths(child, prefix + (key,))


def field_name(where) -> str:
    """A key path as the reader's messages write it: ``history.restarts[0].seed``."""
    name = ""
    for part in where:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


def mutate(doc: dict, where: tuple, mutation) -> bytes:
    """The document with the node at ``where`` replaced, deleted or given an extra key/item."""
    doc = copy.deepcopy(doc)
    parent = doc
    for key in where[:-1]:
        parent = parent[key]
    node = parent[where[-1]]
    if mutation == DELETE:
        del parent[where[-1]]
    elif mutation == EXTRA and isinstance(node, dict):
        node["zz_extra"] = 1
    elif mutation == EXTRA and isinstance(node, list):
        node.append(copy.deepcopy(node[-1]) if node else 0)
    elif mutation == EXTRA:
        parent[where[-1]] = [node, node]
    else:
        parent[where[-1]] = copy.deepcopy(mutation)
    text = json.dumps(doc)
    for token in ("-Infinity", "Infinity", "NaN"):
        text = text.replace(json.dumps(TOKEN + token), token)
    return text.encode()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """name -> document: the golden 'diag' model and a 'full' one fitted by the CLI."""
    folder = tmp_path_factory.mktemp("fuzz")
    full = folder / "full.json"
    assert cli.run(["fit", WALK, "-k", "3", "-q", "-o", str(full)]) == 0
    docs = {"diag": json.loads(open(GOLDEN).read()), "full": json.loads(full.read_text())}
    assert docs["full"]["covariance_type"] == "full"
    return docs


@pytest.fixture(scope="module")
def cases(models):
    """Every (model, key path, mutation) with its file, split by whether the reader accepts it.

    Accepted: ((model, key path, mutation), file); refused: ((...), file, message).
    """
    accepted, refused = [], []
    for name, doc in models.items():
        for where in key_paths(doc):
            for mutation in MUTATIONS:
                raw = mutate(doc, where, MUTATIONS[mutation])
                try:
                    parse_model(raw, "m.json")
                except ModelError as exc:
                    refused.append(((name, where, mutation), raw, str(exc)))
                else:
                    accepted.append(((name, where, mutation), raw))
    return accepted, refused


def test_every_mutation_of_every_field_is_read_or_refused_in_one_line(models, cases):
    accepted, refused = cases
    assert len(accepted) > 100 and len(refused) > 1000  # the sweep did reach both outcomes
    for (name, where, mutation), raw, message in refused:
        mutated = json.loads(raw)  # Python's json reads NaN and Infinity
        fields = {field_name(p) for doc in (models[name], mutated) for p in key_paths(doc)}
        named = re.fullmatch(r"m\.json: field '([^']*)': .+", message)
        assert "\n" not in message, (where, mutation, message)
        if named:  # the named field is in the file (or was deleted from it)
            assert named.group(1) in fields, (where, mutation, message)
        else:  # only JSON-level problems (NaN tokens) and a wrong format do not name a field
            assert message.startswith(("m.json: not a valid model file: ", "m.json: not a gmmcli model file")), \
                (where, mutation, message)
    # a number replaced by a string is reported at exactly that field
    wrong_type = [(case, message) for case, _, message in refused
                  if case[2] == "a string" and isinstance(_value(models[case[0]], case[1]), (int, float))]
    assert wrong_type and all(f"field '{field_name(case[1])}': " in message for case, message in wrong_type)


def _value(doc, where):
    for key in where:
        doc = doc[key]
    return doc


def assert_clean(case, command, code, out: bytes, err: str) -> None:
    """Exit 0 with finite numbers, or one error line; never 70."""
    if code == 0:
        assert not NOT_FINITE.search(out), (case, command, out[:300])
        return
    assert err.count("\n") == 1 and err.startswith("gmmcli: error: "), (case, command, err)
    # a model with no quantile levels around 0.01 cannot answer --outlier-quantile: a usage error
    usage = command == "predict" and err.startswith("gmmcli: error: --outlier-quantile must be")
    assert code == 65 or (code == 2 and usage), (case, command, code, err)


def run_commands(capsysbinary, case, raw: bytes, path: str, commands) -> None:
    """Write the mutated file to ``path`` and run each command on it in-process."""
    with open(path, "wb") as handle:
        handle.write(raw)
    for command in commands:
        code = cli.run([arg.format(model=path) for arg in command])
        captured = capsysbinary.readouterr()
        assert_clean(case, command[0], code, captured.out, captured.err.decode())


def test_every_accepted_mutation_predicts_traces_and_samples_finite_numbers(cases, tmp_path, capsysbinary):
    accepted, _ = cases
    seen = {command[0]: set() for command in COMMANDS}
    for case, raw in accepted:
        doc = json.loads(raw)
        todo = []
        for command in COMMANDS:
            read = json.dumps([case[0]] + [doc.get(key) for key in READS[command[0]]])
            if read not in seen[command[0]]:
                seen[command[0]].add(read)
                todo.append(command)
        run_commands(capsysbinary, case, raw, str(tmp_path / "model.json"), todo)
    assert all(len(reads) > 20 for reads in seen.values())


@SETTINGS
@given(data=st.data())
def test_mutated_models_through_predict_trace_and_sample(cases, tmp_path, capsysbinary, data):
    accepted, refused = cases
    case, raw = data.draw(st.one_of(st.sampled_from(accepted), st.sampled_from([r[:2] for r in refused])))
    run_commands(capsysbinary, case, raw, str(tmp_path / "model.json"), COMMANDS)
