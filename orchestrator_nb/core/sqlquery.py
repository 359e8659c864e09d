"""SQL with templates, made safe: every `{{ ... }}` becomes a bound parameter, never SQL text.

``compile_sql("SELECT * FROM read_json_auto('{{ steps.save.output.path }}') WHERE n > {{ inputs.n }}")``
gives the text ``SELECT * FROM read_json_auto($orc1) WHERE n > $orc2`` and the two expressions,
evaluated at run time and bound as values. So a model's answer that ends up in a query is data:
it cannot add a clause, read a file or attach a database. A template that fills a whole quoted
string (`'{{ x }}'`) binds the value in its place; a template inside other quoted text, and
`{% ... %}` blocks, are refused with a hint (use `params:` and SQL's own functions instead).
"""
from __future__ import annotations

import re

from ..errors import SpecError
from ..spec.templates import Template

_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)


class SqlQuery(dict):
    """{"text": SQL with $orcN placeholders, "values": {"orcN": Template}}; ``source`` is the SQL
    as written (what the pipeline file holds)."""

    __slots__ = ("source",)


def compile_sql(source: str):
    """A plain string when there is no template, else a SqlQuery."""
    if "{%" in source or "{#" in source:
        raise SpecError("`{% ... %}` blocks are not allowed in SQL",
                        hint="pass values with params: ($name in the query) and use SQL's CASE/WHERE for choices")
    if "{{" not in source:
        return source
    text, values, pos, n = [], {}, 0, 0
    strings = _quoted_spans(source)
    for m in _EXPR.finditer(source):
        start, end = m.span()
        inside = next(((a, b) for a, b in strings if a < start < b), None)
        if inside is not None:
            a, b = inside  # a: the opening quote, b: the closing one
            if source[a + 1:start].strip() or source[end:b].strip():
                raise SpecError("a template inside quoted SQL text would be pasted into the query",
                                hint="make the whole value a template ('{{ ... }}'), or concat() pieces in SQL")
            start, end = a, b + 1
        n += 1
        name = f"orc{n}"
        try:
            values[name] = Template("{{" + m.group(1) + "}}")
        except SpecError as e:
            raise e from None
        text.append(source[pos:start])
        text.append(f"${name}")
        pos = end
    text.append(source[pos:])
    q = SqlQuery(text="".join(text), values=values)
    q.source = source
    return q


def _quoted_spans(sql: str) -> list[tuple[int, int]]:
    """(opening, closing) offsets of single-quoted strings ('' is an escaped quote inside one);
    line comments are skipped."""
    spans, i, n = [], 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if c == "'":
            j = i + 1
            while j < n:
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            spans.append((i, j))
            i = j + 1
            continue
        i += 1
    return spans
