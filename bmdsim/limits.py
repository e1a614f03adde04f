"""Plausibility limits for inputs.

These are design limits, not calibrated numbers: inputs outside them are
refused with a clear error instead of being simulated. They are wide enough
for any adult woman measured by DXA and narrow enough to catch unit mistakes
(g/cm2 versus mg/cm2, months versus years, a T-score typed as a BMD).
"""

from __future__ import annotations

#: Age at baseline [years]. Aromatase inhibitors are given to adult women.
AGE_YEARS: tuple[float, float] = (18.0, 100.0)

#: T-score at baseline [SD]. Measured T-scores lie well inside this band.
T_SCORE: tuple[float, float] = (-6.0, 4.0)

#: Areal BMD at baseline [g/cm2] at any of the modelled sites.
BMD_G_CM2: tuple[float, float] = (0.2, 2.0)

#: Young-adult reference mean [g/cm2] and standard deviation [g/cm2].
REFERENCE_MEAN_G_CM2: tuple[float, float] = (0.1, 2.5)
REFERENCE_SD_G_CM2: tuple[float, float] = (0.01, 0.5)

#: Simulation horizon [years].
HORIZON_YEARS: tuple[float, float] = (0.0, 60.0)

#: Exposure start and stop [years from baseline]. An exposure may have begun
#: before the baseline scan (negative start), up to this many years before.
EXPOSURE_START_YEARS: tuple[float, float] = (-30.0, 60.0)

#: Largest single array [bytes] that one call may ask bmdsim to allocate (an output grid, a scan
#: schedule, a patient array times a time grid). A design limit derived from memory, not a model
#: number: it keeps any input from exhausting a laptop's memory, and is far above what the model's
#: time scales need (a daily grid over 60 years for 100,000 patients, about 17.5 GB, is refused: use a cohort).
MAX_ARRAY_BYTES: int = 1 << 30

#: Longest label or caption text [characters] accepted from a user or a file.
MAX_TEXT_CHARS: int = 10_000
