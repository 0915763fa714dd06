"""linespeed: production tracking and ramp-up for EV assembly plants.

Packages, lowest first (a package imports only from those above it; tests/test_layering.py
keeps it so):

- `plant`: master data (the plant file) and the VIN codec.
- `events`: event types, the JSON codec, the unit state machine's rules and transitions.
- `store`: the schema on SQLite and PostgreSQL, the event log, projections, dead letters.
- `ingest`: the one ingest path every source calls, and files.
- `access`: tokens, roles, rate limits and the audit log.
- `supply`: the production plan, receipts, stock on hand, days of cover.
- `metrics`: Prometheus counts of ingest, API latency, bridges and the lines' newest cars.
- `kpi`, `trace`, `ramp`: the questions: KPIs; genealogy and recall; ramp curves, forecasts
  and milestones.
- `aftersales`: vehicles in operation, service bays and fast chargers per region.
- `live`: news since a sequence number and the line's board, for SSE, MQTT and NATS.
- `webhooks`: that news (milestones, stations down, shortages) POSTed, signed, to URLs.
- `sim`: the line simulator; it yields events and knows nothing of the store.
- `twin`: a scenario fitted from the store (work times, failures, the plan, supply), and
  the milestone forecasts it answers.
- `mqtt`: MQTT plumbing shared by bridges and the simulator's publisher.
- `natsio`: NATS JetStream plumbing (subjects, streams, leases, the publisher) for the NATS
  bridge, `nats setup` and the simulator's `--nats`.
- Faces, which hold no logic: `cli` (the `linespeed` command), `api` (HTTP and dashboard),
  `bridges` (MQTT in), and the dashboard's static files in `web`.
"""

__version__ = "0.2.0"
