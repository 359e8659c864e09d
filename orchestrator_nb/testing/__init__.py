"""Test kit for orchestrator-nb and for users testing their own pipelines and notebooks:
a scripted provider, fake vendor HTTP servers, and a pytest plugin (fixtures).

    from orchestrator_nb.testing import FakeOpenAI, FakeAnthropic

    with FakeOpenAI() as srv:
        srv.configure("openai")      # or any OpenAI-compatible preset: srv.configure("groq")
        srv.push("an answer", {"status": 429, "retry_after": 0.01})
        ...

The pytest fixtures (``fake_openai``, ``fake_anthropic``, ``scripted``, ``orc_store``) are in
``orchestrator_nb.testing.plugin``, registered automatically when the package is installed.
"""

_EXPORTS = {"FakeOpenAI": "fake_openai", "FakeAnthropic": "fake_anthropic", "FakeServer": "fake_http"}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestrator_nb.testing' has no attribute '{name}'")
    from importlib import import_module
    return getattr(import_module(f"{__name__}.{module}"), name)
