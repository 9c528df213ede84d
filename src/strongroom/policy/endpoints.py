"""HTTP routes of the policy domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["policy"])
