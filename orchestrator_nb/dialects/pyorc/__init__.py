"""The py-orc dialect: YAML pipelines written for ContextLab/orchestrator, loaded unchanged.

``autotext`` makes `<AUTO>` tags YAML-safe before parsing; ``detect`` recognises the shape;
``translate`` (with ``level``, ``steps``, ``actions``, ``loops``, ``flow``, ``rewrite``, ``models``)
turns it into native pipeline data whose line map points into the original file; ``tools`` holds
the run-time helpers translated steps call; ``convert`` backs `orc convert`.
See docs/migrating.md for what is supported.
"""
