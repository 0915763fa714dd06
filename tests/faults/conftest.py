"""The fault tests use the MQTT test services (tests/mqtt/conftest.py)."""

from tests.mqtt.conftest import mqtt_broker, own_broker
from tests.natsio.conftest import nats_url

__all__ = ["mqtt_broker", "nats_url", "own_broker"]
