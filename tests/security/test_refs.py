"""The static resolver: `module:name` found by reading source, never by importing it."""
from __future__ import annotations

import sys

import pytest

from orchestrator_nb.errors import SpecError
from orchestrator_nb.spec.refs import NOT_CHECKED, check_ref, find_spec


def write(d, name, text):
    (d / name).write_text(text)


def test_stdlib_module_is_read_not_imported(capsys):
    sys.modules.pop("this", None)
    assert check_ref("this:s") is None           # importing `this` prints the Zen of Python
    assert "this" not in sys.modules
    assert capsys.readouterr().out == ""


def test_names_bound_every_way_at_module_level(tmp_path):
    write(tmp_path, "m_every.py", "import os as o\nfrom json import loads\nx = y = 1\nz: int = 2\n"
                                  "def f(): pass\nasync def g(): pass\nclass C:\n    def meth(self): pass\n"
                                  "try:\n    import fast as speed\nexcept ImportError:\n    speed = None\n"
                                  "if True:\n    cond = 1\n(w := 3)\n")
    for name in ("o", "loads", "x", "y", "z", "f", "g", "C", "speed", "cond", "w", "C.meth"):
        assert check_ref(f"m_every:{name}", [str(tmp_path)]) is None, name
    with pytest.raises(SpecError, match="module 'm_every' has no 'nope'"):
        check_ref("m_every:nope", [str(tmp_path)])
    with pytest.raises(SpecError, match="class 'C' has no 'mth' \\(did you mean 'meth'\\?\\)"):
        check_ref("m_every:C.mth", [str(tmp_path)])
    assert "m_every" not in sys.modules


def test_what_only_running_can_tell_is_a_note(tmp_path):
    write(tmp_path, "m_star.py", "from os.path import *\n")
    write(tmp_path, "m_lazy.py", "def __getattr__(name):\n    return 1\n")
    write(tmp_path, "m_glob.py", "globals()['made'] = 1\n")
    write(tmp_path, "m_base.py", "class B(dict):\n    pass\n")
    for ref in ("m_star:join", "m_lazy:anything", "m_glob:made", "m_base:B.items"):
        note = check_ref(ref, [str(tmp_path)])
        assert note and NOT_CHECKED in note, ref
    compiled = next(name for name in ("_lzma", "_bz2", "_csv", "mmap", "termios", "grp", "_sqlite3", "audioop")
                    if name not in sys.modules and (find_spec(name) is not None)
                    and str(find_spec(name).origin).endswith(".so"))
    assert NOT_CHECKED in check_ref(f"{compiled}:anything")   # a compiled module: no source to read
    assert compiled not in sys.modules


def test_package_init_is_parsed_not_run_and_submodules_found(tmp_path):
    pkg = tmp_path / "m_pkg"
    (pkg / "sub").mkdir(parents=True)
    write(pkg, "__init__.py", "raise SystemExit('package __init__ ran')\nVALUE = 1\n")
    write(pkg / "sub", "__init__.py", "raise SystemExit('sub __init__ ran')\n")
    write(pkg / "sub", "leaf.py", "def fn(): pass\n")
    assert check_ref("m_pkg:VALUE", [str(tmp_path)]) is None
    assert check_ref("m_pkg.sub.leaf:fn", [str(tmp_path)]) is None
    assert NOT_CHECKED in check_ref("m_pkg.sub:leaf", [str(tmp_path)])
    assert find_spec("m_pkg.sub.nothere", [str(tmp_path)]) is None
    with pytest.raises(SpecError, match="no module 'm_pkg.nothere'"):
        check_ref("m_pkg.nothere:fn", [str(tmp_path)])
    assert not any(k.startswith("m_pkg") for k in sys.modules)


def test_a_syntax_error_is_reported_not_run(tmp_path):
    write(tmp_path, "m_broken.py", "def f(:\n")
    with pytest.raises(SpecError, match=r"module 'm_broken' has a syntax error \(line 1\)"):
        check_ref("m_broken:f", [str(tmp_path)])


def test_an_imported_module_is_looked_at_without_getattr(tmp_path, monkeypatch):
    import types
    mod = types.ModuleType("m_live")
    mod.present = 1
    monkeypatch.setitem(sys.modules, "m_live", mod)
    assert check_ref("m_live:present") is None
    with pytest.raises(SpecError, match="module 'm_live' has no 'absent'"):
        check_ref("m_live:absent")
