"""Errors that carry a one-line message meant for a person (CLI) or a client (HTTP 4xx)."""


class AnisimError(Exception):
    """Base class: the message is complete and safe to show as-is."""


class SourceError(AnisimError):
    """A raw source file or folder cannot be read: names the file and what is wrong."""


class IndexProblem(AnisimError):
    """An embedding index is missing, stale, mismatched or corrupt: says how to rebuild it."""


class ModelUnavailable(AnisimError):
    """A model name is unknown, or known but its weights are not installed."""
