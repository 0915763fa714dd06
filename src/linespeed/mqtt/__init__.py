"""MQTT plumbing shared by the bridges (`linespeed.bridges`) and the simulator's publisher:
topics, broker addresses and connections, packets."""
