"""MQTT plumbing shared by the bridges (`linespeed.bridges`) and the simulator's publisher.

No MQTT library: the packets are built and read here, over sockets of our own, in MQTT 5
with a fall-back to 3.1.1 for brokers that speak only that (NATS's MQTT listener).

- `topics`: the topics of contract 3, built and read in one place.
- `broker`: broker addresses (`mqtt://`, `mqtts://`) and `BrokerError`.
- `handshake`: opening a session (TLS, CONNECT, CONNACK), falling back from MQTT 5 to 3.1.1.
- `connection`: `Connection`, a self-reconnecting subscribing and publishing client on a
  socket loop of its own, bounding its unacknowledged messages.
- `publisher`: `QosOnePublisher`, a pipelined QoS 1 publisher.
- `wire`: PUBLISH and PUBACK packets (both versions) and cutting a stream into packets.
- `control`: CONNECT, CONNACK, SUBSCRIBE and SUBACK packets (both versions).
"""
