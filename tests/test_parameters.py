"""Tests of the shipped parameter sets and ParameterSet."""

from __future__ import annotations

import pickle

import pytest

import bmdsim
from bmdsim import _data
from bmdsim.parameters import parameter_set_from_dict, resolve_parameters

AI_LATE = "aromatase_inhibitor.lumbar_spine.late_excess_pct_per_year"


def test_available_sets_are_the_shipped_files():
    """available_parameter_sets() lists data/parameters/*.json, sorted."""
    files = sorted(p.stem for p in (_data.data_dir() / "parameters").glob("*.json"))
    assert bmdsim.available_parameter_sets() == tuple(files)
    assert {"consensus", "brex"} <= set(files)


@pytest.mark.parametrize("name", bmdsim.available_parameter_sets())
def test_shipped_set_matches_its_file(name):
    """Every value of a loaded set is the 'value' field of its JSON file (lists become tuples)."""
    doc = _data.read_json(f"parameters/{name}.json")
    params = bmdsim.load_parameters(name)
    assert params.name == name
    assert set(params.values) == set(doc["parameters"])
    for key, entry in doc["parameters"].items():
        value = entry["value"]
        expected = tuple(float(v) for v in value) if isinstance(value, list) else value
        assert params[key] == expected, key
        assert params.metadata[key]["role"] == entry["role"]


def test_consensus_rates():
    """Consensus: 1.5 %/yr natural loss and 2.5 %/yr in total on an AI, at every site, with no front-loading."""
    params = bmdsim.load_parameters("consensus")
    for site in bmdsim.SITES:
        assert params[f"natural.{site}.rates_pct_per_year"] == (1.5,)
        assert params[f"natural.{site}.age_edges_years"] == ()
        total = params[f"natural.{site}.rates_pct_per_year"][0]
        total += params[f"aromatase_inhibitor.{site}.late_excess_pct_per_year"]
        assert total == pytest.approx(2.5)
        assert params[f"aromatase_inhibitor.{site}.early_excess_pct_per_year"] == 0.0


def test_default_set_is_the_trial_calibrated_one():
    """load_parameters("consensus") and resolve_parameters(None) give the best-validated calibrated set, trials."""
    assert bmdsim.parameters.DEFAULT_PARAMETER_SET == "trials"
    assert bmdsim.load_parameters().name == "trials"
    assert resolve_parameters(None).name == "trials"
    params = bmdsim.load_parameters("brex")
    assert resolve_parameters(params) is params
    with pytest.raises(TypeError, match=r"params must be a parameter set name or a ParameterSet, got int"):
        resolve_parameters(3)


def test_with_values_copies_and_marks_overrides():
    """with_values returns a modified copy; the original and a fresh load are unchanged."""
    base = bmdsim.load_parameters("consensus")
    before = dict(base.values)
    mod = base.with_values({AI_LATE: 2.0}, **{"natural.total_hip.rates_pct_per_year": [1.0]})
    assert mod[AI_LATE] == 2.0
    assert mod["natural.total_hip.rates_pct_per_year"] == (1.0,)
    assert mod.name == "consensus (modified)"
    assert mod.metadata[AI_LATE]["role"] == "user override"
    assert base[AI_LATE] == 1.0
    assert dict(base.values) == before
    assert base.metadata[AI_LATE]["role"] == "fixed"
    assert dict(bmdsim.load_parameters("consensus").values) == before


def test_values_are_read_only():
    """The values mapping of a set cannot be changed in place."""
    params = bmdsim.load_parameters("consensus")
    with pytest.raises(TypeError):
        params.values[AI_LATE] = 5.0


def test_unknown_key_suggests_close_names():
    """An unknown key raises KeyError naming the key and suggesting close matches."""
    params = bmdsim.load_parameters("consensus")
    with pytest.raises(KeyError, match=r"aromatase_inhibitor.lumbar_spine.late_excess_pct_per_yr.*did you mean"):
        params.with_values({"aromatase_inhibitor.lumbar_spine.late_excess_pct_per_yr": 2.0})
    with pytest.raises(KeyError, match=r"no parameter 'nope'"):
        params["nope"]


@pytest.mark.parametrize(
    ("overrides", "exc", "match"),
    [
        ({AI_LATE: -1.0}, ValueError, r"late_excess_pct_per_year must lie in \[0, 20\] %/yr, got -1"),
        ({AI_LATE: float("nan")}, ValueError, r"late_excess_pct_per_year must lie in.*nan"),
        ({AI_LATE: "1"}, TypeError, r"late_excess_pct_per_year must be a number.*'1'"),
        ({AI_LATE: None}, ValueError, r"late_excess_pct_per_year must be given"),
        ({"natural.femoral_neck.rates_pct_per_year": 1.5}, TypeError, r"rates_pct_per_year must be a list"),
        (
            {"natural.femoral_neck.age_edges_years": [60]},
            ValueError,
            r"one more rate than age edges, got 1 rates and 1 edges",
        ),
        (
            {"natural.femoral_neck.age_edges_years": [70, 60], "natural.femoral_neck.rates_pct_per_year": [1, 1, 1]},
            ValueError,
            r"age edges must increase strictly, got \[70.0, 60.0\]",
        ),
        (
            {"aromatase_inhibitor.femoral_neck.early_excess_pct_per_year": 2.0},
            ValueError,
            r"early_time_constant_years must be given because aromatase_inhibitor.femoral_neck.early_excess",
        ),
    ],
)
def test_bad_values_are_refused(overrides, exc, match):
    """Out-of-range, non-numeric and inconsistent values raise naming the parameter."""
    with pytest.raises(exc, match=match):
        bmdsim.load_parameters("consensus").with_values(overrides)


def test_missing_and_unknown_parameters_are_refused():
    """A document lacking a parameter, or with an extra one, is refused."""
    doc = _data.read_json("parameters/consensus.json")
    del doc["parameters"][AI_LATE]
    with pytest.raises(ValueError, match=rf"lacks parameters: {AI_LATE}"):
        parameter_set_from_dict(doc)
    doc = _data.read_json("parameters/consensus.json")
    doc["parameters"]["bisphosphonate.lumbar_spine.gain"] = {"value": 1.0}
    with pytest.raises(ValueError, match=r"unknown parameters: bisphosphonate.lumbar_spine.gain"):
        parameter_set_from_dict(doc)


def test_read_json_returns_fresh_objects():
    """Changing a document returned by read_json does not change what load_parameters sees."""
    doc = _data.read_json("parameters/consensus.json")
    doc["parameters"][AI_LATE]["value"] = 9.0
    assert bmdsim.load_parameters("consensus")[AI_LATE] == 1.0


def test_unknown_set_name_lists_valid_names():
    """An unknown set name raises naming it and the shipped sets."""
    p = bmdsim.Patient(age=60, t_score={"femoral_neck": -1.0})
    with pytest.raises(ValueError, match=r"unknown params 'bogus'; valid values are: brex, consensus"):
        bmdsim.simulate(p, params="bogus")
    with pytest.raises(ValueError, match=r"unknown params 'Consensus'"):
        bmdsim.load_parameters("Consensus")


def test_table_lists_every_parameter():
    """table() has a header and one row per parameter with value, unit, role and source."""
    params = bmdsim.load_parameters("consensus")
    lines = params.table().splitlines()
    assert lines[0].split() == ["parameter", "value", "unit", "role", "source"]
    assert len(lines) == 1 + len(params.values)
    row = next(line for line in lines if line.startswith(AI_LATE))
    assert row.split()[1:] == ["1", "%/yr", "fixed", "bmdsim_consensus"]


def test_documents_and_sets_of_the_wrong_shape_are_refused():
    """parameter_set_from_dict names its source; ParameterSet and with_values check their own arguments."""
    doc = _data.read_json("parameters/consensus.json")
    del doc["parameters"][AI_LATE]["value"]
    with pytest.raises(ValueError, match=rf"^my file.json: parameters\['{AI_LATE}'\] has no 'value'"):
        parameter_set_from_dict(doc, source="my file.json")
    with pytest.raises(ValueError, match=r"^parameter set document: must be an object, got list"):
        parameter_set_from_dict([])
    base = bmdsim.load_parameters("consensus")
    with pytest.raises(TypeError, match="overrides must be a mapping of parameter key to value, got list"):
        base.with_values([(AI_LATE, 2.0)])
    with pytest.raises(ValueError, match=r"rates_pct_per_year must hold at most 100 numbers, got 101"):
        base.with_values({"natural.femoral_neck.rates_pct_per_year": [1.0] * 101})
    with pytest.raises(TypeError, match="parameter set name must be a string"):
        bmdsim.ParameterSet(name=5, title="t", description="d", validated_range="v", values=dict(base.values))
    with pytest.raises(TypeError, match="parameter set values must be a mapping"):
        bmdsim.ParameterSet(name="x", title="t", description="d", validated_range="v", values=[1.0])


@pytest.mark.parametrize("count", [0, 101, -(10**5000), 10**5000], ids=["zero", "101", "-huge", "huge"])
def test_draw_counts_out_of_range_are_refused(count):
    with pytest.raises(ValueError, match=r"count must be an integer in \[1, 100\]"):
        bmdsim.parameter_draws("consensus", count)


def test_with_values_takes_numpy_scalars_and_refuses_bools():
    import numpy as np

    p = bmdsim.load_parameters("trials")
    q = p.with_values({"natural.lumbar_spine.age_slope_per_year": np.float32(-0.05)})
    assert q.values["natural.lumbar_spine.age_slope_per_year"] == pytest.approx(-0.05)
    with pytest.raises(TypeError, match="natural.lumbar_spine.age_slope_per_year"):
        p.with_values({"natural.lumbar_spine.age_slope_per_year": np.True_})
    with pytest.raises(ValueError, match="natural.lumbar_spine.age_slope_per_year"):
        p.with_values({"natural.lumbar_spine.age_slope_per_year": 10**400})


ZOL_KEYS = [k for k in bmdsim.load_parameters("consensus").values if k.startswith("zoledronic_acid.")]


def test_a_set_without_an_agent_is_valid_until_a_regimen_uses_it():
    """An agent's parameters are all or none: a set without them carries no such agent, and says so when used."""
    consensus = bmdsim.load_parameters("consensus")
    doc = _data.read_json("parameters/consensus.json")
    for key in ZOL_KEYS:
        del doc["parameters"][key]
    params = parameter_set_from_dict(doc)
    assert "zoledronic_acid" not in params.agents and "aromatase_inhibitor" in params.agents
    assert consensus.agents == tuple(bmdsim.AGENTS)
    params.require_agents(["aromatase_inhibitor", "tamoxifen"])
    ai = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    patient = bmdsim.Patient(age=62, t_score={"femoral_neck": -1.5})
    assert bmdsim.simulate(patient, ai, 10, params=params).crossing_time("femoral_neck", -2.0) == (
        bmdsim.simulate(patient, ai, 10, params=consensus).crossing_time("femoral_neck", -2.0)
    )
    zol = bmdsim.Regimen([bmdsim.Exposure("zoledronic_acid", 0, 3)])
    match = (
        r"agent 'zoledronic_acid' needs parameters that parameter set 'consensus' lacks: zoledronic_acid\..*with_values"
    )
    with pytest.raises(ValueError, match=match):
        params.require_agents(["aromatase_inhibitor", "zoledronic_acid"])
    with pytest.raises(ValueError, match=match):
        bmdsim.simulate(patient, zol, 10, params=params)
    with pytest.raises(ValueError, match=match):
        bmdsim.simulate_cohort(100, zol, 10, seed=1, params=params)
    with pytest.raises(ValueError, match="unknown agent 'aspirin'"):
        params.require_agents(["aspirin"])
    back = params.with_values({k: consensus[k] for k in ZOL_KEYS})  # with_values adds a whole agent
    assert back.agents == consensus.agents and dict(back.values) == dict(consensus.values)
    assert back.metadata[ZOL_KEYS[0]]["unit"] == consensus.metadata[ZOL_KEYS[0]]["unit"]


def test_part_of_an_agents_parameters_is_refused():
    """A set holding some but not all of an agent's keys is refused, naming the missing ones."""
    doc = _data.read_json("parameters/consensus.json")
    for key in ZOL_KEYS[1:]:
        del doc["parameters"][key]
    with pytest.raises(ValueError, match=rf"lacks parameters: {ZOL_KEYS[1]}"):
        parameter_set_from_dict(doc)
    doc = _data.read_json("parameters/consensus.json")
    for key in ZOL_KEYS:
        del doc["parameters"][key]
    with pytest.raises(ValueError, match=rf"lacks parameters: {ZOL_KEYS[1]}"):
        parameter_set_from_dict(doc).with_values({ZOL_KEYS[0]: bmdsim.load_parameters("consensus")[ZOL_KEYS[0]]})
    with pytest.raises(KeyError, match=r"no parameter 'zoledronic_acid.lumbar_spine.gain' in set .*did you mean"):
        bmdsim.load_parameters("consensus").with_values({"zoledronic_acid.lumbar_spine.gain": 1.0})


def test_parameter_sets_pickle_unchanged():
    """A set pickles (for worker processes) and comes back equal and read-only."""
    params = bmdsim.load_parameters("trials").with_values({AI_LATE: 2.0})
    back = pickle.loads(pickle.dumps(params))
    assert back == params and dict(back.values) == dict(params.values) and back.metadata == params.metadata
    with pytest.raises(TypeError):
        back.values[AI_LATE] = 3.0
