"""Other YAML dialects, detected by shape and translated into the native format.

``preprocess`` may rewrite the raw text before YAML parsing (returning a function that maps
line numbers back to the original file, or None when every line stays where it was);
``translate_if_foreign`` turns foreign data into native data with a line map that still points
into the original file.

One dialect today: py-orc, the YAML of ContextLab/orchestrator (``dialects.pyorc``). Both hooks
cost a regular-expression scan for native files; the translator is imported only when needed.
"""
from __future__ import annotations


def preprocess(text: str, file: str):
    from .pyorc.autotext import needs_preprocess
    if not needs_preprocess(text):
        return text, None
    from .pyorc.autotext import quote_plain_templates
    return quote_plain_templates(text, file), None  # line-preserving: no line map needed


def translate_if_foreign(data, lines, file: str, check=None):
    """``check(native, lines)`` loads the translation (the caller's loader), so errors can be
    put back on the original file's lines."""
    from .pyorc.detect import is_pyorc
    if not is_pyorc(data):
        return data, lines
    from .pyorc.translate import translate
    return translate(data, lines, file, check)
