"""`calibrate`: a scenario fitted from the store, for people to review and for `whatif`.

The twin of one line, fitted from a window of its history (default: the last
`DEFAULT_DAYS` days up to the last event):

- `start_of_production`: the day the line's first car started; `resume`: the cars completed
  by the window's end, from where the twin runs (the line starts empty then).
- `shift_pattern` and `ramp`: the stored plan (`twin.pattern`).
- `cycle_time`: each station's work time and learning curve (`twin.fit.fit_learning`) from
  its visits, the time it was stopped (planned or down) while a car was in it taken out.
  Optional stations are left to the plant file: the simulator passes them by.
- `failures`: MTBF and MTTR from unplanned stops: pooled over the stations that fail alike
  (`default`), and their own for stations that fail unlike them
  (`twin.fit.estimate_failures`).
- `defects`: each check's failure rate from its inspections; `scrap`: cars scrapped of cars
  started; `mix`: models and colours of the cars started (the milestone colour left out);
  `shipping`: hours from completion to shipping.
- `supply`: each part received in the window: its supplier, lot size (the median receipt)
  and the stock on hand at the window's end; from then on it comes as the plan calls it
  off (unlimited capacity), and the comment says how long the line starved for it.
- `uncertainty`: the standard error of every fitted value that has one.

Every fitted value's comment gives its observations and fit. Too little data for a field
raises TwinInputError naming every such field and what was found.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import yaml
from sqlalchemy import Engine

from linespeed.kpi.intervals import Coverage, Floats
from linespeed.kpi.window import Window, resolve_window
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant, plant_to_yaml_dict
from linespeed.plant.model import Line, Plant
from linespeed.sim.scenario import LoadedScenario, parse_scenario
from linespeed.store.plants import current_plant
from linespeed.twin.errors import TwinInputError
from linespeed.twin.fit import (
    MIN_DAYS,
    MIN_VISITS_PER_DAY,
    FailureEstimate,
    FailureFit,
    LearningFit,
    RateFit,
    estimate_failures,
    fit_learning,
)
from linespeed.twin.history import LineHistory, StationHistory, read_history
from linespeed.twin.pattern import Pattern, plan_pattern

DEFAULT_DAYS: Final = 60
MIN_VISITS: Final = 30
_PLAIN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class Calibration:
    """A fitted scenario: its YAML (with a comment on every fitted value) and its plant."""

    history: LineHistory
    body: str
    """The scenario's YAML after the `plant:` line."""
    header: str
    plant_is_default: bool

    @property
    def plant(self) -> Plant:
        """The plant the twin runs (the store's current plant)."""
        return self.history.plant

    def text(self, plant_file: str | None = None) -> str:
        """The scenario file; `plant_file` is the plant's file, relative to the scenario."""
        plant = "" if plant_file is None else f"plant: {_scalar(plant_file)}\n"
        return self.header + plant + self.body

    def summary(self) -> dict[str, object]:
        """What was fitted, for JSON: line, window, cars completed by its end."""
        history = self.history
        return {
            "line": history.line.id,
            "since": history.window.since.isoformat(),
            "until": history.window.until.isoformat(),
            "start_of_production": history.start_of_production.isoformat(),
            "cars_completed": history.completed_before_end,
            "cars_started_in_window": history.started,
        }

    def loaded(self) -> LoadedScenario:
        """The scenario, checked as a file is, ready for `sim.whatif`."""
        return parse_scenario(self.text(), "twin", plant=self.plant)

    def write(self, path: Path) -> list[Path]:
        """Write the scenario to `path` (and, unless it is the bundled default plant, the plant
        beside it as STEM.plant.yaml); the files written.

        Raises TwinInputError (parameter `out`) if a file cannot be written.
        """
        written = [path]
        plant_file = None
        try:
            if not self.plant_is_default:
                plant_path = path.with_name(path.stem + ".plant.yaml")
                plant_path.write_text(
                    yaml.safe_dump(plant_to_yaml_dict(self.plant), sort_keys=False),
                    encoding="utf-8",
                )
                plant_file = plant_path.name
                written.append(plant_path)
            path.write_text(self.text(plant_file), encoding="utf-8")
        except OSError as error:
            reason = error.strerror or str(error)
            raise TwinInputError(
                lambda n: f"{n('out')} {path}: cannot be written: {reason}",
                parameter="out",
                value=str(path),
            ) from None
        return written


def calibrate(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    line: str | None = None,
) -> Calibration:
    """The twin of `line` (default: the plant's first) fitted from `since` to `until`.

    Left out, `until` is just after the last event and `since` DEFAULT_DAYS days before it
    (or the first event, if later). Raises TwinInputError (twin.input) for an unknown line,
    a window with no car in it, or too little data for a field (every such field named),
    KpiInputError for a bad window, StoreError without a plant.
    """
    with engine.connect() as connection:
        plant = current_plant(connection)
        chosen = _line(plant, line)
        window, _ = resolve_window(connection, plant, since, until)
        if since is None:
            window = Window(
                max(window.since, window.until - timedelta(days=DEFAULT_DAYS)), window.until
            )
        history = read_history(connection, plant, chosen, window)
    if not history.started and not any(len(s.start_s) for s in history.stations.values()):
        raise TwinInputError(
            lambda n: (
                f"no car of line {chosen.id!r} started or visited a station from "
                f"{n('since')} {window.since.isoformat()} to {n('until')} "
                f"{window.until.isoformat()}: nothing to fit"
            ),
            parameter="since",
            value=window.since,
        )
    header = _header(history)
    body = _Body(history).text()
    default = plant == load_plant(DEFAULT_PLANT_PATH)
    return Calibration(history, body, header, default)


def _line(plant: Plant, line: str | None) -> Line:
    if line is None:
        return plant.lines[0]
    if line not in plant.lines_by_id:
        known = ", ".join(plant.lines_by_id)
        raise TwinInputError(
            f"line {line!r} is not in plant {plant.plant!r} ({known})", parameter="line", value=line
        )
    return plant.lines_by_id[line]


def _header(history: LineHistory) -> str:
    window = history.window
    zone = history.plant.timezone
    return (
        f"# linespeed twin of line {history.line.id} of plant {history.plant.plant}, fitted from "
        f"{_local(window.since, zone)} to {_local(window.until, zone)}\n"
        f"# by `linespeed twin calibrate` on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC."
        " Every fitted value says what it rests on;\n"
        "# `uncertainty` holds their standard errors: each `linespeed whatif` run draws them"
        " anew.\n"
        "# Reference: docs/twin.md and docs/scenario.md.\n"
        f"scenario: twin-{history.line.id}\n"
    )


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


class _Body:
    """The scenario after its `plant:` line, built section by section."""

    def __init__(self, history: LineHistory) -> None:
        self.history = history
        self.lines: list[str] = []
        self.uncertainty: list[tuple[str, float]] = []
        self.problems: list[str] = []

    def text(self) -> str:
        history = self.history
        zone = history.plant.timezone
        self.lines += [
            f"line: {_scalar(history.line.id)}",
            "seed: 1",
            f"start_of_production: {history.start_of_production}"
            + (
                " # the plant's sop"
                if history.plant.sop is not None
                else " # the day the line's first car started"
            ),
            f"resume: {{at: {_local(history.window.until, zone)},"
            f" cars: {history.completed_before_end}}}"
            " # cars completed by the window's end: the twin runs on from there",
            "",
        ]
        self._plan()
        self._cycle_times()
        self._failures()
        self._defects()
        self._mix()
        self._shipping()
        self._supply()
        if self.problems:
            raise TwinInputError(
                "too little data to fit the twin:\n" + "\n".join(self.problems),
                parameter="since",
                value=history.window.since,
            )
        if self.uncertainty:
            self.lines.append(
                "uncertainty: # standard errors of the values above: each whatif run draws them"
            )
            self.lines += [f"  {path}: {_num(se)}" for path, se in self.uncertainty]
        return "\n".join(self.lines) + "\n"

    def _refuse(self, field: str, found: str) -> None:
        self.problems.append(f"{field}: {found}")

    def _plan(self) -> None:
        history = self.history
        pattern = plan_pattern(
            history.plan, history.plant, history.line, history.start_of_production
        )
        if pattern is None:
            self._refuse(
                "shift_pattern",
                f"no stored plan gives line {history.line.id!r} any work from "
                f"{history.start_of_production} on (import one: linespeed plan import FILE)",
            )
            return
        self.lines.append(
            f"shift_pattern: # from the stored plan, {pattern.first_day} to {pattern.last_day};"
            " after its last day its last period goes on"
        )
        for period in pattern.periods:
            shifts = ", ".join(_scalar(name) for name in period.shifts)
            weeks = f"{period.weeks} week{'s' if period.weeks != 1 else ''}"
            days = ", ".join(period.days)
            self.lines.append(
                f"  - {{from: {period.start}, shifts: [{shifts}], days: [{days}]}} # {weeks}"
            )
        for monday in pattern.shutdowns:
            self.lines.append(
                f"  # the week of {monday} plans no work: not modelled (run as the others)"
            )
        self._ramp(pattern)

    def _ramp(self, pattern: Pattern) -> None:
        self.lines.append(
            "ramp: # jobs per hour of working time: the plan's quantities over its shifts' hours"
        )
        for step in pattern.steps:
            self.lines.append(
                f"  - {{from: {step.start}, jph: {_num(step.jph, 4)}}}"
                f" # {step.days:,} days, {step.cars:,} cars in {step.hours:,.1f} h"
            )
        self.lines.append("")

    def _cycle_times(self) -> None:
        history = self.history
        sop = _midnight_s(history.start_of_production, history.plant.timezone)
        planned = _PlannedCars.of(history)
        self.lines += [
            "cycle_time: # work time per station: lognormal, slower early in the ramp (learning)",
            "  stations:",
        ]
        for station in history.line.stations:
            if station.optional:
                self.lines.append(
                    f"    # {station.id}: optional, passed by in the simulator: not fitted"
                )
                continue
            visits = history.stations[station.id]
            stopped = _stopped_s(visits)
            work = visits.complete_s - visits.start_s - stopped
            fit = (
                fit_learning(_curve_days(visits, sop, planned), work, station.cycle_s)
                if len(work) >= MIN_VISITS
                else None
            )
            if fit is None:
                if not len(work):
                    found = (
                        "no visit with a start time in the window (does the line send"
                        " station.started events?)"
                    )
                elif len(work) < MIN_VISITS:
                    found = f"{len(work):,} visits with a start time in the window"
                else:
                    found = (
                        f"{len(work):,} visits with a start time in the window, but on fewer"
                        f" than {MIN_DAYS} days with {MIN_VISITS_PER_DAY} or more"
                    )
                self._refuse(
                    f"cycle_time.stations.{station.id}",
                    f"{found}; a fit needs at least {MIN_VISITS} visits, {MIN_VISITS_PER_DAY}"
                    f" or more on each of {MIN_DAYS} days",
                )
                continue
            self._station(station.id, fit)
        self.lines.append("")

    def _station(self, station: str, fit: LearningFit) -> None:
        path = f"cycle_time.stations.{station}"
        values = f"mean_s: {_num(fit.mean_s, 4)}, cv: {_num(fit.cv, 3)}"
        if fit.start_factor > 1.0:
            values += (
                f", start_factor: {_num(fit.start_factor, 4)},"
                f" halflife_days: {_num(fit.halflife_days, 3)}"
            )
        mean = "mean_s fitted" if fit.mean_from_data else "mean_s: the plant's cycle_s"
        learning = "learning" if fit.start_factor > 1.0 else "no learning found"
        r2 = "" if math.isnan(fit.r2) else f", R² {fit.r2:.3f} of daily means"
        self.lines.append(
            f"    {_scalar(station)}: {{{values}}}"
            f" # {fit.visits:,} visits on {fit.days} days{r2}; {mean}; {learning}"
        )
        if fit.mean_from_data and fit.se_mean_s > 0:
            self.uncertainty.append((f"{path}.mean_s", fit.se_mean_s))
        if fit.start_factor > 1.0 and fit.se_start_factor > 0:
            self.uncertainty.append((f"{path}.start_factor", fit.se_start_factor))
        if fit.start_factor > 1.0 and fit.se_halflife_days > 0:
            self.uncertainty.append((f"{path}.halflife_days", fit.se_halflife_days))

    def _failures(self) -> None:
        history = self.history
        seen: dict[str, FailureFit] = {}
        for station in history.line.stations:
            if station.optional:
                continue
            found = history.stations[station.id]
            timeline = found.timeline
            spans = [
                (start, end)
                for start, end in timeline.unplanned.spans
                if history.window.since_s <= start < history.window.until_s
            ]
            repair = sum(end - start - timeline.planned.between(start, end) for start, end in spans)
            seen[station.id] = FailureFit(len(spans), found.operating_s / 3600.0, repair / 3600.0)
        line, own = estimate_failures(seen)
        if line is None:
            self.lines += ["failures: {} # no station was down in the window: no failures", ""]
            return
        pooled = line.seen
        shared = len(seen) - len(own)
        self.lines += [
            "failures: # from `down` and `changeover` states; MTBF in operating hours, MTTR in"
            " working minutes",
            f"  default: {{mtbf_h: {_num(line.mtbf_h, 4)}, mttr_min: {_num(line.mttr_min, 4)}}}"
            f" # {shared} stations that fail alike, pooled: {pooled.failures:,} failures in"
            f" {pooled.operating_h:,.0f} station-hours",
        ]
        self._failure_uncertainty("failures.default", line)
        if own:
            self.lines.append(
                "  stations: # failing unlike the others (Poisson test, p < 0.01): their own"
            )
        for name, estimate in own.items():
            fit = estimate.seen
            self.lines.append(
                f"    {_scalar(name)}: {{mtbf_h: {_num(estimate.mtbf_h, 4)},"
                f" mttr_min: {_num(estimate.mttr_min, 4)}}}"
                f" # {fit.failures:,} failures in {fit.operating_h:,.0f} h operating,"
                f" {fit.repair_h:,.1f} h down"
            )
            self._failure_uncertainty(f"failures.stations.{name}", estimate)
        self.lines.append("")

    def _failure_uncertainty(self, path: str, estimate: FailureEstimate) -> None:
        self.uncertainty.append((f"{path}.mtbf_h", estimate.se_mtbf_h))
        self.uncertainty.append((f"{path}.mttr_min", estimate.se_mttr_min))

    def _defects(self) -> None:
        history = self.history
        made = [check for station in history.line.stations for check in station.checks]
        seen = {check: history.checks.get(check, (0, 0)) for check in made}
        pooled = RateFit(sum(f for _, f in seen.values()), sum(n for n, _ in seen.values()))
        self.lines += [
            "defects: # failed checks of inspections (rework time: not fitted, the default)",
            f"  default: {{p_fail: {_num(pooled.p, 4)}}} # pooled: {pooled.hits:,} of"
            f" {pooled.total:,} inspections failed",
        ]
        if pooled.total:
            self.uncertainty.append(("defects.default.p_fail", pooled.se))
        counted = {
            check: RateFit(failed, total) for check, (total, failed) in seen.items() if total
        }
        if counted:
            self.lines.append("  checks:")
        for check, rate in counted.items():
            self.lines.append(
                f"    {_scalar(check)}: {{p_fail: {_num(rate.p, 4)}}}"
                f" # {rate.hits:,} of {rate.total:,} failed"
            )
            if rate.se > 0:
                self.uncertainty.append((f"defects.checks.{check}.p_fail", rate.se))
        scrap = RateFit(history.scrapped, history.started)
        self.lines += [
            "",
            f"scrap: {{p: {_num(scrap.p, 4)}}} # {scrap.hits:,} of {scrap.total:,} cars started"
            " were scrapped",
            "",
        ]
        if scrap.se > 0:
            self.uncertainty.append(("scrap.p", scrap.se))

    def _mix(self) -> None:
        history = self.history
        if not history.started:
            self._refuse("mix.models", "no car started in the window")
            return
        milestone = history.plant.milestones.color
        known = history.plant.models_by_id
        models = {m: n for m, n in history.models.items() if m in known}
        total = sum(models.values()) or 1
        shares = ", ".join(f"{_scalar(m)}: {_num(n / total, 4)}" for m, n in models.items())
        self.lines += [
            "mix: # of the cars started in the window (the milestone colour left out)",
            f"  models: {{{shares}}} # {total:,} cars",
            "  colors:",
        ]
        for model, colors in history.colors.items():
            if model not in known:
                continue
            kept = Counter(
                {c: n for c, n in colors.items() if c != milestone and c in known[model].colors}
            )
            if not kept:
                continue
            count = sum(kept.values())
            text = ", ".join(f"{_scalar(c)}: {_num(n / count, 4)}" for c, n in kept.items())
            self.lines.append(f"    {_scalar(model)}: {{{text}}} # {count:,} cars")
        self.lines.append("")

    def _shipping(self) -> None:
        history = self.history
        delays = history.ship_delays_h
        if not len(delays):
            self.lines += ["shipping: {delay_h: 0} # no car shipped in the window", ""]
            return
        where = history.destinations.most_common(1)[0][0] or "yard"
        self.lines += [
            f"shipping: {{delay_h: {_num(float(np.mean(delays)), 4)}, destination:"
            f" {_scalar(where)}}} # mean of {len(delays):,} cars shipped",
            "",
        ]

    def _supply(self) -> None:
        history = self.history
        parts = {bom.part for model in history.plant.models for bom in model.parts}
        received = {part: found for part, found in history.receipts.items() if part in parts}
        if not received:
            self.lines.append(
                "# supply: no goods received in the window: every part as the plan calls it off"
            )
            self.lines.append("")
            return
        self.lines += [
            "supply: # from the window's receipts; from its end on, each part comes as the plan"
            " calls it off",
            "  parts:",
        ]
        for part, found in received.items():
            supplier = found.suppliers.most_common(1)[0][0]
            lot = int(np.median(found.quantities))
            values = f"lot_size: {max(lot, 1)}, opening_stock: {max(found.on_hand, 0)}"
            if supplier and _PLAIN.fullmatch(supplier):
                values = f"supplier: {supplier}, " + values
            starved = (
                f"; stations starved for it {found.starved_h:,.1f} h: set"
                f" supply.parts.{part}.capacity if that goes on"
                if found.starved_h > 0
                else ""
            )
            self.lines.append(
                f"    {_scalar(part)}: {{{values}}} # {len(found.quantities):,} receipts,"
                f" {sum(found.quantities):,} pieces ({found.last_weeks:,} in the last 4"
                f" weeks){starved}"
            )
        self.lines.append("")


def _stopped_s(visits: StationHistory) -> Floats:
    """Per visit, the seconds its station was stopped (planned or down) while the car was in."""
    timeline = visits.timeline
    stops = Coverage(timeline.planned.spans + timeline.unplanned.spans + visits.starved.spans)
    return stops.within(visits.start_s, visits.complete_s)


@dataclass(frozen=True)
class _PlannedCars:
    """The line's planned quantities by day from start of production (days with some)."""

    offsets: Floats
    """Days after start of production."""
    quantities: Floats
    totals: Floats
    """Cumulative quantities."""

    @classmethod
    def of(cls, history: LineHistory) -> _PlannedCars | None:
        """The plan's days with cars for the line; None without any."""
        planned = sorted(
            (day, sum(row.quantity for row in plan.rows if row.line == history.line.id))
            for day, plan in history.plan.items()
            if day >= history.start_of_production
        )
        planned = [(day, quantity) for day, quantity in planned if quantity > 0]
        if not planned:
            return None
        quantities = np.array([quantity for _, quantity in planned], dtype=np.float64)
        return cls(
            np.array([(day - history.start_of_production).days for day, _ in planned], float),
            quantities,
            np.cumsum(quantities),
        )

    def curve_days(self, car_number: Floats, started: Floats) -> Floats:
        """The day the plan would have started each car number; `started` past the plan."""
        index = np.searchsorted(self.totals, car_number, side="left")
        safe = np.minimum(index, len(self.totals) - 1)
        before = np.where(safe > 0, self.totals[np.maximum(safe - 1, 0)], 0.0)
        day = self.offsets[safe] + (car_number - before) / self.quantities[safe]
        return np.where(index < len(self.totals), day, started)


def _curve_days(visits: StationHistory, sop_s: float, planned: _PlannedCars | None) -> Floats:
    """Each visit's day on the learning curve: the day the plan would have started its car
    (its number in the plan's cumulative quantities), as the simulator releases cars by the
    plan; past the plan (or without one), the day the car started the line."""
    started = (visits.car_start_s - sop_s) / 86_400.0
    return started if planned is None else planned.curve_days(visits.car_number, started)


def _midnight_s(day: date, zone: str) -> float:
    return datetime.combine(day, time(), ZoneInfo(zone)).timestamp()


def _num(value: float, digits: int = 3) -> str:
    """A number with `digits` significant digits, as YAML reads it back."""
    if value == 0 or not math.isfinite(value):
        return "0"
    text = f"{value:.{digits}g}"
    return text if "e" not in text else repr(float(text))


def _scalar(text: str) -> str:
    """`text` as a YAML scalar: plain where YAML reads it back as the same text."""
    if _PLAIN.fullmatch(text):
        try:
            if yaml.safe_load(text) == text:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text)
