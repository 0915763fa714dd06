"""Tests of the Prometheus metrics: serve's /metrics and the bridges' --metrics-port."""
