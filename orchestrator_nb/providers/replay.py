"""``replay:<provider>:<model>``: answer only from recorded calls of ``<provider>:<model>``.

The gateway (``providers.gateway``) handles it: it looks the request up in the cache and cassettes under the
inner model's name and never calls a vendor; a miss fails the step with a message naming it. This
class only makes the name known (``orc models``, load-time checks). ``ORC_MODE=replay`` does the
same for every step of a run.
"""
from __future__ import annotations

from ..errors import ProviderError
from .base import LLMRequest, LLMResponse, Provider


class ReplayProvider(Provider):
    name = "replay"
    key_env = None
    models = ("<provider>:<model>",)
    note = "answers only from recordings (orc cache import)"

    @classmethod
    def configured(cls) -> bool:
        return False  # never chosen automatically

    async def complete(self, request: LLMRequest, on_token=None) -> LLMResponse:
        raise ProviderError(f"replay: no recording for {request.model}", reason="replay_miss")
