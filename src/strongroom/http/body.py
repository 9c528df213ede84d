"""Bodies that may come as JSON or as an HTML form (the OAuth2 endpoints take both)."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from strongroom.errors import StrongroomError
from strongroom.http.strict_json import StrictJsonError, strict_loads

M = TypeVar("M", bound=BaseModel)
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class UnsupportedMediaType(StrongroomError):
    status = 415
    code = "unsupported_media_type"


async def parse_body(request: Request, model: type[M]) -> M:
    """Validate a JSON or form-encoded body into `model`; 422 in FastAPI's shape otherwise."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    if content_type in FORM_TYPES:
        form = await request.form()
        data = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    elif content_type in {"application/json", ""} or content_type.endswith("+json"):
        raw = await request.body()
        try:
            data = strict_loads(raw) if raw else {}
        except ValueError as exc:  # json.JSONDecodeError, StrictJsonError
            reason = exc.msg if isinstance(exc, StrictJsonError) else "malformed JSON"
            raise RequestValidationError(
                [{"loc": ("body",), "msg": reason, "type": "json_invalid"}]
            ) from None
    else:
        raise UnsupportedMediaType("send application/json or application/x-www-form-urlencoded")
    if not isinstance(data, dict):
        raise RequestValidationError(
            [
                {
                    "loc": ("body",),
                    "msg": "the body must be an object",
                    "type": "model_attributes_type",
                }
            ]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None


# Models of bodies parsed by `parse_body` (JSON or form): FastAPI does not see them as body
# parameters, so the app adds them to the OpenAPI components itself (see `document_body`).
DOCUMENTED_BODIES: dict[str, type[BaseModel]] = {}


def document_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route whose body `parse_body` reads as JSON or as a form."""
    DOCUMENTED_BODIES[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    }


def add_documented_bodies(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put the models of `document_body` routes into the OpenAPI components."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, model in DOCUMENTED_BODIES.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components.setdefault(name, schema)
    return openapi
