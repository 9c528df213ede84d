"""The page a share-once link opens, for someone without an account, and its claim."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from strongroom.http.context import get_context
from strongroom.shares import service as shares
from strongroom.ui.render import page
from strongroom.ui.routing import ServicesDep, UiRoute

router = APIRouter(route_class=UiRoute)


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64)
    proof: str = Field(max_length=64, repr=False)


@router.get("/ui/share")
async def share_page(request: Request, services: ServicesDep) -> Response:
    """The recipient's page: its script reads the link's fragment, claims and opens the value."""
    return page(request, services, "share.html", None, title="A secret shared with you")


@router.post("/ui/share/claim")
async def claim(body: ClaimRequest, request: Request, services: ServicesDep) -> Response:
    """Use the share up: `{"id", "proof"}` → `{"sealed": base64}`, once; then 404 share_gone."""
    sealed = await shares.claim_share(services, body.id, body.proof, get_context(request))
    return JSONResponse({"sealed": base64.b64encode(sealed).decode()})
