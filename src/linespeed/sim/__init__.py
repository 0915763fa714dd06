"""The line simulator: the plant model run forward, emitting the event stream a real line does.

`sim` knows nothing of the store: it yields events, and a face decides where they go.

- `scenario`: the scenario file (docs/scenario.md): distributions, failures, shift pattern,
  ramp plan, defects, scrap, lots, supply (and the older shortages), mix, where a run
  resumes, the uncertainty of its values; `Scenario` and its parts.
- `overrides`: `--set PATH=VALUE`, one value of the scenario's YAML changed before it is
  checked (`parse_override`, `apply_overrides`, `parse_path`).
- `uncertainty`: the values a scenario knows only to within an error, drawn anew for each
  run (`drawn`).
- `production_plan`: the scenario's shift pattern and ramp as plan rows (what
  `simulate --into-db` stores and `--plan-out` writes).
- `calendar`: `WorkCalendar`, the shifts and breaks as working intervals; `merge_intervals`.
- `plan`: what the line is asked to build and how long it all takes, sampled up front from
  one seed, one stream per random process (`plan_cars`, `release_times`, `plan_downtime`).
- `supply`: the parts supply planned up front: each part's lots and when they arrive, and
  when each car's parts are on hand at the station that installs them (`plan_supply`).
- `engine`: start, completion and departure times of a serial line with buffers, computed
  directly (`line_times`, `departures`, `station_shares`); parts enter as release times.
- `run`: one run (`simulate`, `SimRun`) and where it stops (`completion_time`, `start_after`);
  when stations waited for parts (`Shortages`).
- `whatif`: many engine-only runs, independent seeds, on all cores: P10/P50/P90 of car N's
  completion or of the cars by a date, cars per week, bottleneck shares, shortage hours
  (`whatif`, `compare`).
- `emit`: the run as contract-2 events in time order (`event_lines`, an `EventStream` of
  lines in blocks; `write_lines`, counts), goods receipts and shortage stops included.
- `car_events`: a window of cars' events as JSON lines, made station by station for all the
  cars at once (`car_lines`, `RunTexts`, `CarLines`).
- `templates`: lines of constant bytes and fixed-width fields filled for many rows at once
  (`Template`, `Digits`, `Text`).
- `stamps`: ISO-8601 UTC millisecond timestamps of many moments at once (`Stamps`).
- `publish`: the stream to an MQTT broker as a line sends it (`publish_events`).
- `example`: a plain deterministic stream at takt (`example_events`) for examples and tests.
- `errors`: `SimInputError`.
"""
