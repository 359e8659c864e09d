"""Every example in README.md and docs/*.md is checked (the convention: docs/contributing-docs.md).

Fast (default suite): each fenced block is classified (an unmarked block the test cannot run fails),
every YAML pipeline and fragment passes `orc validate`, every %%orc cell passes `%%orc --dry-run` in
a real IPython shell. The `docs` marker runs the shell blocks and the complete pipelines.
"""
from __future__ import annotations

import pytest
import yaml

from docblocks import all_blocks, as_pipeline, kind

BLOCKS = all_blocks()
MAX_SKIPPED = 14          # blocks that cannot run here (installs, servers, keys): keep them few


def _ids(blocks):
    return [b.where for b in blocks]


def _kind(block) -> str:
    try:
        return kind(block)
    except ValueError:
        return "bad"      # reported by test_every_block_says_how_it_is_checked


def _of(*kinds):
    return [b for b in BLOCKS if _kind(b) in kinds]


def test_every_block_says_how_it_is_checked():
    problems = []
    for b in BLOCKS:
        try:
            kind(b)
        except ValueError as e:
            problems.append(str(e))
    assert not problems, "\n".join(problems)


def test_blocks_that_cannot_run_here_are_few_and_say_why():
    skipped = _of("skip")
    assert len(skipped) <= MAX_SKIPPED, "\n".join(f"{b.where}: {b.arg}" for b in skipped)
    assert len(_of("shell")) >= 10 and len(_of("pipeline", "fragment")) >= 10


@pytest.mark.parametrize("block", _of("pipeline", "fragment"), ids=_ids(_of("pipeline", "fragment")))
def test_yaml_example_validates(block, tmp_path, capsys):
    """(A `file` block is only parsed here: the page's shell blocks use it, e.g. `orc validate` on a
    file that shows an error.)"""
    from orchestrator_nb.cli.main import main
    data = block.data if kind(block) != "fragment" else as_pipeline(block.data)
    path = tmp_path / "example.yaml"
    path.write_text(block.text if kind(block) != "fragment" else yaml.safe_dump(data, sort_keys=False))
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, f"{block.where}: orc validate failed:\n{err}{out}"


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    return InteractiveShell.instance(config=config)


@pytest.mark.parametrize("block", _of("cell"), ids=_ids(_of("cell")))
def test_orc_cell_example_passes_a_dry_run(block, shell, capsys, monkeypatch):
    monkeypatch.setenv("ORC_HEADLESS", "1")
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "orchestrator_nb")
    try:
        if block.directive == "given":
            assert shell.run_cell(block.arg).success, f"{block.where}: the `given` code failed"
        first, _, body = block.text.partition("\n")
        result = shell.run_cell(f"{first} --dry-run\n{body}")
        out, err = capsys.readouterr()
        assert result.success, f"{block.where}: %%orc --dry-run failed:\n{out}\n{err}"
        assert "UsageError" not in out + err, f"{block.where}:\n{out}\n{err}"
    finally:
        shell.run_line_magic("unload_ext", "orchestrator_nb")
