"""Reading `GET /metrics` the way Prometheus does: with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by (name, labels); the text must parse."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name` with exactly `labels` (0 when absent: a counter not yet moved)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def requests_total(text: str, method: str, route: str, status: str) -> float:
    return value(text, "strongroom_http_requests_total", method=method, route=route, status=status)
