"""strongroom: a self-hosted secrets manager."""

__version__ = "0.1.0"
