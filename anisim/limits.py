"""The limits of every request, defined once: kinds, MAL ids, pages, years and text lengths.

v1's schemas, the MCP tools, the legacy routes and the OpenAPI document all read these, so the
same bad input gets the same refusal at every door.
"""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal["anime", "manga"]
KINDS: tuple[str, ...] = get_args(Kind)
MIN_ID, MAX_ID = 1, 2**31 - 1  # a MAL id: a positive 32-bit integer
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 100
# Start years a filter may name: MAL's oldest anime is from 1907, and a few titles are announced
# years ahead.
MIN_YEAR, MAX_YEAR = 1900, 2100
MAX_QUERY_CHARS = 5000  # v1 and MCP: a whole forum post ("what was that anime where ...")
MAX_LEGACY_QUERY_CHARS = 2000  # the legacy routes', as the old API had it
MAX_NAME_CHARS = 200  # a model name, a tag or a maker name
MAX_FILTER_VALUES = 50  # names in one filter list
