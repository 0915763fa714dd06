"""The fault tests use the MQTT test services (tests/mqtt/conftest.py)."""

from tests.mqtt.conftest import own_broker

__all__ = ["own_broker"]
