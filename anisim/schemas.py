"""Request shapes and their validation, shared by the HTTP service and its tests.

Legacy requests (`POST /anisearchmodel/{anime,manga}`) keep the old flat body
`{model, description, page, resultsPerPage}`; everything a client can get wrong becomes a
`RequestError` with a one-line message (HTTP 400), the same on both routes. v1 requests are
pydantic models that BentoML validates and shows in its OpenAPI page.
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from anisim.config import Kind
from anisim.errors import AnisimError
from anisim.filters import Filters
from anisim.search import Mode

MAX_QUERY_CHARS = 2000
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000

QueryText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)]
PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE, description="1-based page number")]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="results per page")]


class RequestError(AnisimError):
    """A client mistake: answered with HTTP 400 and {"error": message}."""


class LegacyRequest(BaseModel):
    """The old front end's body. Strict types: "2" is not a page number."""

    model_config = ConfigDict(strict=True, extra="ignore")

    model: str
    description: QueryText
    page: PageNumber = 1
    resultsPerPage: PageSize = 10  # noqa: N815 (the old wire name)


def _one_line(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    field = ".".join(str(p) for p in first["loc"]) or "body"
    if first["type"] == "missing":
        return f"'{field}' is required"
    if first["type"] == "string_too_long":
        return f"'{field}' is too long (at most {MAX_QUERY_CHARS} characters)"
    if first["type"] == "string_too_short":
        return f"'{field}' must not be empty"
    return f"'{field}': {first['msg']}"


def parse_legacy_request(body: bytes) -> LegacyRequest:
    """Parse and validate a legacy request body, or raise RequestError."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestError("request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise RequestError("request body must be a JSON object")
    try:
        return LegacyRequest.model_validate(payload)
    except ValidationError as error:
        raise RequestError(_one_line(error)) from None


class SearchFilters(BaseModel):
    """Optional v1 filters, applied before ranking. Tags match MAL genres, themes and demographics."""

    model_config = ConfigDict(extra="forbid")

    genres: list[str] = Field(default_factory=list, description="every one of these tags, e.g. ['Fantasy']")
    exclude_genres: list[str] = Field(default_factory=list, description="none of these tags")
    types: list[str] = Field(default_factory=list, description="any of these types, e.g. ['TV', 'Movie']")
    year_min: int | None = Field(None, description="first year (titles of unknown year are left out)")
    year_max: int | None = Field(None, description="last year")
    min_score: float | None = Field(None, ge=0, le=10, description="minimum MAL score")
    exclude_adult: bool = Field(False, description="leave out titles with adult genres")

    def to_filters(self) -> Filters:
        return Filters(tuple(self.genres), tuple(self.exclude_genres), tuple(self.types),
                       self.year_min, self.year_max, self.min_score, self.exclude_adult)




class SearchResponse(BaseModel):
    """A v1 page of results."""

    kind: Kind
    model: str
    mode: Mode
    page: int
    page_size: int
    total: int = Field(description="titles that match the filters")
    has_more: bool
    results: list[dict] = Field(description="ranked titles with metadata, rank and similarity")
