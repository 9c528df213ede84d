"""`/api/v1/docs`: Swagger UI served from the package, so the page works offline and loads
nothing from another origin (the assets come from the `swagger-ui-py` wheel, Apache-2.0)."""

from __future__ import annotations

from importlib.resources import files
from typing import Literal

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse, Response

from strongroom.http.strict_json import StrictJsonRoute

DOCS = "/docs"
ASSETS = f"{DOCS}/assets"
_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# The page's one inline script starts Swagger UI; everything else is this origin's.
_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

Asset = Literal["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]


def docs_router(api_prefix: str) -> APIRouter:
    router = APIRouter(route_class=StrictJsonRoute, include_in_schema=False)
    assets = f"{api_prefix}{ASSETS}"

    @router.get(DOCS)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=f"{api_prefix}/openapi.json",
            title="strongroom API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
            oauth2_redirect_url=f"{api_prefix}{DOCS}/oauth2-redirect",
            # No badge fetched from the public validator.
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["content-security-policy"] = _CSP
        return page

    @router.get(f"{DOCS}/oauth2-redirect")
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get(f"{ASSETS}/{{name}}")
    async def swagger_ui_asset(name: Asset) -> Response:
        body = files("swagger_ui").joinpath("static", name).read_bytes()
        return Response(body, media_type=_MEDIA_TYPES[name])

    return router
