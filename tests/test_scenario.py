"""Tests of bmdsim.scenario: TOML scenario files that map one-to-one onto the API."""

from __future__ import annotations

import dataclasses
import textwrap
import warnings

import numpy as np
import pytest

import bmdsim
from bmdsim.scenario import (
    MAX_EXPOSURES,
    MAX_THRESHOLDS,
    ScenarioError,
    builtin_scenarios,
    load_builtin_scenario,
    load_scenario,
    synthetic_patients,
)

BASIC = """
name = "AI then stop"
[patient]
age = 63
t_score = { lumbar_spine = -1.2, femoral_neck = -1.5 }
[[exposure]]
agent = "aromatase_inhibitor"
start = 0
stop = 5
[simulation]
years = 15
step = 0.25
params = "brex"
[output]
thresholds = [-2.0, -2.5]
formats = ["svg", "png"]
figures = ["crossings"]
"""


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_scenario_maps_onto_the_api(tmp_path):
    s = load_scenario(write(tmp_path, BASIC))
    assert s.name == "AI then stop"
    assert s.regimen == bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    assert (s.years, s.step, s.params, s.reference) == (15.0, 0.25, "brex", "default")
    assert s.thresholds == (-2.0, -2.5) and s.formats == ("svg", "png") and s.figures == ("crossings",)
    traj = s.run()
    direct = bmdsim.simulate(
        bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5}),
        bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)]),
        years=15,
        step=0.25,
        params="brex",
    )
    assert np.array_equal(traj.time, direct.time)
    assert traj.crossing_time("femoral_neck", -2.5) == direct.crossing_time("femoral_neck", -2.5)


def test_defaults_arrays_and_open_ended_course(tmp_path):
    s = load_scenario(
        write(
            tmp_path,
            """
            [patient]
            age = [55, 70]
            bmd = { total_hip = 0.8 }
            [[exposure]]
            agent = "tamoxifen"
            """,
            name="group.toml",
        )
    )
    assert s.name == "group" and s.patient.n == 2 and s.years == 10.0 and s.params == "trials"
    assert s.regimen.exposures[0].stop == np.inf and s.regimen.exposures[0].start == 0.0
    assert s.thresholds == bmdsim.DEFAULT_THRESHOLDS and s.formats == ("png",)
    assert s.run().crossing_time("total_hip", -2.5).shape == (2,)


def test_cohort_is_seeded_and_marked_illustrative(tmp_path):
    text = """
        [cohort]
        n = 50
        seed = 3
        age = { mean = 63, sd = 7, min = 50, max = 80 }
        t_score = { femoral_neck = { mean = -1.3, sd = 0.7 } }
        """
    a, b = load_scenario(write(tmp_path, text, "a.toml")), load_scenario(write(tmp_path, text, "b.toml"))
    assert a.illustrative and a.patient.n == 50
    assert np.array_equal(a.patient.t_score["femoral_neck"], b.patient.t_score["femoral_neck"])
    assert a.patient.age.min() >= 50 and a.patient.age.max() <= 80
    direct = synthetic_patients(
        50, 3, {"mean": 63, "sd": 7, "min": 50, "max": 80}, {"femoral_neck": {"mean": -1.3, "sd": 0.7}}
    )
    assert np.array_equal(direct.age, a.patient.age)
    assert a.figures == ("fraction_crossed", "regimen")


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        ("colour = 1\n[patient]\nage = 60\nt_score = {femoral_neck = -1}", "colour", "allowed keys are: name"),
        ("[patient]\nage = 60\nt_score = {hip = -1}", "patient.t_score.hip", "lumbar_spine, femoral_neck, total_hip"),
        ("[patient]\nage = 60\nweight = 70\nt_score = {femoral_neck = -1}", "patient.weight", "age, t_score, bmd"),
        ("[patient]\nt_score = {femoral_neck = -1}", "patient.age", "required"),
        ("[patient]\nage = 'old'\nt_score = {femoral_neck = -1}", "patient.age", "must be a number [years]"),
        ("[patient]\nage = 10\nt_score = {femoral_neck = -1}", "patient", "age must lie in [18, 100]"),
        (
            "[patient]\nage = 60\nt_score = {femoral_neck = -1}\n[[exposure]]\nagent = 'romosozumab'",
            "exposure[0].agent",
            "allowed values are: aromatase_inhibitor, tamoxifen, zoledronic_acid",
        ),
        (
            "[patient]\nage = 60\nt_score = {femoral_neck = -1}\n[[exposure]]\nagent = 'tamoxifen'\nstop = -1",
            "exposure[0]",
            "must come after its start",
        ),
        (
            "[patient]\nage = 60\nt_score = {femoral_neck = -1}\n[simulation]\nparams = 'mine'",
            "simulation.params",
            "allowed values are: brex, consensus",
        ),
        (
            "[patient]\nage = 60\nt_score = {femoral_neck = -1}\n[simulation]\nyears = 100",
            "simulation.years",
            "(0, 60]",
        ),
        (
            "[patient]\nage = 60\nt_score = {femoral_neck = -1}\n[output]\nformats = ['jpg']",
            "output.formats[0]",
            "png, svg, pdf",
        ),
        (
            "[patient]\nage = 60\nt_score = {femoral_neck = -1}\n[output]\nfigures = ['pie']",
            "output.figures[0]",
            "trajectory, crossings, regimen, fraction_crossed",
        ),
        ("[simulation]\nyears = 5", "patient", "exactly one of [patient]"),
        ("[cohort]\nn = 5", "cohort.seed", "is required"),
    ],
)
def test_errors_name_file_key_and_what_is_allowed(tmp_path, text, key, allowed):
    path = write(tmp_path, text, "bad.toml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert allowed in message
    assert "\n" not in message


def test_unreadable_and_invalid_toml_name_the_file(tmp_path):
    with pytest.raises(ScenarioError, match="missing.toml: cannot read"):
        load_scenario(tmp_path / "missing.toml")
    path = write(tmp_path, "[patient\nage = 1", "broken.toml")
    with pytest.raises(ScenarioError, match=r"broken\.toml: not valid TOML"):
        load_scenario(path)


def test_builtin_scenarios_load_and_run():
    names = builtin_scenarios()
    assert {"ai_withdrawal", "natural_loss", "tamoxifen", "brex_withdrawal", "illustrative_group"} <= set(names)
    for name in names:
        s = load_builtin_scenario(name)
        assert s.description
        s.run()
    with pytest.raises(ValueError, match="valid values are"):
        load_builtin_scenario("nope")


def test_documented_scenario_example_is_valid_and_gallery_is_complete():
    """The scenario file quoted in the README (or, since the docs split, in docs/scenarios.md) runs as the example."""
    import re
    from pathlib import Path

    from bmdsim.scenario import scenario_from_dict, tomllib

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    pages = [readme, *[p.read_text(encoding="utf-8") for p in [root / "docs" / "scenarios.md"] if p.is_file()]]
    blocks = [b for page in pages for b in re.findall(r"```toml\n(.*?)```", page, flags=re.S)]
    quoted = [b for b in blocks if 'name = "AI for 5 years, then withdrawal"' in b]
    assert quoted, "the README or docs/scenarios.md quotes the ai_withdrawal example"
    s = scenario_from_dict(tomllib.loads(quoted[0]), source="README.md")
    assert s.figures == ("trajectory", "crossings", "regimen") and s.formats == ("png", "pdf")
    assert s.run().crossing_time("femoral_neck", -2.5) == load_scenario(
        root / "scenarios" / "ai_withdrawal.toml"
    ).run().crossing_time("femoral_neck", -2.5)


def test_gallery_is_complete():
    from pathlib import Path

    from bmdsim.figures import EDUCATOR_FIGURES

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name in EDUCATOR_FIGURES:
        assert (root / "docs" / "gallery" / f"{name}.png").is_file(), name
        assert f"docs/gallery/{name}.png" in readme, name


# --- hostile input: every refusal is one line naming the file and the key, before any work ----------------------

PATIENT = "[patient]\nage = 60\nt_score = { femoral_neck = -1.0 }\n"
COHORT = (
    "[cohort]\nn = 5\nseed = 1\nage = { mean = 60, sd = 5, min = 50, max = 70 }\n"
    "t_score = { femoral_neck = { mean = -1, sd = 0.5 } }\n"
)


def refused(tmp_path, text, key, *needles, name="bad.toml"):
    path = write(tmp_path, text, name)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}" if key else f"{path}: "), message
    for needle in needles:
        assert needle in message, message
    assert "\n" not in message and len(message) < 1000, message
    return message


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASIC.encode("utf-8"))
    assert load_scenario(path).name == "AI then stop"


def test_file_must_be_a_small_regular_utf8_file(tmp_path):
    from bmdsim.scenario import MAX_FILE_BYTES

    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ScenarioError, match=r"dir\.toml: cannot read the scenario file: it is a directory"):
        load_scenario(tmp_path / "dir.toml")
    refused(tmp_path, PATIENT + "#" + "x" * MAX_FILE_BYTES, "", f"at most {MAX_FILE_BYTES} are allowed")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'name = "caf\xe9"\n' + PATIENT.encode())
    with pytest.raises(ScenarioError, match=r"latin1\.toml: the scenario file is not UTF-8 text"):
        load_scenario(latin1)


@pytest.mark.parametrize(
    "value", ["[" * 10_000 + "]" * 10_000, "{ a = " * 3_000 + "1" + " }" * 3_000], ids=["arrays", "tables"]
)
def test_deep_nesting_is_an_error_not_a_recursion_error(tmp_path, value):
    refused(tmp_path, f"x = {value}\n" + PATIENT, "", "nested too deeply")


def test_patient_arrays_have_the_cohort_cap(tmp_path):
    from bmdsim.scenario import MAX_PATIENTS

    many = ", ".join(["60"] * MAX_PATIENTS)
    s = load_scenario(write(tmp_path, f"[patient]\nage = [{many}]\nt_score = {{ femoral_neck = -1 }}\n", "ok.toml"))
    assert s.patient.n == MAX_PATIENTS
    text = f"[patient]\nage = 60\nt_score = {{ femoral_neck = [{many}, -1] }}\n"
    refused(tmp_path, text, "patient.t_score.femoral_neck", f"has {MAX_PATIENTS + 1} entries", f"{MAX_PATIENTS}")
    refused(tmp_path, COHORT.replace("n = 5\n", f"n = {MAX_PATIENTS + 1}\n"), "cohort.n", f"[1, {MAX_PATIENTS}]")


@pytest.mark.parametrize("step", ["5e-324", "1e-6", "0.002"])
def test_step_is_at_least_one_day(tmp_path, step):
    refused(tmp_path, PATIENT + f"[simulation]\nstep = {step}\n", "simulation.step", "at least one day")


def test_one_day_step_is_accepted_and_the_grid_of_a_group_is_bounded(tmp_path):
    from bmdsim.scenario import MIN_STEP_YEARS

    s = load_scenario(write(tmp_path, PATIENT + f"[simulation]\nyears = 2\nstep = {MIN_STEP_YEARS!r}\n", "day.toml"))
    assert s.run().time.size == 732
    cohort = COHORT.replace("n = 5\n", "n = 100000\n") + "[simulation]\nyears = 60\nstep = 0.01\n"
    refused(tmp_path, cohort, "simulation.step", "6002 times", "100000 patients", "GiB", "larger step")


@pytest.mark.parametrize(
    ("text", "key", "needles"),
    [
        (
            PATIENT + "[output]\nthresholds = [" + ", ".join(str(-t / 10) for t in range(MAX_THRESHOLDS + 1)) + "]",
            "output.thresholds",
            (f"at most {MAX_THRESHOLDS}",),
        ),
        (PATIENT + "[output]\nthresholds = [-2, -2.0]", "output.thresholds", ("-2 twice",)),
        (
            PATIENT
            + "".join(
                f"[[exposure]]\nagent = 'tamoxifen'\nstart = {i}\nstop = {i + 0.5}\n" for i in range(MAX_EXPOSURES + 1)
            ),
            "exposure",
            (f"{MAX_EXPOSURES + 1} courses", f"at most {MAX_EXPOSURES}"),
        ),
        (PATIENT.replace("age = 60", "age = " + "9" * 400), "patient.age", ("got 99999", "...")),
        (PATIENT.replace("age = 60", "age = " + "9" * 5000), "", ("too long",)),
        (PATIENT + "[cohort]\n", "patient", ("exactly one",)),
        (COHORT.replace("seed = 1", "seed = " + "9" * 30), "cohort.seed", ("2**63 - 1",)),
        ('name = "' + "x" * 20_000 + '"\n' + PATIENT, "name", ("at most 10000 characters",)),
        (PATIENT + "[simulation]\nyears = [" + ", ".join(["1"] * 50_000) + "]", "simulation.years", ("...",)),
        (PATIENT + "[simulation]\nparams = '" + "p" * 50_000 + "'", "simulation.params", ("...",)),
        ("k" * 5_000 + " = 1\n" + PATIENT, "'kkk", ("unknown key", "...")),
    ],
    ids=[
        "many-thresholds",
        "repeated-threshold",
        "many-exposures",
        "huge-integer",
        "integer-too-long",
        "patient-and-cohort",
        "huge-seed",
        "long-name",
        "array-for-number",
        "long-string",
        "long-key",
    ],
)
def test_hostile_values_are_one_short_line(tmp_path, text, key, needles):
    refused(tmp_path, text, key, *needles)


# --- the whole API: durations, event starts, populations, variability, policies ----------------------------------

AI = "[[exposure]]\nagent = 'aromatase_inhibitor'\nstart = 0\nstop = 5\n"
POPULATION = "[population]\nn = 300\nseed = 4\npreset = 'default'\n"
EVENT_ZA = (
    "[[exposure]]\nagent = 'zoledronic_acid'\n"
    "start = { at_threshold = { site = 'femoral_neck', threshold = -2.0, scan_interval = 1.0, delay = 0.25 } }\n"
    "duration = 3\n"
)


def run_cli_tables(tmp_path, name, table):
    """Run ``bmdsim run <name> --no-figures`` in-process; return the header and rows of ``<stem>_<table>.csv``."""
    import csv

    from bmdsim.__main__ import main

    out = tmp_path / "out"
    assert main(["run", str(tmp_path / name), "--out", str(out), "--no-figures"]) == 0
    with open(out / f"{name.removesuffix('.toml')}_{table}.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_duration_maps_onto_exposure(tmp_path):
    s = load_scenario(write(tmp_path, PATIENT + "[[exposure]]\nagent = 'denosumab'\nstart = 1\nduration = 2\n"))
    assert s.regimen == bmdsim.Regimen([bmdsim.Exposure("denosumab", start=1, duration=2)])
    assert s.regimen.exposures[0].stop == 3.0


def test_event_start_maps_onto_at_threshold(tmp_path):
    s = load_scenario(write(tmp_path, PATIENT + AI + EVENT_ZA + "[simulation]\nyears = 12\n"))
    event = bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=1.0, delay=0.25)
    regimen = bmdsim.Regimen(
        [bmdsim.Exposure("aromatase_inhibitor", 0, 5), bmdsim.Exposure("zoledronic_acid", start=event, duration=3)]
    )
    assert s.regimen == regimen
    direct = bmdsim.simulate(bmdsim.Patient(age=60, t_score={"femoral_neck": -1.0}), regimen, years=12)
    assert s.run().crossing_time("femoral_neck", -2.5) == direct.crossing_time("femoral_neck", -2.5)
    bare = load_scenario(write(tmp_path, PATIENT + EVENT_ZA.replace(", scan_interval = 1.0, delay = 0.25", "")))
    assert bare.regimen.exposures[0].start == bmdsim.AtThreshold("femoral_neck", -2.0)
    assert bare.regimen.exposures[0].duration == 3.0


def test_default_population_runs_simulate_cohort(tmp_path):
    from bmdsim.cohort import default_population

    s = load_scenario(write(tmp_path, POPULATION + AI + "[simulation]\nyears = 8\n"))
    assert s.patient is None and (s.n, s.seed) == (300, 4) and s.population == default_population()
    assert s.variability is None and s.sites == default_population().sites
    assert s.times == (0, 1, 2, 3, 4, 5, 6, 7, 8) and s.percentiles == (10, 25, 50, 75, 90)
    assert s.figures == ("fraction_crossed", "regimen")
    result = s.run()
    direct = bmdsim.simulate_cohort(300, s.regimen, 8, seed=4)
    assert isinstance(result, bmdsim.CohortResult)
    assert np.array_equal(result.crossing_time("femoral_neck", -2.0), direct.crossing_time("femoral_neck", -2.0))


def test_own_population_and_variability(tmp_path):
    text = """
        [population]
        n = 200
        seed = 9
        name = "clinic"
        age = { mean = 60, sd = 8, low = 45, high = 85 }
        t_score.lumbar_spine = { mean = -1, sd = 1, low = -5, high = 3 }
        t_score.total_hip = { mean = -0.5, sd = 0.8, low = -5, high = 3 }
        correlation = [{ sites = ["lumbar_spine", "total_hip"], value = 0.6 }]
        age_correlation = { total_hip = -0.2 }
        [variability]
        cv = { lumbar_spine = 0.8, total_hip = 0.5 }
        correlation = 0.5
        [simulation]
        years = 6
        [output]
        times = [0, 2.5, 6]
        percentiles = [5, 50, 95]
        thresholds = [-2.0]
        """
    s = load_scenario(write(tmp_path, text + AI))
    population = bmdsim.Population(
        age=bmdsim.TruncatedNormal(60, 8, 45, 85),
        t_score={
            "lumbar_spine": bmdsim.TruncatedNormal(-1, 1, -5, 3),
            "total_hip": bmdsim.TruncatedNormal(-0.5, 0.8, -5, 3),
        },
        correlation={("lumbar_spine", "total_hip"): 0.6},
        name="clinic",
        age_correlation={"total_hip": -0.2},
    )
    variability = bmdsim.Variability(cv={"lumbar_spine": 0.8, "total_hip": 0.5}, correlation=0.5)
    assert s.population == population and s.variability == variability
    assert s.times == (0.0, 2.5, 6.0) and s.percentiles == (5.0, 50.0, 95.0)
    direct = bmdsim.simulate_cohort(200, s.regimen, 6, seed=9, population=population, variability=variability)
    assert s.run().crossing_percentiles("total_hip", -2.0) == direct.crossing_percentiles("total_hip", -2.0)
    # end to end through the command line: the tables hold the same numbers
    header, rows = run_cli_tables(tmp_path, "s.toml", "t_score_percentiles")
    assert header == ["site", "time_years", "percentile", "t_score_sd"] and len(rows) == 2 * 3 * 3
    for site in ("lumbar_spine", "total_hip"):
        want = direct.t_score_percentiles(site, [0, 2.5, 6], [5, 50, 95])["t_score"]  # (q, times)
        got = [float(r[3]) for r in rows if r[0] == site]  # by time, then percentile
        assert np.allclose(got, want.T.ravel(), rtol=1e-9, atol=0)
    no_spread = load_scenario(write(tmp_path, POPULATION + "[variability]\ncv = 0\n", "flat.toml"))
    assert no_spread.variability == bmdsim.Variability()


def test_population_run_options_map_onto_simulate_cohort(tmp_path):
    """[simulation] parameter_draws, chunk_size and workers are simulate_cohort keywords; the CLI shows the draws."""
    text = POPULATION + AI + "[simulation]\nyears = 6\nparameter_draws = 4\nchunk_size = 70\nworkers = 1\n"
    s = load_scenario(write(tmp_path, text))
    assert s.cohort_options == {"parameter_draws": 4, "chunk_size": 70, "workers": 1}
    result = s.run()
    assert [d.name for d in result.parameter_draws] == [f"trials draw {k}" for k in range(4)]
    direct = bmdsim.simulate_cohort(300, s.regimen, 6, seed=4, parameter_draws=4)  # the default chunk and workers
    times = [0.0, 3.0, 6.0]
    got, want = result.fraction_below("femoral_neck", -2.0, times), direct.fraction_below("femoral_neck", -2.0, times)
    for column in ("fraction", "param_low", "param_high"):
        assert np.array_equal(got[column], want[column]), column
    assert load_scenario(write(tmp_path, POPULATION + AI, "plain.toml")).cohort_options == {}
    header, rows = run_cli_tables(tmp_path, "s.toml", "fraction_below")
    assert header[-2:] == ["fraction_param_low95", "fraction_param_high95"]
    neck = [r for r in rows if r[0] == "femoral_neck" and float(r[1]) == -2.5]
    band = result.fraction_below("femoral_neck", -2.5, [float(r[2]) for r in neck])
    assert [float(r[-2]) for r in neck] == pytest.approx(band["param_low"], rel=1e-9)
    assert [float(r[-1]) for r in neck] == pytest.approx(band["param_high"], rel=1e-9)
    header, _ = run_cli_tables(tmp_path, "plain.toml", "fraction_below")
    assert header[-1] == "fraction_high95"


@pytest.mark.parametrize(
    ("line", "key", "needles"),
    [
        ("parameter_draws = 101", "simulation.parameter_draws", ("in [0, 100], got 101", "ships 100")),
        ("parameter_draws = -1", "simulation.parameter_draws", ("in [0, 100], got -1",)),
        ("parameter_draws = true", "simulation.parameter_draws", ("whole number", "got True")),
        ("parameter_draws = 2.0", "simulation.parameter_draws", ("whole number", "got 2.0")),
        ("parameter_draws = '5'", "simulation.parameter_draws", ("whole number", "got '5'")),
        ("chunk_size = 0", "simulation.chunk_size", ("in [1, 1000000], got 0", "do not depend on it")),
        ("chunk_size = 1e5", "simulation.chunk_size", ("whole number", "got 100000.0")),
        ("chunk_size = " + "9" * 5000, "", ("too long",)),
        ("chunk_size = " + "9" * 100, "simulation.chunk_size", ("in [1, 1000000]", "...")),
        ("workers = 0", "simulation.workers", ("whole number of threads in [1, 64], got 0",)),
        ("workers = 65", "simulation.workers", ("in [1, 64], got 65",)),
        ("workers = [1, 2]", "simulation.workers", ("got [1, 2]",)),
        ("threads = 2", "simulation.threads", ("unknown key", "parameter_draws, chunk_size, workers")),
    ],
)
def test_population_run_options_are_bounded_one_line_errors(tmp_path, line, key, needles):
    refused(tmp_path, POPULATION + AI + "[simulation]\n" + line + "\n", key, *needles)


def test_run_options_need_a_population_and_a_large_population_bounds_the_chunk(tmp_path):
    for head in (PATIENT, COHORT):
        refused(
            tmp_path, head + AI + "[simulation]\nparameter_draws = 2\n", "simulation.parameter_draws", "[population]"
        )
    big = POPULATION.replace("n = 300", "n = 1000000") + AI + "[simulation]\nchunk_size = 9\n"
    refused(tmp_path, big, "simulation.chunk_size", "in [10, 1000000], got 9", "at most 100000 chunks")
    assert load_scenario(write(tmp_path, big.replace("= 9", "= 10"))).cohort_options == {"chunk_size": 10}


def test_policies_map_onto_compare_policies(tmp_path):
    text = (
        POPULATION
        + AI
        + """
        [[policy]]
        name = "yearly"
        [[policy]]
        name = "every two years, spine"
        scan_interval = 2
        agent = "denosumab"
        duration = 3
        site = "lumbar_spine"
        [[policy]]
        name = "all"
        rule = "treat_all"
        scan_interval = "none"
        [compare_policies]
        site = "total_hip"
        threshold = -2.0
        measurement_error = { femoral_neck = 0.02, lumbar_spine = 0.01, total_hip = 0.015 }
        grid_step = 0.1
        risk_factors = { smoking = true }
        [simulation]
        years = 6
        """
    )
    s = load_scenario(write(tmp_path, text))
    policies = (
        bmdsim.Policy("yearly"),
        bmdsim.Policy(
            "every two years, spine", scan_interval=2.0, agent="denosumab", duration=3.0, site="lumbar_spine"
        ),
        bmdsim.Policy("all", rule="treat_all", scan_interval=None),
    )
    assert s.policies == policies
    error = {"femoral_neck": 0.02, "lumbar_spine": 0.01, "total_hip": 0.015}
    assert s.policy_options == {
        "site": "total_hip",
        "threshold": -2.0,
        "measurement_error": error,
        "grid_step": 0.1,
        "risk_factors": {"smoking": True},
    }
    from bmdsim.cohort import default_population

    direct = bmdsim.compare_policies(
        list(policies),
        default_population(),
        s.regimen,
        6,
        {"smoking": True},
        n=300,
        seed=4,
        site="total_hip",
        threshold=-2.0,
        measurement_error=error,
        grid_step=0.1,
    )
    table = s.compare_policies()
    assert table.keys() == direct.keys()
    header, rows = run_cli_tables(tmp_path, "s.toml", "policies")
    assert [r[0] for r in rows] == [p.name for p in policies] and header[2] == "scan_interval_years"
    assert [float(r[header.index("fraction_treated")]) for r in rows] == direct["fraction_treated"]
    got = [float(r[header.index("delay_mean_years")]) for r in rows]
    assert np.allclose(got, direct["delay_mean"], rtol=1e-9, atol=0, equal_nan=True)
    for key, column in direct.items():
        assert np.array_equal(np.asarray(table[key], dtype=object), np.asarray(column, dtype=object)) or np.allclose(
            np.asarray(table[key], dtype=float), np.asarray(column, dtype=float), equal_nan=True, rtol=0, atol=0
        ), key


def test_policies_for_given_patients_take_a_seed_and_risk_factor_arrays(tmp_path):
    text = """
        [patient]
        age = [55, 70, 62]
        t_score = { femoral_neck = [-1.6, -1.9, -1.2] }
        [[exposure]]
        agent = "aromatase_inhibitor"
        stop = 5
        [[policy]]
        name = "yearly"
        [compare_policies]
        seed = 11
        measurement_error = "none"
        risk_factors = { family_history_hip_fracture = [true, false, false] }
        """
    s = load_scenario(write(tmp_path, text))
    assert s.policy_options["seed"] == 11 and s.policy_options["measurement_error"] is None
    assert s.policy_options["risk_factors"]["family_history_hip_fracture"].tolist() == [True, False, False]
    direct = bmdsim.compare_policies(
        [bmdsim.Policy("yearly")],
        s.patient,
        s.regimen,
        10,
        {"family_history_hip_fracture": np.array([True, False, False])},
        seed=11,
        measurement_error=None,
    )
    assert s.compare_policies()["fraction_treated"] == direct["fraction_treated"]
    cohort = COHORT + "[[exposure]]\nagent = 'aromatase_inhibitor'\nstop = 5\n[[policy]]\nname = 'yearly'\n"
    assert load_scenario(write(tmp_path, cohort, "group.toml")).policy_options == {"seed": 1}


def test_a_policy_names_a_registered_guideline_rule(tmp_path):
    """rule = "hadji_2025" applies the 2025 update, as Policy(rule="hadji_2025") does, with its own risk factors."""
    text = """
        [patient]
        age = [55, 70, 62, 58]
        t_score = { femoral_neck = [-1.6, -1.9, -1.2, -1.7] }
        [[exposure]]
        agent = "aromatase_inhibitor"
        stop = 5
        [[policy]]
        name = "2017"
        rule = "hadji_2017"
        [[policy]]
        name = "2025, every two years"
        rule = "hadji_2025"
        scan_interval = 2
        [compare_policies]
        seed = 3
        risk_factors = { previous_vertebral_fracture = [true, false, false, true] }
        """
    s = load_scenario(write(tmp_path, text))
    policies = [bmdsim.Policy("2017", rule="hadji_2017"), bmdsim.Policy("2025, every two years", "hadji_2025", 2.0)]
    assert list(s.policies) == policies
    risk = {"previous_vertebral_fracture": np.array([True, False, False, True])}
    direct = bmdsim.compare_policies(policies, s.patient, s.regimen, 10, risk, seed=3)
    table = s.compare_policies()
    assert table["rule"] == ["hadji_2017", "hadji_2025"]
    for column in ("fraction_treated", "fraction_treated_at_baseline", "delay_mean", "scans_total"):
        assert table[column] == direct[column], column
    # the 2025 risk factor (not in the 2017 list) lowers the 2025 threshold to -1.5: the women at -1.6 and
    # -1.7 are treated from the baseline scan; without it only the 70-year-old (age is a risk factor) is
    assert table["fraction_treated_at_baseline"][1] == 0.75
    without = bmdsim.compare_policies(policies[1:], s.patient, s.regimen, 10, None, seed=3)
    assert without["fraction_treated_at_baseline"] == [0.25]
    # a guideline rule acts on scans with DXA errors, so it needs a seed, as "threshold" does
    unseeded = text.replace("seed = 3\n", "").replace('rule = "hadji_2017"', 'rule = "none"')
    refused(tmp_path, unseeded, "compare_policies.seed", 'scans of a "hadji_2025" policy', "is required")


def test_a_guideline_registered_later_is_a_rule_scenarios_may_name(tmp_path):
    """The allowed rules are read from the guideline registry when the file is read."""
    from bmdsim.policy import hadji_2025, register_guideline, unregister_guideline

    text = PATIENT + AI + "[[policy]]\nname = 'local'\nrule = 'local_2026'\n[compare_policies]\nseed = 1\n"
    allowed = "allowed values are: threshold, treat_all, none, hadji_2017, hadji_2025"
    message = refused(tmp_path, text, "policy[0].rule", "unknown value 'local_2026'", allowed)
    assert message.endswith("hadji_2025"), message
    register_guideline(dataclasses.replace(hadji_2025(), key="local_2026", name="Local 2026"))
    try:
        assert load_scenario(write(tmp_path, text)).policies[0].rule == "local_2026"
    finally:
        unregister_guideline("local_2026")
    refused(tmp_path, text, "policy[0].rule", "unknown value 'local_2026'")


def test_a_scenario_without_policies_cannot_compare_them(tmp_path):
    with pytest.raises(ValueError, match="no \\[\\[policy\\]\\]"):
        load_scenario(write(tmp_path, BASIC)).compare_policies()


@pytest.mark.parametrize(
    ("text", "key", "needles"),
    [
        (
            PATIENT + "[[exposure]]\nagent = 'tamoxifen'\nstop = 5\nduration = 5\n",
            "exposure[0].duration",
            ("not both",),
        ),
        (PATIENT + EVENT_ZA.replace("duration = 3", "stop = 3"), "exposure[0].stop", ("give duration",)),
        (PATIENT + "[[exposure]]\nagent = 'tamoxifen'\nstart = 'soon'\n", "exposure[0].start", ("at_threshold",)),
        (
            PATIENT + "[[exposure]]\nagent = 'tamoxifen'\nstart = { when = 1 }\n",
            "exposure[0].start.when",
            ("at_threshold",),
        ),
        (
            PATIENT + "[[exposure]]\nagent = 'denosumab'\nstart = { at_threshold = { site = 'femoral_neck' } }\n",
            "exposure[0].start.at_threshold.threshold",
            ("is required",),
        ),
        (
            PATIENT
            + "[[exposure]]\nagent = 'denosumab'\nstart = { at_threshold = { site = 'hip', threshold = -2 } }\n",
            "exposure[0].start.at_threshold.site",
            ("lumbar_spine, femoral_neck, total_hip",),
        ),
        (
            PATIENT
            + "[[exposure]]\nagent = 'denosumab'\nstart = { at_threshold = { site = 'total_hip', threshold = -2 } }\n",
            "",
            ("total_hip",),
        ),
        ("[population]\nn = 10\npreset = 'default'\n", "population.seed", ("is required",)),
        ("[population]\nn = 0\nseed = 1\npreset = 'default'\n", "population.n", ("[1, 1000000]",)),
        ("[population]\nn = 10\nseed = 1\npreset = 'mine'\n", "population.preset", ("allowed values are: default",)),
        ("[population]\nn = 10\nseed = 1\n", "population.age", ('preset = "default"',)),
        (
            "[population]\nn = 10\nseed = 1\npreset = 'default'\nage_correlation = 0.1\n",
            "population.age_correlation",
            ("cannot be combined with preset",),
        ),
        (
            "[population]\nn = 10\nseed = 1\nage = { mean = 60, sd = 5, low = 50 }\n"
            "t_score = { femoral_neck = { mean = 0, sd = 1, low = -3, high = 3 } }\n",
            "population.age.high",
            ("is required",),
        ),
        (
            "[population]\nn = 10\nseed = 1\nage = { mean = 60, sd = 5, low = 50, high = 70 }\n"
            "t_score = { femoral_neck = { mean = 0, sd = 1, low = 3, high = -3 } }\n",
            "population",
            ("low must be below",),
        ),
        (
            "[population]\nn = 10\nseed = 1\nage = { mean = 60, sd = 5, low = 50, high = 70 }\n"
            "t_score = { femoral_neck = { mean = 0, sd = 1, low = -3, high = 3 } }\n"
            "correlation = [{ sites = ['femoral_neck'], value = 0.5 }]\n",
            "population.correlation[0].sites",
            ("two site names",),
        ),
        (POPULATION + "[variability]\ncv = 99\n", "variability", ("plausible range",)),
        (POPULATION + "[variability]\nspread = 1\n", "variability.spread", ("cv, correlation",)),
        (POPULATION + "[simulation]\nstep = 0.5\n", "simulation.step", ("[output] times",)),
        (POPULATION + "[output]\nfigures = ['trajectory']\n", "output.figures[0]", ("fraction_crossed, regimen",)),
        (POPULATION + "[output]\ntimes = [0, 1, 1]\n", "output.times", ("twice",)),
        (POPULATION + "[output]\npercentiles = [50, 101]\n", "output.percentiles[1]", ("[0, 100]",)),
        (PATIENT + "[output]\npercentiles = [50]\n", "output.percentiles", ("[population]",)),
        (PATIENT + "[variability]\ncv = 1\n", "variability", ("needs [population]",)),
        (PATIENT + AI + "[[policy]]\nrule = 'none'\n", "policy[0].name", ("is required",)),
        (PATIENT + AI + "[[policy]]\nname = 'a'\n[[policy]]\nname = 'a'\n", "policy[1].name", ("earlier policy",)),
        (PATIENT + AI + "[[policy]]\nname = 'a'\nrule = 'always'\n", "policy[0].rule", ("threshold, treat_all, none",)),
        (PATIENT + AI + "[[policy]]\nname = 'a'\nscan_interval = 'never'\n", "policy[0].scan_interval", ('"none"',)),
        (
            PATIENT + AI + "[[policy]]\nname = 'a'\nscan_interval = 'none'\n[compare_policies]\nseed = 1\n",
            "policy[0]",
            ("scan_interval must be a positive number",),
        ),
        (PATIENT + AI + "[[policy]]\nname = 'a'\nagent = 'tamoxifen'\n", "policy[0].agent", ("zoledronic_acid",)),
        (
            PATIENT + AI.replace("aromatase_inhibitor", "zoledronic_acid") + "[[policy]]\nname = 'a'\n",
            "policy[0].agent",
            ("already an [[exposure]]",),
        ),
        (PATIENT + AI + "[[policy]]\nname = 'a'\n", "compare_policies.seed", ("is required",)),
        (
            PATIENT + AI + EVENT_ZA.replace("zoledronic_acid", "denosumab") + "[[policy]]\nname = 'a'\n",
            "exposure[1].start",
            ("fixed-time courses",),
        ),
        (PATIENT + AI + "[compare_policies]\nseed = 1\n", "compare_policies", ("at least one [[policy]]",)),
        (
            POPULATION + AI + "[[policy]]\nname = 'a'\n[compare_policies]\nseed = 1\n",
            "compare_policies.seed",
            ("population.seed",),
        ),
        (
            PATIENT
            + AI
            + "[[policy]]\nname = 'a'\n[compare_policies]\nseed = 1\nrisk_factors = { age_over_65 = true }\n",
            "compare_policies.risk_factors.age_over_65",
            ("unknown key", "smoking"),
        ),
        (
            PATIENT + AI + "[[policy]]\nname = 'a'\n[compare_policies]\nseed = 1\nrisk_factors = { smoking = 1 }\n",
            "compare_policies.risk_factors.smoking",
            ("true or false",),
        ),
        (
            PATIENT + AI + "[[policy]]\nname = 'a'\n[compare_policies]\nseed = 1\nmeasurement_error = 'typical'\n",
            "compare_policies.measurement_error",
            ("shipped, none",),
        ),
    ],
)
def test_new_keys_are_checked_and_named(tmp_path, text, key, needles):
    if key:
        refused(tmp_path, text, key, *needles)
    else:  # refused by the API at run time, with the file and the reason
        s = load_scenario(write(tmp_path, text, "late.toml"))
        with pytest.raises(ValueError) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
            s.run()
        for needle in needles:
            assert needle in str(info.value)


# --- implausible units: refused with the reason -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "needles"),
    [
        (
            PATIENT + "[[exposure]]\nagent = 'aromatase_inhibitor'\nstop = 60\n",
            "exposure[0].stop",
            ("60 years", "longer than 15 years", "not months"),
        ),
        (
            PATIENT + "[[exposure]]\nagent = 'aromatase_inhibitor'\nstart = -2\nduration = 24\n",
            "exposure[0].duration",
            ("24 years", "not months"),
        ),
        (
            PATIENT + "[[exposure]]\nagent = 'tamoxifen'\nstart = 24\nstop = 26\n",
            "exposure[0].start",
            ("at or after the horizon", "not months"),
        ),
        (PATIENT + "[output]\nthresholds = [1.0, 2.0, 2.5]\n", "output.thresholds[0]", ("positive", "minus sign")),
        (PATIENT + "[output]\nthresholds = [-1.0, 25]\n", "output.thresholds[1]", ("positive", "minus sign")),
        (PATIENT + "[simulation]\nyears = 120\n", "simulation.years", ("(0, 60]", "not months")),
        (
            PATIENT + EVENT_ZA.replace("scan_interval = 1.0", "scan_interval = 12"),
            "exposure[0].start.at_threshold.scan_interval",
            ("12 years", "1-2 years", "not months"),
        ),
        (
            PATIENT + EVENT_ZA.replace("delay = 0.25", "delay = 6"),
            "exposure[0].start.at_threshold.delay",
            ("6 years", "not months"),
        ),
        (
            PATIENT + EVENT_ZA.replace("threshold = -2.0", "threshold = 2.0"),
            "exposure[0].start.at_threshold.threshold",
            ("minus sign",),
        ),
        (PATIENT + AI + "[[policy]]\nname = 'a'\nscan_interval = 24\n", "policy[0].scan_interval", ("not months",)),
        (PATIENT + AI + "[[policy]]\nname = 'a'\nduration = 60\n", "policy[0].duration", ("not months",)),
        (
            PATIENT + AI + "[[policy]]\nname = 'a'\n[compare_policies]\nseed = 1\nthreshold = 2.5\n",
            "compare_policies.threshold",
            ("minus sign",),
        ),
        (POPULATION + "[simulation]\nyears = 10\n[output]\ntimes = [0, 60]\n", "output.times[1]", ("horizon",)),
    ],
    ids=[
        "ai-60-years",
        "duration-24",
        "start-after-horizon",
        "thresholds-sign-dropped",
        "one-positive-threshold",
        "horizon-120",
        "scan-interval-12",
        "delay-6",
        "event-threshold-positive",
        "policy-scan-24",
        "policy-duration-60",
        "policy-threshold-positive",
        "times-beyond-horizon",
    ],
)
def test_implausible_units_are_refused_with_the_reason(tmp_path, text, key, needles):
    refused(tmp_path, text, key, *needles)


def test_plausible_edges_are_accepted(tmp_path):
    """The limits leave room: a 15-year course, a course that never stops, a threshold of 0, a 5-year interval."""
    text = (
        PATIENT
        + "[[exposure]]\nagent = 'aromatase_inhibitor'\nstart = -5\nstop = 10\n"
        + "[[exposure]]\nagent = 'tamoxifen'\nstart = 10\n"
        + EVENT_ZA.replace("scan_interval = 1.0", "scan_interval = 5").replace("delay = 0.25", "delay = 5")
        + "[simulation]\nyears = 60\n[output]\nthresholds = [0, -2.5]\n"
    )
    s = load_scenario(write(tmp_path, text))
    assert s.thresholds == (0.0, -2.5) and s.years == 60.0


# --- the shipped examples -----------------------------------------------------------------------------------------


def test_examples_ship_with_descriptions_and_cover_the_new_keys():
    from bmdsim.scenario import example_dir, example_scenarios

    examples = example_scenarios()
    assert {"ai_withdrawal.toml", "cohort_event_start.toml", "policy_comparison.toml"} <= set(examples)
    assert all(d and "\n" not in d for d in examples.values())
    cohort = load_scenario(example_dir() / "cohort_event_start.toml")
    assert cohort.population is not None and any(e.is_event for e in cohort.regimen)
    assert any(e.agent == "zoledronic_acid" for e in cohort.regimen)
    policies = load_scenario(example_dir() / "policy_comparison.toml")
    assert len(policies.policies) == 4 and policies.population is not None


def test_example_dir_prefers_the_wheel_layout(tmp_path, monkeypatch):
    """In a wheel the examples are bmdsim/examples (pyproject's force-include); in a checkout ../scenarios."""
    from pathlib import Path

    import bmdsim.scenario as module

    assert module.example_dir() == Path(__file__).resolve().parents[1] / "scenarios"
    package = tmp_path / "site-packages" / "bmdsim"
    (package / "examples").mkdir(parents=True)
    (package / "examples" / "one.toml").write_text('description = "One line"\n', encoding="utf-8")
    monkeypatch.setattr(module, "__file__", str(package / "scenario.py"))
    assert module.example_dir() == package / "examples"
    assert module.example_scenarios() == {"one.toml": "One line"}
    (package / "examples" / "one.toml").unlink()
    with pytest.raises(FileNotFoundError, match="reinstall bmdsim"):
        module.example_dir()
