"""A small typed Python client for a running anisim service (over `bentoml.SyncHTTPClient`).

    from anisim.api.client import AniSimClient
    with AniSimClient("http://127.0.0.1:3000") as client:
        page = client.search("a boy reborn as a slime in another world", kind="anime", page_size=5)
        print([r["title"] for r in page["results"]])

BentoML is imported only when a client is created. Errors raise `anisim.errors.ServiceError`.
"""

from __future__ import annotations

from typing import Any

from anisim.errors import ServiceError


class AniSimClient:
    """Calls the v1 API by name and the legacy routes by path; raises ServiceError on 4xx/5xx."""

    def __init__(self, url: str = "http://127.0.0.1:3000", timeout: float = 30) -> None:
        import bentoml
        self.http = bentoml.SyncHTTPClient(url, timeout=timeout)

    def __enter__(self) -> AniSimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise ServiceError(response.status_code, str(message))
        return response.json()

    def search(self, query: str, kind: str = "anime", page: int = 1, page_size: int = 10,
               mode: str | None = None, filters: dict[str, Any] | None = None,
               model: str | None = None) -> dict[str, Any]:
        """POST /v1/search; returns {results, page, page_size, total, has_more, model, mode, kind}."""
        optional = {"mode": mode, "filters": filters, "model": model}
        body = {"kind": kind, "query": query, "page": page, "page_size": page_size,
                **{key: value for key, value in optional.items() if value}}
        return self._call("POST", "/v1/search", json=body)

    def similar(self, item_id: int, kind: str = "anime", page: int = 1, page_size: int = 10) -> dict[str, Any]:
        """POST /v1/similar: titles nearest to one MAL id."""
        return self._call("POST", "/v1/similar", json={"kind": kind, "id": item_id, "page": page, "page_size": page_size})

    def legacy_search(self, description: str, kind: str = "anime", page: int = 1, results_per_page: int = 10,
                      model: str = "sentence-transformers/all-MiniLM-L6-v2") -> list[dict[str, Any]]:
        """POST /anisearchmodel/<kind>, exactly as the old front end does."""
        body = {"model": model, "description": description, "page": page, "resultsPerPage": results_per_page}
        return self._call("POST", f"/anisearchmodel/{kind}", json=body)

    def models(self) -> list[dict[str, Any]]:
        return self._call("GET", "/v1/models")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/v1/health")
