"""MQTT plumbing shared by the bridge (ingest) and the publisher (simulator): topics, brokers."""
