"""bmdsim: bone mineral density trajectories in women on aromatase inhibitors.

Describe a patient and a regimen, simulate, and read BMD and T-score
trajectories, percent changes and exact threshold-crossing times::

    import bmdsim
    p = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    traj = bmdsim.simulate(p, r, years=15)
    traj.crossing_time("femoral_neck", -2.5)

Importing bmdsim does not import matplotlib; :mod:`bmdsim.plot` does, when
a plot is drawn.
"""

from __future__ import annotations

from .agents import AGENTS, AgentModel, register_agent
from .cohort import CohortResult, Population, TruncatedNormal, Variability, compare_regimens, simulate_cohort
from .parameters import ParameterSet, available_parameter_sets, load_parameters, parameter_draws
from .patient import Patient
from .policy import Policy, compare_policies, simulate_policy
from .profiles import PROFILE_AGENTS
from .reference import YoungAdultReference, available_references, load_reference
from .regimen import AtThreshold, Exposure, Regimen
from .simulation import DEFAULT_THRESHOLDS, Trajectory, simulate
from .sites import SITES
from .therapies import THERAPIES, ExtrapolationWarning

__version__ = "0.1.0"

__all__ = [
    "AGENTS",
    "DEFAULT_THRESHOLDS",
    "THERAPIES",
    "ExtrapolationWarning",
    "SITES",
    "AgentModel",
    "AtThreshold",
    "CohortResult",
    "Exposure",
    "ParameterSet",
    "Patient",
    "PROFILE_AGENTS",
    "Policy",
    "Population",
    "Regimen",
    "Trajectory",
    "TruncatedNormal",
    "Variability",
    "YoungAdultReference",
    "available_parameter_sets",
    "available_references",
    "compare_policies",
    "compare_regimens",
    "load_parameters",
    "load_reference",
    "parameter_draws",
    "register_agent",
    "simulate",
    "simulate_cohort",
    "simulate_policy",
    "__version__",
]
