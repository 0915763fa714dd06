"""After-sales capacity: vehicles in operation, service bays and fast chargers per region.

- `files`: the CSV files (deliveries, regions, network), read with file:line:field errors.
- `params`: `Parameters`, the defaults in `defaults.yaml` (each with its source) and a
  parameters file.
- `plan`: `plan_aftersales`, the one query: rows per month and region, gaps, JSON.
- `store_deliveries`: monthly deliveries from the store, with a flat-rate forecast.
- `plot`: `plot_plan` (loads matplotlib).
- `errors`: `AftersalesFileError`, `AftersalesInputError`.

Nothing is imported here, so a light module does not pull in matplotlib.
"""
