"""Events of contract 2: their types, the JSON codec, and the unit state machine.

- `types`: one immutable struct per kind (`UnitStarted`, `StationCompleted`, `PartInstalled`,
  `StationState`, ...), the `Event` union, `EVENT_TYPES` and `KINDS` in contract order.
- `codec`: `decode_event` (JSON to an event, with refusals that name the field),
  `encode_event` (canonical JSON), `peek_id`, `is_event`; the bounds `EARLIEST_TS`, `LATEST_TS`.
- `reasons`: `REASONS`, the stable reason codes as records (code, stage, meaning, retryable);
  `EventRejectedError` carries one; `is_retryable`.
- `rules`: whether an event may happen: `check_event` against a car's `UnitState` and the
  plant revision's `PlantRules`; `check_channel` (topic line and token stations);
  `check_corrector` and `is_correction` (genealogy corrections need the engineer role);
  `missing_serials` (the serialized parts a car lacks);
  `id_scope` (the idempotency scope, station or line).
- `transitions`: what an accepted event does, as plain data: `StateMachine`, `Car`,
  `Changes` (new state and the rows to write); no database.
"""
