"""Backup and restore: a consistent snapshot of the database, streamed as lines of JSON."""
