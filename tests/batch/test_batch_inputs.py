"""Parameters cells, sweep files and output templates: everything checked before a kernel starts."""
from __future__ import annotations

import json

import pytest

from orchestrator_nb.batch.grid import expand, load_grid
from orchestrator_nb.batch.params import declared, read_notebook, typed
from orchestrator_nb.batch.paths import render
from orchestrator_nb.errors import UsageError
from orchestrator_nb.store import Store


def _nb(source: str | None, tags=("parameters",)) -> dict:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# title"}]
    if source is not None:
        cells.append({"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source, "outputs": [],
                      "execution_count": None})
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


PARAMS = '''# comment
topic = "tides"
n = 3
ratio: float = 0.5
loud = False
nothing = None
when = datetime.date.today()
%matplotlib inline
'''


def test_parameters_cell_is_read_without_a_kernel():
    d = declared(_nb(PARAMS))
    assert list(d) == ["topic", "n", "ratio", "loud", "nothing", "when"]
    assert d["topic"].default == "tides" and d["n"].default == 3 and d["ratio"].annotation == "float"
    assert d["when"].literal is False and d["when"].default == "datetime.date.today()"
    assert declared(_nb("x = 1", tags=("other",))) is None


def test_p_values_take_the_type_of_the_default():
    d = declared(_nb(PARAMS))
    got = typed({"topic": "42", "n": "7", "ratio": "2", "loud": "yes", "nothing": "[1, 2]", "when": "2026-01-01"},
                d, "nb.ipynb")
    assert got == {"topic": "42", "n": 7, "ratio": 2.0, "loud": True, "nothing": [1, 2], "when": "2026-01-01"}
    assert typed({"n": 5, "nothing": ["a"]}, d, "nb.ipynb") == {"n": 5, "nothing": ["a"]}  # YAML values of the type


@pytest.mark.parametrize("values, message", [
    ({"n": "seven"}, "-p n=seven: expected int like the default n = 3"),
    ({"loud": "maybe"}, "-p loud=maybe: expected bool"),
    ({"topik": "x"}, "-p topik: nb.ipynb has no parameter 'topik' (did you mean 'topic'?)"),
])
def test_bad_p_values_say_which_and_how(values, message):
    with pytest.raises(UsageError) as e:
        typed(values, declared(_nb(PARAMS)), "nb.ipynb")
    assert message in str(e.value)


def test_p_without_a_parameters_cell_is_refused():
    with pytest.raises(UsageError, match="has no cell tagged `parameters`"):
        typed({"x": "1"}, declared(_nb(None)), "nb.ipynb")
    assert typed({}, None, "nb.ipynb") == {}


def test_unreadable_notebooks(tmp_path):
    with pytest.raises(UsageError, match="no such notebook"):
        read_notebook(str(tmp_path / "missing.ipynb"))
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="not a readable .ipynb"):
        read_notebook(str(bad))
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(UsageError, match="no `cells` list"):
        read_notebook(str(bad))
    with pytest.raises(UsageError, match="does not parse as Python: line 1"):
        declared(_nb("topic = = 1"))


def test_grid_cartesian_then_items_with_shared_params():
    items = expand({"params": {"model": "m"}, "grid": {"topic": ["a", "b", "c"], "n": [1, 2]},
                    "items": [{"topic": "z", "n": 9}]})
    assert len(items) == 7
    assert items[0] == {"model": "m", "topic": "a", "n": 1} and items[1] == {"model": "m", "topic": "a", "n": 2}
    assert items[-1] == {"model": "m", "topic": "z", "n": 9}


def test_grid_shapes():
    assert expand({"topic": ["a", "b"]}) == [{"topic": "a"}, {"topic": "b"}]          # a bare mapping is a grid
    assert expand([{"topic": "a"}, {"topic": "b"}]) == [{"topic": "a"}, {"topic": "b"}]  # a list is items
    assert expand({"grid": [{"a": [1, 2]}, {"b": 3}]}) == [{"a": 1}, {"a": 2}, {"b": 3}]  # scalars are one value


@pytest.mark.parametrize("data, message", [
    (None, "the file is empty"),
    ({"grid": {"topic": []}}, "grid.topic: an empty list gives no items"),
    ({"grid": {"a": [1]}, "extra": 1}, "unknown key 'extra'"),
    ({"items": [1]}, "items[0]: expected a mapping"),
    ({"items": {"a": 1}}, "items: expected a list"),
    ({"grid": {"not a name": [1]}}, "'not a name' is not a parameter name"),
    ({"params": [1], "grid": {"a": [1]}}, "params: expected a mapping"),
    ({"items": []}, "the sweep has no items"),
    ("text", "expected a mapping with `grid:`"),
])
def test_bad_grids_say_where(data, message):
    with pytest.raises(UsageError) as e:
        expand(data, "g.yaml")
    assert str(e.value).startswith("g.yaml") and message in str(e.value)


def test_grid_file_errors(tmp_path):
    with pytest.raises(UsageError, match="--grid .*nope.yaml: no such file"):
        load_grid(str(tmp_path / "nope.yaml"))
    p = tmp_path / "g.yaml"
    p.write_text("grid: [unclosed\n")
    with pytest.raises(UsageError, match="cannot read it as YAML"):
        load_grid(str(p))
    p.write_text("grid:\n  topic: [a, b]\n")
    assert load_grid(str(p)) == [{"topic": "a"}, {"topic": "b"}]


def test_output_templates(tmp_path):
    store = Store(tmp_path / ".orc" / "orc.duckdb")
    kw = dict(store=store, nb_run_id="abc123", input_path="dir/My Report.ipynb", parameters={"topic": "sea/ice"})
    assert render(None, **kw) == str(tmp_path / ".orc" / "notebooks" / "abc123.ipynb")
    assert render("out/{name}-{topic}-{run_id}.ipynb", **kw) == "out/My_Report-sea_ice-abc123.ipynb"
    assert render(None, batch_id="b1", item_index=7, **kw).endswith("notebooks/b1/007-abc123.ipynb")
    with pytest.raises(UsageError, match=r"unknown field \{topik\} \(fields: .*topic"):
        render("{topik}.ipynb", **kw)
    with pytest.raises(UsageError, match="must end in .ipynb"):
        render("out.txt", **kw)
    with pytest.raises(UsageError, match="needs its own file"):
        render("same.ipynb", batch_id="b1", item_index=0, **kw)
    (tmp_path / "in.ipynb").write_text("{}")
    (tmp_path / "folder.ipynb").mkdir()
    mine = dict(kw, input_path=str(tmp_path / "in.ipynb"))
    with pytest.raises(UsageError, match="that is the input notebook, which the run would overwrite"):
        render(str(tmp_path / "." / "in.ipynb"), **mine)  # `orc notebook p.ipynb p.ipynb` replaced the source
    with pytest.raises(UsageError, match="that is a folder"):
        render(str(tmp_path / "folder.ipynb"), **mine)


def test_streamed_notebook_output_never_shows_a_key(monkeypatch):
    import io
    from orchestrator_nb.batch.execute import _Prefixed
    monkeypatch.setenv("ACME_API_KEY", "sk-acme-0123456789")
    out = io.StringIO()
    stream = _Prefixed(out)
    stream.write("using sk-acme-0123456789 now\nsecond ")
    stream.write("line\n")
    assert out.getvalue() == "  │ using [redacted] now\n  │ second line\n"


def test_orc_batch_bad_input_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps(dict(_nb('topic = "x"'), metadata={"kernelspec": {"name": "python3"}})))
    (tmp_path / "typo.yaml").write_text("grid:\n  topik: [a, b]\n")
    (tmp_path / "ok.yaml").write_text("- {topic: a}\n")
    for args, message in [
        (["--grid", "typo.yaml"], "--grid typo.yaml: item 0: topik: "),
        (["--grid", "missing.yaml"], "--grid missing.yaml: no such file"),
        (["--grid", "ok.yaml", "--workers", "0"], "--workers 0: give 1 or more"),
        (["--grid", "ok.yaml", "--cluster", "somehost"], "--cluster somehost: give a scheduler address"),
        (["--grid", "ok.yaml", "--cluster", "tcp://h:1", "--workers", "2"], "--workers sizes the local cluster"),
        (["--grid", "ok.yaml", "--out", "same.ipynb"], "needs its own file"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "orchestrator_nb", "batch", str(nb), *args], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
