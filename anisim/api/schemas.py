"""Request and response shapes on the wire, and their validation.

Legacy requests (`POST /anisearchmodel/{anime,manga}`) keep the old flat body
`{model, description, page, resultsPerPage}`; v1 requests are flat BentoML API parameters typed
here. Both are strict: `"2"` is not a page number and `true` is not a year. Every mistake becomes a
`RequestError` whose one-line message names the field, never the value sent.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, ValidationError

from anisim.errors import RequestError
from anisim.filters import Filters
from anisim.limits import (
    MAX_FILTER_VALUES,
    MAX_ID,
    MAX_LEGACY_QUERY_CHARS,
    MAX_NAME_CHARS,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    MAX_QUERY_CHARS,
    MAX_YEAR,
    MIN_ID,
    MIN_YEAR,
    Kind,
)
from anisim.settings import Mode
from anisim.understanding import CUE_NAMES, CueName

Body = TypeVar("Body", bound=BaseModel)

LegacyQueryText = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1,
                                                   max_length=MAX_LEGACY_QUERY_CHARS)]
QueryText = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1,
                                             max_length=MAX_QUERY_CHARS)]
ModelName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_NAME_CHARS)]
PageNumber = Annotated[StrictInt, Field(ge=1, le=MAX_PAGE, description="1-based page number")]
PageSize = Annotated[StrictInt, Field(ge=1, le=MAX_PAGE_SIZE, description="results per page")]
ItemId = Annotated[StrictInt, Field(ge=MIN_ID, le=MAX_ID, description="a MAL id")]
Tag = Annotated[str, StringConstraints(strict=True, max_length=MAX_NAME_CHARS)]
Year = Annotated[StrictInt, Field(ge=MIN_YEAR, le=MAX_YEAR)]


class LegacyRequest(BaseModel):
    """The old front end's body."""

    model_config = ConfigDict(strict=True, extra="ignore")

    model: ModelName
    description: LegacyQueryText
    page: PageNumber = 1
    resultsPerPage: PageSize = 10  # noqa: N815 (the old wire name)


def one_line(error: ValidationError) -> str:
    """The first validation problem as one line naming the field (never echoing the input)."""
    first = error.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(p) for p in first["loc"]) or "body"
    if first["type"] == "missing":
        return f"'{field}' is required"
    if first["type"] == "string_too_long":
        return f"'{field}' is too long (at most {first.get('ctx', {}).get('max_length')} characters)"
    if first["type"] == "string_too_short":
        return f"'{field}' must not be empty"
    return f"'{field}': {first['msg']}"


def parse_json(body: bytes) -> object:
    """Parse a JSON body, or raise RequestError (deep nesting and huge numbers included). Only
    UTF-8 without a byte-order mark (RFC 8259): `json.loads` would also take UTF-16 and a BOM, which
    BentoML's own parser then refuses with a message naming its internals."""
    if body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise RequestError("request body must be JSON in UTF-8, without a byte-order mark")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestError("request body is not valid JSON") from None
    except (RecursionError, ValueError):
        raise RequestError("request body is nested too deeply or holds a number too large") from None


def validated(model: type[Body], payload: object) -> Body:
    """`payload` as `model`, or a RequestError naming the first field that is wrong."""
    if not isinstance(payload, dict):
        raise RequestError("request body must be a JSON object")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise RequestError(one_line(error)) from None


def parse_legacy_request(body: bytes) -> LegacyRequest:
    """Parse and validate a legacy request body, or raise RequestError."""
    return validated(LegacyRequest, parse_json(body))


def _values(description: str) -> Any:
    """A filter field holding a list of names (at most MAX_FILTER_VALUES)."""
    return Field(default_factory=list, max_length=MAX_FILTER_VALUES, description=description)


class SearchFilters(BaseModel):
    """Optional v1 filters, applied before ranking. Tags match MAL genres, themes and demographics.
    The fields are `anisim.filters.Filters`' own, by name."""

    model_config = ConfigDict(extra="forbid", strict=True)

    genres: list[Tag] = _values("every one of these tags, e.g. ['Fantasy']")
    exclude_genres: list[Tag] = _values("none of these tags")
    types: list[Tag] = _values("any of these types, e.g. ['TV', 'Movie']")
    year_min: Year | None = Field(None, description="first year (titles of unknown year are left out)")
    year_max: Year | None = Field(None, description="last year")
    min_score: float | None = Field(None, ge=0, le=10, description="minimum MAL score")
    exclude_adult: StrictBool = Field(False, description="leave out titles with adult genres")
    studios: list[Tag] = _values("anime by any of these studios, e.g. ['Studio Ghibli']")
    source_material: list[Tag] = _values("anime adapted from any of these, e.g. ['Manga', 'Original']")
    authors: list[Tag] = _values("manga by any of these authors, e.g. ['Eiichiro Oda']")
    serialization: list[Tag] = _values("manga serialized in any of these magazines")

    def to_filters(self) -> Filters:
        return Filters(**{name: tuple(value) if isinstance(value, list) else value
                          for name, value in self.model_dump().items()})


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
    understood: dict | None = Field(None, description="what the search made of the description: the "
                                    "text it searched and the cues it used (types, years, names, audience, "
                                    "genres, dubbed), each a soft score term; absent for more-like-this")


class SearchRequest(BaseModel):
    """The body of `POST /v1/search`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Kind
    query: QueryText = Field(description="a description of the title (1..5000 characters: a whole post "
                                           "is fine; tags, meta-talk and sign-offs are set aside)")
    page: PageNumber = 1
    page_size: PageSize = 10
    model: ModelName | None = Field(None, description="a served model's name or alias (GET /v1/models); "
                                                      "default: the server's default model")
    mode: Mode = "hybrid"
    filters: SearchFilters = Field(default_factory=SearchFilters)
    understand: StrictBool = Field(True, description="false: search the text as typed, with no cues")
    ignore_cues: list[CueName] = Field(default_factory=list, max_length=len(CUE_NAMES),
                                       description="cues not to use, e.g. ['years'] when the era was wrong")


class SimilarRequest(BaseModel):
    """The body of `POST /v1/similar`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Kind
    id: ItemId
    page: PageNumber = 1
    page_size: PageSize = 10
    model: ModelName | None = Field(None, description="a served model (default: the server's default)")
    filters: SearchFilters = Field(default_factory=SearchFilters)


V1_BODIES: dict[str, type[BaseModel]] = {"/v1/search": SearchRequest, "/v1/similar": SimilarRequest}
