"""Webhook notifications: a JSON POST when a run starts waiting for approval, fails or finishes.

Where to send (both are read, duplicates dropped):
- ``ORC_WEBHOOKS``: comma-separated URLs. ``slack+https://...`` (or any ``hooks.slack.com`` URL)
  gets the Slack shape, every other URL the generic one.
- a YAML file: ``ORC_WEBHOOKS_FILE``, else ``webhooks.yaml`` next to the store
  (``.orc/webhooks.yaml``)::

      webhooks:
        - url: https://example.com/orc-hook
          format: generic                  # or slack
          events: [waiting, failed]        # default: waiting failed succeeded cancelled budget_exceeded
          headers: {X-Hook-Token: "..."}   # sent as given, never logged
          retry: {attempts: 5, delay: 2}   # a RetryPolicy; default 4 tries, 1 s doubling, +-10 % jitter

One payload per event: ``waiting`` once per pending approval (a deferred run sends it when it
ends waiting; a live one when it has been asking for ``SETTLE`` seconds, so an approval decided at
once, by a policy or a quick click, sends nothing), and one when the run ends ``succeeded``,
``failed``, ``cancelled`` or ``budget_exceeded``. A payload holds the run, pipeline, status,
step, question and the `orc approve` / `orc resume` commands, never inputs, outputs or env values
(known credentials are masked in case a question or error quotes one).

The run never waits: the subscriber only queues facts; a daemon thread per destination builds and
POSTs them, retrying network errors, timeouts, 408, 429 and 5xx. At exit, queued payloads get
``ORC_WEBHOOK_GRACE`` seconds (default 2), then are given up with a warning. Warnings name a
destination by scheme and host only: a webhook's path often is its secret.
"""
from __future__ import annotations

import atexit
import collections
import datetime as dt
import json
import logging
import os
import threading
import time

from ..envvars import env as environ

log = logging.getLogger(__name__)

EVENTS = ("waiting", "failed", "succeeded", "cancelled", "budget_exceeded")
FORMATS = ("generic", "slack")
TIMEOUT = 5.0  # seconds per POST
DEFAULT_RETRY = {"attempts": 4, "backoff": "exponential", "delay": 1.0, "max_delay": 30.0, "jitter": 0.1}
FILE_NAME = "webhooks.yaml"
SETTLE = 1.0  # seconds a live approval must stay undecided before `waiting` is sent


class Destination:
    __slots__ = ("url", "format", "events", "headers", "retry")

    def __init__(self, url: str, format: str = "generic", events=EVENTS, headers=None, retry=None):
        from ..core.policy import RetryPolicy
        self.url, self.format, self.events = url, format, tuple(events)
        self.headers = dict(headers or {})
        self.retry = RetryPolicy.coerce(dict(DEFAULT_RETRY, **(retry or {})))

    @property
    def label(self) -> str:
        """scheme://host only: the rest of a webhook URL is often its secret."""
        from urllib.parse import urlsplit
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or '?'}"


# -- configuration ------------------------------------------------------------------------------

_config_cache: dict = {}
_warned: set = set()


def destinations(store=None) -> list[Destination]:
    """The configured webhooks (cached until ORC_WEBHOOKS or the file changes)."""
    env = environ("ORC_WEBHOOKS", "")
    path = environ("ORC_WEBHOOKS_FILE") or (
        str(store.path.parent / FILE_NAME) if store is not None and hasattr(store, "path") else None)
    try:
        mtime = os.stat(path).st_mtime_ns if path else None
    except OSError:
        mtime = None
    key = (env, path, mtime)
    cached = _config_cache.get("key")
    if cached == key:
        return _config_cache["value"]
    out: dict[str, Destination] = {}
    for i, raw in enumerate(x.strip() for x in env.split(",")):
        if raw:
            _add(out, _from_env(raw, i), "ORC_WEBHOOKS")
    if mtime is not None:
        for d in _from_file(path):
            _add(out, d, path)
    _config_cache.update(key=key, value=list(out.values()))
    return _config_cache["value"]


def _add(out: dict, d: Destination | None, where: str) -> None:
    if d is not None and d.url not in out:
        out[d.url] = d


def _from_env(raw: str, i: int) -> Destination | None:
    fmt = "generic"
    if raw.startswith("slack+"):
        fmt, raw = "slack", raw[len("slack+"):]
    url = _check_url(raw, f"ORC_WEBHOOKS entry {i + 1}")
    if url is None:
        return None
    if "hooks.slack.com" in url.split("/")[2]:
        fmt = "slack"
    return Destination(url, fmt)


def _check_url(url, where: str) -> str | None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url.split("/")) < 3:
        _warn_once(where, f"webhooks: {where} is not an http(s) URL; it is skipped "
                          "(write https://host/path, or slack+https://... for Slack)")
        return None
    return url


def _from_file(path: str) -> list[Destination]:
    import yaml
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        _warn_once(path, f"webhooks: cannot read {path}: {type(e).__name__}; no webhooks from it")
        return []
    items = data.get("webhooks") if isinstance(data, dict) else data
    if items is None:
        return []
    if not isinstance(items, list):
        _warn_once(path, f"webhooks: {path}: `webhooks` must be a list of {{url, format}}")
        return []
    out = []
    for i, item in enumerate(items):
        where = f"{path}: webhooks[{i}]"
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            _warn_once(where, f"webhooks: {where} must be a URL or a mapping with `url`")
            continue
        unknown = sorted(set(item) - {"url", "format", "events", "headers", "retry"})
        fmt, events = item.get("format", "generic"), item.get("events", list(EVENTS))
        if unknown:
            _warn_once(where, f"webhooks: {where}: unknown key '{unknown[0]}' (keys: url, format, events, "
                              "headers, retry); skipped")
        elif fmt not in FORMATS:
            _warn_once(where, f"webhooks: {where}.format: unknown format {fmt!r} (use generic or slack); skipped")
        elif not isinstance(events, list) or not set(events) <= set(EVENTS):
            _warn_once(where, f"webhooks: {where}.events: use a list of {', '.join(EVENTS)}; skipped")
        elif not isinstance(item.get("headers") or {}, dict):
            _warn_once(where, f"webhooks: {where}.headers must be a mapping; skipped")
        else:
            url = _check_url(item.get("url"), f"{where}.url")
            if url is None:
                continue
            try:
                headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
                out.append(Destination(url, fmt, events, headers, item.get("retry")))
            except Exception as e:  # a bad `retry:` (SpecError) or type
                _warn_once(where, f"webhooks: {where}.retry: {e}; skipped")
    return out


def _warn_once(key, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


# -- the run's subscriber ------------------------------------------------------------------------

def webhooks_for(ctx):
    """The subscriber for a run (None when no webhook is configured): wired in by the runner."""
    dests = destinations(ctx.store)
    return Notifier(ctx, dests) if dests else None


class Notifier:
    """Collects what a payload needs from run events; hands payloads to the sender. Cheap."""

    wants_tokens = False  # streamed tokens are not needed

    def __init__(self, ctx, dests: list[Destination]):
        self.run_id, self.dests = ctx.run_id, dests
        self.pipeline, self.source = ctx.pipeline.name, ctx.source
        self.waiting: dict[tuple, dict] = {}   # (run, step) -> the approval asking now
        self.told: set[tuple] = set()          # (run, step, round) already sent as `waiting`
        self.failed: tuple | None = None       # (run, step, error) of the last failed step
        self.decided: set[tuple] = set()       # (run, step, round) decided
        self.ended: str | None = None          # the run's final status

    def handle(self, ev) -> None:
        kind = ev.kind
        if kind == "step_finished":
            status = ev.data.get("status")
            if status == "waiting" and ev.item < 0:
                out = ev.data.get("output")
                if isinstance(out, dict) and out.get("question") is not None:
                    self.waiting[(ev.run_id, ev.step_id)] = {"run_id": ev.run_id, "step": ev.step_id,
                                                             "question": out.get("question"),
                                                             "round": out.get("round")}
            elif status == "failed":
                self.failed = (ev.run_id, ev.step_id, ev.data.get("error"))
        elif kind == "step_waiting":  # a live run asks someone now: tell them if it is not decided soon
            a = {"run_id": ev.run_id, "step": ev.step_id, "question": ev.data.get("question"),
                 "round": ev.data.get("round")}
            key = (a["run_id"], a["step"], a["round"])
            self._waiting([a], settle=lambda: key not in self.decided and self.ended in (None, "waiting"))
        elif kind == "approval":
            self.decided.add((ev.run_id, ev.step_id, ev.data.get("round")))
        elif kind == "run_finished" and ev.run_id == self.run_id:
            status = self.ended = ev.data.get("status")
            if status == "waiting":
                self._waiting(list(self.waiting.values()), ev=ev)
            elif status in EVENTS:
                facts = self._facts(status, ev)
                if self.failed is not None and status == "failed":
                    facts.update(step=self.failed[1], step_run_id=self.failed[0])
                facts["error"] = ev.data.get("error")
                _send(self.dests, facts)

    def _waiting(self, approvals: list[dict], settle=None, ev=None) -> None:
        new = [a for a in approvals if (a["run_id"], a["step"], a["round"]) not in self.told]
        if not new:
            return
        self.told.update((a["run_id"], a["step"], a["round"]) for a in new)
        facts = self._facts("waiting", ev)
        facts["approvals"] = new
        if settle is not None:  # sent after SETTLE seconds, if still undecided then
            facts["not_before"], facts["still_due"] = time.time() + SETTLE, settle
        _send(self.dests, facts)

    def _facts(self, status: str, ev) -> dict:
        d = ev.data if ev is not None else {}
        return {"status": status, "run_id": self.run_id, "pipeline": self.pipeline, "source": self.source,
                "at": time.time(), "cost_usd": d.get("cost_usd"),
                "tokens": (d.get("tokens_in") or 0) + (d.get("tokens_out") or 0) if ev is not None else None}


# -- payloads ------------------------------------------------------------------------------------

def payload(facts: dict, fmt: str) -> dict:
    """The JSON body for a destination's format (built on the sender thread, not the run's)."""
    run, status = facts["run_id"], facts["status"]
    approvals = [dict(a, approve=f"orc approve {a['run_id']} {a['step']}",
                      request_changes=f'orc approve {a["run_id"]} {a["step"]} --changes --comment "..."',
                      reject=f"orc approve {a['run_id']} {a['step']} --reject")
                 for a in facts.get("approvals", [])]
    first = approvals[0] if approvals else {}
    body = {
        "event": f"run.{status}", "status": status, "run_id": run, "pipeline": facts["pipeline"],
        "source": facts.get("source"), "step": first.get("step") or facts.get("step"),
        "question": first.get("question"),
        "command": f"{first['approve']} && orc resume {run}" if first else None,
        "resume": f"orc resume {run}" if status in ("waiting", "failed", "cancelled") else None,
        "approvals": approvals, "error": _short(facts.get("error")),
        "cost_usd": facts.get("cost_usd"), "tokens": facts.get("tokens"),
        "api": {"run": f"/orc/api/runs/{run}", "resume": f"/orc/api/runs/{run}/resume"},
        "at": _iso(facts["at"]),
    }
    return _slack(body) if fmt == "slack" else body


def _slack(b: dict) -> dict:
    head = {"waiting": f"⏸ *{b['pipeline']}* run `{b['run_id']}` is waiting for approval",
            "succeeded": f"✅ *{b['pipeline']}* run `{b['run_id']}` succeeded",
            "failed": f"❌ *{b['pipeline']}* run `{b['run_id']}` failed",
            "cancelled": f"⏹ *{b['pipeline']}* run `{b['run_id']}` was cancelled",
            "budget_exceeded": f"💸 *{b['pipeline']}* run `{b['run_id']}` stopped: budget exceeded"}[b["status"]]
    lines = [head]
    for a in b["approvals"]:
        lines.append(f"• step `{a['step']}`: {a['question']}\n  `{a['approve']} && orc resume {b['run_id']}`")
    if b["status"] == "failed":
        lines.append((f"step `{b['step']}`: " if b.get("step") else "") + (b.get("error") or ""))
    text = "\n".join(lines)
    facts = f"run `{b['run_id']}` · pipeline {b['pipeline']}" + (
        f" · ${b['cost_usd']:.4f}" if isinstance(b.get("cost_usd"), (int, float)) else "")
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
                                     {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]}]}


def _short(text, limit: int = 500):
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def encode(facts: dict, dest: Destination) -> bytes:
    from ..credentials import redact
    return redact(json.dumps(payload(facts, dest.format), ensure_ascii=False)).encode()


# -- delivery ------------------------------------------------------------------------------------

_channels: dict[str, "_Channel"] = {}
_channels_lock = threading.Lock()
_exit_hooked = False


def _send(dests: list[Destination], facts: dict) -> None:
    for d in dests:
        if facts["status"] in d.events:
            _channel(d).put(facts)


def _channel(d: Destination) -> "_Channel":
    global _exit_hooked
    with _channels_lock:
        ch = _channels.get(d.url)
        if ch is None:
            ch = _channels[d.url] = _Channel(d)
            ch.start()
            if not _exit_hooked:
                atexit.register(drain)
                _exit_hooked = True
        ch.dest = d  # the latest configuration (headers, retry) for this URL
        return ch


class _Channel(threading.Thread):
    """Delivers one destination's payloads in order, each with its retries."""

    def __init__(self, dest: Destination):
        super().__init__(name=f"orc-webhook-{dest.label}", daemon=True)
        self.dest = dest
        self.queue: collections.deque = collections.deque()
        self.cond = threading.Condition()
        self.busy = False
        self.sent = 0

    def put(self, facts: dict) -> None:
        with self.cond:
            self.queue.append(facts)
            self.cond.notify()

    def idle(self) -> bool:
        with self.cond:
            return not self.queue and not self.busy

    def run(self) -> None:
        while True:
            with self.cond:
                while not self.queue:
                    self.cond.wait()
                facts = self.queue.popleft()
                self.busy = True
            try:
                self._deliver(facts)
            except Exception as e:  # never let one payload stop the channel
                log.warning("webhook to %s: %s: %s", self.dest.label, type(e).__name__, e)
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()

    def _deliver(self, facts: dict) -> None:
        wait = facts.get("not_before", 0) - time.time()
        if wait > 0:
            time.sleep(wait)
        if facts.get("still_due") is not None and not facts["still_due"]():
            return  # decided meanwhile: nobody needs telling
        d = self.dest
        body = encode(facts, d)
        self.sent += 1
        delivery = f"{facts['run_id']}-{facts['status']}-{self.sent}"
        attempts = d.retry.attempts
        for attempt in range(1, attempts + 1):
            ok, retryable, why = _post(d, body, facts["status"], delivery)
            if ok:
                return
            if not retryable or attempt == attempts:
                log.warning("webhook to %s (%s, run %s %s) not delivered after %d tries: %s", d.label, d.format,
                            facts["run_id"], facts["status"], attempt, why)
                return
            time.sleep(d.retry.delay_before(attempt + 1))


def _post(d: Destination, body: bytes, status: str, delivery: str) -> tuple[bool, bool, str]:
    """(delivered, worth retrying, why not)."""
    import urllib.error
    import urllib.request
    from ..version import __version__
    headers = {"Content-Type": "application/json", "User-Agent": f"orchestrator-nb/{__version__}",
               "X-Orc-Event": f"run.{status}", "X-Orc-Delivery": delivery, **d.headers}
    req = urllib.request.Request(d.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            resp.read(65536)
            return True, False, ""
    except urllib.error.HTTPError as e:
        return False, e.code in (408, 425, 429) or e.code >= 500, f"HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:  # refused, unreachable, timed out
        reason = getattr(e, "reason", e)
        return False, True, f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason


def grace() -> float:
    try:
        return max(0.0, float(os.environ.get("ORC_WEBHOOK_GRACE", "2")))
    except ValueError:
        return 2.0


def drain(timeout: float | None = None) -> bool:
    """Wait (at most ``timeout``, default ORC_WEBHOOK_GRACE) for queued payloads to go out.
    Runs at exit; True if nothing is left."""
    deadline = time.monotonic() + (grace() if timeout is None else timeout)
    with _channels_lock:
        channels = list(_channels.values())
    for ch in channels:
        with ch.cond:
            while ch.queue or ch.busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ch.cond.wait(left)
    left = [ch for ch in channels if not ch.idle()]
    for ch in left:
        log.warning("webhook to %s: %d notification(s) not delivered before exit", ch.dest.label,
                    len(ch.queue) + (1 if ch.busy else 0))
    return not left
