"""The hub's sync agent: pushes the outbox to central and pulls central's change log.

Runs inside ``alegra hub run`` (or alone, ``python -m sync.cli run``) on its own connection to
the hub's SQLite file. Push: soon after new events (it watches the file's data_version) and on
a schedule; pull: on a schedule. Both with APScheduler 3 interval jobs. Every failure backs
off exponentially with full jitter, never earlier than a Retry-After. Rows are marked sent
only after central's answer; the pull cursor is saved in the same transaction as its page.
Nothing here trusts the hub's wall clock for ordering or scheduling decisions (monotonic time).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.sync import PullPage, PushAck, RecordType, software_release
from hub.domain import central_records, outbox, store
from sync.protocol.ack import central_behind, epoch_restored
from sync.protocol.backoff import backoff_delay, parse_retry_after
from sync.protocol.batching import BatchSizer, take_batch

log = logging.getLogger(__name__)
AGENT_VERSION = software_release()


SYNC_MEDIA_TYPE = "application/vnd.alegra.sync+json"
# the health backlog is counted afresh at most this often while draining (see _backlog)
BACKLOG_RECOUNT_S = 5.0
WIRE_FIELDS = ("seq", "event_id", "event_type", "aggregate_type", "aggregate_id", "created_at")


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _envelope_ok(head: dict[str, Any]) -> bool:
    # the lengths central's envelope accepts (contracts.sync.SyncEvent); written out, it runs
    # for every event of every batch
    event_id, event_type = head.get("event_id"), head.get("event_type")
    aggregate_type, aggregate_id = head.get("aggregate_type"), head.get("aggregate_id")
    return (
        type(event_id) is str
        and 0 < len(event_id) <= 64
        and type(event_type) is str
        and 0 < len(event_type) <= 80
        and type(aggregate_type) is str
        and 0 < len(aggregate_type) <= 40
        and type(aggregate_id) is str
        and 0 < len(aggregate_id) <= 80
    )


class AgentSettings(BaseSettings):
    """``ALEGRA_SYNC_*``: where central is and the device credential (or a file holding it)."""

    model_config = SettingsConfigDict(env_prefix="ALEGRA_SYNC_", extra="ignore")

    central_url: str | None = None
    device_token: SecretStr | None = None
    device_token_file: Path | None = None
    push_interval_s: float = Field(default=10.0, gt=0)
    pull_interval_s: float = Field(default=30.0, gt=0)
    batch_events: int = Field(default=1000, ge=1, le=5000)  # the most a push carries
    batch_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # what one push should take: batches shrink when pushes are slower (slow link), grow
    # back when faster (sync.protocol.batching.BatchSizer)
    push_target_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=20.0, gt=0)
    verify_tls: bool = True
    backoff_base_s: float = Field(default=1.0, gt=0)
    backoff_cap_s: float = Field(default=120.0, gt=0)

    def token(self) -> str | None:
        if self.device_token is not None:
            return self.device_token.get_secret_value()
        if self.device_token_file is not None and self.device_token_file.exists():
            return self.device_token_file.read_text().strip() or None
        return None

    @property
    def configured(self) -> bool:
        return bool(self.central_url and self.token())

    def with_enrolment(self, conn: Any) -> AgentSettings:
        """These settings, completed by what ``alegra sync enroll --db`` recorded in the hub
        file (central's URL, where the credential file is) for whatever the environment
        leaves unset: the environment wins, the hub file makes the agent and ``alegra hub
        status`` work without it."""
        state = store.sync_state(conn)
        update: dict[str, Any] = {}
        if not self.central_url and state.get(ENROLLED_URL):
            update["central_url"] = state[ENROLLED_URL]
        if (
            self.device_token is None
            and self.device_token_file is None
            and state.get(ENROLLED_TOKEN_FILE)
        ):
            update["device_token_file"] = Path(state[ENROLLED_TOKEN_FILE])
        return self.model_copy(update=update) if update else self

    def credential_source(self) -> str | None:
        """Where the credential comes from (never the credential itself)."""
        if self.device_token is not None:
            return "ALEGRA_SYNC_DEVICE_TOKEN"
        return str(self.device_token_file) if self.device_token_file is not None else None


# sync_state keys in the hub file: the enrolment (written by `alegra sync enroll --db`) and the
# configuration the agent last started with; never the credential itself
ENROLLED_URL = "enrolled_central_url"
ENROLLED_TOKEN_FILE = "enrolled_device_token_file"  # noqa: S105 - a key, not a secret
AGENT_URL = "agent_central_url"
AGENT_CREDENTIAL = "agent_credential"
AGENT_STARTED_AT = "agent_started_at"
AGENT_STOPPED_AT = "agent_stopped_at"


def record_enrolment(db_path: Path, *, central_url: str, token_file: Path) -> None:
    """Remember in the hub file where central is and where its credential is kept."""
    conn = store.open_db(db_path)
    try:
        store.write_sync_state(
            conn, **{ENROLLED_URL: central_url, ENROLLED_TOKEN_FILE: str(token_file.resolve())}
        )
    finally:
        conn.close()


@dataclass(frozen=True)
class _Encoded:
    """A push body ready to leave: for wire ``epoch`` (outbox ``base``), events up to ``last``."""

    body: bytes
    epoch: int
    base: int
    last: int
    count: int  # events in it


class RetryLater(Exception):
    def __init__(
        self, reason: str, retry_after_s: float | None = None, *, timed_out: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.timed_out = timed_out  # no answer within the timeout (a slow link, or none)


@dataclass
class _Backoff:
    base_s: float = 1.0
    cap_s: float = 120.0
    attempt: int = 0
    not_before: float = 0.0  # monotonic
    rng: random.Random = field(default_factory=random.Random)

    def ready(self) -> bool:
        return time.monotonic() >= self.not_before

    def failed(self, retry_after_s: float | None) -> float:
        self.attempt += 1
        delay = backoff_delay(
            self.attempt,
            base_s=self.base_s,
            cap_s=self.cap_s,
            retry_after_s=retry_after_s,
            rng=self.rng,
        )
        self.not_before = time.monotonic() + delay
        return delay

    def succeeded(self) -> None:
        self.attempt = 0
        self.not_before = 0.0


class SyncAgent:
    def __init__(
        self,
        db_path: Path,
        *,
        central_url: str,
        token: str,
        batch_events: int = 1000,
        batch_bytes: int = 2 * 1024 * 1024,
        push_target_s: float = 5.0,
        pull_limit: int = 500,
        push_interval_s: float = 10.0,
        pull_interval_s: float = 30.0,
        timeout_s: float = 20.0,
        verify_tls: bool = True,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 120.0,
        window: int = 2,
        client: httpx.Client | None = None,
        credential_source: str | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.central_url = central_url
        self.credential_source = credential_source
        self.conn = store.open_db(self.db_path)
        # the batch size follows the time pushes take, up to batch_events
        self._sizer = BatchSizer(ceiling=batch_events, target_s=push_target_s)
        self._sizer_lock = threading.Lock()  # answers are read on the push threads
        self.batch_bytes = batch_bytes
        self.pull_limit = pull_limit
        self.push_interval_s = push_interval_s
        self.pull_interval_s = pull_interval_s
        self._client = client or httpx.Client(
            base_url=central_url.rstrip("/"), timeout=timeout_s, verify=verify_tls
        )
        # a media type of its own: batches are checked event by event at central (a NUL in one
        # event dead-letters that event), not refused whole by the generic JSON body filter
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": SYNC_MEDIA_TYPE}
        self._force_stub = False
        self._strict = False
        # (monotonic time, count, oldest, sent_through, last seq) of the last backlog count
        self._backlog_cache: tuple[float, int, str | None, int, int] | None = None
        self.window = max(1, window)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # one push or pull at a time in this agent
        # one run of each job at a time; a run due while one is going returns at once (the
        # running push picks up whatever was committed meanwhile): see start()
        self._running = {"push": threading.Lock(), "pull": threading.Lock()}
        self._push_backoff = _Backoff(backoff_base_s, backoff_cap_s)
        self._pull_backoff = _Backoff(backoff_base_s, backoff_cap_s)
        self._stop = threading.Event()
        self._scheduler: Any = None
        self._watcher: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls, db_path: Path, settings: AgentSettings | None = None
    ) -> SyncAgent | None:
        settings = settings or AgentSettings()
        conn = store.open_db(db_path)
        try:
            settings = settings.with_enrolment(conn)
        finally:
            conn.close()
        token = settings.token()
        if not settings.central_url or not token:
            return None
        return cls(
            db_path,
            central_url=settings.central_url,
            token=token,
            credential_source=settings.credential_source(),
            batch_events=settings.batch_events,
            batch_bytes=settings.batch_bytes,
            push_target_s=settings.push_target_s,
            push_interval_s=settings.push_interval_s,
            pull_interval_s=settings.pull_interval_s,
            timeout_s=settings.timeout_s,
            verify_tls=settings.verify_tls,
            backoff_base_s=settings.backoff_base_s,
            backoff_cap_s=settings.backoff_cap_s,
        )

    # ------------------------------------------------------------------ push

    def push_once(self) -> int:
        """Send every pending event (or one heartbeat when there is none). Returns the number
        of events central acknowledged. Raises RetryLater when central cannot be reached.

        Up to ``window`` batches are in flight (their answers still gate what is marked sent;
        central's contiguous acknowledgement makes their order irrelevant). While the oldest
        answer is awaited, the next batch is already read and encoded, and it leaves as soon as
        that answer arrives, before the answer is settled: central is never left waiting for
        the hub's bookkeeping."""
        with self._lock:
            total = 0
            heartbeat_sent = False
            # (answer, epoch, base, lone request, acknowledged position when sent)
            inflight: deque[tuple[Future, int, int, bool, int]] = deque()
            after = 0  # wire seq already dispatched in this round
            ready: _Encoded | None = None  # the next batch, encoded ahead of its turn

            def fill(epoch: int, base: int) -> None:
                nonlocal after, ready
                while len(inflight) < self.window:
                    if ready is not None and (ready.epoch, ready.base) != (epoch, base):
                        ready = None
                    if ready is None:
                        ready = self._encode_next(epoch, base, after)
                    if ready is None:
                        return
                    body, last, count, ready = ready.body, ready.last, ready.count, None
                    known = outbox.sent_through(self.conn)
                    answer = self._send_async(body, count)
                    inflight.append((answer, epoch, base, not inflight, known))
                    after = last

            try:
                while not self._stop.is_set():
                    epoch, base = outbox.wire_position(self.conn)
                    fill(epoch, base)
                    if not inflight:
                        if heartbeat_sent:
                            break
                        body = self._body(epoch, [], dispatched=0)
                        known = outbox.sent_through(self.conn)
                        inflight.append((self._send_async(body, 0), epoch, base, True, known))
                    if ready is None and len(inflight) >= self.window:
                        ready = self._encode_next(epoch, base, after)
                    future, sent_epoch, sent_base, alone, known = inflight.popleft()
                    ack = self._interpret(future.result(), sent_epoch)
                    heartbeat_sent = True
                    if ack is None:  # new epoch or smaller batches: start the round again
                        self._drain(inflight)
                        after, ready = 0, None
                        continue
                    if ready is not None:  # the next batch leaves before this answer settles
                        fill(epoch, base)
                    # an answer to a request sent while another was in flight may predate that
                    # one's effects: only answers to lone requests can reveal central behind
                    acked, moved = self._settle(
                        sent_epoch, sent_base, ack, may_rewind=alone, sent_when_asked=known
                    )
                    total += acked
                    if moved:  # rewound or new epoch: what is in flight is stale
                        self._drain(inflight)
                        after, ready = 0, None
            finally:
                self._drain(inflight)
            store.write_sync_state(self.conn, last_push_ok_at=store.now_iso(), last_error="")
            return total

    def _encode_next(self, epoch: int, base: int, after: int) -> _Encoded | None:
        """The request body of the pending events after wire seq ``after`` (None: none)."""
        size = self.batch_events
        events = outbox.pending_events(self.conn, size, after_wire=after)
        if not events:
            return None
        batch, oversized = take_batch(events, max_events=size, max_bytes=self.batch_bytes)
        stub_all, self._force_stub = self._force_stub, False
        wire = [self._wire(e, stub=stub_all or e in oversized) for e in batch]
        last = batch[-1]["seq"]
        return _Encoded(self._body(epoch, wire, dispatched=last), epoch, base, last, len(batch))

    @property
    def batch_events(self) -> int:
        """How many events the next push carries at most (follows the link: BatchSizer)."""
        with self._sizer_lock:
            return self._sizer.events

    def _send_async(self, body: bytes, count: int) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.window, thread_name_prefix="sync-push")
        return self._pool.submit(self._push, body, count)

    def _push(self, body: bytes, count: int) -> httpx.Response:
        """One push request of ``count`` events; the time its answer took sizes the next."""
        started = time.monotonic()
        try:
            response = self._request("POST", "/api/v1/sync/push", content=body)
        except RetryLater as exc:
            if exc.timed_out:
                with self._sizer_lock:
                    size = self._sizer.timed_out(sent=count)
                log.info("sync push of %s events timed out; next at most %s", count, size)
            raise
        if response.status_code < 300:
            elapsed = time.monotonic() - started
            with self._sizer_lock:
                before = self._sizer.events
                size = self._sizer.took(sent=count, elapsed_s=elapsed)
            if size != before:
                log.info(
                    "sync push of %s events took %.1f s; batches now at most %s",
                    count,
                    elapsed,
                    size,
                )
        return response

    @staticmethod
    def _drain(inflight: deque) -> None:
        while inflight:
            future = inflight.popleft()[0]
            try:
                future.result()
            except Exception:  # noqa: BLE001, S110 - its rows stay unsent and go again
                pass

    def _wire(self, event: dict[str, Any], *, stub: bool) -> str:
        """One event as JSON text. The payload is spliced in as stored (no parse, no re-encode)
        unless a previous batch was refused as malformed (``_strict``): then each payload is
        parsed, and one that cannot be is sent as a stub that central dead-letters, so a
        corrupt row never blocks the rest."""
        head = {
            "seq": event["seq"],
            "event_id": event["event_id"],
            "event_type": event["event_type"],
            "aggregate_type": event["aggregate_type"],
            "aggregate_id": event["aggregate_id"],
            "created_at": event["created_at"],
        }  # WIRE_FIELDS, written out
        text = event["payload_json"]
        if not stub and _envelope_ok(head) and text.startswith("{"):
            if not self._strict:  # orjson: the head of thousands of events per batch
                return orjson.dumps(head).decode()[:-1] + ',"payload":' + text + "}"
            try:
                payload = json.loads(text)
                if isinstance(payload, dict):
                    return _dump({**head, "payload": payload})
            except ValueError:
                pass
        return _dump(
            {
                "seq": head["seq"],
                "event_id": str(head["event_id"])[:64],
                "event_type": (str(head.get("event_type")) or "unknown")[:80],
                "aggregate_type": (str(head.get("aggregate_type")) or "unknown")[:40],
                "aggregate_id": (str(head.get("aggregate_id")) or "?")[:80],
                "created_at": head["created_at"],
                "payload": None,
                "oversized": True,
            }
        )

    def _backlog(self) -> tuple[int, str | None]:
        """``outbox.backlog`` (a count over the unsent rows: ~50 ms for a 50,000-event
        backlog) at most every ``BACKLOG_RECOUNT_S`` while draining; in between, moved by what
        was acknowledged and what was added since, which is exact under contiguous
        acknowledgement (the oldest pending time may lag by that interval)."""
        sent, last, now = (
            outbox.sent_through(self.conn),
            outbox.last_seq(self.conn),
            time.monotonic(),
        )
        cached = self._backlog_cache
        if cached is not None and now - cached[0] < BACKLOG_RECOUNT_S and sent >= cached[3]:
            count = max(0, cached[1] - (sent - cached[3]) + (last - cached[4]))
            return count, cached[2] if count else None
        count, oldest = outbox.backlog(self.conn)
        self._backlog_cache = (now, count, oldest, sent, last)
        return count, oldest

    def _health(self, dispatched: int) -> dict[str, Any]:
        # the backlog once what is in flight is accepted, so central's figure reaches 0
        count, oldest = self._backlog()
        _, base = outbox.wire_position(self.conn)
        in_flight = max(0, dispatched - (outbox.sent_through(self.conn) - base))
        count = max(0, count - in_flight)
        if count == 0:
            oldest = None
        state = store.sync_state(self.conn)
        return {
            "backlog": count,
            "oldest_pending_at": oldest,
            "hub_time": store.now_iso(),
            "agent_version": AGENT_VERSION,
            "last_pull_cursor": state.get("pull_cursor") or None,
        }

    def _body(self, epoch: int, wire: list[str], *, dispatched: int) -> bytes:
        meta = store.hub_meta(self.conn)
        return (
            '{"v":1,"sede_id":'
            + _dump(meta["sede_id"])
            + ',"hub_epoch":'
            + str(int(epoch))
            + ',"events":['
            + ",".join(wire)
            + '],"health":'
            + _dump(self._health(dispatched))
            + "}"
        ).encode()

    def _interpret(self, response: httpx.Response, epoch: int) -> PushAck | None:
        if response.status_code == 422 and not self._strict:
            self._strict = True  # a malformed stored payload: resend parsing each one
            return None
        self._strict = False
        if response.status_code == 409:
            detail = _json(response)
            if detail.get("code") == "epoch_conflict":
                new_epoch = outbox.open_new_epoch(self.conn, left_epoch=epoch)
                log.warning("hub restored from a backup: new sync epoch %s", new_epoch)
                return None
        if response.status_code == 413:  # split: halve, down to one event sent as a stub
            with self._sizer_lock:
                size = self._sizer.events
                if size > 1:
                    self._sizer.too_large(sent=size)
            if size > 1:
                self.batch_bytes = max(1024, self.batch_bytes // 2)
            else:
                self._force_stub = True
            return None
        _raise_for_status(response)
        try:
            return PushAck.model_validate_json(response.content)
        except ValidationError as exc:
            raise RetryLater(f"respuesta ilegible de la central: {exc.errors()[:1]}") from None

    def _settle(
        self,
        epoch: int,
        base: int,
        ack: PushAck,
        *,
        may_rewind: bool = True,
        sent_when_asked: int | None = None,
    ) -> tuple[int, bool]:
        """Act on an answer: (rows newly marked sent, whether the position moved away)."""
        local_last = outbox.last_seq(self.conn) - base
        # compare with what was acknowledged when the request left: another agent of this hub
        # may have advanced it since, from a later answer
        local_sent = (
            outbox.sent_through(self.conn) if sent_when_asked is None else sent_when_asked
        ) - base
        if epoch_restored(held_through=ack.held_through, local_last_seq=local_last):
            new_epoch = outbox.open_new_epoch(self.conn, left_epoch=epoch)
            log.warning(
                "central holds more of epoch %s than this hub: new epoch %s", epoch, new_epoch
            )
            return 0, True
        if may_rewind and central_behind(
            held_through=ack.held_through, local_sent_through=local_sent
        ):
            count = outbox.rewind(self.conn, wire_epoch=epoch, held_through=ack.held_through)
            log.warning("central is behind (restored?): %s events will be sent again", count)
            return 0, True
        marked = outbox.acknowledge(self.conn, wire_epoch=epoch, held_through=ack.held_through)
        return marked, False

    # ------------------------------------------------------------------ pull

    def pull_once(self) -> int:
        """Apply every pending page of central's change log. Returns the changes applied."""
        with self._lock:
            applied = 0
            while not self._stop.is_set():
                cursor = store.sync_state(self.conn).get("pull_cursor", "")
                response = self._request(
                    "GET",
                    "/api/v1/sync/pull",
                    params={"cursor": cursor, "limit": self.pull_limit},
                )
                _raise_for_status(response)
                try:
                    page = PullPage.model_validate_json(response.content)
                except ValidationError:
                    raise RetryLater("página incompleta o ilegible de la central") from None
                if not central_records.apply_page(
                    self.conn,
                    sent_cursor=cursor,
                    changes=page.changes,
                    next_cursor=page.next_cursor,
                    has_more=page.has_more,
                    reset=page.reset,
                ):
                    continue  # another agent moved the cursor: read from where it is now
                applied += len(page.changes)
                if not page.has_more:
                    break
            return applied

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, headers=self._headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise RetryLater(
                f"la central no respondió a tiempo ({type(exc).__name__})", timed_out=True
            ) from None
        except httpx.HTTPError as exc:
            raise RetryLater(f"sin conexión con la central ({type(exc).__name__})") from None

    # ------------------------------------------------------------------ scheduling

    def sync_once(self) -> tuple[int, int]:
        return self.push_once(), self.pull_once()

    def _guarded(self, name: str, backoff: _Backoff, job: Any) -> None:
        if self._stop.is_set() or not backoff.ready():
            return
        running = self._running[name]
        if not running.acquire(blocking=False):
            return  # the run in progress drains what this one would have sent
        try:
            job()
        except RetryLater as exc:
            delay = backoff.failed(exc.retry_after_s)
            self._record_error(f"{name}: {exc.reason}")
            log.info("sync %s failed (%s); retry in %.1f s", name, exc.reason, delay)
        except Exception as exc:  # keep the agent alive; the error is visible in status
            delay = backoff.failed(None)
            self._record_error(f"{name}: {type(exc).__name__}: {exc}")
            log.exception("sync %s crashed; retry in %.1f s", name, delay)
        else:
            backoff.succeeded()
        finally:
            running.release()

    def _record_error(self, message: str) -> None:
        try:
            store.write_sync_state(
                self.conn, last_error=message[:300], last_error_at=store.now_iso()
            )
        except Exception:  # noqa: BLE001 - status bookkeeping must not mask the real failure
            log.exception("could not record the sync error")

    def push_job(self) -> None:
        self._guarded("push", self._push_backoff, self.push_once)

    def pull_job(self) -> None:
        def pull_and_save() -> None:
            self.pull_once()

        self._guarded("pull", self._pull_backoff, pull_and_save)

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        # what this agent runs with, for `alegra hub status` from a shell without ALEGRA_SYNC_*
        store.write_sync_state(
            self.conn,
            **{
                AGENT_URL: self.central_url,
                AGENT_CREDENTIAL: self.credential_source or "",
                AGENT_STARTED_AT: store.now_iso(),
                AGENT_STOPPED_AT: "",
            },
        )
        _quiet_skipped_runs()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        now = datetime.now(UTC)
        self._scheduler.add_job(
            self.push_job,
            "interval",
            seconds=self.push_interval_s,
            id="push",
            next_run_time=now,
            # not 1: a run falling due while a slow push is still going (every interval, and
            # at each commit the watcher sees) would make APScheduler warn "maximum number of
            # running instances reached" each time; the extra instances return at once
            # instead (_guarded), silently
            max_instances=RUNS_AT_ONCE,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.add_job(
            self.pull_job,
            "interval",
            seconds=self.pull_interval_s,
            id="pull",
            next_run_time=now,
            max_instances=RUNS_AT_ONCE,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()
        self._watcher = threading.Thread(target=self._watch, name="sync-watch", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        """Push soon after new events: SQLite's data_version changes when another connection
        commits to the file, which costs nothing to poll."""
        watch = store.connect(self.db_path)
        try:
            last = watch.execute("PRAGMA data_version").fetchone()[0]
            while not self._stop.wait(0.1):
                current = watch.execute("PRAGMA data_version").fetchone()[0]
                if current != last and self._push_backoff.ready():
                    if self._running["push"].locked():
                        continue  # the running push reads the new events itself
                    last = current
                    job = self._scheduler.get_job("push") if self._scheduler else None
                    if job is not None:
                        job.modify(next_run_time=datetime.now(UTC))
        finally:
            watch.close()

    def stop(self) -> None:
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
        if self._watcher is not None:
            self._watcher.join(timeout=2)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._scheduler is not None:  # started: say it stopped
            try:
                store.write_sync_state(self.conn, **{AGENT_STOPPED_AT: store.now_iso()})
            except Exception:  # noqa: BLE001 - status bookkeeping must not block the stop
                log.warning("could not record the sync agent's stop", exc_info=True)
        self._client.close()
        self.conn.close()


#: Runs of one job APScheduler may start at once: one does the work, the others (due while
#: it is slow) return at once. Above 2 so a busy machine that starts the no-op runs late does
#: not reach the limit either.
RUNS_AT_ONCE = 5


class _SkippedRunFilter(logging.Filter):
    """Drops APScheduler's "maximum number of running instances reached": with the agent's own
    one-run-at-a-time guard a skipped run is routine, not worth a WARNING each second."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def _quiet_skipped_runs() -> None:
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkippedRunFilter) for f in scheduler_log.filters):
        scheduler_log.addFilter(_SkippedRunFilter())


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _raise_for_status(response: httpx.Response) -> None:
    code = response.status_code
    if code < 400:
        return
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    detail = _json(response)
    message = detail.get("message") or detail.get("detail") or response.reason_phrase
    if code in (401, 403):
        raise RetryLater(f"credencial rechazada por la central ({code}: {message})", 300.0)
    raise RetryLater(f"la central respondió {code}: {message}", retry_after)


def status(db_path: Path) -> dict[str, Any]:
    """What ``alegra hub status`` shows about sync: backlog, last success, last error."""
    conn = store.open_db(db_path)
    try:
        count, oldest = outbox.backlog(conn)
        state = store.sync_state(conn)
        epoch, base = outbox.wire_position(conn)
        settings = AgentSettings().with_enrolment(conn)
        config = conn.execute(
            "SELECT revision FROM synced_records WHERE record_type = ? AND deleted = 0",
            (RecordType.SEDE_CONFIG,),
        ).fetchone()
        # the agent runs as a service with its own environment: what this shell lacks, the
        # hub file holds (the enrolment, and what the agent last started with)
        agent_url = state.get(AGENT_URL) or None
        credential = settings.credential_source() or state.get(AGENT_CREDENTIAL) or None
        has_credential = settings.device_token is not None or (
            settings.device_token_file is not None and settings.device_token_file.exists()
        )
        configured = bool(settings.central_url and has_credential) or bool(agent_url)
        return {
            "configured": configured,
            "central_url": settings.central_url or agent_url,
            "credential": credential,
            "agent_started_at": state.get(AGENT_STARTED_AT) or None,
            "agent_stopped_at": state.get(AGENT_STOPPED_AT) or None,
            "backlog": count,
            "oldest_pending_at": oldest,
            "wire_epoch": epoch,
            "last_push_ok_at": state.get("last_push_ok_at") or None,
            "last_pull_ok_at": state.get("last_pull_ok_at") or None,
            "last_error": state.get("last_error") or None,
            "last_error_at": state.get("last_error_at") or None,
            # central's configuration is the one in effect once pulled (docs/sync.md)
            "sede_config_revision": int(config[0]) if config else None,
        }
    finally:
        conn.close()
