"""HTTP routes of the secrets domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["secrets"])
