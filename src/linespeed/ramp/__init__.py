"""Ramp-up: cumulative curves, forecasts, reference ramps, comparisons, plots.

- `series`: `RampSeries`, `read_series_csv` (any cumulative series from a CSV).
- `plant_ramp`: the plant's own ramp, cars completed per day (plant local time), from its
  `sop`, with `cars_before` and the imported history.
- `history`: `import_history` / `parse_history`, counts per month or week from before
  linespeed (`ramp import-history`).
- `plan_ramp`: the stored plan's cumulative curve, beside the actual one.
- `curve`: the daily curve, crossings, smoothed rate.
- `forecast`: `forecast_target`, the day a target is reached, with its spread.
- `milestones`: milestone cars reached and planned (which VIN will be the Nth car).
- `references`: the shipped reference ramps; `reference_curves` for charts.
- `compare`: `compare_ramps`, the plant beside the references.
- `report`: the ramp question in one call (curve, forecasts, references).
- `plants_ramp`: several plants' ramps side by side, in days since each one's start.
- `plot`: `plot_ramps` (loads matplotlib).
- `errors`: `RampInputError`, `RampReferenceError`, `MilestoneInputError`, `RampForecastError`.

Nothing is imported here, so a light module does not pull in scipy or matplotlib.
"""
