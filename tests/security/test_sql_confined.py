"""`sql` steps are confined by default: no reading secrets or system files, no writing outside
the output directory, no ATTACH of the store, no extensions; templated values are bound, never
pasted into the query. `sql_access: full` restores DuckDB's full reach."""
from __future__ import annotations

import os

import duckdb
import pytest

import orchestrator_nb as orc
from orchestrator_nb.core.sqlquery import compile_sql
from orchestrator_nb.errors import SpecError


def run_sql(tmp_path, sql, **step):
    p = orc.load({"name": "q", "steps": [{"id": "q", "sql": sql, **step}]})
    return p.run(db=str(tmp_path / ".orc" / "orc.duckdb"), outdir=str(tmp_path / "out"))


@pytest.fixture
def outdir(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "data.csv").write_text("a,b\n1,2\n3,4\n")
    (out / "reports").mkdir()
    (out / "reports" / "r.csv").write_text("x\n7\n")
    (out / ".env").write_text("OPENAI_API_KEY=sk-secret-in-dotenv-0000\n")
    return out


@pytest.mark.parametrize("sql, why", [
    ("SELECT * FROM read_text('/proc/self/environ')", "Permission"),
    ("SELECT * FROM read_csv('/etc/passwd', sep=':')", "Permission"),
    ("SELECT * FROM read_text('{out}/.env')", "Permission"),
    ("SELECT * FROM read_text('{out}/../../../../etc/passwd')", "Permission"),
    ("COPY (SELECT 1) TO '{tmp}/escaped.csv'", "Permission"),
    ("ATTACH '{tmp}/.orc/orc.duckdb' AS store", "ATTACH is not allowed"),
    ("INSTALL httpfs", "LOAD is not allowed"),
    ("SET enable_external_access = true", "SET is not allowed"),
    ("SELECT 1; ATTACH ':memory:' AS m", "ATTACH is not allowed"),
])
def test_a_confined_query_cannot_reach_outside(tmp_path, outdir, sql, why):
    orc.run({"name": "seed", "steps": [{"id": "s", "python": "os:getcwd"}]}, db=str(tmp_path / ".orc" / "orc.duckdb"))
    r = run_sql(tmp_path, sql.format(out=outdir, tmp=tmp_path))
    assert r.status == "failed", r.outputs
    assert why in r.error, r.error
    assert "sql_access: full" in r.error
    assert not (tmp_path / "escaped.csv").exists()
    assert "sk-secret" not in (r.error or "")


def test_a_confined_query_reads_and_writes_inside_the_output_directory(tmp_path, outdir):
    r = run_sql(tmp_path, f"SELECT sum(a) AS s FROM read_csv('{outdir}/data.csv')")
    assert r.status == "succeeded" and r["q"] == [{"s": 4}]
    r = run_sql(tmp_path, f"COPY (SELECT x * 2 AS y FROM read_csv('{outdir}/reports/r.csv')) TO '{outdir}/reports/y.csv'")
    assert r.status == "succeeded", r.error
    assert (outdir / "reports" / "y.csv").read_text().split() == ["y", "14"]


def test_files_names_more_and_full_access_restores_everything(tmp_path, outdir):
    elsewhere = tmp_path / "inputs.csv"
    elsewhere.write_text("k\n5\n")
    assert run_sql(tmp_path, f"SELECT k FROM read_csv('{elsewhere}')").status == "failed"
    r = run_sql(tmp_path, f"SELECT k FROM read_csv('{elsewhere}')", files=[str(elsewhere)])
    assert r.status == "succeeded" and r["q"] == [{"k": 5}]
    r = run_sql(tmp_path, "SELECT count(*) AS n FROM read_csv('/etc/passwd', sep=':', header=false)",
                sql_access="full")
    assert r.status == "succeeded" and r["q"][0]["n"] > 0


def test_files_must_be_written_in_the_pipeline_not_by_a_template():
    with pytest.raises(SpecError, match=r"files\[0\]: files are named in the pipeline"):
        orc.step("q", sql="SELECT 1", files=["{{ steps.x.output }}"])
    with pytest.raises(SpecError, match="'files' only applies to sql steps"):
        orc.step("q", prompt="hi", files=["a.csv"])


def test_a_model_answer_in_a_query_is_a_value_not_sql(tmp_path, outdir):
    """The answer tries to close the string and read a file: it is compared as text instead."""
    evil = "x') UNION SELECT content FROM read_text('/etc/passwd') --"
    p = orc.load({"name": "inj", "steps": [
        {"id": "answer", "python": "builtins:str", "params": {"object": evil}},
        {"id": "q", "sql": "SELECT '{{ steps.answer.output }}' AS said, length({{ steps.answer.output }}) AS n"}]})
    r = p.run(db=str(tmp_path / ".orc" / "orc.duckdb"), outdir=str(outdir))
    assert r.status == "succeeded", r.error
    assert r["q"] == [{"said": evil, "n": len(evil)}]


def test_templates_compile_to_bound_parameters():
    q = compile_sql("SELECT * FROM read_json_auto('{{ steps.save.output.path }}') WHERE n > {{ inputs.n }} -- '{{x}}'")
    assert q["text"] == "SELECT * FROM read_json_auto($orc1) WHERE n > $orc2 -- '$orc3'"
    assert q["values"]["orc1"].steps == {"save"}
    assert compile_sql("SELECT 1") == "SELECT 1"
    with pytest.raises(SpecError, match="template inside quoted SQL text"):
        compile_sql("SELECT 'hello {{ inputs.name }}'")
    with pytest.raises(SpecError, match="blocks are not allowed in SQL"):
        compile_sql("SELECT 1 {% if inputs.x %}WHERE 1{% endif %}")


def test_the_sql_step_still_reads_upstream_records(tmp_path):
    p = orc.load({"name": "up", "steps": [
        {"id": "rows", "code": "output = [{'name': 'a', 'v': 1}, {'name': 'b', 'v': 5}]"},
        {"id": "q", "sql": "SELECT name FROM steps_rows WHERE v > {{ 2 }}", "needs": ["rows"]}]})
    r = p.run(db=False, outdir=str(tmp_path))
    assert r.status == "succeeded" and r["q"] == [{"name": "b"}]


def test_the_store_file_is_never_attached_even_when_it_sits_in_the_output_directory(tmp_path):
    db = tmp_path / "store.duckdb"  # a visible file at the top of the output directory
    orc.run({"name": "seed", "steps": [{"id": "s", "python": "os:getcwd"}]}, db=str(db))
    assert orc.runs(db=str(db))  # runs leave their journal to the next reader: this read writes the file
    p = orc.load({"name": "forge", "steps": [
        {"id": "q", "sql": f"ATTACH '{db}' AS s; INSERT INTO s.runs (run_id, pipeline, status) VALUES ('x', 'y', 'succeeded')"}]})
    r = p.run(db=str(tmp_path / "other.duckdb"), outdir=str(tmp_path))
    assert r.status == "failed" and "ATTACH is not allowed" in r.error
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM runs WHERE run_id = 'x'").fetchall() == [(0,)]
    con.close()
    assert os.path.exists(db)
