"""NATS JetStream plumbing shared by the NATS bridge (`linespeed.bridges.nats`), `nats setup`
and the simulator's `--nats` publisher; it knows nothing of the store.

- `subjects`: the subjects, stream names and message ids of contract 3's NATS line.
- `server`: server URLs (`nats://HOST:PORT`), connecting with a bounded first attempt,
  `NatsError`.
- `streams`: a plant's stream `LS_<PLANT>` and headquarters' sourcing stream `LS_HQ`, made
  or checked (`StreamPlan`, `ensure_streams`).
- `pull`: `Puller`, batches pulled from a durable consumer at a few microseconds a message.
- `lease`: `ConsumerLease`, which of several ingest processes on one durable consumer reads
  it (the others wait as hot standbys), kept in a JetStream key-value bucket.
- `sync`: `run_sync`, the client's coroutines run from synchronous code (from a thread
  already running an event loop too).
- `publisher`: `JetStreamPublisher`, pipelined publishing with acknowledgements and message
  ids, and `publish_event_lines` for a line's JSON events.
"""
