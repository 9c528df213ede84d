"""Expiry notices: signed webhooks before a secret expires and when it does."""
