import json
import os
import subprocess
import sys

import pytest

from gmmcli.core.models import MODEL_NAMES
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
    assert set(schema["properties"]) == set(doc) | {"selection", "decomposition", "noise", "uncertainty"}  # optional fields


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
    (mutate(["schema_version"], 4), "m.json: field 'schema_version': 4 is newer than this gmmcli reads (3); upgrade gmmcli"),
    (mutate(["weights"], [0.5, 0.5]), "m.json: field 'weights': shape is [2], expected [3]"),
    (mutate(["weights"], [0.5, 0.6, -0.1]), "m.json: field 'weights': contains a negative weight"),
    (mutate(["weights"], [0.5, 0.5, 0.5]), "m.json: field 'weights': sum to 1.5, not 1"),
    (mutate(["means"], KeyError), "m.json: field 'means': missing"),
    (mutate(["means"], "x"), "m.json: field 'means': expected an array, got 'x'"),
    (mutate(["covariances"], [[1, 1], [1, -1], [1, 1]]), "m.json: field 'covariances[1]': is not positive definite"),
    (mutate(["scaler", "scale"], [1.0, 0.0]), "m.json: field 'scaler.scale': contains a value that is not positive"),
    (mutate(["covariance_type"], "banana"), "m.json: field 'covariance_type': 'banana' is not one of "
                                            + ", ".join(MODEL_NAMES)),
    (mutate(["history", "chosen"], 5), "m.json: field 'history.chosen': 5 is not the index of a restart"),
    (mutate(["n_components"], True), "m.json: field 'n_components': expected an integer, got true"),
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


# ---------------------------------------------------------------- every field, through the JSON Schema
WALK = os.path.join(ROOT, "sample_data", "walkthrough.csv")


def write_doc(tmp_path, doc, name="model.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_junk_quantiles_exit_65_naming_the_field(tmp_path, run):
    doc = golden_doc()
    doc["log_likelihood_quantiles"]["0.01"] = "abc"
    path = write_doc(tmp_path, doc)
    res = run("predict", path, WALK, "--outlier-quantile", "0.01")
    assert (res.code, res.out) == (65, b"")
    assert res.err == f"gmmcli: error: {path}: field 'log_likelihood_quantiles.0.01': expected a number, got 'abc'\n"


@pytest.mark.parametrize("command", [["predict", "{}", WALK], ["sample", "{}", "-n", "5"], ["trace", "{}"]])
def test_means_of_1e308_exit_65_naming_the_field(tmp_path, run, command):
    doc = golden_doc()
    doc["means"][1][0] = 1e308
    path = write_doc(tmp_path, doc)
    res = run(*[arg.format(path) for arg in command])
    assert (res.code, res.out) == (65, b"")
    assert res.err == f"gmmcli: error: {path}: field 'means[1][0]': must be at most 1e+150, got 1e+308\n"


def test_extra_top_level_key_exit_65_naming_it(tmp_path, run):
    doc = golden_doc()
    doc["comment"] = "hand-edited"
    path = write_doc(tmp_path, doc)
    res = run("trace", path)
    assert (res.code, res.out) == (65, b"")
    assert res.err == f"gmmcli: error: {path}: field 'comment': unknown field (not part of the model format)\n"


SELECTION = {
    "criterion": "bic", "components": [1, 2], "covariance_types": ["diag"], "seeds": 1, "holdout": None, "cv": None,
    "rows": [{"k": k, "covariance_type": "diag", "log_likelihood": -600.0 + k, "n_parameters": 4 * k + k - 1,
              "bic": 1200.0 - k, "aic": 1190.0, "icl": 1201.0, "holdout": None, "converged": True, "n_iter": 3,
              "error": None} for k in (1, 2)],
}


def test_selection_is_optional_and_round_trips_when_present(tmp_path, run):
    assert "selection" not in golden_doc() and read_model(GOLDEN).selection is None
    assert run("trace", GOLDEN).code == 0
    doc = golden_doc()
    doc["selection"] = SELECTION
    model = parse_model(json.dumps(doc).encode(), "m.json")
    assert model.selection == SELECTION
    assert parse_model(dumps_model(model), "again").selection == SELECTION


def deep_set(doc, where, value):
    target = doc
    for key in where[:-1]:
        target = target[key]
    if value is KeyError:
        del target[where[-1]]
    else:
        target[where[-1]] = value
    return doc


NOT_A_LEVEL = "the key is not a quantile level from 0 to 1 such as \"0.01\" or \"1e-05\""


@pytest.mark.parametrize("where,value,message", [
    (["log_likelihood_quantiles", "most"], -3.0, "field 'log_likelihood_quantiles.most': " + NOT_A_LEVEL),
    (["log_likelihood_quantiles", "1.5"], -3.0, "field 'log_likelihood_quantiles.1.5': " + NOT_A_LEVEL),
    (["log_likelihood_quantiles", "0.5"], 1e301,
     "field 'log_likelihood_quantiles.0.5': must be at most 1e+300, got 1e+301"),
    (["history", "restarts", 0, "seed"], -1, "field 'history.restarts[0].seed': must be at least 0, got -1"),
    (["history", "restarts", 0, "log_likelihood", 1], "x",
     "field 'history.restarts[0].log_likelihood[1]': expected a number, got 'x'"),
    (["history", "restarts", 0, "log_likelihood"], KeyError, "field 'history.restarts[0].log_likelihood': missing"),
    (["history", "restarts"], [], "field 'history.restarts': expected at least 1 item(s), got an empty array"),
    (["settings", "tol"], -0.5, "field 'settings.tol': must be at least 0, got -0.5"),
    (["settings", "colour"], "red", "field 'settings.colour': unknown field (not part of the model format)"),
    (["settings", "init"], "magic",
     "field 'settings.init': 'magic' is not one of kmeans++, kmeans, random, random-from-data, hc, model"),
    (["diagnostics", "dead_components"], 1.0, "field 'diagnostics.dead_components': expected an integer, got 1.0"),
    (["diagnostics", "drift"], {"components": []}, "field 'diagnostics.drift.mean_log_likelihood_old_model': missing"),
    (["log_likelihood", "total_weight"], 0.0, "field 'log_likelihood.total_weight': must be greater than 0, got 0.0"),
    (["n_iter"], -1, "field 'n_iter': must be at least 0, got -1"),
    (["n_samples"], 0, "field 'n_samples': must be at least 1 when log_likelihood.total_weight is not given, got 0"),
    (["scaler"], "none", "field 'scaler': expected an object or null, got 'none'"),
    (["scaler", "offset"], [0.0, 0.0], "field 'scaler.offset': unknown field (not part of the model format)"),
    (["scaler", "mean", 0], 1e306, "field 'scaler.mean[0]': must be at most 1e+305, got 1e+306"),
    (["scaler", "scale", 1], 1e-301,
     "field 'scaler.scale': contains a value below 1e-300 (standardizing would overflow)"),
    (["feature_names"], ["x", "x"], "field 'feature_names': contains duplicates"),
    (["feature_names", 1], 2, "field 'feature_names[1]': expected a string, got 2"),
    (["gmmcli_version"], "", "field 'gmmcli_version': expected at least 1 character(s), got ''"),
    (["covariances", 2, 0], 1e301, "field 'covariances[2][0]': must be at most 1e+300, got 1e+301"),
    (["covariances", 2, 0], 1e-300,
     "field 'covariances[2]': is so nearly singular that scoring overflows (precision above 1e+300)"),
    (["selection"], {"criterion": "bic"}, "field 'selection.rows': missing"),
])
def test_schema_and_range_errors_name_the_nested_field(where, value, message):
    doc = deep_set(golden_doc(), where, value)
    with pytest.raises(ModelError) as exc:
        parse_model(json.dumps(doc).encode(), "m.json")
    assert str(exc.value) == "m.json: " + message


def test_means_far_out_in_units_of_their_covariance_are_refused():
    doc = deep_set(golden_doc(), ["means", 0, 1], 1e150)  # within the schema's range, but m = 1e300 / 0.2
    with pytest.raises(ModelError) as exc:
        parse_model(json.dumps(doc).encode(), "m.json")
    assert str(exc.value) == ("m.json: field 'means[0]': lies so far from 0, in units of its covariance, that scoring "
                              "overflows (squared Mahalanobis distance above 1e+300)")


def test_components_beyond_a_float_in_original_units_are_refused():
    doc = deep_set(golden_doc(), ["means", 0, 1], 1e100)
    deep_set(doc, ["scaler", "scale", 1], 1e250)  # each in range; together 1e350 in original units
    with pytest.raises(ModelError) as exc:
        parse_model(json.dumps(doc).encode(), "m.json")
    assert str(exc.value) == ("m.json: field 'means[0]': in original units (times scaler.scale, plus scaler.mean) "
                              "lies beyond 1e+305, where sampling overflows")


def test_extreme_but_legitimate_models_load():
    standardized = golden_doc()
    standardized["scaler"] = {"mean": [1.7e300, -2e-300], "scale": [2.4e300, 3e-300]}  # data of magnitude 1e±300
    standardized["log_likelihood"]["total_weight"] = 0.5
    standardized["n_samples"] = 0  # the integer part of a total weight below 1
    standardized["log_likelihood_quantiles"] = {"1e-05": -9.0, "0": -10.0, "1": 0.0}
    assert parse_model(json.dumps(standardized).encode(), "m.json").scaler.scale[0] == 2.4e300
    raw_units = golden_doc()  # --no-standardize on data of magnitude 1e100: variances near 1e200
    raw_units["scaler"] = None
    raw_units["means"] = [[-1e100, 1e100], [0.0, 0.0], [1e100, -1e100]]
    raw_units["covariances"] = [[1e200, 1e200], [1e200, 2e200], [3e200, 1e200]]
    assert parse_model(json.dumps(raw_units).encode(), "m.json").params.means[0, 1] == 1e100


def test_integers_are_not_floats():
    doc = deep_set(golden_doc(), ["n_components"], 3.0)
    with pytest.raises(ModelError) as exc:
        parse_model(json.dumps(doc).encode(), "m.json")
    assert str(exc.value) == "m.json: field 'n_components': expected an integer, got 3.0"


def test_the_shipped_schema_is_valid_and_its_validator_is_built_once():
    from jsonschema import Draft202012Validator

    from gmmcli.io import model_file

    schema_path = os.path.join(ROOT, "gmmcli", "io", "model.schema.json")
    Draft202012Validator.check_schema(json.load(open(schema_path)))
    assert model_file._schema_validator() is model_file._schema_validator()
    # the stock validator agrees with gmmcli's bulk path on a good and a bad document
    stock = Draft202012Validator(json.load(open(schema_path)))
    assert not list(stock.iter_errors(golden_doc()))
    bad = deep_set(golden_doc(), ["means", 2, 1], -1e200)
    assert [list(e.absolute_path) for e in stock.iter_errors(bad)] == [["means", 2, 1]]
    assert [list(e.absolute_path) for e in model_file._schema_validator().iter_errors(bad)] == [["means", 2, 1]]


def test_jsonschema_is_imported_only_when_a_model_is_read():
    code = ("import sys; import gmmcli.cli, gmmcli.io.model_file as m; assert 'jsonschema' not in sys.modules; "
            f"m.read_model({GOLDEN!r}); assert 'jsonschema' in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_every_writer_output_passes_the_schema(tmp_path, run):
    """fit (plain, weighted, with missing cells, --init-model, --align-to) and select: all load and round-trip."""
    rows = open(WALK).read().splitlines()
    weighted = tmp_path / "w.csv"
    weighted.write_text("\n".join([rows[0] + ",w"] + [f"{r},{1 + i % 3}" for i, r in enumerate(rows[1:])]) + "\n")
    holes = tmp_path / "holes.csv"
    holes.write_text("\n".join(rows[:5] + [",".join(rows[5].split(",")[:1] + [""])] + rows[6:]) + "\n")
    a = str(tmp_path / "a.json")
    commands = {
        "a.json": ["fit", WALK, "-k", "3", "-o", a],
        "weighted.json": ["fit", str(weighted), "-k", "2", "-w", "w"],
        "holes.json": ["fit", str(holes), "-k", "2", "--missing", "marginalize"],
        "drift.json": ["fit", WALK, "--init-model", a],
        "aligned.json": ["fit", WALK, "-k", "3", "--align-to", a, "--covariance", "diag"],
        "selected.json": ["select", WALK, "-k", "1-2", "--covariance", "diag,spherical", "-j", "1"],
    }
    for name, command in commands.items():
        out = str(tmp_path / name)
        res = run(*(command if "-o" in command else command + ["-o", out]), "-q")
        assert res.code == 0, (name, res.err)
        raw = open(out, "rb").read()
        assert dumps_model(parse_model(raw, name)) == raw, name
    assert "drift" in json.loads(open(tmp_path / "drift.json").read())["diagnostics"]
    assert "alignment" in json.loads(open(tmp_path / "aligned.json").read())["diagnostics"]
    assert "total_weight" in json.loads(open(tmp_path / "weighted.json").read())["log_likelihood"]
    assert "weight_column" in json.loads(open(tmp_path / "weighted.json").read())["settings"]
    assert "missing" in json.loads(open(tmp_path / "holes.json").read())["settings"]
    assert "selection" in json.loads(open(tmp_path / "selected.json").read())


def test_the_schema_lists_the_choices_the_code_has():
    from gmmcli.core.criteria import CRITERIA
    from gmmcli.core.init import INIT_METHODS
    from gmmcli.core.models import MODEL_NAMES

    schema = json.load(open(os.path.join(ROOT, "gmmcli", "io", "model.schema.json")))
    assert tuple(schema["$defs"]["covariance_type"]["enum"]) == MODEL_NAMES
    assert tuple(schema["properties"]["settings"]["properties"]["init"]["enum"]) == INIT_METHODS + ("model",)
    assert tuple(schema["properties"]["selection"]["properties"]["criterion"]["enum"]) == CRITERIA


def test_a_null_scaler_reads_as_the_identity_and_writes_back_as_null():
    doc = golden_doc()
    doc["scaler"] = None
    raw = dumps_model(parse_model(json.dumps(doc).encode(), "m.json"))
    model = parse_model(raw, "m.json")
    assert model.scaler.is_identity and list(model.scaler.scale) == [1.0, 1.0]
    assert json.loads(raw)["scaler"] is None and dumps_model(model) == raw
