"""The fault tests use the MQTT test services (tests/mqtt/conftest.py)."""

from tests.mqtt.conftest import mqtt_broker, own_broker

__all__ = ["mqtt_broker", "own_broker"]
