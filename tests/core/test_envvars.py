"""The run path's environment reads (orchestrator_nb.envvars) give what os.environ gives."""
import os

from orchestrator_nb.envvars import env


def test_env_follows_os_environ(monkeypatch):
    monkeypatch.delenv("ORC_TEST_ENVVAR", raising=False)
    assert env("ORC_TEST_ENVVAR") is None
    assert env("ORC_TEST_ENVVAR", "fallback") == "fallback"
    monkeypatch.setenv("ORC_TEST_ENVVAR", "première")
    assert env("ORC_TEST_ENVVAR") == os.environ["ORC_TEST_ENVVAR"] == "première"
    monkeypatch.setenv("ORC_TEST_ENVVAR", "")
    assert env("ORC_TEST_ENVVAR", "fallback") == ""
    monkeypatch.delenv("ORC_TEST_ENVVAR")
    assert env("ORC_TEST_ENVVAR") is None


def test_a_run_sees_a_variable_set_between_runs(monkeypatch, tmp_path):
    import orchestrator_nb as orc
    p = orc.Pipeline("gate", [orc.step("ask", approval="Ship it?")])
    monkeypatch.setenv("ORC_APPROVAL", "auto")
    assert p.run(db=tmp_path / "a.duckdb").status == "succeeded"
    monkeypatch.setenv("ORC_APPROVAL", "reject")
    assert p.run(db=tmp_path / "a.duckdb").status != "succeeded"
