"""Versioned schema migrations: an ordered list, applied once each, recorded in a table.

Timestamps are UTC (TIMESTAMP). JSON columns hold inputs, outputs and requests.
Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""
from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    ("initial schema", """
CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY, pipeline VARCHAR, status VARCHAR, inputs JSON, spec_yaml VARCHAR,
    spec_hash VARCHAR, source VARCHAR, notebook_path VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP,
    cost_usd DOUBLE DEFAULT 0, tokens_in BIGINT DEFAULT 0, tokens_out BIGINT DEFAULT 0, error VARCHAR,
    parent_run_id VARCHAR, spec_path VARCHAR, outdir VARCHAR, pid INTEGER, host VARCHAR,
    approval_policy VARCHAR, updated_at TIMESTAMP);
CREATE TABLE steps (
    run_id VARCHAR, step_id VARCHAR, item_index INTEGER, attempt INTEGER, status VARCHAR, model VARCHAR,
    started_at TIMESTAMP, ended_at TIMESTAMP, output JSON, error VARCHAR, cached BOOLEAN DEFAULT false,
    kind VARCHAR, PRIMARY KEY (run_id, step_id, item_index, attempt));
CREATE TABLE llm_calls (
    call_id VARCHAR PRIMARY KEY, run_id VARCHAR, step_id VARCHAR, item_index INTEGER, attempt INTEGER,
    provider VARCHAR, model VARCHAR, request JSON, response_text VARCHAR, tokens_in BIGINT, tokens_out BIGINT,
    cost_usd DOUBLE, latency_ms DOUBLE, cached BOOLEAN, request_hash VARCHAR, error VARCHAR, purpose VARCHAR,
    created_at TIMESTAMP);
CREATE TABLE approvals (
    run_id VARCHAR, step_id VARCHAR, round INTEGER, decision VARCHAR, comment VARCHAR, decided_by VARCHAR,
    mode VARCHAR, decided_at TIMESTAMP, PRIMARY KEY (run_id, step_id, round));
CREATE TABLE events (
    run_id VARCHAR, ts TIMESTAMP, level VARCHAR, step_id VARCHAR, message VARCHAR, kind VARCHAR,
    item_index INTEGER, attempt INTEGER);
CREATE TABLE artifacts (
    run_id VARCHAR, step_id VARCHAR, path VARCHAR, rel_path VARCHAR, sha256 VARCHAR, media_type VARCHAR,
    bytes BIGINT, created_at TIMESTAMP, PRIMARY KEY (run_id, path));
CREATE TABLE journal_offsets (file VARCHAR PRIMARY KEY, "offset" BIGINT, updated_at TIMESTAMP);
"""),
    ("notebook runs", """
CREATE TABLE notebook_runs (
    nb_run_id VARCHAR PRIMARY KEY, input_path VARCHAR, output_path VARCHAR, parameters JSON, status VARCHAR,
    started_at TIMESTAMP, ended_at TIMESTAMP, duration_s DOUBLE, error VARCHAR, exit_code INTEGER,
    batch_id VARCHAR, worker VARCHAR);
ALTER TABLE runs ADD COLUMN nb_run_id VARCHAR;
"""),
    ("batch items and attempts", """
ALTER TABLE notebook_runs ADD COLUMN item_index INTEGER;
ALTER TABLE notebook_runs ADD COLUMN attempts INTEGER DEFAULT 1;
ALTER TABLE notebook_runs ADD COLUMN resumes INTEGER DEFAULT 0;
ALTER TABLE notebook_runs ADD COLUMN cost_usd DOUBLE DEFAULT 0;
ALTER TABLE notebook_runs ADD COLUMN kernel VARCHAR;
ALTER TABLE notebook_runs ADD COLUMN cwd VARCHAR;
ALTER TABLE notebook_runs ADD COLUMN pid INTEGER;
ALTER TABLE notebook_runs ADD COLUMN host VARCHAR;
ALTER TABLE notebook_runs ADD COLUMN updated_at TIMESTAMP;
CREATE TABLE batches (
    batch_id VARCHAR PRIMARY KEY, input_path VARCHAR, grid_path VARCHAR, items INTEGER, workers INTEGER,
    cluster VARCHAR, status VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP, succeeded INTEGER DEFAULT 0,
    failed INTEGER DEFAULT 0, waiting INTEGER DEFAULT 0, cost_usd DOUBLE DEFAULT 0, pid INTEGER, host VARCHAR);
CREATE TABLE batch_attempts (
    attempt_id VARCHAR PRIMARY KEY, nb_run_id VARCHAR, batch_id VARCHAR, worker VARCHAR, host VARCHAR,
    status VARCHAR, runs INTEGER, records INTEGER, salvaged BOOLEAN DEFAULT false, applied_at TIMESTAMP);
"""),
    ("the model a run was told to use (--model)", """
ALTER TABLE runs ADD COLUMN model_override VARCHAR;
"""),
    ("runs started with --isolate (their resumes stay isolated)", """
ALTER TABLE runs ADD COLUMN isolate BOOLEAN;
"""),
    ("approvals that carry an edited output and typed input", """
ALTER TABLE approvals ADD COLUMN edited JSON;
ALTER TABLE approvals ADD COLUMN input JSON;
"""),
    ("tool calls", """
CREATE TABLE tool_calls (
    id VARCHAR PRIMARY KEY, run_id VARCHAR, step_id VARCHAR, item_index INTEGER, attempt INTEGER, turn INTEGER,
    position INTEGER, call_id VARCHAR, tool VARCHAR, ref VARCHAR, arguments JSON, result JSON, error VARCHAR,
    duration_ms DOUBLE, decision VARCHAR, cached BOOLEAN, created_at TIMESTAMP);
"""),
    ("model calls: finish reason, answering model, retries, fallbacks, estimated worst case", """
ALTER TABLE llm_calls ADD COLUMN finish_reason VARCHAR;
ALTER TABLE llm_calls ADD COLUMN response_model VARCHAR;
ALTER TABLE llm_calls ADD COLUMN retry INTEGER DEFAULT 0;
ALTER TABLE llm_calls ADD COLUMN fallback_from VARCHAR;
ALTER TABLE llm_calls ADD COLUMN estimate_usd DOUBLE;
"""),
]


def migrate(con) -> int:
    """Bring the schema up to date. Returns the number of migrations applied."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)")
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
    current = row[0][0]
    applied = 0
    for version, (name, sql) in enumerate(MIGRATIONS, start=1):
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in filter(str.strip, sql.split(";")):
                con.execute(statement)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied += 1
    return applied


def latest_version() -> int:
    return len(MIGRATIONS)
