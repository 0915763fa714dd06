"""The production plan and the parts supply: what is planned, what is on hand, how long it lasts.

- `plan_file`: the plan CSV (DESIGN.md contract 2b) read and checked against the plant.
- `plan`: plan revisions stored, listed and read; the plan in force for each day.
- `stock`: `stock_report`, the one query behind `linespeed stock` and `GET /api/v1/stock`:
  per part, received, consumed, adjusted and on hand, lots on hand oldest first, days of
  cover and the day it runs out; serialized pieces installed but never received.
- `demand`: `demand_ahead`, the pieces of each part the plant will use day by day (the
  stored plan times the BOM, then the recent rate): what days of cover count down.
- `errors`: `StockInputError` (`stock.input`), a stock question that cannot be asked.

The stock ledger itself (receipts, counts, consumption) is a projection of the event log,
written at ingest (`linespeed.events.transitions`, `linespeed.store.projector`).
"""
