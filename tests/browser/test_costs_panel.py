"""The sidebar's "Cost and latency" section in a real JupyterLab: opened, it shows today's model
calls per model with the figures `orc stats` gives for the same store."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from test_lab_extension import REVIEWED, SIDEBAR, open_lab, orc

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_cost_section_shows_todays_calls_per_model(lab, browser, screenshots):
    (lab.root / "release.yaml").write_text(REVIEWED)
    assert orc(lab, "run", "release.yaml", "--approval", "auto").returncode == 0
    stats = orc(lab, "stats", "--by", "model", "--since", "today", "--json")
    assert stats.returncode == 0, stats.stderr
    model = json.loads(stats.stdout)["model"][0]

    page = open_lab(lab, browser)
    section = page.locator(f"{SIDEBAR} details.jp-orc-costs")
    expect(section.locator("tbody tr")).to_have_count(0)      # closed: nothing asked yet
    section.locator("summary").click()
    row = section.locator(f'tbody tr[data-model="{model["key"]}"]')
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text(str(model["calls"]))
    expect(cells.nth(2)).to_have_text(f"${model['cost_usd']:.4f}" if model["cost_usd"] < 0.01
                                      else f"${model['cost_usd']:.3f}")
    expect(section.locator("summary")).to_contain_text(f"{model['calls']} calls")
    section.screenshot(path=str(screenshots / "lab-costs.png"))
