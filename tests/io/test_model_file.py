import json
import os

import pytest

from gmmcli.errors import ModelError, NoInputError
from gmmcli.io.model_file import dumps_model, parse_model, read_model
from tests.helpers import ROOT

GOLDEN = os.path.join(ROOT, "tests", "golden", "model_v1_diag.json")


def golden_doc():
    with open(GOLDEN) as f:
        return json.load(f)


def test_golden_v1_file_loads_and_round_trips_byte_identical():
    raw = open(GOLDEN, "rb").read()
    model = read_model(GOLDEN)
    assert model.params.covariance_type == "diag" and model.feature_names == ("x", "y")
    assert dumps_model(model) == raw
    assert dumps_model(parse_model(dumps_model(model), "again")) == raw


def test_schema_file_lists_every_key_written():
    schema_path = os.path.join(ROOT, "gmmcli", "io", "model.schema.json")
    schema = json.load(open(schema_path))
    doc = golden_doc()
    assert set(schema["required"]) == set(doc)
    assert set(schema["properties"]) == set(doc) | {"selection"}


def mutate(path_keys, value):
    doc = golden_doc()
    target = doc
    for key in path_keys[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path_keys[-1]]
    else:
        target[path_keys[-1]] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize("raw,message", [
    (b'{"format": "gmmcli-model", "schema_ver', "m.json: not a model file (truncated at line 1, column 28)"),
    (b'[1, 2]', 'm.json: not a gmmcli model file (no "format": "gmmcli-model")'),
    (b'{"format": "gmmcli-model", "format": "x"}', "m.json: not a valid model file: duplicate key 'format'"),
    (b'{"format": "gmmcli-model", "x": NaN}', "m.json: not a valid model file: NaN is not valid JSON"),
    (b'{"format": "gmmcli-model", "x": Infinity}', "m.json: not a valid model file: Infinity is not valid JSON"),
    (b'{"format": "gmmcli-model", "x": 1e400}', "m.json: not a valid model file: number 1e400 is out of range"),
    (mutate(["schema_version"], 2), "m.json: field 'schema_version': 2 is newer than this gmmcli reads (1); upgrade gmmcli"),
    (mutate(["weights"], [0.5, 0.5]), "m.json: field 'weights': shape is [2], expected [3]"),
    (mutate(["weights"], [0.5, 0.6, -0.1]), "m.json: field 'weights': contains a negative weight"),
    (mutate(["weights"], [0.5, 0.5, 0.5]), "m.json: field 'weights': sum to 1.5, not 1"),
    (mutate(["means"], KeyError), "m.json: field 'means': missing"),
    (mutate(["means"], "x"), "m.json: field 'means': expected an array, got a string"),
    (mutate(["covariances"], [[1, 1], [1, -1], [1, 1]]), "m.json: field 'covariances[1]': is not positive definite"),
    (mutate(["scaler", "scale"], [1.0, 0.0]), "m.json: field 'scaler.scale': contains a value that is not positive"),
    (mutate(["covariance_type"], "banana"), "m.json: field 'covariance_type': 'banana' is not one of full, tied, diag, spherical"),
    (mutate(["history", "chosen"], 5), "m.json: field 'history.chosen': 5 is not the index of a restart"),
    (mutate(["n_components"], True), "m.json: field 'n_components': expected an integer, got true or false"),
])
def test_invalid_model_files_name_the_field(raw, message):
    with pytest.raises(ModelError) as exc:
        parse_model(raw, "m.json")
    assert str(exc.value) == message


def test_full_covariance_must_be_symmetric():
    from gmmcli.io.model_file import read_model as _  # noqa: F401
    doc = golden_doc()
    doc["covariance_type"] = "full"
    doc["covariances"] = [[[1.0, 0.5], [0.2, 1.0]], [[1.0, 0], [0, 1.0]], [[1.0, 0], [0, 1.0]]]
    with pytest.raises(ModelError) as exc:
        parse_model(json.dumps(doc).encode(), "m.json")
    assert str(exc.value) == "m.json: field 'covariances[0]': is not symmetric"


def test_missing_model_file(tmp_path):
    with pytest.raises(NoInputError, match="no such model file"):
        read_model(str(tmp_path / "nope.json"))
