"""Notebook files of odd shapes and parameter values of the wrong type: one line naming the file
(or the option), what is wrong and the fix, exit 2, before any kernel starts and before anything
is stored."""
from __future__ import annotations

import json

import pytest

from batchkit import run_orc
from orchestrator_nb.batch.params import read_notebook
from orchestrator_nb.errors import UsageError


def _good(**changes) -> dict:
    cell = {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "n = 3\ntopic = 'x'\n",
            "outputs": [], "execution_count": None}
    nb = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "language": "python"}}, "nbformat": 4,
          "nbformat_minor": 5}
    nb.update(changes)
    return nb


def _cell(**changes) -> dict:
    cell = dict(_good()["cells"][0], **changes)
    return _good(cells=[{k: v for k, v in cell.items() if v is not _DROP}])


_DROP = object()

SHAPES = [
    ("empty", "", "the file is empty"),
    ("not json", "hello", "not a readable .ipynb notebook (not JSON"),
    ("a list", [1, 2], "the JSON is a list, not an object with `cells`"),
    ("cells not a list", _good(cells={}), "`cells` is an object, not a list"),
    ("nbformat 3", {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []},
     "an nbformat 3 notebook; orc runs nbformat 4: convert it with `jupyter nbconvert --to notebook --nbformat 4"),
    ("nbformat 3 with cells", _good(nbformat=3), "an nbformat 3 notebook"),
    ("no nbformat", {"cells": []}, "no `nbformat: 4`"),
    ("metadata a list", _good(metadata=[]), "the notebook's `metadata` is a list, not an object"),
    ("kernelspec a string", _good(metadata={"kernelspec": "python3"}), "`metadata.kernelspec` is a string"),
    ("a cell that is text", _good(cells=["x"]), "cell 1 of 1 is a string, not an object"),
    ("a cell without source", _cell(source=_DROP), "cell 1 of 1 has no `source`"),
    ("source a number", _cell(source=5), "cell 1 of 1 has a `source` that is a number, not text"),
    ("source a list of numbers", _cell(source=[1, 2]), "has a `source` that is a list, not text"),
    ("cell metadata text", _cell(metadata="x"), "cell 1 of 1 has `metadata` that is a string"),
    ("tags text", _cell(metadata={"tags": "parameters"}), "`metadata.tags` that is not a list of names"),
]


@pytest.mark.parametrize("content, message", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_odd_notebook_shapes_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "odd.ipynb"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(UsageError) as e:
        read_notebook(str(path))
    text = str(e.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text, text


def test_notebooks_papermill_runs_are_not_refused(tmp_path):
    path = tmp_path / "script-made.ipynb"   # no outputs, no ids, a kernelspec without display_name, extra keys
    path.write_text(json.dumps(_cell(outputs=_DROP, execution_count=_DROP, id=_DROP, bogus=1)))
    assert read_notebook(str(path))["cells"][0]["source"].startswith("n = 3")


def test_the_cli_refuses_them_in_one_line_and_stores_nothing(tmp_path):
    (tmp_path / "params.yaml").write_text("n: [1, 2]\n")
    (tmp_path / "grid.yaml").write_text("grid:\n  n: [1, two]\n")
    (tmp_path / "good.ipynb").write_text(json.dumps(_good()))
    (tmp_path / "v3.ipynb").write_text(json.dumps(_good(nbformat=3)))
    (tmp_path / "nosource.ipynb").write_text(json.dumps(_cell(source=_DROP)))
    big = "9" * 5000
    cases = [
        (["notebook", "v3.ipynb"], "v3.ipynb: an nbformat 3 notebook"),
        (["notebook", "nosource.ipynb"], "nosource.ipynb: cell 1 of 1 has no `source`"),
        (["batch", "nosource.ipynb", "--grid", "grid.yaml"], "nosource.ipynb: cell 1 of 1 has no `source`"),
        (["notebook", "good.ipynb", "-f", "params.yaml"],
         "-f params.yaml: n: [1, 2] is a list, expected int like the default n = 3"),
        (["batch", "good.ipynb", "--grid", "grid.yaml"], "--grid grid.yaml: item 1: n=two: expected int"),
        (["notebook", "good.ipynb", "-p", f"n={big}"], "-p n=99999999"),
        (["notebook", "good.ipynb", "-p", f"x{big}=1"], "(5001 characters)"),
        (["notebook", "good.ipynb", "-p", big], "expected key=value"),
    ]
    for args, message in cases:
        proc = run_orc(*args, cwd=tmp_path, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and message in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr) < 400 and not proc.stdout, (args, proc.stderr)   # a huge value is clipped
    assert not (tmp_path / ".orc" / "orc.duckdb").exists()                     # nothing recorded


def test_yaml_values_are_checked_like_p_values():
    from orchestrator_nb.batch.params import declared, typed
    decl = declared(_good(cells=[dict(_good()["cells"][0], source="n = 3\ntopic = 'x'\nratio = 0.5\nloud = False\n"
                                                                  "nothing = None\n")]))
    assert typed({"n": 5, "topic": 2026, "ratio": 2, "loud": True, "nothing": {"a": [1]}}, decl, "nb.ipynb") == \
        {"n": 5, "topic": "2026", "ratio": 2.0, "loud": True, "nothing": {"a": [1]}}
    import datetime
    for values, message in [({"n": True}, "n: True is a bool, expected int"),
                            ({"n": 2.5}, "n: 2.5 is a float, expected int"),
                            ({"loud": 1}, "loud: 1 is an int, expected bool"),
                            ({"topic": ["a"]}, "topic: ['a'] is a list, expected str like the default topic = 'x' "
                                               "(quote it in the YAML)"),
                            ({"nothing": [datetime.date(2026, 1, 1)]}, "nothing: datetime.date(2026, 1, 1) is a date")]:
        with pytest.raises(UsageError) as e:
            typed(values, decl, "nb.ipynb", option="-f p.yaml:")
        assert str(e.value).startswith("-f p.yaml: ") and message in str(e.value), str(e.value)
