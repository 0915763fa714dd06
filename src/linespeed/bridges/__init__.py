"""Bridges: messages from a broker in, through the one ingest path, acknowledged after commit.

A bridge is a face like the API: it subscribes, batches, calls `linespeed.ingest`, publishes
what came of it, and holds no rules of its own. The wire (topics, broker addresses, packets)
is `linespeed.mqtt`, the lower-level library the simulator's publisher uses too.

- `mqtt`: `MqttBridge` (station topics in, dead letters and milestone cars out),
  `BridgeSettings`, `BridgeReport`, `DEFAULT_RECEIVE_MAXIMUM`.
- `mqtt_messages`: what one MQTT message holds: `message_events` (its events checked
  against their topic, or its refusal), `DEFAULT_MAX_PAYLOAD_BYTES`, `KEPT_BYTES`.
- `mqtt_late`: `LateDeliveries`, storing events that came before the events they follow
  once those come late (a broker delivering a killed bridge's messages again behind newer ones).
- `mqtt_milestones`: `MilestoneWatch`, the milestone cars reached since it last looked (from
  `linespeed.live.milestones`, the same payload as the SSE feed's), as `MilestoneMessage`s
  for the bridge to publish retained per line.
- `nats`: `NatsBridge` (a plant's JetStream stream, or headquarters', in through a durable
  pull consumer; acknowledged after commit, poison terminated), `NatsBridgeSettings`,
  `NatsReport`, `DEFAULT_ACK_WAIT_S`. The wire is `linespeed.natsio`.
- `nats_commits`: `Committer`, the NATS bridge's batches ingested in order in a thread of
  their own, handed back once committed (the store retried a few times when it fails).
"""
