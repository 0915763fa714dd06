"""The parts supply: what is on hand, how long it lasts, and what shortages cost.

- `stock`: `stock_report`, the one query behind `linespeed stock` and `GET /api/v1/stock`:
  per part, received, consumed, adjusted and on hand, lots on hand oldest first, days of
  cover and the day it runs out; serialized pieces installed but never received;
- `demand`: `daily_demand`, the pieces of each part the plant uses per day (what days of
  cover divide by);
- `errors`: `StockInputError` (`stock.input`), a stock question that cannot be asked.

The stock ledger itself (receipts, counts, consumption) is a projection of the event log,
written at ingest (`linespeed.events.transitions`, `linespeed.store.projector`).
"""
