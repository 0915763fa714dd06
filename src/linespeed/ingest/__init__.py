"""The one ingest path every source calls, and the sources that are files.

- `core`: `Ingestor` (decode, validate, append events and projections in one transaction,
  refused events to dead letters), `RawEvent`, `Outcome`, `IngestReport`, `LiveWindow`,
  `batched`.
- `corrections`: who may correct a car's genealogy (`Corrector`, `os_user`) and the audit
  rows of accepted corrections (`correction_audit_row`, `record_corrections`).
- `files`: JSONL and CSV event files read as `RawEvent`s (`read_events`, `ingest_files`).
- `lines`: `ingest_lines`, a stream of JSON event lines from a live source (the simulator,
  a pipe).
- `retry`: `retry_dead_letters`, dead letters sent through ingest again.

The bridges (MQTT, NATS) are faces over this path and live in `linespeed.bridges`.
"""
