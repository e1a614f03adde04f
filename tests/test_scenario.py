"""Tests of bmdsim.scenario: TOML scenario files that map one-to-one onto the API."""

from __future__ import annotations

import textwrap

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


def test_readme_scenario_example_is_valid_and_gallery_is_complete():
    import re
    from pathlib import Path

    from bmdsim.figures import EDUCATOR_FIGURES
    from bmdsim.scenario import scenario_from_dict, tomllib

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    s = scenario_from_dict(tomllib.loads(block), source="README.md")
    assert s.figures == ("trajectory", "crossings", "regimen") and s.formats == ("png", "pdf")
    assert s.run().crossing_time("femoral_neck", -2.5) == load_scenario(
        root / "scenarios" / "ai_withdrawal.toml"
    ).run().crossing_time("femoral_neck", -2.5)
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
