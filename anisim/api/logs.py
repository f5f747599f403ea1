"""Logs a person can read and that never carry what a user typed.

anisim's own lines log lengths, ids and error kinds, never query text. What BentoML writes
itself (the access line holds the URL path) gets its control characters escaped, so a NUL or an
escape sequence sent in a path cannot reach a terminal or a log parser raw. The MCP SDK puts what a
client sent into its messages and tracebacks (an unknown prompt's name, twice, with its newlines):
its lines keep where they come from and the kind of error, and lose the rest.
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


class WithoutClientText(logging.Handler):
    """Passes a library's records on to the root logger's handlers as "where: level (error kind)",
    without their message, arguments or traceback (any of which may hold what a client sent)."""

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        kind = f" ({type(error).__name__})" if error is not None else ""
        summary = f"{record.name}.{record.funcName}: {record.levelname.lower()}{kind}"
        logging.getLogger().handle(logging.makeLogRecord({
            **record.__dict__, "msg": summary, "args": (), "exc_info": None, "exc_text": None, "stack_info": None}))


def quiet_logs() -> None:
    """anisim at INFO (BentoML leaves other loggers at WARNING); BentoML's lines escaped; the MCP
    SDK's lines without client text (its child loggers propagate to "mcp", which stops there)."""
    logging.getLogger("anisim").setLevel(logging.INFO)
    for name in ("bentoml.access", "bentoml", "_bentoml_impl"):
        logging.getLogger(name).addFilter(EscapeControls())
    sdk = logging.getLogger("mcp")
    if not any(isinstance(h, WithoutClientText) for h in sdk.handlers):
        sdk.addHandler(WithoutClientText())
    sdk.propagate = False
