"""HTTP routes of the github domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["github"])
