"""`<AUTO>...</AUTO>` tags: made YAML-safe before parsing, then split and typed after.

py-orc files write AUTO tags (and whole `{{ ... }}` values) unquoted inside YAML values, where
a `: ` or a leading `{` would break YAML. ``quote_plain_templates`` double-quotes such plain
values *without moving any line* (a value that spans lines stays on the same lines inside the
quotes), so YAML line numbers are the original file's. It is idempotent: quoted values are left
alone, which matters because the rewritten text is what a run stores and `orc resume` reloads.

After parsing, ``split_auto`` cuts a string into text and AUTO parts, and ``value_schema``
guesses the type an AUTO value should have (choice, boolean, list, number or string) from its
wording and where it stands.
"""
from __future__ import annotations

import re

from ...errors import SpecError

OPEN, CLOSE = "<AUTO>", "</AUTO>"
# an opening tag, plain or with attributes: <AUTO task="summarize">
_OPEN = re.compile(r"""<AUTO(?P<attrs>(?:\s+[A-Za-z_][\w-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*>""")
_ATTR = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
ATTRS = ("task",)   # what py-orc's tags carry: the kind of work, a hint for choosing the model

# A line that says "this is a py-orc file" (keys no native pipeline has).
_PYORC_LINE = re.compile(r"^[ \t]*(?:-[ \t]+)?(?:action|tool|depends_on|dependencies|parameters)[ \t]*:", re.M)
# A plain (unquoted) value that YAML cannot read as written: an AUTO tag or a leading `{{`.
_LINE = re.compile(r"^(?P<prefix>(?P<lead>[ \t]*(?:-[ \t]+)*)(?P<key>[A-Za-z_$][\w$.-]*[ \t]*:[ \t]+)?)"
                   r"(?P<value>\S.*?)[ \t]*$")
_BLOCK = re.compile(r"^[|>][-+0-9]*[ \t]*(?:#.*)?$")
_BARE = re.compile(r"^<AUTO>[ \t]*(?:#.*)?$")   # a lone tag, maybe with a YAML comment after it


def needs_preprocess(text: str) -> bool:
    return ("<AUTO" in text or "{{" in text) and (_OPEN.search(text) is not None
                                                   or _PYORC_LINE.search(text) is not None)


def quote_plain_templates(text: str, file: str = "<string>") -> str:
    """Double-quote plain YAML values that hold AUTO tags or start with `{{`; keep every line.

    A bare `<AUTO>` ending its line (py-orc's "choose for me") that a later line's `</AUTO>`
    would close is refused: py-orc reads every line in between as one tag, steps included."""
    lines = text.split("\n")
    out: list[str] = []
    i, n = 0, len(lines)
    block_indent = None          # inside a `|` / `>` block scalar opened at this indentation
    quote_open = None            # inside a quoted scalar that continues on the next lines
    while i < n:
        line = lines[i]
        if quote_open is not None:
            out.append(line)
            if _closes_quote(line, quote_open):
                quote_open = None
            i += 1
            continue
        if block_indent is not None:
            if not line.strip() or _indent(line) > block_indent:
                out.append(line)
                i += 1
                continue
            block_indent = None
        m = _LINE.match(line.rstrip("\r"))
        if not m or m.group("value").startswith("#"):
            out.append(line)
            i += 1
            continue
        prefix, value = m.group("prefix"), m.group("value")
        if _BLOCK.match(value):
            # content lines are indented deeper than the key (or than the last `- ` of the line)
            lead = m.group("lead")
            block_indent = len(lead) if m.group("key") else len(lead.rstrip(" \t")) - 1
            out.append(line)
            i += 1
            continue
        if value[0] in "\"'":
            if not _closes_quote(value[1:], value[0]):
                quote_open = value[0]
            out.append(line)
            i += 1
            continue
        if not (value.startswith("{{") or _OPEN.search(value)) or (value[0] in "{[" and not value.startswith("{{")):
            # flow collections ({a: b}, [x]) are left to YAML: their items can be quoted by hand
            out.append(line)
            i += 1
            continue
        # a plain value to quote; an AUTO tag left open continues on the following lines
        parts = [value]
        j = i
        if len(_OPEN.findall(value)) > value.count(CLOSE):
            k = i + 1
            while k < n and CLOSE not in lines[k]:
                k += 1
            if k < n and _BARE.match(value):
                raise SpecError(f"`<AUTO>` is not closed on its line: the `</AUTO>` on line {k + 1} closes it, "
                                f"so lines {i + 1}-{k + 1} would be one AUTO tag (py-orc reads them so too)",
                                file=file, line=i + 1,
                                hint='write the tag on one line: <AUTO>what to choose</AUTO>, or quote it: "<AUTO>"')
            if k < n:
                parts.extend(lines[i + 1:k + 1])
                j = k
        raw = "\n".join(p.rstrip("\r") for p in parts)
        raw, comment = _split_comment(raw)
        cr = "\r" if lines[j].endswith("\r") else ""
        quoted = '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'
        new = (prefix + quoted).split("\n")
        new[-1] = new[-1] + comment + cr
        out.extend(new)
        i = j + 1
    return "\n".join(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _closes_quote(text: str, q: str) -> bool:
    if q == "'":
        return text.replace("''", "").count("'") % 2 == 1
    count, esc = 0, False
    for ch in text:
        if esc:
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == '"':
            count += 1
    return count % 2 == 1


def _split_comment(raw: str) -> tuple[str, str]:
    """A ` # comment` after the last closing tag or `}}` is YAML's, not the value's."""
    end = max(raw.rfind(CLOSE) + len(CLOSE) if CLOSE in raw else 0, raw.rfind("}}") + 2 if "}}" in raw else 0)
    m = re.search(r"[ \t]#", raw[end:])
    if m:
        cut = end + m.start()
        return raw[:cut].rstrip(), raw[cut:]
    return raw.rstrip(), ""


# after parsing ---------------------------------------------------------------------------------
def has_auto(value) -> bool:
    return isinstance(value, str) and _OPEN.search(value) is not None


def split_auto(text: str) -> list[tuple[str, str]]:
    """'a <AUTO>b</AUTO> c' -> [('text','a '), ('auto','b'), ('text',' c')]. A lone `<AUTO>`
    (py-orc's "choose for me") is an AUTO part with no wording. Tag attributes are dropped here;
    ``auto_tasks`` reads them."""
    return [(kind, body) for kind, body, _ in _split(text)]


def auto_tasks(text: str) -> list[str | None]:
    """The `task="..."` of each AUTO tag of ``text``, in order (None where a tag has none)."""
    return [task for kind, _, task in _split(text) if kind == "auto"]


def _split(text: str) -> list[tuple[str, str, str | None]]:
    if text.strip() in (OPEN, OPEN + CLOSE):
        return [("auto", "", None)]
    parts: list[tuple[str, str, str | None]] = []
    pos = 0
    while True:
        m = _OPEN.search(text, pos)
        if m is None:
            break
        start = m.start()
        end = text.find(CLOSE, m.end())
        if end < 0:
            raise SpecError("<AUTO> tag is not closed", hint="end it with </AUTO>")
        if start > pos:
            parts.append(("text", text[pos:start], None))
        parts.append(("auto", text[m.end():end].strip(), _task_attr(m.group("attrs"))))
        pos = end + len(CLOSE)
    if CLOSE in text[pos:]:
        raise SpecError("</AUTO> without an opening <AUTO>")
    if pos < len(text):
        parts.append(("text", text[pos:], None))
    return parts


def _task_attr(attrs: str) -> str | None:
    task = None
    for m in _ATTR.finditer(attrs or ""):
        name, value = m.group(1), m.group(2) if m.group(2) is not None else m.group(3)
        if name not in ATTRS:
            from ...errors import suggest
            raise SpecError(f"<AUTO> tags take no '{name}' attribute",
                            hint=suggest(name, ATTRS) or 'py-orc AUTO tags carry task="..." only')
        task = value.strip() or None
    return task


_QUOTED = re.compile(r"""(?<![\w])['"]([^'"\n]{1,60})['"]""")
_LISTED = re.compile(r"(?:choose|select|pick|one of|options?|from)\b[^:\n?]*[:]\s*"
                     r"([\w-]+(?:\s*,\s*[\w-]+)+(?:,?\s*(?:or|and)\s+[\w-]+)?)\s*[.?!]?\s*$", re.I)
_RANGE = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(-?\d+(?:\.\d+)?)")
_BOOL_WORDS = re.compile(r"\(?\b(?:true\s*/\s*false|true or false|yes\s*/\s*no|yes or no)\b\)?", re.I)
_QUESTION = re.compile(r"^\s*(?:should|is|are|does|do|can|could|will|would|has|have|must)\b", re.I)
_LIST_WORDS = re.compile(r"\b(?:list|array|comma[- ]separated|bullet)\b", re.I)
_NUMBER_WORDS = re.compile(r"\b(?:how many|number of|count|threshold|score|rate|percentage|ratio|"
                           r"level \(\d|depth|length in)\b", re.I)


def value_schema(text: str, context: str = "value") -> tuple[dict, str]:
    """(JSON Schema of the value, a few words describing it) for an AUTO tag's wording.

    ``context`` is where the tag stands: "condition" (if/condition/while), "list" (for_each),
    "integer" (counts such as max_iterations) or "value" (a parameter)."""
    if context == "condition":
        return {"type": "boolean"}, "true or false"
    if context == "integer":
        return {"type": "integer", "minimum": 0}, "a whole number"
    options = _options(text)
    is_list = context == "list" or bool(_LIST_WORDS.search(text))
    if is_list:
        items = {"type": "string", "enum": options} if options else {"type": "string"}
        return {"type": "array", "items": items}, "a list" + (f" drawn from {', '.join(options)}" if options else "")
    if _BOOL_WORDS.search(text) or (options and sorted(o.lower() for o in options) in (["false", "true"],)):
        return {"type": "boolean"}, "true or false"
    if options:
        return {"type": "string", "enum": options}, "one of " + ", ".join(options)
    rng = _RANGE.search(text)
    if rng or _NUMBER_WORDS.search(text):
        if rng:
            lo, hi = rng.group(1), rng.group(2)
            integer = "." not in lo + hi
            schema = {"type": "integer" if integer else "number"}
            a, b = (int(lo), int(hi)) if integer else (float(lo), float(hi))
            schema["minimum"], schema["maximum"] = min(a, b), max(a, b)
            return schema, f"a {'whole ' if integer else ''}number from {schema['minimum']} to {schema['maximum']}"
        return {"type": "number"}, "a number"
    if _QUESTION.match(text) and text.rstrip().endswith("?"):
        return {"type": "boolean"}, "true or false"
    return {"type": "string"}, "a short text"


def _options(text: str) -> list[str]:
    quoted = [q.strip() for q in _QUOTED.findall(text) if q.strip() and "{" not in q]
    if len(quoted) >= 2:
        return list(dict.fromkeys(quoted))
    m = _LISTED.search(text)
    if m:
        words = re.split(r"\s*,\s*|\s+(?:or|and)\s+", m.group(1))
        return list(dict.fromkeys(w.strip(" ,") for w in words if w.strip(" ,")))
    return []


def auto_prompt(wording: str, describe: str, where: str) -> str:
    """The question asked to the routed model for one AUTO value."""
    ask = wording or f"Choose a sensible value for `{where}`."
    return (f"{ask}\n\nThis value fills `{where}` in an automated pipeline. "
            f"Reply with a JSON object {{\"value\": ...}} where value is {describe}.")


_TASK_WORDS = (
    ("codegen", r"\b(code|coding|program|python|debug|refactor|function|script|sql)\b"),
    ("summarize", r"\bsummar"),
    ("extraction", r"\b(extract|classif|pars|label|tag)"),
    ("analysis", r"\b(analy|reason|evaluat|review|assess|critic|research|plan)"),
    ("writing", r"\b(writ|creative|story|draft|blog|essay|copy|poem)"),
    ("translation", r"\btranslat"),
)


# py-orc's `<AUTO task="...">` words that name no task type of ours by their letters
_TASK_NAMES = {"generate": "writing", "generation": "writing", "text-generation": "writing", "reasoning": "analysis",
               "code": "codegen", "coding": "codegen", "summary": "summarize", "classify": "extraction"}


def infer_task(text: str, tagged: str | None = None) -> str | None:
    """`model: <AUTO>...</AUTO>` -> a task type for the router (None: automatic choice).
    ``tagged``: the tag's `task="..."`, which decides when it names a task."""
    if tagged:
        word = tagged.strip().lower()
        if word in _TASK_NAMES:
            return _TASK_NAMES[word]
        found = infer_task(word)
        if found:
            return found
    for task, pattern in _TASK_WORDS:
        if re.search(pattern, text or "", re.I):
            return task
    return None
