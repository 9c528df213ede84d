"""HTTP routes of the system domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["system"])
