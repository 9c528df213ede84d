"""The interface's route class and dependencies: who is calling, CSRF, and one place that turns
errors into pages and puts the cookies a request earned on its response."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, Response

from strongroom.auth.principal import Principal
from strongroom.errors import Forbidden, OAuthError, StrongroomError
from strongroom.http.context import get_context
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.policy.rules import ADMIN, SYSTEM_READERS
from strongroom.services import Services, get_services
from strongroom.ui.render import page, redirect
from strongroom.ui.security import check_csrf, remember_csrf
from strongroom.ui.session import browser_principal, forget_tokens, store_tokens

ServicesDep = Annotated[Services, Depends(get_services)]


class LoginRequired(Exception):
    """No live browser session: off to the login page, and back here afterwards."""


class SealedRedirect(Exception):
    """The node is sealed: the only page that helps is the seal page."""


def _wants_json(request: Request) -> bool:
    """The scripts' requests (JSON in or out) get JSON errors; pages get an error page."""
    return "application/json" in request.headers.get("accept", "") or request.headers.get(
        "content-type", ""
    ).startswith("application/json")


def _error_response(request: Request, exc: StrongroomError) -> Response:
    get_context(request).error_code = exc.code
    if _wants_json(request):
        return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=exc.status)
    services = request.app.state.holder.services
    principal = get_context(request).principal
    return page(
        request,
        services,
        "error.html",
        principal,
        status=exc.status,
        title="Error",
        error=exc.detail,
        code=exc.code,
    )


def _validation_response(request: Request, exc: RequestValidationError) -> Response:
    messages = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
    error = StrongroomError("; ".join(messages) or "invalid request", code="validation_error")
    error.status = 422
    return _error_response(request, error)


def _finish(request: Request, response: Response) -> None:
    renewed = getattr(request.state, "renewed", None)
    if renewed is not None:
        store_tokens(response, renewed)
    if getattr(request.state, "logged_out", None):
        forget_tokens(response)
    remember_csrf(request, response)


class UiRoute(StrictJsonRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = redirect(f"/ui/login?next={quote(target, safe='')}")
                if request.cookies.get("__Host-strongroom-session"):
                    request.state.logged_out = True
            except SealedRedirect:
                response = redirect("/ui/seal")
            except StrongroomError as exc:
                response = _error_response(request, exc)
            except OAuthError as exc:
                error = StrongroomError(exc.description, code=exc.error)
                error.status = exc.status
                response = _error_response(request, error)
            except RequestValidationError as exc:
                response = _validation_response(request, exc)
            _finish(request, response)
            return response

        return handler


async def csrf_dependency(request: Request) -> None:
    await check_csrf(request)


async def optional_user(request: Request, services: ServicesDep) -> Principal | None:
    return await browser_principal(services, request)


async def current_user(request: Request, services: ServicesDep) -> Principal:
    if services.barrier.sealed and not request.url.path.startswith("/ui/seal"):
        raise SealedRedirect()
    principal = await browser_principal(services, request)
    if principal is None:
        raise LoginRequired()
    return principal


async def system_reader(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
    if principal.role not in SYSTEM_READERS:
        raise Forbidden("this page is for admins and auditors")
    return principal


async def admin_user(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
    if principal.role != ADMIN:
        raise Forbidden("this page is for admins")
    return principal


async def form_of(request: Request) -> dict[str, str]:
    """The submitted form's text fields (CSRF was checked by the router)."""
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


async def form_lists(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


UiUser = Annotated[Principal, Depends(current_user)]
UiOptionalUser = Annotated[Principal | None, Depends(optional_user)]
UiReader = Annotated[Principal, Depends(system_reader)]
UiAdmin = Annotated[Principal, Depends(admin_user)]
Extra = dict[str, Any]
