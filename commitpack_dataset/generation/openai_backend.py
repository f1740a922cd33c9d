"""Any OpenAI-compatible endpoint (OpenAI, vLLM, TGI, ``transformers serve``) as a :class:`Backend`,
through the official ``openai`` client (``AsyncOpenAI``).

A chat request (``messages``) goes to ``/chat/completions``, a completion request (``prompt``) to
``/completions``. The answer's choices (text and ``finish_reason``), ``system_fingerprint``,
usage and model name are kept. Failures are sorted for the client's retry loop:

* 408, 409, 429, 5xx, timeouts, connection errors and a body that is not the JSON of a
  completion (malformed, cut off, an ``error`` object with status 200) -> :class:`TransientError`,
  with the server's ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date);
* any other 4xx -> :class:`PermanentError`.

The ``openai`` client's own retries are off (``max_retries=0``): the one retry loop is the
client's. The API key comes from ``api_key=`` or the environment variable ``api_key_env``
(``OPENAI_API_KEY`` by default); it is held privately, never shown by ``repr`` or
:meth:`OpenAIBackend.describe`, and removed from every error message (some servers echo it).
"""

from __future__ import annotations

import email.utils
import json
import os
import time
import urllib.parse
import weakref
from collections.abc import Mapping
from typing import Any

from commitpack_dataset.generation.requests import (
    Choice,
    GenerationRequest,
    GenerationResult,
    PermanentError,
    TransientError,
    Usage,
)

OPENAI_INSTALL_HINT = "pip install 'octopack[teacher]'"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Statuses worth retrying besides 5xx: request timeout, conflict (lock timeout), rate limit.
RETRYABLE_STATUSES = frozenset({408, 409, 429})
#: Placeholder key for endpoints that want none (vLLM, TGI, ``transformers serve``).
NO_KEY = "EMPTY"


def import_openai():
    """The ``openai`` module, or an ImportError naming the extra that installs it."""
    try:
        import openai
    except ImportError:
        raise ImportError(f"the generation client needs the openai package: "
                          f"{OPENAI_INSTALL_HINT}") from None
    return openai


class _Secret:
    """A string that does not show itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("an API key is not pickled")


class OpenAIBackend:
    """An OpenAI-compatible endpoint. ``base_url`` like ``http://127.0.0.1:8000/v1`` (default:
    ``$OPENAI_BASE_URL``, else OpenAI). ``timeout``: seconds per request. ``max_tokens_param``:
    ``"max_tokens"`` (what vLLM, TGI and ``transformers serve`` read) or
    ``"max_completion_tokens"`` (OpenAI's newer models). ``client_options`` go to
    ``AsyncOpenAI`` (``organization``, ``default_headers``, ...)."""

    batched = False

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", timeout: float = 300.0,
                 max_tokens_param: str = "max_tokens",
                 client_options: Mapping[str, Any] | None = None):
        import_openai()
        if max_tokens_param not in ("max_tokens", "max_completion_tokens"):
            raise ValueError(f"max_tokens_param must be 'max_tokens' or 'max_completion_tokens', "
                             f"got {max_tokens_param!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get(api_key_env)
        if not key:
            if urllib.parse.urlsplit(self.base_url).hostname == "api.openai.com":
                raise ValueError(f"no API key for {self.base_url}: set {api_key_env} in the "
                                 "environment or pass api_key=")
            key = NO_KEY
        self._key = _Secret(key)
        self.timeout = float(timeout)
        self.max_tokens_param = max_tokens_param
        self._client_options = dict(client_options or {})
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._ssl = None

    def __repr__(self) -> str:
        return f"OpenAIBackend({public_url(self.base_url)!r})"

    def describe(self) -> dict[str, Any]:
        return {"backend": "openai", "base_url": public_url(self.base_url)}

    def redact(self, text: str) -> str:
        """``text`` with the API key (and its Bearer form) replaced by ``***``."""
        key = self._key.reveal()
        if key and key != NO_KEY and key in text:
            text = text.replace(key, "***")
        return text

    # -- the client, one per event loop (an httpx pool belongs to the loop it was opened on) -----
    def _client(self):
        import asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            openai = import_openai()
            options = dict(self._client_options)
            if "http_client" not in options and self._ssl_context() is not None:
                options["http_client"] = openai.DefaultAsyncHttpxClient(verify=self._ssl)
            client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self._key.reveal(),
                                        timeout=self.timeout, max_retries=0, **options)
            self._clients[loop] = client
        return client

    def _ssl_context(self):
        """One TLS context for every loop's client: loading the CA bundle costs ~80 ms each."""
        if self._ssl is None:
            import importlib

            try:  # the HTTP library the openai client is built on (httpx or httpx2)
                base = import_openai().DefaultAsyncHttpxClient.__mro__[1]
                library = importlib.import_module(base.__module__.split(".")[0])
                self._ssl = library.create_ssl_context()
            except Exception:  # noqa: BLE001 - only an optimisation
                self._ssl = False
        return self._ssl or None

    async def aclose(self) -> None:
        """Close this event loop's connection pool (the client calls it after a run)."""
        import asyncio

        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    # -- one request -----------------------------------------------------------------------------
    def request_body(self, request: GenerationRequest) -> dict[str, Any]:
        """The keyword arguments of ``create()`` for ``request``."""
        body: dict[str, Any] = {"model": request.model, "n": request.n,
                                "temperature": request.temperature, "top_p": request.top_p,
                                self.max_tokens_param: request.max_tokens}
        if request.mode == "chat":
            body["messages"] = [dict(m) for m in request.messages]
        else:
            body["prompt"] = request.prompt
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.extra:
            body["extra_body"] = dict(request.extra)
        return body

    async def agenerate(self, request: GenerationRequest) -> GenerationResult:
        openai = import_openai()
        client = self._client()
        create = (client.chat.completions if request.mode == "chat"
                  else client.completions).with_raw_response.create
        try:
            raw = await create(**self.request_body(request))
            text = raw.text
        except openai.APITimeoutError:
            raise TransientError(f"timed out after {self.timeout:g} s") from None
        except openai.APIConnectionError as error:
            cause = error.__cause__ or error.__context__
            detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(error)
            raise TransientError(self.redact(f"cannot reach {public_url(self.base_url)}: "
                                             f"{detail}")) from None
        except openai.APIStatusError as error:
            status = error.status_code
            body = error.body
            detail = body.get("message") if isinstance(body, Mapping) else None
            message = self.redact(f"HTTP {status}: {detail or error.message}")
            if status in RETRYABLE_STATUSES or status >= 500:
                raise TransientError(message, retry_after(error.response.headers)) from None
            raise PermanentError(message) from None
        return self.parse(request, text, raw.headers)

    def parse(self, request: GenerationRequest, text: str,
              headers: Mapping[str, str] | None = None) -> GenerationResult:
        """A result from a completion body; :class:`TransientError` when it is not one."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise TransientError(f"malformed JSON in the response ({error}): "
                                 f"{self.redact(text)[:120]!r}") from None
        if not isinstance(data, dict):
            raise TransientError(f"malformed response: a JSON {type(data).__name__}, not an object")
        if data.get("error"):
            detail = data["error"].get("message") if isinstance(data["error"], dict) else data["error"]
            raise TransientError(self.redact(f"the server answered with an error: {detail}"),
                                 retry_after(headers or {}))
        raw_choices = data.get("choices")
        if not isinstance(raw_choices, list) or len(raw_choices) != request.n:
            count = len(raw_choices) if isinstance(raw_choices, list) else "no"
            raise TransientError(f"malformed response: {count} choices for n={request.n}")
        choices = []
        try:
            for choice in sorted(raw_choices, key=lambda c: c.get("index", 0)):
                if request.mode == "chat":
                    content = (choice.get("message") or {}).get("content")
                else:
                    content = choice.get("text")
                if content is not None and not isinstance(content, str):
                    raise TypeError(f"content is a {type(content).__name__}")
                choices.append(Choice(content or "", choice.get("finish_reason")))
            usage = data.get("usage") or {}
            counts = Usage(int(usage.get("prompt_tokens") or 0),
                           int(usage.get("completion_tokens") or 0))
        except (AttributeError, TypeError, ValueError) as error:
            raise TransientError(f"malformed response: {error}") from None
        return GenerationResult(
            fingerprint=request.fingerprint(), choices=tuple(choices),
            system_fingerprint=data.get("system_fingerprint"), usage=counts,
            model=data.get("model"))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, else ``Retry-After`` (seconds or
    an HTTP date); ``None`` when it did not say."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            if name == "retry-after-ms":
                continue
            try:
                date = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            seconds = date.timestamp() - time.time()
        if seconds >= 0:
            return seconds
        return 0.0
    return None


def public_url(url: str) -> str:
    """``url`` without user information or query (where credentials sometimes ride)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
