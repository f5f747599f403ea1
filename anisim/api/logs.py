"""Logs a person can read and that never carry what a user typed.

anisim's own lines log lengths, ids and error kinds, never query text. What BentoML writes
itself (the access line holds the URL path) gets its control characters escaped, so a NUL or an
escape sequence sent in a path cannot reach a terminal or a log parser raw.
"""

from __future__ import annotations

import logging


def escape_controls(text: str) -> str:
    """Control characters as Python escapes (`\\x00`); everything else as it is."""
    return "".join(c if c.isprintable() or c == " " else ascii(c)[1:-1] for c in text)


class EscapeControls(logging.Filter):
    """A logging filter that rewrites a record's message with `escape_controls`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message:
            record.msg, record.args = escaped, ()
        return True


def quiet_logs() -> None:
    """anisim at INFO (BentoML leaves other loggers at WARNING); BentoML's lines escaped."""
    logging.getLogger("anisim").setLevel(logging.INFO)
    for name in ("bentoml.access", "bentoml", "_bentoml_impl"):
        logging.getLogger(name).addFilter(EscapeControls())
