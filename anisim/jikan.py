"""A polite client of the Jikan v4 API: its documented rate limits, backoff with jitter, ETags, one clear error.

Jikan (the unofficial MyAnimeList API) allows 3 requests a second and 60 a minute; this client
never starts more in any window, retries what may pass (429, 5xx, a timeout, a dropped connection,
a body that is not JSON) with exponential backoff, jitter and `Retry-After` honoured, and
after `attempts` tries stops with one line that says what failed. It names itself in its
User-Agent and sends a stored ETag as `If-None-Match`, so an unchanged page costs Jikan nothing.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from anisim import __version__
from anisim.errors import SyncFailed


class Refused(SyncFailed):
    """The API answered a status that no retry will change (400, 404, ...)."""

USER_AGENT = f"anisim/{__version__} (catalog sync; python-httpx)"
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# A request counts in a window from the moment it is sent; the margin keeps the server's own
# clock, which sees the request a little later, from counting one too many in its window.
WINDOW_MARGIN_S = 0.05


@dataclass(frozen=True)
class Politeness:
    """How hard the client may press: Jikan's documented limits and a patient retry policy."""

    per_second: int = 3
    per_minute: int = 60
    timeout_s: float = 30.0
    attempts: int = 6
    backoff_s: float = 1.0       # the first retry waits up to this long; each next one up to twice as long
    max_backoff_s: float = 60.0


class RateLimiter:
    """Never more than `n` request starts within any `seconds`, for each (n, seconds) window."""

    def __init__(self, windows: list[tuple[int, float]], clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.windows = [(n, seconds + WINDOW_MARGIN_S) for n, seconds in windows if n > 0]
        self.clock, self.sleep = clock, sleep
        self.sent: deque[float] = deque(maxlen=max((n for n, _ in self.windows), default=1))

    def wait(self) -> None:
        """Sleep until one more request fits every window, then count it as sent."""
        while True:
            now = self.clock()
            delay = max((self.sent[-n] + seconds - now for n, seconds in self.windows if len(self.sent) >= n),
                        default=0.0)
            if delay <= 0:
                self.sent.append(now)
                return
            self.sleep(delay)


@dataclass(frozen=True)
class Reply:
    """One answered GET: the parsed body (None when the server said 304 Not Modified) and its ETag."""

    body: dict | None
    etag: str | None

    @property
    def not_modified(self) -> bool:
        return self.body is None


def retry_after_s(value: str | None) -> float | None:
    """A `Retry-After` header in seconds: a number of seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class JikanClient:
    """GETs from one Jikan v4 base URL (`ANISIM_JIKAN_URL`), within `Politeness`."""

    def __init__(self, base_url: str, politeness: Politeness = Politeness(),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.politeness = politeness
        self.sleep = sleep
        self.limiter = RateLimiter([(politeness.per_second, 1.0), (politeness.per_minute, 60.0)], sleep=sleep)
        self.http = httpx.Client(timeout=politeness.timeout_s, headers={"User-Agent": USER_AGENT,
                                                                        "Accept": "application/json"})
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: dict[str, object], etag: str | None = None) -> Reply:
        """GET `path` with `params`; a 304 for a matching `etag` is a Reply with no body.

        Raises SyncFailed when the server refuses for good (another 4xx) or after `attempts` tries."""
        where = f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
        problem = "no attempt"
        for attempt in range(self.politeness.attempts):
            if attempt:
                self.retries += 1
            self.limiter.wait()
            self.requests += 1
            wait_at_least = 0.0
            try:
                response = self.http.get(self.base_url + path, params=params,
                                         headers={"If-None-Match": etag} if etag else None)
            except httpx.TimeoutException:
                problem = f"no answer within {self.politeness.timeout_s:g} s"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code == 304 and etag:
                    return Reply(None, etag)
                if response.status_code == 200:
                    body = _json_object(response)
                    if body is not None:
                        return Reply(body, response.headers.get("ETag"))
                    problem = "a body that is not a JSON object"
                elif response.status_code in RETRIED_STATUSES:
                    problem = f"HTTP {response.status_code}"
                    wait_at_least = retry_after_s(response.headers.get("Retry-After")) or 0.0
                else:
                    raise Refused(f"GET {self.base_url}{where} answered HTTP {response.status_code}; "
                                  "check ANISIM_JIKAN_URL")
            if attempt + 1 < self.politeness.attempts:
                self.sleep(max(wait_at_least, self._backoff(attempt)))
        raise SyncFailed(f"GET {self.base_url}{where} failed {self.politeness.attempts} times (last: {problem})")

    def _backoff(self, attempt: int) -> float:
        """Jitter: a random wait between half and all of backoff_s * 2**attempt, capped, so that
        clients that failed together do not all come back together."""
        ceiling = min(self.politeness.backoff_s * 2 ** attempt, self.politeness.max_backoff_s)
        return random.uniform(ceiling / 2, ceiling)


def _json_object(response: httpx.Response) -> dict | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
