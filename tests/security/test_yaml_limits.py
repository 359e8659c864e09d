"""YAML limits: size, nesting, aliases. Each refusal is one `file:line:` line naming the limit and
the variable that raises it, found in well under 2 s and 200 MB."""
from __future__ import annotations

import pytest

from orchestrator_nb.errors import SpecError
from orchestrator_nb.core.loader import load
from orchestrator_nb.spec.yamlio import load_yaml

from measure import measure

# 392 bytes, 9 levels of 9 aliases each: 387 million strings once expanded ("billion laughs")
BOMB = "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 9 if p else ['"lol"'] * 9) + "]\n"
    for p, c in zip([None] + list("abcdefgh"), "abcdefghi")) + "name: bomb\nsteps: [{id: a, code: 'output = 1'}]\n"


def one_line(err: SpecError) -> str:
    text = str(err)
    assert "\n" not in text
    return text


def test_the_alias_bomb_is_refused_fast_and_small(tmp_path):
    (tmp_path / "bomb.yaml").write_text(BOMB)
    r = measure("""
        from orchestrator_nb.cli.main import main
        result["code"] = main(["validate", "bomb.yaml"])
    """, cwd=tmp_path)
    assert r["code"] == 2, r
    assert r["cpu"] < 2 and r["seconds"] < 10 and r["peak_mb"] < 200, r


def test_the_alias_bomb_message(tmp_path):
    (tmp_path / "bomb.yaml").write_text(BOMB)
    with pytest.raises(SpecError) as e:
        load(str(tmp_path / "bomb.yaml"))
    text = one_line(e.value)
    assert text == (f"{tmp_path / 'bomb.yaml'}:6: what YAML aliases repeat of 597,849 values is over the limit "
                    "of 100,000 values (set ORC_MAX_YAML_EXPANSION to raise it)")


def test_aliases_within_the_limits_still_work(monkeypatch):
    text = "x: &x {a: 1, b: [1, 2]}\ny: [*x, *x]\n"
    data, lines = load_yaml(text)
    assert data["y"] == [{"a": 1, "b": [1, 2]}] * 2 and lines[("y",)] == 2
    monkeypatch.setenv("ORC_MAX_YAML_ALIASES", "10")
    many = "x: &x 1\ny: [" + ", ".join(["*x"] * 11) + "]\n"
    with pytest.raises(SpecError, match=r"^<f>:2: y\[10\]: YAML aliases \(\*name\) of 11 uses is over the limit of "
                                        r"10 uses \(set ORC_MAX_YAML_ALIASES to raise it\)$"):
        load_yaml(many, "<f>")
    monkeypatch.setenv("ORC_MAX_YAML_ALIASES", "11")
    assert load_yaml(many)[0]["y"] == [1] * 11


def test_an_alias_inside_its_own_anchor():
    with pytest.raises(SpecError, match=r"^f.yaml:2: a\[0\]\[0\]: a YAML alias refers to the collection that holds it$"):
        load_yaml("# loops\na: &a [[*a]]\n", "f.yaml")


def test_nesting_depth(monkeypatch):
    deep = "x: " + "[" * 101 + "]" * 101 + "\n"
    with pytest.raises(SpecError) as e:
        load_yaml(deep, "d.yaml")
    assert one_line(e.value).startswith("d.yaml:1: x[0][0][0]…[0][0][0]: YAML nesting of 101 levels is over the "
                                        "limit of 100 levels (set ORC_MAX_YAML_DEPTH to raise it)")
    monkeypatch.setenv("ORC_MAX_YAML_DEPTH", "200")
    assert load_yaml(deep)[0]["x"] is not None
    with pytest.raises(SpecError, match="YAML nesting is over the limit of 200 levels"):  # libyaml's own cap
        load_yaml("x: " + "[" * 5000 + "]" * 5000)


def test_file_size_is_checked_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text("name: big\n# " + "x" * 5000 + "\nsteps: [{id: a, code: 'output = 1'}]\n")
    assert load(str(big)).name == "big"
    monkeypatch.setenv("ORC_MAX_YAML_BYTES", "2000")
    with pytest.raises(SpecError) as e:
        load(str(big))
    assert one_line(e.value) == (f"{big}: a pipeline file of 5,050 bytes is over the limit of 2,000 bytes "
                                 "(set ORC_MAX_YAML_BYTES to raise it)")
    with pytest.raises(SpecError, match=r"^<string>:1: a pipeline file of 5,050 bytes"):
        load(big.read_text())


def test_a_bad_limit_setting_is_one_line(monkeypatch):
    from orchestrator_nb.errors import UsageError
    monkeypatch.setenv("ORC_MAX_YAML_DEPTH", "lots")
    with pytest.raises(UsageError, match=r"^ORC_MAX_YAML_DEPTH must be a number, got 'lots'$"):
        load_yaml("a: 1")


def test_control_characters_get_a_line_and_are_escaped():
    with pytest.raises(SpecError) as e:
        load_yaml("name: x\nsteps:\n  - id: a\x00b\n", "n.yaml")
    assert one_line(e.value) == ("n.yaml:3: invalid YAML: character '\\x00' is not allowed (remove it, or write "
                                 "it as an escape such as \"\\x07\" in double quotes)")
    with pytest.raises(SpecError) as e:   # libyaml counts bytes: a multi-byte character before it
        load_yaml("é: 1\nb: 2\n\x07\n", "n.yaml")
    assert one_line(e.value).startswith("n.yaml:3: invalid YAML: character '\\x07'")


def test_keys_with_newlines_are_echoed_escaped():
    with pytest.raises(SpecError) as e:
        load('name: x\nsteps:\n  - id: a\n    code: "output = 1"\n    "bad\\nkey": 1\n')
    assert one_line(e.value).startswith("<string>:5: steps[0].bad\\nkey: unknown key 'bad\\nkey'")
