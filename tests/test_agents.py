"""Tests of the rate models: closed-form cumulative loss against the integral of the rate, and back."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

import bmdsim
from bmdsim.agents import AGENTS, AgentModel, NaturalLoss, ParameterSpec, SiteContext, register_agent
from bmdsim.model import SiteModel
from bmdsim.regimen import Exposure, Regimen

FRONT_LOADED = {
    "aromatase_inhibitor.femoral_neck.early_excess_pct_per_year": 4.0,
    "aromatase_inhibitor.early_time_constant_years": 0.7,
    "natural.femoral_neck.age_edges_years": [60, 70],
    "natural.femoral_neck.rates_pct_per_year": [2.0, 1.0, 0.5],
    "natural.femoral_neck.age_slope_per_year": 0.0,
}


def scalar(x) -> float:
    """A size-1 array or a number as a float."""
    return float(np.ravel(x)[0])


def front_loaded_set() -> bmdsim.ParameterSet:
    """Consensus with a front-loaded AI effect and age-dependent natural loss at the femoral neck."""
    return bmdsim.load_parameters("consensus").with_values(FRONT_LOADED)


def test_natural_loss_cumulative_is_integral_of_rate():
    """NaturalLoss.cumulative differences equal the integral of the piecewise-constant rate."""
    nat = NaturalLoss((60.0, 70.0), (2.0, 1.0, 0.5))
    for a, b in [(40, 55), (55, 65), (58, 82), (65, 75), (71, 99)]:
        exact = nat.cumulative(np.float64(b)) - nat.cumulative(np.float64(a))
        numeric, _ = quad(lambda u: scalar(nat.rate(u)), a, b, points=[60, 70], epsabs=1e-13)
        assert exact == pytest.approx(numeric, rel=1e-10, abs=1e-13)
    assert nat.cumulative(np.float64(75)) - nat.cumulative(np.float64(55)) == pytest.approx(
        0.02 * 5 + 0.01 * 10 + 0.005 * 5, rel=1e-12
    )


def test_natural_loss_rate_is_right_continuous_and_constant_check():
    """The rate at an edge is the new band's rate; is_constant_between sees rate changes only."""
    nat = NaturalLoss((60.0, 70.0), (2.0, 1.0, 0.5))
    assert nat.rate(np.float64(60)) == pytest.approx(0.01)
    assert nat.rate(np.float64(59.999)) == pytest.approx(0.02)
    assert nat.is_constant_between(61, 69)
    assert not nat.is_constant_between(59, 61)
    assert NaturalLoss((60.0,), (1.5, 1.5)).is_constant_between(30, 90)


@pytest.mark.parametrize(
    "exposure",
    [
        Exposure("aromatase_inhibitor", start=0, stop=5),
        Exposure("aromatase_inhibitor", start=-2, stop=3),
        Exposure("aromatase_inhibitor", start=1.5),
        Exposure("tamoxifen", start=0, stop=5),
        Exposure("tamoxifen", start=-3, stop=8),
    ],
    ids=str,
)
@pytest.mark.parametrize("age", [52.0, 63.0, 68.5])
def test_agent_cumulative_is_integral_of_rate(exposure, age):
    """Each agent's closed-form cumulative loss equals the quadrature of its rate (front-loaded, age bands)."""
    params = front_loaded_set()
    model = AGENTS[exposure.agent]
    p = params.agent_values(exposure.agent, "femoral_neck")
    ctx = SiteContext(params.natural("femoral_neck"), age)
    breaks = [x for x in (exposure.start, exposure.stop, 60 - age, 70 - age) if math.isfinite(x)]
    t0 = -5.0
    for t in [0.5, 2.0, 3.0, 4.99, 5.0, 7.5, 12.0, 20.0]:
        cum = model.cumulative(np.float64(t), exposure, p, ctx) - model.cumulative(np.float64(t0), exposure, p, ctx)
        exact = scalar(cum)
        pts = [x for x in breaks if t0 < x < t]
        numeric, _ = quad(lambda u: scalar(model.rate(u, exposure, p, ctx)), t0, t, points=pts or None, limit=200)
        assert exact == pytest.approx(numeric, rel=1e-8, abs=1e-11), t


@pytest.mark.parametrize("params_name", ["consensus", "brex", "front_loaded"])
def test_site_model_log_loss_is_integral_of_rate(params_name):
    """SiteModel.log_loss(t) = integral from 0 to t of SiteModel.rate, with L(0) = 0."""
    params = front_loaded_set() if params_name == "front_loaded" else bmdsim.load_parameters(params_name)
    regimen = Regimen(
        [
            Exposure("aromatase_inhibitor", start=0, stop=5),
            Exposure("tamoxifen", start=6, stop=9),
            Exposure("aromatase_inhibitor", start=10, stop=12),
        ]
    )
    model = SiteModel(params, regimen, "femoral_neck")
    age = 58.0
    assert scalar(model.log_loss(0.0, age)) == 0.0
    pts = sorted(set(regimen.breakpoints()) | {60 - age, 70 - age})
    for t in [1.0, 5.0, 6.5, 9.0, 11.0, 15.0, 25.0]:
        numeric, _ = quad(lambda u: scalar(model.rate(u, age)), 0, t, points=[x for x in pts if 0 < x < t], limit=200)
        assert scalar(model.log_loss(t, age)) == pytest.approx(numeric, rel=1e-8, abs=1e-12), t


@pytest.mark.parametrize("params_name", ["consensus", "brex", "front_loaded"])
def test_rate_is_derivative_of_log_loss(params_name):
    """A central difference of log_loss equals the rate away from breakpoints."""
    params = front_loaded_set() if params_name == "front_loaded" else bmdsim.load_parameters(params_name)
    regimen = Regimen([Exposure("aromatase_inhibitor", start=0, stop=5), Exposure("tamoxifen", start=6, stop=9)])
    model = SiteModel(params, regimen, "femoral_neck")
    age = np.array([55.0, 63.0, 75.0])[:, None]
    t = np.array([0.3, 1.0, 2.7, 4.5, 5.5, 7.0, 8.2, 10.0, 14.0])[None, :]
    h = 1e-5
    central = (model.log_loss(t + h, age) - model.log_loss(t - h, age)) / (2 * h)
    np.testing.assert_allclose(central, model.rate(t, age), rtol=1e-6, atol=1e-9)


def test_ai_closed_form_values():
    """Constant AI excess: 5 years at 1 %/yr adds 0.05 log-loss; a fraction f of it comes back with time constant T."""
    params = bmdsim.load_parameters("consensus")
    e = Exposure("aromatase_inhibitor", start=0, stop=5)
    p = params.agent_values("aromatase_inhibitor", "lumbar_spine")
    ctx = SiteContext(params.natural("lumbar_spine"), 60.0)
    model = AGENTS["aromatase_inhibitor"]
    f, T = p["recovery_fraction"], p["recovery_time_constant_years"]
    assert scalar(model.cumulative(np.float64(5.0), e, p, ctx)) == pytest.approx(0.05, rel=1e-12)
    at_8 = scalar(model.cumulative(np.float64(8.0), e, p, ctx))
    assert at_8 == pytest.approx(0.05 - f * 0.05 * (1 - math.exp(-3 / T)), rel=1e-12)
    assert scalar(model.cumulative(np.float64(5 + 60 * T), e, p, ctx)) == pytest.approx((1 - f) * 0.05, rel=1e-9)
    assert scalar(model.rate(np.float64(2.0), e, p, ctx)) == pytest.approx(0.01)
    assert scalar(model.rate(np.float64(5.0), e, p, ctx)) == pytest.approx(-f * 0.05 / T)


def test_tamoxifen_replaces_natural_loss():
    """On tamoxifen the total rate is -net change (natural loss cancelled); after the stop natural loss resumes."""
    params = bmdsim.load_parameters("consensus")
    regimen = Regimen([Exposure("tamoxifen", start=0, stop=5)])
    model = SiteModel(params, regimen, "lumbar_spine")
    net = params["tamoxifen.lumbar_spine.net_change_pct_per_year"] / 100
    assert scalar(model.rate(2.0, 60.0)) == pytest.approx(-net)
    assert scalar(model.rate(6.0, 60.0)) == pytest.approx(0.015)
    assert scalar(model.log_loss(5.0, 60.0)) == pytest.approx(-5 * net, rel=1e-12)
    assert scalar(model.log_loss(7.0, 60.0)) == pytest.approx(-5 * net + 2 * 0.015, rel=1e-12)


def test_checkpoint_spacing_resolves_time_constants():
    """Checkpoint spacing is a quarter of the shortest time constant, at most a month."""
    regimen = Regimen([Exposure("aromatase_inhibitor", start=0, stop=5)])
    assert SiteModel(
        bmdsim.load_parameters("consensus"), regimen, "femoral_neck"
    ).checkpoint_spacing() == pytest.approx(1 / 12)
    fast = bmdsim.load_parameters("consensus").with_values(
        {
            "aromatase_inhibitor.femoral_neck.early_excess_pct_per_year": 4.0,
            "aromatase_inhibitor.early_time_constant_years": 0.2,
        }
    )
    assert SiteModel(fast, regimen, "femoral_neck").checkpoint_spacing() == pytest.approx(0.05)


class _ConstantGain(AgentModel):
    """A test agent: a constant gain of 1 %/yr while on the drug, no parameters."""

    name = "test_constant_gain"
    label = "Test constant gain"

    def cumulative(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        return -0.01 * (np.clip(t, exposure.start, exposure.stop) - exposure.start)

    def rate(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        return np.where((t >= exposure.start) & (t < exposure.stop), -0.01, 0.0)


def test_new_agent_plugs_in_without_engine_changes():
    """A registered AgentModel subclass is usable in an Exposure and its rate adds to natural loss."""
    register_agent(_ConstantGain())
    try:
        p = bmdsim.Patient(age=60, bmd={"lumbar_spine": 1.0})
        regimen = bmdsim.Regimen([bmdsim.Exposure("test_constant_gain", start=0, stop=4)])
        traj = bmdsim.simulate(p, regimen, years=6, params="consensus")
        assert traj.bmd_at("lumbar_spine", 4.0) == pytest.approx(math.exp(-4 * (0.015 - 0.01)), rel=1e-12)
        assert traj.bmd_at("lumbar_spine", 6.0) == pytest.approx(math.exp(-4 * 0.005 - 2 * 0.015), rel=1e-12)
    finally:
        del AGENTS["test_constant_gain"]
    with pytest.raises(ValueError, match="unknown agent 'test_constant_gain'"):
        bmdsim.Exposure("test_constant_gain", 0, 1)


def test_register_agent_refuses_bad_models():
    """register_agent accepts AgentModel instances with identifier names only."""
    with pytest.raises(TypeError, match=r"model must be a bmdsim.agents.AgentModel, got str"):
        register_agent("tamoxifen")

    class Nameless(AgentModel):
        name = "not an identifier"

    with pytest.raises(ValueError, match=r"agent name must be a non-empty identifier, got 'not an identifier'"):
        register_agent(Nameless())
    assert "not an identifier" not in AGENTS


class _DoseGain(AgentModel):
    """A test agent with one parameter per site: a constant gain while on the drug."""

    name = "test_dose_gain"
    label = "Test dose gain"
    SPECS = (ParameterSpec("gain_pct_per_year", "%/yr", 0.0, 10.0, description="gain while on the drug"),)

    def cumulative(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        return -p["gain_pct_per_year"] / 100 * (np.clip(t, exposure.start, exposure.stop) - exposure.start)

    def rate(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        on = (t >= exposure.start) & (t < exposure.stop)
        return np.where(on, -p["gain_pct_per_year"] / 100, 0.0)


def test_new_agent_with_a_parameter_breaks_no_shipped_set():
    """Registering a drug that declares a parameter leaves every shipped set valid; using it asks for its values."""
    register_agent(_DoseGain())
    gain = {f"test_dose_gain.{site}.gain_pct_per_year": 1.0 for site in bmdsim.SITES}
    try:
        patient = bmdsim.Patient(age=60, bmd={"lumbar_spine": 1.0})
        ai = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
        drug = bmdsim.Regimen([bmdsim.Exposure("test_dose_gain", start=0, stop=4)])
        for name in bmdsim.available_parameter_sets():
            params = bmdsim.load_parameters(name)  # no "lacks parameters"
            assert "test_dose_gain" not in params.agents
            bmdsim.simulate(patient, ai, years=6, params=params)
            bmdsim.simulate_cohort(200, ai, years=6, seed=1, params=name, parameter_draws=2).crossing_time(
                "femoral_neck", -2.5
            )
            keys = r"test_dose_gain\.femoral_neck\.gain_pct_per_year, test_dose_gain\.lumbar_spine\.gain_pct"
            match = rf"agent 'test_dose_gain' needs parameters that parameter set '{name}' lacks: {keys}.*with_values"
            with pytest.raises(ValueError, match=match):
                bmdsim.simulate(patient, drug, years=6, params=params)
            with pytest.raises(ValueError, match=match):
                bmdsim.simulate_cohort(200, drug, years=6, seed=1, params=params)
        params = bmdsim.load_parameters("consensus").with_values(gain)
        assert params.agents[-1] == "test_dose_gain"
        traj = bmdsim.simulate(patient, drug, years=6, params=params)
        assert traj.bmd_at("lumbar_spine", 4.0) == pytest.approx(math.exp(-4 * (0.015 - 0.01)), rel=1e-12)
        assert traj.bmd_at("lumbar_spine", 6.0) == pytest.approx(math.exp(-4 * 0.005 - 2 * 0.015), rel=1e-12)
        both = bmdsim.simulate_cohort(500, drug, years=6, seed=1, params=params)
        assert np.all(both.crossing_time("femoral_neck", -2.5) >= 0)
        with pytest.raises(ValueError, match=r"lacks parameters: test_dose_gain\.total_hip\.gain_pct_per_year"):
            bmdsim.load_parameters("consensus").with_values(dict(list(gain.items())[:2]))
    finally:
        del AGENTS["test_dose_gain"]


class _Romosozumab(_DoseGain):
    """A test bone-protective drug: the constant gain of _DoseGain, with display metadata of its own."""

    name = "test_romosozumab"
    label = "Romosozumab (test)"
    short_label = "romosozumab"
    colour = "#117733"
    bone_protective = True
    line_style = (0, (3, 2))
    evidence_grade = "moderate"
    SPECS = (ParameterSpec("gain_pct_per_year", "%/yr", 0.0, 20.0, description="gain while on the drug"),)


def test_a_registered_drug_shows_in_the_therapy_list_the_figures_the_explorer_and_scenario_files():
    """Display metadata declared at registration reach every list of therapies, without editing those modules."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from bmdsim import plot
    from bmdsim.explorer import THERAPY_CHOICES, explore, explorer_widgets
    from bmdsim.scenario import ScenarioError, scenario_from_dict

    name = "test_romosozumab"
    scenario = {
        "patient": {"age": 63, "t_score": {"femoral_neck": -1.5}},
        "exposure": [{"agent": "aromatase_inhibitor", "stop": 5}],
        "policy": [{"name": "scan and treat", "agent": name, "duration": 2}],
        "compare_policies": {"seed": 1},
    }
    assert name not in bmdsim.THERAPIES
    with pytest.raises(ScenarioError, match=rf"policy\[0\]\.agent: unknown value '{name}'; allowed values are: zol"):
        scenario_from_dict(scenario)
    register_agent(_Romosozumab())
    try:
        assert bmdsim.THERAPIES[-1] == name and name in THERAPY_CHOICES
        assert plot.AGENT_COLOURS[name] == "#117733"
        assert plot.REGIMEN_STYLES[f"ai+{name}"] == {"color": "#117733", "linestyle": (0, (3, 2))}
        assert plot.labels_for()[name] == "Romosozumab (test)"

        # the scenario reader offers it as a course and as a policy's therapy
        read = scenario_from_dict(scenario)
        assert read.policies[0].agent == name
        with pytest.raises(ScenarioError, match=rf"exposure\[0\]\.agent: unknown value 'x'; allowed .*, {name}$"):
            scenario_from_dict({**scenario, "exposure": [{"agent": "x"}]})

        # simulated with its parameter, drawn in its own colour and style, named in the legend and the strip
        gain = {f"{name}.{site}.gain_pct_per_year": 2.0 for site in bmdsim.SITES}
        params = bmdsim.load_parameters("consensus").with_values(gain)
        patient = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})
        ai = bmdsim.Exposure("aromatase_inhibitor", 0, 5)
        on_drug = bmdsim.simulate(patient, bmdsim.Regimen([ai, bmdsim.Exposure(name, 0, 3)]), years=8, params=params)
        alone = bmdsim.simulate(patient, bmdsim.Regimen([ai]), years=8, params=params)
        assert on_drug.bmd_at("femoral_neck", 3.0) == pytest.approx(alone.bmd_at("femoral_neck", 3.0) * math.exp(0.06))
        ax = plot.plot_comparison({"AI alone": alone, "AI + romosozumab": on_drug}, "femoral_neck")
        legend = ax.get_legend()
        entries = dict(zip([t.get_text() for t in legend.get_texts()], legend.legend_handles, strict=True))
        assert to_hex(entries["AI + romosozumab"].get_color()) == "#117733"
        assert entries["AI + romosozumab"].get_linestyle() != entries["AI alone"].get_linestyle()
        ax = plot.plot_regimen(on_drug)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["Aromatase inhibitor", "Romosozumab (test)"]
        bars = [b for b in ax.patches if (b.get_gid() or "").startswith(f"exposure:{name}")]
        assert len(bars) == 1 and to_hex(bars[0].get_facecolor()) == "#117733"
        plt.close("all")

        # the explorer offers it; it simulates the shipped sets, which lack the drug's parameter, and says so
        pytest.importorskip("ipywidgets")
        assert ("Romosozumab (test)", name) in explorer_widgets(therapy=None).controls["therapy"].options
        with pytest.raises(ValueError, match=rf"agent '{name}' needs parameters that parameter set 'consensus' lacks"):
            explore(therapy=name, params="consensus")
    finally:
        del AGENTS[name]
        plt.close("all")
    assert name not in bmdsim.THERAPIES and name not in THERAPY_CHOICES and f"ai+{name}" not in plot.REGIMEN_STYLES
    with pytest.raises(ScenarioError, match=rf"policy\[0\]\.agent: unknown value '{name}'"):
        scenario_from_dict(scenario)


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("colour", "green", ValueError, r"colour must be a hex colour '#RRGGBB' \(e\.g\. '#009E73'\), got 'green'"),
        ("colour", 0x117733, TypeError, r"colour must be a hex colour string '#RRGGBB', got 1144627"),
        ("label", "   ", ValueError, r"label must be non-blank text on one line .*, got '   '"),
        ("label", "two\nlines", ValueError, r"label must be non-blank text on one line"),
        ("short_label", 5, TypeError, r"short_label must be a string, got 5"),
        ("label", "x" * 101, ValueError, r"label must be at most 100 characters long, got 101"),
        ("bone_protective", "yes", TypeError, r"bone_protective must be True or False, got 'yes'"),
        ("line_style", "dashed", ValueError, r"line_style must be None, one of '-', '--', '-\.', ':', or a dash"),
        ("line_style", (0, (3,)), ValueError, r"line_style must be .* got \(0, \(3,\)\)"),
        ("line_style", (0, (3, -1)), ValueError, r"line_style must be .* positive lengths .* got \(0, \(3, -1\)\)"),
        ("line_style", (0, (3, float("nan"))), ValueError, r"line_style must be"),
        ("line_style", [0, [3, 1]], TypeError, r"line_style must be .* got \[0, \[3, 1\]\]"),
        ("evidence_grade", "weak", ValueError, r"evidence_grade must be None or one of high, moderate, low, very low"),
    ],
)
def test_register_agent_refuses_bad_display_metadata(field, value, error, message):
    """Bad display metadata is refused at registration, naming the agent, the field, the value and what is allowed."""
    bad = type("BadDisplay", (_Romosozumab,), {"name": "test_bad_display", field: value})()
    with pytest.raises(error, match=rf"agent 'test_bad_display': {message}"):
        register_agent(bad)
    assert "test_bad_display" not in AGENTS


def test_an_agent_without_display_metadata_gets_the_defaults():
    """A third-party agent that declares nothing is labelled from its name, grey, and not a therapy."""
    from bmdsim import plot
    from bmdsim.agents import DEFAULT_AGENT_COLOUR, agent_display

    plain = type("Plain", (_DoseGain,), {"name": "test_plain_drug", "label": ""})()
    register_agent(plain)
    try:
        shown = agent_display("test_plain_drug")
        assert (shown.label, shown.short_label) == ("Test plain drug", "test plain drug")
        assert shown.colour == DEFAULT_AGENT_COLOUR == plot.AGENT_COLOURS["test_plain_drug"]
        assert not shown.bone_protective and shown.line_style is None and shown.evidence_grade is None
        assert "test_plain_drug" not in bmdsim.THERAPIES and "ai+test_plain_drug" not in plot.REGIMEN_STYLES
        regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5), bmdsim.Exposure("test_plain_drug")])
        assert plot.regimen_key(regimen) is None  # no style of its own: the free series colours
    finally:
        del AGENTS["test_plain_drug"]
    with pytest.raises(ValueError, match=r"unknown agent 'test_plain_drug'; registered agents: aromatase_inhibitor"):
        agent_display("test_plain_drug")


def test_a_new_drug_with_its_own_parameter_file_runs_beside_every_shipped_set(tmp_path):
    """A registered drug's parameters come from its own JSON file (the layout of data/parameters) for any set."""
    import json

    register_agent(_DoseGain())
    try:
        entries = {
            f"test_dose_gain.{site}.gain_pct_per_year": {"value": 1.0, "unit": "%/yr", "source": "my_trial_2031"}
            for site in bmdsim.SITES
        }
        file = tmp_path / "test_dose_gain.json"
        file.write_text(json.dumps({"name": "test_dose_gain", "parameters": entries}), encoding="utf-8")
        patient = bmdsim.Patient(age=60, bmd={"lumbar_spine": 1.0})
        both = bmdsim.Regimen(
            [bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5), bmdsim.Exposure("test_dose_gain", 0, 4)]
        )
        for name in bmdsim.available_parameter_sets():
            params = bmdsim.load_parameters(name).with_parameter_file(file)
            assert params.name == f"{name} + test_dose_gain.json"
            assert params.metadata["test_dose_gain.total_hip.gain_pct_per_year"]["source"] == "my_trial_2031"
            on = bmdsim.simulate(patient, both, years=6, params=params)
            off = bmdsim.simulate(patient, bmdsim.Regimen(list(both)[:1]), years=6, params=name)
            gap = on.bmd_at("lumbar_spine", 4.0) / off.bmd_at("lumbar_spine", 4.0)
            assert gap == pytest.approx(math.exp(0.04), rel=1e-12)  # 1 %/yr for 4 years, on top of the set's AI
        bad_unit = {k: v | {"unit": "years"} for k, v in entries.items()}
        file.write_text(json.dumps({"parameters": bad_unit}), encoding="utf-8")
        with pytest.raises(ValueError, match=r"has unit 'years'; its spec's unit is '%/yr'"):
            bmdsim.load_parameters().with_parameter_file(file)
        file.write_text("{not json", encoding="utf-8")
        with pytest.raises(ValueError, match="is not UTF-8 JSON"):
            bmdsim.load_parameters().with_parameter_file(file)
        file.write_text(json.dumps({"parameters": {"test_dose_gain.lumbar_spine.gain_pct_per_year": 1.0}}))
        with pytest.raises(ValueError, match=r'must be a mapping with a "value"'):
            bmdsim.load_parameters().with_parameter_file(file)
        with pytest.raises(ValueError, match="is not a regular file"):
            bmdsim.load_parameters().with_parameter_file(tmp_path)
        with pytest.raises(TypeError, match="path must be a str or path-like"):
            bmdsim.load_parameters().with_parameter_file(5)
        file.write_text(json.dumps({"parameters": {"nope.x": {"value": 1.0}}}), encoding="utf-8")
        with pytest.raises(ValueError, match="test_dose_gain.json.*no parameter 'nope.x'"):
            bmdsim.load_parameters().with_parameter_file(file)
    finally:
        del AGENTS["test_dose_gain"]
