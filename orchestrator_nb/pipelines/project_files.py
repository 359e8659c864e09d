"""Python steps of the built-in ``project`` pipeline (``orchestrator_nb/pipelines/project.yaml``).

The model steps return small JSON documents; these functions tidy them (ids, slugs, valid
dependencies), check the user stories, and render the files of the project folder as text.
They are pure functions of their arguments (no clock, no run id), so the same answers always
give the same files, byte for byte. Only ``finish_folder`` touches the disk.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

SUBFOLDERS = ("stories", "implementation", "prompts")


# small helpers --------------------------------------------------------------------------------
def slugify(text: str, limit: int = 40) -> str:
    """'Vote once a day!' -> 'vote-once-a-day' (ASCII, at most ``limit`` characters, whole words)."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = ""
    for w in words:
        candidate = f"{out}-{w}" if out else w
        if len(candidate) > limit:
            break
        out = candidate
    return out or (words[0][:limit] if words else "item")


def _clean(text) -> str:
    """One line of model text: whitespace collapsed, no surrounding quotes or trailing spaces."""
    return re.sub(r"\s+", " ", str(text or "")).strip().strip('"').strip()


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


def _unique(items) -> list[str]:
    out, seen = [], set()
    for item in items or []:
        text = _clean(item)
        if text and _key(text) not in seen:
            seen.add(_key(text))
            out.append(text)
    return out


def _bullets(items, empty: str = "_none_") -> list[str]:
    items = list(items or [])
    return [f"- {i}" for i in items] if items else [empty]


def project_title(requirements: str) -> str:
    """The first markdown heading of the requirements, else their first line, else 'Project'."""
    lines = [ln.strip() for ln in str(requirements or "").splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("#"):
            return _clean(ln.lstrip("#")) or "Project"
    return _clean(lines[0])[:60] if lines else "Project"


# analysis ------------------------------------------------------------------------------------
ANALYSIS_SECTIONS = (("users", "Users"), ("goals", "Goals"), ("constraints", "Constraints"), ("risks", "Risks"),
                     ("open_questions", "Open questions"))


def analysis_markdown(analysis: dict) -> str:
    """The analysis as the reviewer sees it at the first approval gate."""
    lines = []
    for key, title in ANALYSIS_SECTIONS:
        lines += [f"## {title}", ""] + _bullets(_unique(analysis.get(key))) + [""]
    return "\n".join(lines).rstrip() + "\n"


# plan ----------------------------------------------------------------------------------------
_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,2}[.)])\s+(?P<text>\S.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def parts(requirements: str, max_parts: int = 3) -> list[dict]:
    """The requirements cut into at most ``max_parts`` parts, in their order: one milestone each.

    The requirements' list items are the units (``- ...``, ``* ...``, ``1. ...``); with fewer than
    two, their sentences. Sections under ``##`` headings that hold items are parts of their own
    (the author's grouping); otherwise the items are dealt out in order, the first parts taking one
    more when they do not divide evenly. Each part is ``{"n": 1, "lines": [...], "text": "- ..."}``.
    The planner (model) names each part and says what it delivers; it does not choose the cut, so
    every requirement lands in exactly one milestone whatever the model."""
    sections: list[list[str]] = [[]]
    prose: list[str] = []
    for raw in str(requirements or "").splitlines():
        line = raw.strip()
        m = _ITEM.match(raw)
        if m:
            sections[-1].append(_clean(m["text"]))
        elif line.startswith("##"):
            sections.append([])
        elif line.startswith("#"):
            continue
        elif line and raw[:1].isspace() and sections[-1]:     # an item's continuation line
            sections[-1][-1] = _clean(f"{sections[-1][-1]} {line}")
        elif line:
            prose.append(line)
    items = [i for s in sections for i in s if i]
    if len(items) < 2:
        items += [s for s in _SENTENCE_END.split(" ".join(prose)) if _clean(s)]
        items = [_clean(i) for i in items]
        if not items:
            raise ValueError("the requirements have no text to plan (only headings or nothing); "
                             "write what to build, e.g. a list of '- ...' lines")
        groups = _deal(items, max_parts)
    else:
        groups = [s for s in sections if s]
        if len(groups) < 2 or len(groups) > max(1, int(max_parts)):
            groups = _deal(items, max_parts)
    about = _clean(" ".join(prose))[:300] if len(items) >= 2 else ""
    return [{"n": n, "of": len(groups), "about": about, "lines": g, "text": "\n".join(f"- {x}" for x in g)}
            for n, g in enumerate(groups, 1)]


def _deal(items: list[str], k: int) -> list[list[str]]:
    """``items`` in ``k`` consecutive groups of nearly equal size (the first ones larger)."""
    k = max(1, min(int(k), len(items)))
    size, extra = divmod(len(items), k)
    out, at = [], 0
    for i in range(k):
        n = size + (i < extra)
        out.append(items[at:at + n])
        at += n
    return [g for g in out if g]


def outline(parts: list[dict], plan: list) -> dict:
    """The milestones: one per part of the requirements, in their order, each named by the
    planner's answer for it ({title, goal}), with an id (M1, M2...), a slug, the requirements it
    delivers and the milestone before it as its dependency. A title another milestone already has
    is made unique from the goal (noted for the reviewer, who can ask for better names)."""
    answers = list(plan or [])
    milestones, notes, seen = [], [], set()
    for n, part in enumerate(parts or [], 1):
        raw = answers[n - 1] if n - 1 < len(answers) and isinstance(answers[n - 1], dict) else {}
        goal = _clean(raw.get("goal")) or "; ".join(part.get("lines") or [])
        title = _clean(raw.get("title")) or _title_from(goal) or f"Milestone {n}"
        if _key(title) in seen:
            renamed = _title_from(goal, 5)
            if not renamed or _key(renamed) in seen:
                renamed = f"{title} ({n})"
            notes.append(f"M{n} was also named '{title}'; renamed '{renamed}'")
            title = renamed
        seen.add(_key(title))
        milestones.append({"id": f"M{n}", "title": title, "goal": goal,
                           "depends_on": [f"M{n - 1}"] if n > 1 else [],
                           "requirements": list(part.get("lines") or []), "slug": f"m{n}-{slugify(title)}"})
    return {"milestones": milestones, "notes": notes, "markdown": plan_markdown(milestones, notes)}


def plan_markdown(milestones: list[dict], notes=()) -> str:
    """Milestones as the reviewer sees them at the second approval gate."""
    lines = ["## Milestones", ""]
    for m in milestones:
        after = f" (after {', '.join(m['depends_on'])})" if m["depends_on"] else ""
        lines.append(f"- **{m['id']} {m['title']}**{after}: {m['goal']}")
        lines += [f"  - {r}" for r in m.get("requirements") or []]
    if notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


# stories -------------------------------------------------------------------------------------
STORY = re.compile(r"^\s*As an? (?P<as_a>.+?), I want (?P<i_want>.+?), so that (?P<so_that>.+?)\s*$", re.I | re.S)


def split_story(text: str) -> dict:
    """'As a cook, I want X, so that Y' -> {as_a: 'cook', i_want: 'X', so_that: 'Y'} (empty when
    the sentence has another shape)."""
    m = STORY.match(str(text or ""))
    if not m:
        return {"as_a": "", "i_want": "", "so_that": ""}
    return {"as_a": _clean(m["as_a"]), "i_want": _clean(m["i_want"]),
            "so_that": _clean(m["so_that"]).rstrip(".")}


def check_stories(output) -> str | None:
    """Quality gate of the stories of one milestone: None when they pass, else what to fix (the
    step runs again with this text in the prompt). The schema has checked the shape of the JSON;
    this checks the sentence: "As a <user>, I want <action>, so that <benefit>", with a benefit
    that is not the action again. (Repeated stories and acceptance criteria are merged when the
    files are written; add `judge:` to the step's check for a model's opinion on quality.)"""
    stories = (output or {}).get("stories") if isinstance(output, dict) else None
    if not stories:
        return "Write at least one user story."
    problems = []
    for n, s in enumerate(stories, 1):
        parts = split_story(s.get("story"))
        if not parts["as_a"]:
            problems.append(f"story {n} must read 'As a <user>, I want <action>, so that <benefit>'")
        elif _key(parts["i_want"]) == _key(parts["so_that"]):
            problems.append(f"story {n}: the 'so that' part must say why the user wants it, not repeat the 'I want'")
    return "; ".join(problems) + "." if problems else None


def story_list(milestones: list[dict], stories: list) -> list[dict]:
    """The stories of every milestone as one list, with ids (M1-S1...) and file slugs."""
    out = []
    for m, answer in zip(milestones, stories):
        seen: set[str] = set()
        titles: set[str] = set()
        for s in (answer or {}).get("stories") or []:
            if _key(s.get("story")) in seen:        # the same story twice: keep one
                continue
            seen.add(_key(s.get("story")))
            sid = f"{m['id']}-S{len(seen)}"
            parts = split_story(s.get("story"))
            title = _clean(s.get("title")) or f"Story {len(seen)}"
            # another story's title, a bare "Story 2" or "As a" (a small model copies the labels
            # of the check's message and of the prompt): the story is named by what it wants
            if _key(title) in titles or _BARE.match(title):
                title = _title_from(parts["i_want"]) or f"{title} ({len(seen)})"
            titles.add(_key(title))
            out.append({"id": sid, "milestone": m["id"], "milestone_title": m["title"], "title": title,
                        **parts, "acceptance_criteria": _unique(s.get("acceptance_criteria")),
                        "slug": f"{sid.lower()}-{slugify(title)}"})
    return out


# not a title: a bare "Story 2" or the story's own template ("As a", "As a, I want, so that")
_BARE = re.compile(r"(?i)^(?:(?:user )?story(?: \d+)?|as an?\b.*)$")


def _title_from(want: str, words: int = 6) -> str:
    """A short title from a story's "I want" part: its first words, capitalised."""
    text = " ".join(_clean(want).split()[:words]).rstrip(",.;:")
    return text[:1].upper() + text[1:]


def story_markdown(s: dict) -> str:
    lines = [f"# {s['id']}: {s['title']}", "", f"Milestone: {s['milestone']} {s['milestone_title']}", "",
             f"As a **{s['as_a']}**, I want **{s['i_want']}**, so that **{s['so_that']}**.", "",
             "## Acceptance criteria", ""]
    lines += [f"- [ ] {c}" for c in s["acceptance_criteria"]]
    lines += ["", f"Implementation plan: [../implementation/{s['slug']}.md](../implementation/{s['slug']}.md)"]
    return "\n".join(lines) + "\n"


# implementation ------------------------------------------------------------------------------
def _files(impl: dict) -> list[dict]:
    out, seen = [], set()
    for f in (impl or {}).get("files") or []:
        path = _clean(f.get("path")).lstrip("/") if isinstance(f, dict) else _clean(f)
        if path and path not in seen:
            seen.add(path)
            out.append({"path": path, "change": _clean(f.get("change")) if isinstance(f, dict) else ""})
    return out


def implementation_markdown(s: dict, impl: dict) -> str:
    lines = [f"# Implementation plan for {s['id']}: {s['title']}", "",
             f"Story: [../stories/{s['slug']}.md](../stories/{s['slug']}.md)", "", "## Files to touch", ""]
    files = _files(impl)
    lines += [f"- `{f['path']}`" + (f": {f['change']}" if f["change"] else "") for f in files] or ["_none named_"]
    lines += ["", "## Tasks", ""]
    lines += [f"- [ ] {t}" for t in _unique((impl or {}).get("tasks"))] or ["_none named_"]
    lines += ["", f"Code-generation prompt: [../prompts/{s['slug']}.md](../prompts/{s['slug']}.md)"]
    return "\n".join(lines) + "\n"


def prompt_markdown(s: dict, impl: dict) -> str:
    """A prompt to paste into a code assistant: the model's prompt plus the story it serves."""
    lines = [f"# Code-generation prompt for {s['id']}: {s['title']}", "",
             _clean((impl or {}).get("prompt")) or "_no prompt was written_", "", "## Context", "",
             f"User story: as a {s['as_a']}, I want {s['i_want']}, so that {s['so_that']}.", "",
             "Acceptance criteria:"]
    lines += [f"- {c}" for c in s["acceptance_criteria"]]
    files = _files(impl)
    if files:
        lines += ["", "Files to touch: " + ", ".join(f"`{f['path']}`" for f in files)]
    return "\n".join(lines) + "\n"


# the folder ----------------------------------------------------------------------------------
def documents(requirements: str, analysis: dict, milestones: list[dict], stories: list[dict],
              implementations: list) -> dict:
    """Every file of the project folder as text, keyed by kind: ``plan`` (plan.md), ``stories``,
    ``implementation``, ``prompts`` (lists of {path, text}) and ``project`` (project.json data)."""
    title = project_title(requirements)
    impls = list(implementations or [])
    impls += [{}] * (len(stories) - len(impls))
    by_milestone: dict[str, list[dict]] = {}
    for s in stories:
        by_milestone.setdefault(s["milestone"], []).append(s)
    docs = {"stories": [], "implementation": [], "prompts": []}
    for s, impl in zip(stories, impls):
        docs["stories"].append({"path": f"stories/{s['slug']}.md", "text": story_markdown(s)})
        docs["implementation"].append({"path": f"implementation/{s['slug']}.md",
                                       "text": implementation_markdown(s, impl)})
        docs["prompts"].append({"path": f"prompts/{s['slug']}.md", "text": prompt_markdown(s, impl)})
    docs["plan"] = _plan_file(title, analysis, milestones, by_milestone)
    docs["project"] = {
        "title": title,
        "requirements": str(requirements or "").strip(),
        "analysis": {key: _unique(analysis.get(key)) for key, _ in ANALYSIS_SECTIONS},
        "milestones": [{"id": m["id"], "title": m["title"], "goal": m["goal"], "depends_on": m["depends_on"],
                        "requirements": list(m.get("requirements") or []),
                        "stories": [s["id"] for s in by_milestone.get(m["id"], [])]} for m in milestones],
        "stories": [{"id": s["id"], "milestone": s["milestone"], "title": s["title"], "as_a": s["as_a"],
                     "i_want": s["i_want"], "so_that": s["so_that"],
                     "acceptance_criteria": s["acceptance_criteria"],
                     "files": _files(impl), "tasks": _unique((impl or {}).get("tasks")),
                     "story_file": f"stories/{s['slug']}.md",
                     "implementation_file": f"implementation/{s['slug']}.md",
                     "prompt_file": f"prompts/{s['slug']}.md"} for s, impl in zip(stories, impls)],
    }
    docs["paths"] = ["plan.md", "project.json"] + [d["path"] for k in SUBFOLDERS for d in docs[k]]
    return docs


def _plan_file(title: str, analysis: dict, milestones: list[dict], by_milestone: dict) -> str:
    lines = [f"# {title}", "", analysis_markdown(analysis).rstrip(), "", "## Milestones", ""]
    lines += ["| id | milestone | after | stories |", "|---|---|---|---|"]
    for m in milestones:
        links = ", ".join(f"[{s['id']}](stories/{s['slug']}.md)" for s in by_milestone.get(m["id"], []))
        lines.append(f"| {m['id']} | {m['title']} | {', '.join(m['depends_on']) or '-'} | {links or '-'} |")
    lines += ["", "```mermaid", "graph LR"]
    for m in milestones:
        lines.append(f'  {m["id"]}["{m["id"]} {_mermaid(m["title"])}"]')
        lines += [f"  {d} --> {m['id']}" for d in m["depends_on"]]
    lines += ["```", ""]
    for m in milestones:
        lines += [f"### {m['id']} {m['title']}", "", m["goal"] or "_no goal given_", ""]
        if m.get("requirements"):
            lines += ["Requirements:", ""] + [f"- {r}" for r in m["requirements"]] + ["", "Stories:", ""]
        for s in by_milestone.get(m["id"], []):
            lines.append(f"- [{s['id']} {s['title']}](stories/{s['slug']}.md): as a {s['as_a']}, "
                         f"I want {s['i_want']}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _mermaid(text: str) -> str:
    return re.sub(r'["\[\]{}<>|]', "", text)


def destination(outdir: str, folder: str) -> str:
    """The folder's absolute path, checked before any model is asked: it must stay inside the
    run's output directory (the write steps would refuse it at the end)."""
    outside = Path(outdir).resolve()
    root = (outside / str(folder or "")).resolve()
    if root == outside or outside not in root.parents:
        raise ValueError(f"folder {folder!r} must be a subfolder of the output directory "
                         f"(a relative path without '..', e.g. -p folder=project)")
    return str(root)


def finish_folder(folder: str, keep: list[str]) -> dict:
    """The last step: delete markdown files under ``folder/{stories,implementation,prompts}`` that
    this run did not write (left by an earlier run with other stories), so the folder matches
    ``project.json``. Returns where the folder is, what is in it and what was removed."""
    root = Path(folder)
    wanted = {Path(p).as_posix() for p in keep}
    removed = []
    for sub in SUBFOLDERS:
        d = root / sub
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.md")):
            rel = f.relative_to(root).as_posix()
            if rel not in wanted:
                f.unlink()
                removed.append(rel)
    return {"folder": str(root), "files": sorted(wanted), "removed": removed}
