"""Safe YAML loading that remembers where every key and item came from.

``load_yaml`` returns plain Python data plus ``Lines``: a map from a path such as
``("steps", 2, "needs")`` to its 1-based line in the file, so validation errors can say
``file:line: steps[2].needs: ...``.
"""
from __future__ import annotations

import sys

import yaml

from ..errors import SpecError
from ..limits import LIMITS

try:  # libyaml's composer is ~10x faster; the pure-Python one is a fine fallback
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _SafeLoader

# the safe loader's implicit tags (bool, int, float, null, timestamp...) by a scalar's first character
_IMPLICIT = {c: tuple(r + _SafeLoader.yaml_implicit_resolvers.get(None, []))
             for c, r in _SafeLoader.yaml_implicit_resolvers.items() if c is not None}
_WILDCARD = tuple(_SafeLoader.yaml_implicit_resolvers.get(None, []))


class _Loader(_SafeLoader):
    """The safe loader, with its tag resolution (called by the composer for every node, a third of
    loading a long pipeline) taking the same decisions in fewer steps: this loader has no path
    resolvers, so only a plain scalar's implicit tag is looked up, by its first character."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], _WILDCARD):
                    if regexp.match(value):
                        return tag
            return self.DEFAULT_SCALAR_TAG
        return self.DEFAULT_SEQUENCE_TAG if kind is yaml.SequenceNode else self.DEFAULT_MAPPING_TAG

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass

Path = tuple  # of str | int


class Lines(dict):
    """Path -> line number. ``near(path)`` falls back to the closest known ancestor."""

    def near(self, path: Path) -> int | None:
        path = tuple(path)
        while path:
            if path in self:
                return self[path]
            path = path[:-1]
        return self.get((), None)


def load_yaml(text: str, file: str = "<string>") -> tuple[object, Lines]:
    """Parse ``text`` within the YAML limits (size, nesting, aliases; see ``limits``)."""
    size = len(text)
    if LIMITS["yaml_bytes"].exceeded_by(size) and LIMITS["yaml_bytes"].exceeded_by(_utf8_size(text)):
        raise SpecError(LIMITS["yaml_bytes"].message(_utf8_size(text)), file=file, line=1)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = e.problem or e.context
        if problem and "maximum nesting depth" in problem:  # libyaml's own cap (1,000 levels)
            raise SpecError(LIMITS["yaml_depth"].message(), file=file, line=line) from None
        raise SpecError(f"invalid YAML: {problem}", file=file, line=line,
                        hint="check indentation and quoting") from None
    except yaml.reader.ReaderError as e:  # a character YAML refuses (NUL and other controls)
        char = e.character if isinstance(e.character, str) else chr(e.character)
        raise SpecError(f"invalid YAML: character {char!r} is not allowed", file=file,
                        line=_line_at(text, e.position),
                        hint='remove it, or write it as an escape such as "\\x07" in double quotes') from None
    except yaml.YAMLError as e:
        raise SpecError(f"invalid YAML: {e}", file=file) from None
    except UnicodeEncodeError as e:  # a lone surrogate (text decoded with errors="surrogateescape")
        raise SpecError(f"invalid YAML: character {e.object[e.start]!r} is not valid Unicode", file=file,
                        line=e.object.count("\n", 0, e.start) + 1) from None
    except RecursionError:  # the pure-Python composer recurses once per level
        raise SpecError(LIMITS["yaml_depth"].message(), file=file, line=1) from None
    lines = Lines()
    if node is None:
        return None, lines
    lines[()] = node.start_mark.line + 1
    if "*" in text:  # aliases: measure what they repeat before building any of it
        _check_expansion(node, file)
    builder = _Builder(lines, file)
    try:
        return builder.build(node, (), 1), lines
    except RecursionError:
        raise SpecError(LIMITS["yaml_depth"].message(), file=file, line=1) from None


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _line_at(text: str, position: int) -> int:
    """The line of a reader error's position (libyaml counts UTF-8 bytes, PyYAML characters)."""
    if _Loader.__name__.startswith("C"):
        return text.encode("utf-8", "surrogatepass")[:position].count(b"\n") + 1
    return text.count("\n", 0, position) + 1


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return node.value
    return []


def _check_expansion(root, file: str) -> None:
    """Refuse a document whose aliases repeat too many values, counted on the composed node graph
    (each shared node sized once), so a "billion laughs" file costs milliseconds, not gigabytes."""
    limit = LIMITS["yaml_expansion"].value()
    size: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            size[key] = 1 + sum(size[id(k)] for k in _children(node))
            if size[key] - len(size) > limit:
                raise SpecError(LIMITS["yaml_expansion"].message(size[key] - len(size)), file=file,
                                line=node.start_mark.line + 1)
        elif key not in size:
            size[key] = 0  # in progress: an alias to it (a cycle) adds nothing; the builder refuses it
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(_children(node)))


_STR = "tag:yaml.org,2002:str"
_scalars = yaml.SafeLoader("")  # only its constructor is used, for scalar tags (int, bool, null...)


class _Builder:
    """Composed nodes -> plain data, counting what aliases repeat as it goes.

    An alias is the same node object reached again, so ``built - len(seen)`` is the number of
    values aliases repeated: a 9-level "billion laughs" file stops after ~100,000 of them
    instead of building 387 million.
    """

    def __init__(self, lines: Lines, file: str):
        self.lines, self.file = lines, file
        self.seen: set[int] = set()
        self.built = self.aliases = 0
        self.on_path: set[int] = set()
        self.max_depth = LIMITS["yaml_depth"].value()
        self.max_aliases = LIMITS["yaml_aliases"].value()
        self.max_repeated = LIMITS["yaml_expansion"].value()

    def _refuse(self, message: str, line: int, path: Path):
        raise SpecError(message, file=self.file, line=line, loc=path)

    def build(self, node, path: Path, depth: int, repeat: bool = False, line: int = 1):
        """``repeat``: this node is being built again through an alias (its aliases are not new uses);
        ``line``: where errors point (an alias has no line of its own: its collection's)."""
        key = id(node)
        if not repeat and key not in self.seen:
            line = node.start_mark.line + 1
        self.built += 1
        if key in self.seen:
            if not repeat:
                self.aliases += 1
                if self.aliases > self.max_aliases:
                    self._refuse(LIMITS["yaml_aliases"].message(self.aliases), line, path)
            repeat = True
            if self.built - len(self.seen) > self.max_repeated:
                self._refuse(LIMITS["yaml_expansion"].message(self.built - len(self.seen)), line, path)
        else:
            self.seen.add(key)
        if depth > self.max_depth:
            self._refuse(LIMITS["yaml_depth"].message(depth), line, path)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth, repeat, line)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path, depth, repeat, line)
        if node.tag == _STR:  # most scalars: the text itself (what the constructor would return)
            return node.value
        try:
            return _scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            raise SpecError(f"unsupported YAML value: {e.problem}", file=self.file,
                            line=node.start_mark.line + 1, loc=path) from None
        except (ValueError, OverflowError) as e:  # a timestamp with a month 13, a 5,000-digit number
            reason = str(e)
            if "integer string conversion" in reason:
                reason = f"a number of {len(node.value):,} digits is over Python's limit of {sys.get_int_max_str_digits():,}"
            value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
            raise SpecError(f"invalid YAML value {value!r}: {reason}", file=self.file,
                            line=node.start_mark.line + 1, loc=path, hint="quote it to keep it as text") from None

    def _enter(self, node, path: Path, line: int) -> None:
        if id(node) in self.on_path:
            self._refuse("a YAML alias refers to the collection that holds it", line, path)
        self.on_path.add(id(node))

    def _mapping(self, node, path: Path, depth: int, repeat: bool, at: int) -> dict:
        self._enter(node, path, at)
        out: dict = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SpecError("YAML merge keys ('<<') are not supported", file=self.file, line=line, loc=path)
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError("a mapping key must be a plain value", file=self.file, line=line, loc=path)
            key = self.build(key_node, path, depth + 1, repeat, at)
            try:
                duplicate = key in out
            except TypeError:  # an unhashable scalar cannot happen, but a key must never crash the loader
                raise SpecError("a mapping key must be a plain value", file=self.file, line=line, loc=path) from None
            if duplicate:
                raise SpecError(f"duplicate key '{key}'", file=self.file, line=line,
                                loc=path, hint="each key may appear once")
            child = path + (key,)
            self.lines[child] = line
            out[key] = self.build(value_node, child, depth + 1, repeat, at)
        self.on_path.discard(id(node))
        return out

    def _sequence(self, node, path: Path, depth: int, repeat: bool, at: int) -> list:
        self._enter(node, path, at)
        items = []
        for i, item in enumerate(node.value):
            child = path + (i,)
            self.lines[child] = item.start_mark.line + 1
            items.append(self.build(item, child, depth + 1, repeat, at))
        self.on_path.discard(id(node))
        return items


def dump_yaml(data) -> str:
    """Readable YAML: block style, keys in the order given, multi-line strings as `|` blocks."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


try:  # libyaml's emitter is ~10x faster (spec text is stored with every run)
    _DumperBase = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _DumperBase = yaml.SafeDumper


class _Dumper(_DumperBase):
    pass


def _str_presenter(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)
