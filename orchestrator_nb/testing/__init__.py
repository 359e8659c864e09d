"""Test kit for orchestrator-nb and for users testing their own pipelines and notebooks:
a scripted provider, fake vendor HTTP servers, and a pytest plugin (fixtures)."""
