"""A scripted OpenAI-compatible server on 127.0.0.1 for tests and benchmarks.

It answers ``POST /v1/chat/completions`` and ``POST /v1/completions`` (non-streaming) from a
*script*, so a test knows exactly what every request gets back, and it counts every request it
received so a test can assert "the re-run sent only the unfinished requests". It is a stdlib
``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive) running in a background
thread of the test process: concurrency is real, and a client in a subprocess can use it too.

Quick use (the ``scripted_openai`` fixture starts servers and stops them at teardown)::

    def test_retry(scripted_openai):
        server = scripted_openai({"2+2?": [Reply.rate_limited(0.05), "4"]}, latency=0.01)
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        ...
        assert server.count("2+2?") == 2

Outside pytest: ``with ScriptedOpenAIServer(script) as server: ...``.

**The script** decides each answer from a :class:`ScriptedRequest` (its ``key`` is the completion
``prompt``, or in chat mode the last message's ``content``):

* ``None`` (default): echo -- every choice is ``"echo: " + key``;
* a mapping ``key -> answer``; a key that is missing gets ``default`` (itself an answer or a
  callable), else a 404 naming the key;
* a callable ``f(request) -> answer``.

An *answer* is a ``str`` (the text of every choice, ``finish_reason="stop"``), a :class:`Reply`,
or a list of answers: the i-th request with that key gets item i, the last item repeats -- e.g.
``[Reply.rate_limited(0.1), Reply.server_error(), "ok"]`` answers 429, then 500, then ``ok``.

:class:`Reply` fields: ``text`` (a ``str`` for every choice, or one ``str`` per choice),
``finish_reason`` (``"stop"``, ``"length"``, ...), ``status`` (HTTP status; not 200 sends an
OpenAI-style error body with ``message``), ``headers`` (e.g. ``{"Retry-After": "1"}``), ``body``
(raw bytes sent as-is with status 200 -- malformed JSON), ``disconnect`` (close the connection
without answering), ``latency`` (overrides the server's), ``system_fingerprint``, and
``prompt_tokens`` / ``completion_tokens`` (override the counts). Constructors:
``Reply.rate_limited(retry_after=..., retry_after_ms=...)``, ``Reply.server_error(status=500)``,
``Reply.malformed()``, ``Reply.truncated(text)``, ``Reply.dropped()``, ``Reply.error(status, msg)``.

**Server behaviour, as a real endpoint would:**

* ``stop`` strings in the request cut the text at the first one (``finish_reason`` ``stop``);
* ``max_tokens`` (also ``max_completion_tokens``) cuts the text after that many tokens with
  ``finish_reason="length"`` (``enforce_max_tokens=False`` turns it off);
* tokens are whitespace-separated words (``count_tokens``): ``usage.prompt_tokens`` counts the
  prompt (chat: every message's content), ``completion_tokens`` the returned texts;
* ``n`` choices per request; ``system_fingerprint`` is ``"fp_scripted"`` unless the reply says;
* ``latency`` (seconds, or a callable of the request) is slept before answering, inside the
  ``capacity`` bound: with ``capacity=C`` at most C requests are being answered at once and the
  rest wait their turn, so the server's throughput is at most C / latency;
* ``stream: true`` is refused with 400 (streaming is not scripted); ``GET /v1/models`` lists
  ``models``; ``GET /health`` answers 200.

**What a test can read** (thread-safe): ``requests`` (every :class:`ScriptedRequest`, in arrival
order; ``.key``, ``.body``, ``.path``, ``.headers``, ``.attempt`` (1 for the first with its key),
``.received_at``), ``count(key=None)`` (requests with that key, or all), ``counts()`` (a
``Counter`` by key), ``keys()`` (keys in arrival order), ``max_in_flight`` (the most requests
being answered at once), ``reset()`` (forget what was received; attempts restart at 1), and
``base_url`` (``http://127.0.0.1:<port>/v1``). ``script``, ``latency`` and ``default`` may be
reassigned while the server runs.

**In another process** (a benchmark that must not share the GIL with its server):
``python -m tests.support.scripted_openai_remote --latency 0.2 --capacity 16`` serves the echo
script and prints its ``base_url`` as the first line of stdout;
``scripted_openai_remote.RemoteScriptedServer`` starts it and asks the server what it received: ``GET /scripted/requests`` (``key``, ``path``, ``attempt``,
``received_at`` of each, on the server's clock), ``GET /scripted/stats`` (``count``,
``max_in_flight``), ``POST /scripted/reset``.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

__all__ = ["Reply", "ScriptedOpenAIServer", "ScriptedRequest", "count_tokens", "scripted_openai"]

_TOKEN = re.compile(r"\S+\s*")


def count_tokens(text: str) -> int:
    """The server's token count: whitespace-separated words."""
    return len(text.split())


@dataclass(frozen=True)
class Reply:
    """One scripted answer (see the module docstring)."""

    text: str | Sequence[str] = ""
    finish_reason: str = "stop"
    status: int = 200
    message: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    disconnect: bool = False
    latency: float | None = None
    system_fingerprint: str | None = "fp_scripted"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @classmethod
    def rate_limited(cls, retry_after: float | None = None,
                     retry_after_ms: float | None = None) -> "Reply":
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = f"{retry_after_ms:g}"
        return cls(status=429, message="Rate limit reached (scripted)", headers=headers)

    @classmethod
    def server_error(cls, status: int = 500) -> "Reply":
        return cls(status=status, message="The server had an error (scripted)")

    @classmethod
    def error(cls, status: int, message: str) -> "Reply":
        return cls(status=status, message=message)

    @classmethod
    def malformed(cls) -> "Reply":
        return cls(body=b'{"id": "cmpl-scripted", "choices": [{"index": 0, "text": "tru')

    @classmethod
    def truncated(cls, text: str) -> "Reply":
        return cls(text=text, finish_reason="length")

    @classmethod
    def dropped(cls) -> "Reply":
        return cls(disconnect=True)


Answer = Union[str, Reply, Sequence[Union[str, Reply]]]
Script = Union[None, Mapping[str, Answer], Callable[["ScriptedRequest"], Answer]]


@dataclass(frozen=True)
class ScriptedRequest:
    """One request the server received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    attempt: int  # 1 for the first request with this key, 2 for the second, ...
    received_at: float  # time.monotonic() on arrival

    @property
    def mode(self) -> str:
        return "chat" if self.path.endswith("/chat/completions") else "completion"

    @property
    def key(self) -> str:
        return request_key(self.path, self.body)

    @property
    def n(self) -> int:
        return int(self.body.get("n") or 1)


def request_key(path: str, body: Mapping[str, Any]) -> str:
    """The prompt (completion) or the last message's content (chat)."""
    if path.endswith("/chat/completions"):
        messages = body.get("messages") or [{}]
        content = messages[-1].get("content", "")
        return content if isinstance(content, str) else json.dumps(content, sort_keys=True)
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else json.dumps(prompt)


def _prompt_text(path: str, body: Mapping[str, Any]) -> str:
    if path.endswith("/chat/completions"):
        return " ".join(str(m.get("content", "")) for m in body.get("messages") or [])
    return str(body.get("prompt", ""))


class ScriptedOpenAIServer:
    """The server (see the module docstring). ``start()``/``stop()`` or use it as a context
    manager."""

    def __init__(self, script: Script = None, *, latency: float | Callable[[ScriptedRequest], float] = 0.0,
                 capacity: int | None = None, default: Answer | Callable | None = None,
                 models: Sequence[str] = ("scripted-model",), enforce_max_tokens: bool = True):
        self.script = script
        self.latency = latency
        self.default = default
        self.models = list(models)
        self.enforce_max_tokens = enforce_max_tokens
        self._capacity = threading.BoundedSemaphore(capacity) if capacity else None
        self.capacity = capacity
        self._lock = threading.Lock()
        self._requests: list[ScriptedRequest] = []
        self._attempts: collections.Counter[str] = collections.Counter()
        self._in_flight = 0
        self.max_in_flight = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "ScriptedOpenAIServer":
        handler = type("Handler", (_Handler,), {"server_state": self})
        httpd = _HTTPServer(("127.0.0.1", 0), handler)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> "ScriptedOpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # -- what was received -----------------------------------------------------------------------
    @property
    def requests(self) -> list[ScriptedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, key: str | None = None) -> int:
        with self._lock:
            if key is None:
                return len(self._requests)
            return sum(1 for r in self._requests if r.key == key)

    def counts(self) -> collections.Counter[str]:
        with self._lock:
            return collections.Counter(r.key for r in self._requests)

    def keys(self) -> list[str]:
        with self._lock:
            return [r.key for r in self._requests]

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._attempts.clear()
            self.max_in_flight = 0

    # -- answering -------------------------------------------------------------------------------
    def _receive(self, path: str, body: dict, headers: dict) -> ScriptedRequest:
        key = request_key(path, body)
        with self._lock:
            self._attempts[key] += 1
            request = ScriptedRequest(path, body, headers, self._attempts[key], time.monotonic())
            self._requests.append(request)
        return request

    def _answer_for(self, request: ScriptedRequest) -> Reply:
        script = self.script
        if script is None:
            answer: Any = "echo: " + request.key
        elif callable(script):
            answer = script(request)
        elif request.key in script:
            answer = script[request.key]
        elif self.default is not None:
            answer = self.default(request) if callable(self.default) else self.default
        else:
            answer = Reply.error(404, f"no scripted answer for {request.key[:200]!r}")
        if isinstance(answer, (list, tuple)):
            answer = answer[min(request.attempt, len(answer)) - 1]
        return Reply(text=answer) if isinstance(answer, str) else answer

    def _latency_for(self, request: ScriptedRequest, reply: Reply) -> float:
        if reply.latency is not None:
            return reply.latency
        return self.latency(request) if callable(self.latency) else float(self.latency)

    def _enter(self) -> None:
        if self._capacity is not None:
            self._capacity.acquire()
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
        if self._capacity is not None:
            self._capacity.release()

    def completion_body(self, request: ScriptedRequest, reply: Reply) -> dict[str, Any]:
        """The JSON an OpenAI-compatible server sends for ``reply`` to ``request``."""
        body = request.body
        texts = [reply.text] * request.n if isinstance(reply.text, str) else list(reply.text)
        stops = body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        choices = []
        for index, text in enumerate(texts):
            finish = reply.finish_reason
            cuts = [text.find(s) for s in stops if s and s in text]
            if cuts:
                text, finish = text[: min(cuts)], "stop"
            if self.enforce_max_tokens and limit and count_tokens(text) > int(limit):
                words = list(_TOKEN.finditer(text))
                text, finish = text[: words[int(limit) - 1].end()].rstrip(), "length"
            if request.mode == "chat":
                choice = {"index": index, "message": {"role": "assistant", "content": text},
                          "finish_reason": finish, "logprobs": None}
            else:
                choice = {"index": index, "text": text, "finish_reason": finish, "logprobs": None}
            choices.append((choice, text))
        prompt_tokens = (reply.prompt_tokens if reply.prompt_tokens is not None
                         else count_tokens(_prompt_text(request.path, body)))
        completion_tokens = (reply.completion_tokens if reply.completion_tokens is not None
                             else sum(count_tokens(text) for _, text in choices))
        return {
            "id": f"cmpl-scripted-{len(self._requests)}",
            "object": "chat.completion" if request.mode == "chat" else "text_completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "system_fingerprint": reply.system_fingerprint,
            "choices": [choice for choice, _ in choices],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = 512  # 64+ clients connecting at once must not overflow listen()
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)
    server_state: ScriptedOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] = {}) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), headers)

    def _send_bytes(self, status: int, data: bytes, headers: Mapping[str, str] = {}) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: Mapping[str, str] = {}) -> None:
        kind = "rate_limit_error" if status == 429 else (
            "server_error" if status >= 500 else "invalid_request_error")
        self._send_json(status, {"error": {"message": message, "type": kind, "code": None}}, headers)

    def do_GET(self) -> None:
        state = self.server_state
        if self.path == "/scripted/requests":
            self._send_json(200, [{"key": r.key, "path": r.path, "attempt": r.attempt,
                                   "received_at": r.received_at} for r in state.requests])
        elif self.path == "/scripted/stats":
            self._send_json(200, {"count": state.count(), "max_in_flight": state.max_in_flight})
        elif self.path.rstrip("/") == "/health":
            self._send_json(200, {"status": "ok"})
        elif self.path.rstrip("/") == "/v1/models":
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "scripted"}
                for m in self.server_state.models]})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        state = self.server_state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = self.path.split("?")[0].rstrip("/")
        if path == "/scripted/reset":
            state.reset()
            self._send_json(200, {"reset": True})
            return
        if path not in ("/v1/chat/completions", "/v1/completions"):
            self._error(404, f"no route {self.path}")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._error(400, "request body is not JSON")
            return
        request = state._receive(path, body, {k.lower(): v for k, v in self.headers.items()})
        if body.get("stream"):
            self._error(400, "streaming is not scripted")
            return
        reply = state._answer_for(request)
        state._enter()
        try:
            time.sleep(state._latency_for(request, reply))
        finally:
            state._leave()
        if reply.disconnect:
            self.close_connection = True
            self.connection.shutdown(2)  # socket.SHUT_RDWR: the client sees the peer hang up
            return
        if reply.body is not None:
            self._send_bytes(200, reply.body, reply.headers)
        elif reply.status != 200:
            message = reply.message or HTTPStatus(reply.status).phrase
            self._error(reply.status, message, reply.headers)
        else:
            self._send_json(200, state.completion_body(request, reply), reply.headers)


try:  # the fixture, for pytest; the server itself (benchmarks) needs only the stdlib
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

if pytest is not None:
    @pytest.fixture
    def scripted_openai() -> Iterator[Callable[..., ScriptedOpenAIServer]]:
        """A factory: ``scripted_openai(script=None, **options)`` starts a
        :class:`ScriptedOpenAIServer`; every server it started is stopped at teardown."""
        servers: list[ScriptedOpenAIServer] = []

        def start(script: Script = None, **options: Any) -> ScriptedOpenAIServer:
            server = ScriptedOpenAIServer(script, **options).start()
            servers.append(server)
            return server

        yield start
        for server in servers:
            server.stop()

