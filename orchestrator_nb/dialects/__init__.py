"""Other YAML dialects, detected by shape and translated into the native format.

``preprocess`` may rewrite the raw text before YAML parsing (returning a function that maps
line numbers back to the original file); ``translate_if_foreign`` turns foreign data into native
data with a line map that still points into the original file.
"""
from __future__ import annotations


def preprocess(text: str, file: str):
    return text, None


def translate_if_foreign(data, lines, file: str):
    return data, lines
