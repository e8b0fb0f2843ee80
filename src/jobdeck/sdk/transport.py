"""Transports: how a batch of events reaches jobdeck (HTTP to a server, or straight into a store)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from jobdeck.version import __version__

if TYPE_CHECKING:
    import httpx2

    from jobdeck.recorder import Recorder

log = logging.getLogger("jobdeck.sdk")
EventDict = dict[str, Any]


class Unavailable(Exception):
    """The destination cannot take events now; keep them and try again later."""


class ServerError(Unavailable):
    """The destination answered with an internal error (HTTP 500).

    Either it is in trouble, or one event of the batch trips it: a batch that fails on every try would
    otherwise hold back all later events. The sender tells the two apart with `healthy()`.
    """


class Rejected(Exception):
    """The destination refused the batch; sending it again would not help.

    `per_event` says the refusal may be about some of the events only (so they are worth sending
    one by one), rather than about the destination itself (a wrong URL, a missing token).
    """

    def __init__(self, message: str, per_event: bool = True) -> None:
        super().__init__(message)
        self.per_event = per_event


class Transport(Protocol):
    """Sends one batch of events; raises Unavailable or Rejected when it cannot."""

    def send(self, events: Sequence[EventDict]) -> None: ...

    def close(self) -> None: ...


# 408 and 429 say "not now", not "never": retry those like server errors.
_RETRY_STATUSES = frozenset({408, 425, 429})
_DESTINATION_STATUSES = frozenset({401, 403, 404, 405})


class HttpTransport:
    """POSTs batches to a jobdeck server's /api/v1/events."""

    def __init__(self, url: str, token: str | None = None, client: httpx2.Client | None = None) -> None:
        import httpx2

        self.endpoint = url.rstrip("/") + "/api/v1/events"
        self.expectations_url = url.rstrip("/") + "/api/v1/expectations"
        self.health_url = url.rstrip("/") + "/api/health"
        headers = {"User-Agent": f"jobdeck-python/{__version__}", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._httpx = httpx2
        self._client = client or httpx2.Client(
            timeout=httpx2.Timeout(5.0, connect=2.0), follow_redirects=True
        )
        self._headers = headers

    def send(self, events: Sequence[EventDict]) -> None:
        body = json.dumps(list(events), separators=(",", ":"))
        stale = (self._httpx.ReadError, self._httpx.WriteError, self._httpx.RemoteProtocolError)
        for attempt in (1, 2):
            try:
                response = self._client.post(self.endpoint, content=body, headers=self._headers)
                break
            except stale as exc:
                # A kept-alive connection the server has closed (as it does after an error): once more
                # on a new one. Sending events twice is harmless: the recorder ignores repeats.
                if attempt == 2:
                    raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
            except self._httpx.HTTPError as exc:
                raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300:
            return
        detail = f"HTTP {status} from {self.endpoint}: {response.text[:500]}"
        if status == 500:
            raise ServerError(detail)
        if status >= 500 or status in _RETRY_STATUSES:
            raise Unavailable(detail)
        raise Rejected(detail, per_event=status not in _DESTINATION_STATUSES)

    def declare(self, declarations: Sequence[dict[str, Any]], source: str) -> None:
        """Declare jobs' expectations without a run (`{"job", "schedule", "timezone", "grace",
        "max_runtime"}` each); raises Unavailable or Rejected like `send`."""
        body = json.dumps({"expectations": list(declarations), "source": source}, separators=(",", ":"))
        try:
            response = self._client.post(self.expectations_url, content=body, headers=self._headers)
        except self._httpx.HTTPError as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300:
            return
        detail = f"HTTP {status} from {self.expectations_url}: {response.text[:500]}"
        if status >= 500 or status in _RETRY_STATUSES:
            raise Unavailable(detail)
        raise Rejected(detail, per_event=False)

    def healthy(self) -> bool:
        """True if the server says it and its store are fine (GET /api/health answers 200)."""
        for _ in range(2):  # a server may close the connection after an error: the second try opens anew
            try:
                return self._client.get(self.health_url, headers=self._headers).status_code == 200
            except self._httpx.HTTPError:
                continue
        return False

    def close(self) -> None:
        self._client.close()


def _declared(events: Sequence[EventDict]) -> dict[str, dict[str, Any]]:
    """The expectations the events declare by job, as the server's ingest takes them off."""
    from jobdeck.alerts import expectations

    found: dict[str, dict[str, Any]] = {}
    for event in events:
        fields = {name: event[name] for name in expectations.FIELDS if event.get(name) is not None}
        if fields and event.get("job"):
            try:
                found[str(event["job"])] = expectations.declaration(fields, str(event["job"]), "event")
            except expectations.BadExpectation as exc:
                raise Rejected(f"field '{exc.field}': {exc}") from exc
    return found


class DirectTransport:
    """Validates events and records them straight into a store; migrates the store on first use."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._recorder: Recorder | None = None

    def _open(self) -> Recorder:
        from sqlalchemy.exc import SQLAlchemyError

        from jobdeck.recorder import Recorder
        from jobdeck.store import Store

        store = Store(self.database_url)
        try:
            if not store.is_current():
                store.migrate()
        except SQLAlchemyError:
            store.close()
            raise
        except Exception as exc:
            # Most likely a newer jobdeck migrated this store already: its schema still takes events.
            log.warning("jobdeck: could not migrate the store (%s); recording into it as it is", exc)
        return Recorder(store)

    def send(self, events: Sequence[EventDict]) -> None:
        from pydantic import ValidationError
        from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

        from jobdeck.events import EventIn
        from jobdeck.recorder import MissingJob

        try:
            batch = [EventIn.model_validate(event).to_event() for event in events]
        except ValidationError as exc:
            raise Rejected(str(exc)) from exc
        declared = _declared(events)
        try:
            if self._recorder is None:
                self._recorder = self._open()
            self._recorder.record(batch)
            if declared:
                from jobdeck.store import alerts as store_alerts

                with self._recorder.store.write() as conn:
                    for row in declared.values():
                        store_alerts.set_expectation(conn, row)
        except MissingJob as exc:
            raise Rejected(str(exc)) from exc
        except (OperationalError, IntegrityError, OSError) as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise Unavailable(str(exc)) from exc
            raise Rejected(f"{type(exc).__name__}: {exc}") from exc
        except SQLAlchemyError as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc

    def declare(self, declarations: Sequence[dict[str, Any]], source: str) -> None:
        """Declare jobs' expectations without a run, straight into the store."""
        from sqlalchemy.exc import SQLAlchemyError

        from jobdeck.alerts import expectations
        from jobdeck.store import alerts as store_alerts

        rows = []
        for declared in declarations:
            fields = {name: declared[name] for name in expectations.FIELDS if declared.get(name) is not None}
            try:
                rows.append(expectations.declaration(fields, str(declared["job"]), source))
            except expectations.BadExpectation as exc:
                raise Rejected(f"job {declared.get('job')!r}: field '{exc.field}': {exc}") from exc
        try:
            if self._recorder is None:
                self._recorder = self._open()
            with self._recorder.store.write() as conn:
                for row in rows:
                    store_alerts.set_expectation(conn, row)
        except (SQLAlchemyError, OSError) as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.store.close()
            self._recorder = None
