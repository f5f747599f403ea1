"""Every error anisim raises, each with the HTTP status it is answered with.

As in BentoML's own `exceptions.py`, the status lives on the class: code raises the error that
says what went wrong, and one function (`anisim.api.responses.error_response`) turns any of them
into `{"error": message}` with that status. The message is one line, complete and safe to show to
a person (CLI) or a client (HTTP); it never holds a user's query text.

| status | error | when |
|---|---|---|
| 400 | RequestError | a malformed body, a missing, blank, too long or wrongly typed field, an unknown mode |
| 400 | ModelUnavailable | a model name that is unknown, not installed, or not served by this server |
| 404 | NotFound | an unknown route or kind, or a MAL id not in the catalog |
| 405 | MethodNotAllowed | a method the route does not answer (e.g. GET on a search route) |
| 413 | PayloadTooLarge | a request body over the size limit (`ANISIM_MAX_BODY_BYTES`) |
| 415 | UnsupportedMediaType | a body that is not JSON |
| 429 | RateLimited | over the per-client rate limit; `Retry-After` says when to retry |
| 500 | AnisimError | a bug: never a client's fault (the message names no internals) |
| 503 | NotReady | a catalog not loaded, an index not yet loaded (dense, similar), the encoder down or busy; `Retry-After` |
"""

from __future__ import annotations


class AnisimError(Exception):
    """Base class: the message is complete and safe to show as-is."""

    status: int = 500


class SourceError(AnisimError):
    """A raw source file or folder cannot be read: names the file and what is wrong."""


class IndexProblem(AnisimError):
    """An embedding index is missing, stale, mismatched or corrupt: says how to rebuild it."""


class ExportProblem(AnisimError):
    """A model's ONNX export is missing or was made from other weights: says how to rebuild it."""


class WriteFailed(AnisimError):
    """Writing a file of the home failed (a full disk, a read-only folder): names the file; the
    previous version of it is kept."""


class SyncFailed(AnisimError):
    """`anisim sync` cannot go on (the API refused, or kept failing): says what failed; what was
    fetched is kept, and the same command resumes from the checkpoint."""


class RequestError(AnisimError):
    """A client mistake in the request itself."""

    status = 400


class ModelUnavailable(RequestError):
    """A model name is unknown, known but not installed, or installed but not served here."""


class NotFound(AnisimError):
    """The thing asked for does not exist (a route, a kind, a MAL id)."""

    status = 404


class MethodNotAllowed(AnisimError):
    status = 405


class PayloadTooLarge(AnisimError):
    status = 413


class UnsupportedMediaType(AnisimError):
    status = 415


class Unavailable(AnisimError):
    """Base of the errors a client should retry later: they carry `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Unavailable):
    status = 429


class NotReady(Unavailable):
    """Something the request needs is not loaded or not answering yet."""

    status = 503


class ServiceError(AnisimError):
    """Raised by the Python client: the service answered with an error status and this message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


HTTP_ERRORS: tuple[type[AnisimError], ...] = (
    RequestError, ModelUnavailable, NotFound, MethodNotAllowed, PayloadTooLarge, UnsupportedMediaType,
    RateLimited, AnisimError, NotReady,
)
