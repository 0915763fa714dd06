"""The twin: a scenario fitted from the plant's own data, and the forecasts it answers.

- `history`: what a twin is fitted from, one line's window read from the store
  (`read_history`, `LineHistory`).
- `fit`: the fits themselves, pure numbers (`fit_learning`, `FailureFit`, `RateFit`).
- `pattern`: the stored plan as a shift pattern and a ramp (`plan_pattern`).
- `calibrate`: the fitted scenario as a commented file (`calibrate`, `Calibration`).
- `forecast`: the plant's next milestones from `whatif` runs of its twin (`twin_forecasts`).
- `errors`: `TwinInputError`.
"""
