"""Synopsis text cleaning, shared by the catalog (what is shown) and the index (what is embedded).

The old system lemmatised and stripped stop words, and then showed that text to users. Here the
cleaned text stays readable prose: only source tags, markup and placeholders go.
"""

from __future__ import annotations

import html
import re
import unicodedata

_REWRITE_TAG = re.compile(r"\[\s*Written by [^\]]*\]", re.IGNORECASE)
_SOURCE_TAG = re.compile(r"\(\s*Source\s*:[^)]*\)", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]+>")
_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\u201c])")
# Texts that stand where a synopsis is missing. Matched on the whole (short) cleaned text only, so a
# real synopsis that happens to contain "no synopsis" or "Unknown" is never blanked (the old system
# blanked any synopsis containing those words).
_PLACEHOLDER = re.compile(
    r"^(no synopsis|no description|this entry currently doesn't have a synopsis|"
    r"looking for information on the)",
    re.IGNORECASE,
)
_PLACEHOLDER_MAX_CHARS = 300


def clean_synopsis(raw: object) -> str | None:
    """Return readable synopsis prose, or None when there is no real synopsis.

    Strips `[Written by MAL Rewrite]`, `(Source: ...)`, HTML tags and entities, and collapses
    whitespace (so the same text with `\\n\\n` or double spaces collapses to one string). Case,
    punctuation and stop words are kept.
    """
    if not isinstance(raw, str):
        return None
    text = html.unescape(raw)
    text = _HTML_TAG.sub(" ", text)
    text = _REWRITE_TAG.sub(" ", text)
    text = _SOURCE_TAG.sub(" ", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        return None
    if len(text) <= _PLACEHOLDER_MAX_CHARS and _PLACEHOLDER.match(text):
        return None
    return text


def _without_invisibles(text: str) -> str:
    """Control, format (zero-width), private-use and lone surrogate characters become spaces."""
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)


def clean_query(raw: str, lines: bool = False) -> str:
    """Clean a user's query with the same rules as the corpus (minus placeholder detection), and
    drop invisible characters: a query of only `<br>` or zero-width spaces comes out empty.
    `lines`: keep its line breaks (one between non-blank lines), which query understanding reads
    as sentence ends: a forum post's title line is a sentence of its own."""
    text = _HTML_TAG.sub(" ", html.unescape(raw))
    kept = (_WHITESPACE.sub(" ", _without_invisibles(line)).strip() for line in text.splitlines())
    return ("\n" if lines else " ").join(line for line in kept if line)


def sentences(text: str) -> list[str]:
    """Split prose at sentence ends (a full stop, ! or ? before a capital or an opening quote)."""
    return _SENTENCE_END.split(text)


_SENTENCE_FINAL = (".", "!", "?", ":", "\"", "\u201d")


def without_names(text: str) -> str:
    """The dev sets' `noname` form of a text: capitalised words that do not start a sentence, and
    words with digits, removed (a description remembered without its names). Training makes
    such queries from synopsis spans, so the model learns to match a story by what happens in it."""
    kept = []
    starts_sentence = True
    for word in text.split():
        first_letter = next((c for c in word if c.isalpha()), "")
        if starts_sentence or not (first_letter.isupper() or any(c.isdigit() for c in word)):
            kept.append(word)
        starts_sentence = word.endswith(_SENTENCE_FINAL)
    return " ".join(kept)
