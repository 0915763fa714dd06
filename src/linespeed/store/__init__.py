"""The store: one schema on SQLite and PostgreSQL, the append-only event log and its projections.

`store` knows nothing of the questions asked of it (`kpi`, `trace`, `ramp` read it).

- `schema`: the tables (SQLAlchemy Core): events, projections, master data, dead letters,
  tokens, audit, settings; `UtcDateTime`.
- `engine`: `open_store` (engine set-up, WAL on SQLite, migrations), `connect`,
  `write_transaction`, `read_connection`, `migrate`, `is_current`, `db_url_from_env`.
- `migrations`: the Alembic revisions, numbered.
- `projector`: `Projector`, which applies the state machine's changes for accepted events in
  the same transaction, in batches, with a cache of cars.
- `rebuild`: every projection again from the event log alone.
- `plants`: numbered plant revisions (`save_plant`, `load_plants`, `current_plant`,
  `plant_timezone`, `plant_summary`).
- `plant_stores`: several plants in one store, each in a schema or file of its own
  (`plant_store`, `every_plant_store`, `plant_store_for`, `list_plants`).
- `backup`: `backup_store` and `restore_store`, SQLite's online backup of every plant's file.
- `deadletters`: refused payloads with their reason (`record_rejections`, `list_dead_letters`,
  `resolve`).
- `settings`: store-wide settings (`is_simulation`, `init_simulation`, `require_simulation`).
- `writes` / `reads`: bulk writes (COPY on PostgreSQL) and raw reads for the hot paths.
- `statistics`: `refresh_statistics`, the planner's statistics kept fresh by ingest
  (PostgreSQL).
- `bodies`: the stored form of an event's JSON (`stored_body`, `canonical_body`, `ts_json`).
- `text`: `storable_text`, text every backend can keep.
"""
