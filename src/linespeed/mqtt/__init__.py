"""MQTT plumbing shared by the bridges (`linespeed.bridges`) and the simulator's publisher.

- `topics`: the topics of contract 3, built and read in one place.
- `broker`: broker addresses (`mqtt://`, `mqtts://`) and self-reconnecting connections.
- `reader`: `BufferedClient`, paho reading the socket in large chunks.
- `publisher`: `QosOnePublisher`, a pipelined QoS 1 publisher.
- `wire`: the few MQTT 5 packets the fast paths build and read themselves.
"""
