"""Named, documented parameter sets.

A parameter set holds every number of the rate model (see
:mod:`bmdsim.agents`), keyed by dotted names ``"<component>.<site>.<name>"``
or ``"<component>.<name>"``. Each shipped set is a JSON file in
``data/parameters/`` that records, for every value, its unit, its source
(a key of ``data/citations.json``) and whether it is *fixed* (read from a
source) or *fitted* (written by :mod:`bmdsim.calibration`).

Shipped sets
------------
``consensus`` (default)
    The consensus figures users ask for: natural loss 1.5 %/yr and 2.5 %/yr
    in total on an aromatase inhibitor, at every site; recovery after the AI
    stops fitted to the BREX withdrawal-minus-no-withdrawal contrast.
``brex``
    As ``consensus`` on the AI, but natural loss and recovery fitted to all
    four BREX numbers (years 5-10 of follow-up).
``trials``
    Trial-calibrated: front-loaded AI loss at the lumbar spine and total hip
    (IES bone substudy, ARIBON and SABRE placebo arms), site-specific natural
    loss and recovery (BREX), fitted jointly; the femoral-neck AI excess keeps
    the consensus value.

Every set holds the bone-protective therapies' parameters too (see
:mod:`bmdsim.therapies`), fitted to their trials against that set's AI and
natural loss.

Use :func:`load_parameters` to get one and :meth:`ParameterSet.with_values`
to change values without touching the shipped set.

Parameter uncertainty
---------------------
Each shipped set comes with calibration draws (``data/parameter_draws/``, a
parametric bootstrap of its calibration, see :mod:`bmdsim.calibration`):
:func:`parameter_draws` (or :meth:`ParameterSet.draws`) returns them as
parameter sets, for bands from parameter uncertainty (e.g.
``simulate_cohort(..., parameter_draws=50)``).
"""

from __future__ import annotations

import difflib
import json
import math
import operator
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _data, tables
from ._validation import bounded_items, check_choice, check_text
from .agents import AGENTS, NaturalLoss, ParameterSpec
from .sites import SITES

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported when a table is made
    import pandas as pd

_FOLDER = "parameters"
_DRAWS_FOLDER = "parameter_draws"


#: The default parameter set: the best-validated calibrated set (``python -m bmdsim.validation``). The
#: textbook figures (1.5 %/yr natural, 2.5 %/yr on an AI) stay available as the teaching set ``"consensus"``.
DEFAULT_PARAMETER_SET = "trials"


#: Most numbers in a list-valued parameter (age bands of natural loss): a design limit that bounds the
#: per-patient checkpoints of the crossing search (one per age edge).
MAX_LIST_ITEMS = 100


def _component_specs(component: str, specs: tuple[ParameterSpec, ...]) -> dict[str, ParameterSpec]:
    """The parameter keys of one component (natural loss or an agent), with their specs."""
    out: dict[str, ParameterSpec] = {}
    for spec in specs:
        if spec.per_site:
            for site in SITES:
                out[f"{component}.{site}.{spec.name}"] = spec
        else:
            out[f"{component}.{spec.name}"] = spec
    return out


#: Component name of men's natural loss: the keys ``natural_male.<site>.*`` and
#: ``natural_male.reference_age_years``, with the specs of natural loss (optional in a set: all or none).
NATURAL_MALE = "natural_male"


def parameter_specs() -> dict[str, ParameterSpec]:
    """Every parameter key the registered components may have, with its spec.

    Returns
    -------
    dict of str -> bmdsim.agents.ParameterSpec
        Key as in a parameter set (``component.site.name`` for a per-site
        parameter, ``component.name`` otherwise) -> its unit, range and
        description; natural loss first, then every registered agent
        (:data:`bmdsim.AGENTS`), so an agent registered later adds its keys.
    """
    out = _component_specs(NaturalLoss.name, NaturalLoss.SPECS) | _component_specs(NATURAL_MALE, NaturalLoss.SPECS)
    for agent in AGENTS.values():
        out |= _component_specs(agent.name, agent.SPECS)
    return out


def _check_value(key: str, value: Any, spec: ParameterSpec) -> Any:
    if value is None:
        if spec.optional:
            return None
        raise ValueError(f"parameter {key} must be given ({spec.unit}), got None")
    items = value if spec.is_list else [value]
    if spec.is_list and not isinstance(value, (list, tuple)):
        raise TypeError(f"parameter {key} must be a list of numbers [{spec.unit}], got {value!r:.80}")
    if spec.is_list and len(value) > MAX_LIST_ITEMS:
        raise ValueError(f"parameter {key} must hold at most {MAX_LIST_ITEMS} numbers, got {len(value)}")
    checked = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, float, np.integer, np.floating)):
            raise TypeError(f"parameter {key} must be a number [{spec.unit}], got {item!r:.80}")
        try:
            item = float(item)
        except OverflowError:  # an integer beyond any float
            item = math.inf
        if not math.isfinite(item) or not spec.low <= item <= spec.high:
            raise ValueError(f"parameter {key} must lie in [{spec.low:g}, {spec.high:g}] {spec.unit}, got {item!r}")
        checked.append(item)
    return tuple(checked) if spec.is_list else checked[0]


@dataclass(frozen=True)
class ParameterSet:
    """Every number of the rate model, with where it came from.

    Attributes
    ----------
    name, title, description, validated_range : str
        What the set is and where it was calibrated; beyond that it extrapolates.
    values : mapping
        Parameter key -> value (a float, a tuple of floats, or None).
    metadata : mapping
        Parameter key -> dict with ``unit``, ``role`` (fixed/fitted),
        ``source`` and ``note``.

    Notes
    -----
    A set holds natural loss at every site and, for each registered agent,
    either every parameter of that agent or none of them: it *carries* the
    agents listed in :attr:`agents`. A set without an agent's parameters
    stays valid (registering a new agent breaks no existing set); using that
    agent in a regimen with it raises a ValueError naming the agent and the
    missing keys (:meth:`require_agents`), and :meth:`with_values` adds them.
    Sets pickle (for worker processes) without being checked again.
    """

    name: str
    title: str
    description: str
    validated_range: str
    values: Mapping[str, Any]
    metadata: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("name", "title", "description", "validated_range"):
            check_text(f"parameter set {key}", getattr(self, key))
        if not isinstance(self.values, Mapping):
            raise TypeError(f"parameter set values must be a mapping of key to value, got {type(self.values).__name__}")
        if not isinstance(self.metadata, Mapping):
            raise TypeError(
                f"parameter set metadata must be a mapping of key to dict, got {type(self.metadata).__name__}"
            )
        specs = parameter_specs()
        # Natural loss is always needed; an agent's parameters all or none (none: the set does not carry it).
        needed = _component_specs(NaturalLoss.name, NaturalLoss.SPECS)
        carried = []
        for agent in AGENTS.values():
            keys = _component_specs(agent.name, agent.SPECS)
            if not keys or not keys.keys().isdisjoint(self.values):
                needed |= keys
                carried.append(agent)
        missing = sorted(set(needed) - set(self.values))
        if missing:
            raise ValueError(f"parameter set {self.name!r} lacks parameters: {', '.join(missing)}")
        unknown = sorted(map(str, set(self.values) - set(specs)))
        if unknown:
            raise ValueError(f"parameter set {self.name!r} has unknown parameters: {', '.join(unknown)}")
        checked = {k: _check_value(k, self.values[k], specs[k]) for k in sorted(self.values)}
        male = _component_specs(NATURAL_MALE, NaturalLoss.SPECS)
        if not male.keys().isdisjoint(checked):
            missing_male = sorted(set(male) - set(checked))
            if missing_male:
                raise ValueError(f"parameter set {self.name!r} lacks parameters: {', '.join(missing_male)}")
        for site in SITES:
            self._natural(checked, site)  # checks the band structure (and a slope without bands)
            if not male.keys().isdisjoint(checked):
                self._natural(checked, site, NATURAL_MALE)
        for agent in carried:
            for spec in agent.SPECS:
                if spec.optional and checked[f"{agent.name}.{spec.name}"] is None:
                    needing = [
                        k
                        for k in checked
                        if k.startswith(f"{agent.name}.") and k.endswith("early_excess_pct_per_year") and checked[k]
                    ]
                    if needing:
                        raise ValueError(
                            f"parameter {agent.name}.{spec.name} must be given because {needing[0]} is not 0"
                        )
        object.__setattr__(self, "values", MappingProxyType(checked))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def __getstate__(self) -> dict[str, Any]:
        """Plain dicts for pickling (the read-only views cannot be pickled)."""
        state = dict(self.__dict__)
        state["values"] = dict(self.values)
        state["metadata"] = {k: dict(v) for k, v in self.metadata.items()}
        return state

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Restore a pickled set as it was checked when made (not checked again against this process's agents)."""
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "values", MappingProxyType(dict(state["values"])))
        object.__setattr__(self, "metadata", MappingProxyType(dict(state["metadata"])))

    @property
    def agents(self) -> tuple[str, ...]:
        """Names of the registered agents whose parameters this set holds, in registration order."""
        return tuple(name for name in AGENTS if not self._missing(name))

    def _missing(self, agent: str) -> list[str]:
        """The keys of registered ``agent`` that this set lacks (empty if it carries the agent)."""
        return sorted(set(_component_specs(agent, AGENTS[agent].SPECS)) - set(self.values))

    def require_agents(self, agents: Iterable[str]) -> None:
        """Check that this set has the parameters of every agent in ``agents`` (e.g. those of a regimen).

        Parameters
        ----------
        agents : iterable of str
            Registered agent names (:data:`bmdsim.AGENTS`).

        Raises
        ------
        ValueError
            For the first agent whose parameters the set lacks, naming the
            agent, the set and the missing keys, and how to add them with
            :meth:`with_values`.
        """
        for agent in dict.fromkeys(agents):
            if agent not in AGENTS:
                raise ValueError(f"unknown agent {agent!r}; registered agents: {', '.join(AGENTS)}")
            missing = self._missing(agent)
            if missing:
                example = ", ".join(f"{key!r}: ..." for key in missing[:3]) + (", ..." if len(missing) > 3 else "")
                raise ValueError(
                    f"agent {agent!r} needs parameters that parameter set {self.name!r} lacks: {', '.join(missing)}. "
                    f"Add them with params.with_values({{{example}}}) (units and ranges: "
                    f"bmdsim.AGENTS[{agent!r}].SPECS), or use a set that has them"
                )

    def __getitem__(self, key: str) -> Any:
        if key not in self.values:
            close = difflib.get_close_matches(key, list(self.values), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no parameter {key!r} in set {self.name!r}{hint}")
        return self.values[key]

    @staticmethod
    def _natural(values: Mapping[str, Any], site: str, component: str = NaturalLoss.name) -> NaturalLoss:
        return NaturalLoss(
            values[f"{component}.{site}.age_edges_years"],
            values[f"{component}.{site}.rates_pct_per_year"],
            values[f"{component}.{site}.age_slope_per_year"],
            values[f"{component}.reference_age_years"],
        )

    def natural(self, site: str, sex: str = "female") -> NaturalLoss:
        """The natural-loss model of ``site`` for women (``natural.*``) or men (``natural_male.*``).

        Raises
        ------
        ValueError
            For men, if the set has no ``natural_male`` parameters.
        """
        if sex == "male":
            if f"{NATURAL_MALE}.reference_age_years" not in self.values:
                raise ValueError(
                    f"parameter set {self.name!r} has no natural loss for men ({NATURAL_MALE}.* parameters); "
                    "use a shipped set or add them with with_values"
                )
            return self._natural(self.values, site, NATURAL_MALE)
        return self._natural(self.values, site)

    def agent_values(self, agent: str, site: str) -> dict[str, Any]:
        """Parameters of ``agent`` at ``site`` keyed by their short names (site-wide ones included).

        Raises
        ------
        ValueError
            If the set lacks the agent's parameters (see :meth:`require_agents`).
        """
        self.require_agents((agent,))
        out = {}
        for spec in AGENTS[agent].SPECS:
            key = f"{agent}.{site}.{spec.name}" if spec.per_site else f"{agent}.{spec.name}"
            out[spec.name] = self.values[key]
        return out

    def used_keys(self, agents: Iterable[str], sex: str = "female") -> list[str]:
        """Keys of the values a simulation of ``agents`` for patients of ``sex`` reads, sorted.

        Natural loss (``natural.*`` for women, ``natural_male.*`` for men) and
        every parameter of each agent, except men's own values
        (``<agent>.*.male_*``) for women: what a figure's or a table's sources
        should cite.
        """
        components = {NATURAL_MALE if sex == "male" else NaturalLoss.name} | set(agents)
        out = []
        for key in sorted(self.values):
            if key.split(".", 1)[0] not in components:
                continue
            if sex != "male" and key.rsplit(".", 1)[-1].startswith("male_"):
                continue
            out.append(key)
        return out

    def with_values(self, overrides: Mapping[str, Any] | None = None, **kwargs: Any) -> ParameterSet:
        """A copy with some values replaced; the original is unchanged.

        Parameters
        ----------
        overrides : mapping, optional
            Parameter key -> new value. Keys are dotted names; see
            :attr:`values`. Keys of a registered agent the set does not carry
            yet add that agent (all of its parameters at once).

        Examples
        --------
        >>> p = load_parameters("consensus")
        >>> q = p.with_values({"aromatase_inhibitor.lumbar_spine.late_excess_pct_per_year": 2.0})
        >>> p["aromatase_inhibitor.lumbar_spine.late_excess_pct_per_year"]
        1.0
        """
        if overrides is not None and not isinstance(overrides, Mapping):
            raise TypeError(f"overrides must be a mapping of parameter key to value, got {type(overrides).__name__}")
        changes = dict(overrides or {}) | kwargs
        specs = parameter_specs()
        for key in changes:
            if key not in self.values and key not in specs:
                close = difflib.get_close_matches(str(key), sorted(set(self.values) | set(specs)), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise KeyError(f"no parameter {key!r} in set {self.name!r}{hint}")
        values = dict(self.values) | changes
        meta = {k: dict(v) for k, v in self.metadata.items()}
        for key in changes:
            unit = {"unit": specs[key].unit} if key in specs else {}
            meta[key] = unit | dict(meta.get(key, {})) | {"role": "user override", "source": "user"}
        return ParameterSet(
            name=f"{self.name} (modified)",
            title=self.title,
            description=self.description,
            validated_range=self.validated_range,
            values=values,
            metadata=meta,
        )

    def with_parameter_file(self, path: str | os.PathLike[str]) -> ParameterSet:
        """A copy with the parameters of a JSON file added or replaced: a new drug's own parameter file.

        Parameters
        ----------
        path : str or path-like
            A JSON file in the layout of ``data/parameters/*.json``:
            ``{"parameters": {key: {"value": ..., "unit": ..., "source": ..., "note": ...}}}``
            (other top-level keys are ignored). Each key is a dotted
            parameter name of a registered agent; ``unit``, if given, must
            be the unit its spec declares. At most
            :data:`bmdsim._data.MAX_DATA_FILE_BYTES` bytes.

        Returns
        -------
        ParameterSet
            As :meth:`with_values`, named ``"<set> + <file name>"``; each
            value keeps the file's ``source`` and ``note`` with the role
            ``"from file"``.

        Raises
        ------
        ValueError
            The file is missing, not a regular file, too large, not UTF-8
            JSON, or not in the layout above (naming the file, the key and
            what is allowed); and what :meth:`with_values` refuses.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or path-like naming a JSON file, got {type(path).__name__}")
        file = Path(os.fspath(path))
        label = f"parameter file {str(file)[:200]!r}"
        if not file.is_file():
            raise ValueError(f"{label} is not a regular file")
        size = file.stat().st_size
        if size > _data.MAX_DATA_FILE_BYTES:
            raise ValueError(f"{label} has {size} bytes; at most {_data.MAX_DATA_FILE_BYTES} are read")
        try:
            doc = json.loads(file.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ValueError(f"{label} is not UTF-8 JSON: {str(exc)[:200]}") from None
        entries = doc.get("parameters") if isinstance(doc, Mapping) else None
        if not isinstance(entries, Mapping) or not entries:
            raise ValueError(f'{label} must hold a non-empty "parameters" mapping of key to {{"value": ...}}')
        specs = parameter_specs()
        values, notes = {}, {}
        for key, entry in bounded_items(entries.items(), len(specs), f"{label} has more entries than parameters"):
            if not isinstance(entry, Mapping) or "value" not in entry:
                raise ValueError(f'{label}: parameters[{str(key)[:100]!r}] must be a mapping with a "value"')
            if key in specs and "unit" in entry and entry["unit"] != specs[key].unit:
                raise ValueError(
                    f"{label}: parameters[{key!r}] has unit {str(entry['unit'])[:40]!r}; its spec's unit is "
                    f"{specs[key].unit!r}"
                )
            values[key] = entry["value"]
            notes[key] = {
                k: check_text(f"{label}: parameters[{key!r}].{k}", entry[k]) for k in ("source", "note") if k in entry
            }
        try:
            out = self.with_values(values)
        except KeyError as exc:  # an unknown parameter key: the file is at fault, so a ValueError naming it
            raise ValueError(f"{label}: {exc.args[0]}") from None
        meta = {k: dict(v) for k, v in out.metadata.items()}
        for key, extra in notes.items():
            meta[key] = meta[key] | {"role": "from file", "source": f"{file.name}"} | extra
        return ParameterSet(
            name=f"{self.name} + {file.name}",
            title=out.title,
            description=out.description,
            validated_range=out.validated_range,
            values=out.values,
            metadata=meta,
        )

    def draws(self, count: int | None = None) -> tuple[ParameterSet, ...]:
        """The calibration draws of this (shipped, unmodified) set; see :func:`parameter_draws`."""
        return parameter_draws(self, count)

    def table(self) -> str:
        """A plain-text table of every value with its unit, role and source."""
        rows = [("parameter", "value", "unit", "role", "source")]
        for key in sorted(self.values):
            meta = self.metadata.get(key, {})
            value = self.values[key]
            shown = (
                "[" + ", ".join(f"{v:.4g}" for v in value) + "]"
                if isinstance(value, tuple)
                else ("null" if value is None else f"{value:.4g}")
            )
            rows.append((key, shown, meta.get("unit", ""), meta.get("role", ""), meta.get("source", "")))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)

    def to_frame(self) -> pd.DataFrame:
        """:meth:`table` as a DataFrame: one row per parameter, values unrounded.

        Returns
        -------
        pandas.DataFrame
            Columns ``parameter`` (the dotted key), ``component`` (``natural``
            or an agent), ``site`` (missing for a value shared by every site),
            ``name``, ``value`` (float; NaN for a list-valued or unset
            parameter), ``value_list`` (tuple of floats for a list-valued
            parameter such as age-band edges, else None), ``unit`` (each
            row's own unit), ``role``, ``source`` (a key of
            ``data/citations.json``) and ``note``. Rows sorted by key, as
            :meth:`table`.
        """
        keys = sorted(self.values)
        parts = [key.split(".") for key in keys]
        values = [self.values[key] for key in keys]
        meta = [self.metadata.get(key, {}) for key in keys]
        columns = {
            "parameter": keys,
            "component": [p[0] for p in parts],
            "site": [p[1] if len(p) == 3 else None for p in parts],
            "name": [p[-1] for p in parts],
            "value": np.array([v if isinstance(v, float) else np.nan for v in values], dtype=float),
            "value_list": [v if isinstance(v, tuple) else None for v in values],
            "unit": [str(m.get("unit", "")) for m in meta],
            "role": [str(m.get("role", "")) for m in meta],
            "source": [str(m.get("source", "")) for m in meta],
            "note": [str(m.get("note", "")) for m in meta],
        }
        units = {
            "parameter": "dotted key '<component>.<site>.<name>' or '<component>.<name>'",
            "component": "natural (natural loss) or an agent of bmdsim.AGENTS",
            "site": "site the value applies to (missing: every site)",
            "name": "parameter name within its component",
            "value": "in the row's unit (NaN: list-valued or unset)",
            "value_list": "tuple of numbers in the row's unit, for list-valued parameters (else None)",
            "unit": "unit of value / value_list",
            "role": "fixed (from a source), fitted or derived (bmdsim.calibration), or a user override",
            "source": "key of data/citations.json",
            "note": "how the value was read or fitted",
        }
        return tables.frame(columns, f"Parameter set {self.name!r}: {self.title}", units)

    def _repr_html_(self) -> str:
        table = self.to_frame().drop(columns=["note"])
        return tables.html(
            table,
            title=f"Parameter set {self.name!r}: {self.title} (validated: {self.validated_range})",
            max_rows=max(tables.HTML_MAX_ROWS, len(table)),
            notes=("Every value with its note: .to_frame(); as text: .table().",),
        )


def available_parameter_sets() -> tuple[str, ...]:
    """Names of the shipped parameter sets."""
    folder = _data.data_dir() / _FOLDER
    return tuple(sorted(p.stem for p in folder.glob("*.json")))


def parameter_set_from_dict(doc: Mapping[str, Any], source: str | None = None) -> ParameterSet:
    """Build a :class:`ParameterSet` from the JSON layout of ``data/parameters/*.json``.

    Parameters
    ----------
    doc : mapping
        ``name``, ``title``, ``description``, ``validated_range`` (strings)
        and ``parameters``: key -> ``{"value": ..., "unit": ..., ...}``.
    source : str, optional
        Where ``doc`` came from (a file name), for error messages.

    Raises
    ------
    bmdsim._data.DataFileError
        A :class:`ValueError` starting with ``source`` and naming the key:
        a missing key or ``"value"``, a value that is not a number (or list
        of numbers), is not finite or lies outside its
        :class:`~bmdsim.agents.ParameterSpec` range, or a missing or unknown
        parameter.
    """
    file = source or "parameter set document"
    if not isinstance(doc, Mapping):
        raise _data.DataFileError(file, f"must be an object, got {type(doc).__name__}")
    doc = dict(doc)
    entries = _data.entry(doc, ("parameters",), file, dict)
    values, metadata = {}, {}
    for key, item in entries.items():
        if not isinstance(item, dict):
            raise _data.DataFileError(file, f"parameters[{key!r}] must be an object with a 'value', got {item!r:.60}")
        if "value" not in item:
            raise _data.DataFileError(
                file, f"parameters[{key!r}] has no 'value' (it has: {', '.join(map(str, item)) or 'nothing'})"
            )
        values[key] = item["value"]
        metadata[key] = {m: v for m, v in item.items() if m != "value"}
    texts = {k: _data.text(doc, (k,), file) for k in ("name", "title", "description", "validated_range")}
    try:
        return ParameterSet(**texts, values=values, metadata=metadata)
    except (ValueError, TypeError) as exc:
        raise _data.DataFileError(file, str(exc)) from None


def load_parameters(name: str = DEFAULT_PARAMETER_SET) -> ParameterSet:
    """Load a shipped parameter set by name.

    Parameters
    ----------
    name : str
        One of :func:`available_parameter_sets` (default :data:`DEFAULT_PARAMETER_SET`, ``"trials"``).

    Returns
    -------
    ParameterSet
        A fresh, read-only object; changing a copy never changes the shipped set.

    Raises
    ------
    ValueError
        For an unknown name (listing the shipped ones), or a data file that
        is not valid (:class:`bmdsim._data.DataFileError`, naming the file and key).
    """
    check_choice("params", name, available_parameter_sets())
    relative = f"{_FOLDER}/{name}.json"
    return parameter_set_from_dict(_data.read_json(relative), source=_data.label(relative))


#: Most calibration draws a draws file may hold (100 are shipped).
MAX_DRAWS = 10_000


def _draw_sets(name: str) -> tuple[ParameterSet, ...]:
    """The draws of shipped set ``name``, read once per version of its draws file."""
    path = _data.data_dir() / _DRAWS_FOLDER / f"{name}.json"
    stat = path.stat()
    return _draw_sets_cached(name, str(path), stat.st_mtime_ns, stat.st_size)


@cache
def _draw_sets_cached(name: str, path: str, mtime_ns: int, size: int) -> tuple[ParameterSet, ...]:
    point = load_parameters(name)
    relative = f"{_DRAWS_FOLDER}/{name}.json"
    file = _data.label(relative)
    doc = _data.read_json(relative)
    given = _data.entry(doc, ("parameters",), file, dict)
    unknown = sorted(set(given) - set(point.values))
    if unknown:
        raise _data.DataFileError(file, f"names unknown parameters: {', '.join(unknown)}")
    count = _data.entry(doc, ("count",), file)
    first = _data.entry(doc, ("first",), file)
    for key, value, low in (("count", count, 1), ("first", first, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_DRAWS:
            raise _data.DataFileError(file, f"{key} must be an integer in [{low}, {MAX_DRAWS}], got {value!r}")
    for key in given:
        draws = _data.entry(doc, ("parameters", key), file, list)
        if len(draws) != count:
            raise _data.DataFileError(file, f"parameters[{key!r}] must hold count = {count} draws, got {len(draws)}")
    meta = {k: dict(v) for k, v in point.metadata.items()}
    for key in given:
        meta[key] = meta.get(key, {}) | {"role": "calibration draw", "draws_file": relative}
    out = []
    for k in range(count):
        values = dict(point.values) | {key: vals[k] for key, vals in given.items()}
        try:
            draw = ParameterSet(
                name=f"{name} draw {first + k}",
                title=point.title,
                description=point.description,
                validated_range=point.validated_range,
                values=values,
                metadata=meta,
            )
        except (ValueError, TypeError) as exc:
            raise _data.DataFileError(file, f"draw {k}: {exc}") from None
        out.append(draw)
    return tuple(out)


def parameter_draws(params: str | ParameterSet, count: int | None = None) -> tuple[ParameterSet, ...]:
    """Calibration draws of a shipped parameter set: the same set refitted to re-drawn published targets.

    Parameters
    ----------
    params : str or ParameterSet
        A shipped set, by name or as returned by :func:`load_parameters`
        (unmodified: a set changed with :meth:`ParameterSet.with_values` has no draws).
    count : int, optional
        Return the first ``count`` draws (``1 <= count <=`` the number shipped,
        100); all if None.

    Returns
    -------
    tuple of ParameterSet
        Named ``"<set> draw <k>"``. Fitted and derived values differ between
        draws; fixed values are the set's own.

    Raises
    ------
    ValueError
        For a set without shipped draws (a modified or custom set), or a bad ``count``.

    Notes
    -----
    Each draw is the set's whole staged calibration rerun on targets drawn
    from ``N(published value, SE^2)``, the SEs in
    ``data/calibration_uncertainty.json`` (reported CIs and SEs where
    published; else derived from a pooled SD and the arm sizes, some of them
    assumed). The spread covers the sampling error of the published figures,
    not the model's structure, the readings and assumptions behind the
    targets, or fixed values (e.g. the consensus rates). See
    :mod:`bmdsim.calibration`.

    Examples
    --------
    >>> draws = parameter_draws("consensus", count=3)
    >>> [d.name for d in draws]
    ['consensus draw 0', 'consensus draw 1', 'consensus draw 2']
    """
    if isinstance(params, str):
        check_choice("params", params, available_parameter_sets())
        point = load_parameters(params)
    elif isinstance(params, ParameterSet):
        point = params
    else:
        raise TypeError(f"params must be a parameter set name or a ParameterSet, got {type(params).__name__}")
    shipped = available_parameter_sets()
    if point.name not in shipped or dict(point.values) != dict(load_parameters(point.name).values):
        raise ValueError(
            f"parameter set {point.name!r} has no calibration draws: only the shipped sets "
            f"({', '.join(shipped)}) as returned by load_parameters have them. For a modified set, apply the "
            "same change to each draw of the set it came from, e.g. "
            "[d.with_values({...}) for d in bmdsim.parameter_draws('consensus')], and pass that list as "
            "simulate_cohort(..., parameter_draws=...)"
        )
    if not (_data.data_dir() / _DRAWS_FOLDER / f"{point.name}.json").is_file():
        raise ValueError(
            f"no calibration draws shipped for parameter set {point.name!r} (data/{_DRAWS_FOLDER}/{point.name}.json); "
            "write them with `python -m bmdsim.calibration --draws --write`"
        )
    draws = _draw_sets(point.name)
    if count is None:
        return draws
    if isinstance(count, bool) or not hasattr(count, "__index__"):
        raise TypeError(f"count must be an integer in [1, {len(draws)}] or None, got {count!r:.80}")
    number = operator.index(count)
    if not 1 <= number <= len(draws):
        shown = number if abs(number) < 2**63 else f"an integer of {number.bit_length()} bits"
        raise ValueError(
            f"count must be an integer in [1, {len(draws)}] (the draws shipped for {point.name!r}), got {shown}"
        )
    return draws[:number]


def resolve_parameters(params: str | ParameterSet | None) -> ParameterSet:
    """Return a :class:`ParameterSet` for a name, a set, or None (the default)."""
    if params is None:
        return load_parameters()
    if isinstance(params, ParameterSet):
        return params
    if isinstance(params, str):
        return load_parameters(params)
    raise TypeError(f"params must be a parameter set name or a ParameterSet, got {type(params).__name__}")
