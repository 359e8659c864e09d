"""Run data as people read it: text tables and console progress lines (`orc`, headless notebooks),
HTML and SVG (a RunResult's rich display, the notebook views). Pure functions of plain data and
run events; no front-end imports, so the CLI, the notebook and the core's results share them."""
