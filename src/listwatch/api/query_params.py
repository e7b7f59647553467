"""A route's query parameters read as one pydantic model, for routes on the hot path.

FastAPI checks each declared query parameter with generic per-field code (its annotation is
inspected again on every request): about 15-20 µs a parameter, 0.2 ms for `/match`'s eleven,
more than a tenth of the server's time per request under load (docs/api.md, Load bench). A
route that declares its parameters as a model instead reads them in one validation:

    MATCH_PARAMS = QueryModel(MatchParams)

    @router.post("/match/{dataset}", openapi_extra=MATCH_PARAMS.openapi)
    async def match(params: Annotated[MatchParams, Depends(MATCH_PARAMS)]) -> ...

FastAPI's own query-parameter models (`Annotated[Model, Query()]`) go through the same per-field
code before validating the model: measured no faster.

The OpenAPI document lists the same parameters (names, constraints, defaults, descriptions, from
the model's JSON schema), and bad values are the same 422 errors (`RequestValidationError`,
located at `query.<name>`). As in FastAPI, a list field takes every value of a repeated
parameter, any other field the last one, and unknown parameters are ignored.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

__all__ = ["QueryModel"]

Params = TypeVar("Params", bound=BaseModel)


class QueryModel(Generic[Params]):
    """A dependency that reads a request's query string into `model`, and its OpenAPI parameters."""

    def __init__(self, model: type[Params]) -> None:
        self.model = model
        self._lists = frozenset(
            field.alias or name
            for name, field in model.model_fields.items()
            if get_origin(field.annotation) is list
        )
        self.openapi: dict[str, Any] = {"parameters": _parameters(model)}

    async def __call__(self, request: Request) -> Params:
        query = request.query_params
        lists = self._lists
        data = {key: query.getlist(key) if key in lists else query[key] for key in query}
        try:
            return self.model.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
            ) from None


def _parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI parameter objects (`in: query`) for the fields of `model`, as FastAPI writes them."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema["properties"].items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        if field_schema.get("deprecated"):
            parameter["deprecated"] = True
        parameter["schema"] = field_schema
        parameters.append(parameter)
    return parameters
