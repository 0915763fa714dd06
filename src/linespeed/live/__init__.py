"""Live news since a sequence number (completions, station states, milestones) for SSE, MQTT
and NATS alike, read from the event log by one shared poller."""
