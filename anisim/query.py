"""A description made ready to search: its cleaned text, the mode, and the cues it gave."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from anisim.errors import RequestError
from anisim.settings import DEFAULT_MODE, MODES
from anisim.text import clean_query
from anisim.understanding import NO_CUES, NO_NAMES, Cues, Names, understand


@dataclass(frozen=True)
class Query:
    """A cleaned, non-blank text to search, a known mode, and what the description said about the
    title (no cues when it was not understood: the text as typed)."""

    text: str
    mode: str = DEFAULT_MODE
    cues: Cues = NO_CUES

    @classmethod
    def parse(cls, raw: str, mode: str = DEFAULT_MODE, names: Names = NO_NAMES, understood: bool = True) -> Query:
        """`names`: the catalog's maker names to look for (`Searcher.names`). A blank text or an
        unknown mode is a `RequestError`."""
        if mode not in MODES:
            raise RequestError(f"unknown mode; use one of: {', '.join(MODES)}")
        text = clean_query(raw, lines=understood)
        if not text:
            raise RequestError("the description is blank once markup and control characters are removed")
        if not understood:
            return cls(text, mode)
        found = understand(text, names)
        return cls(found.text, mode, found.cues)

    def with_cues(self, cues: Cues) -> Query:
        """The same query with other cues (a client removed some of them)."""
        return dataclasses.replace(self, cues=cues)

    @property
    def needs_vector(self) -> bool:
        return self.mode != "lexical"
