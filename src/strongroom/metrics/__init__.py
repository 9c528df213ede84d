"""Prometheus metrics: `GET /metrics` and what every layer counts (see instruments.py)."""
