"""Ramp-up: cumulative curves, model fits, forecasts, reference ramps, comparisons, plots.

`series` (RampSeries, read_series_csv), `curve` (daily curve, crossings, smoothed rate),
`fit` (logistic and capacity models, held-out choice), `forecast` (forecast_target),
`references` (the shipped reference ramps; `reference_curves` for charts), `compare`
(compare_ramps), `plot` (plot_ramps; loads matplotlib), `errors`. Nothing is imported here,
so a light module does not pull in scipy or matplotlib.
"""
