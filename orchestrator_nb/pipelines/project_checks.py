"""Quality checks of the built-in ``project`` pipeline that catch a model's nonsense.

Cheap and deterministic (no model, no network): each document the model writes must

- **name terms of the requirements**: a milestone or a story with no word of the requirements in
  it is about something else (a small model's invented words, another project);
- **be in the requirements' language**: the same script (Latin, Cyrillic, ...) and, for languages
  written in Latin letters, more of the requirements' language's common words than of another's;
- **not repeat**: an analysis item is not another one, a story not a goal of the analysis word for
  word, a story's "so that" not its "I want" again (a story written twice is kept once when the
  files are written).

Each function returns None when the answer passes, else one line that names the failed check in
brackets (``[terms]``, ``[language]``, ``[repeats]``, ``[words]``, ``[benefit]``, ``[shape]``)
and says what to fix. The step is then asked again with that line in the prompt; after the last
attempt the run's error ends with it. The checks are lenient on purpose: one term of the requirements is enough,
and a text too short to tell its language passes.
"""
from __future__ import annotations

import re
import unicodedata

# The most common words of a few languages written in Latin letters: enough to tell them apart in
# a sentence or two. A language missing here is never rejected for its words (only for its script).
COMMON_WORDS = {
    "English": "the a an and or of to in on for with is are be it this that as at by from we you they "
               "i my our can will each when not no all one have has so want",
    "German": "der die das und oder ist sind ein eine einen nicht mit von zu den dem des für auf im es "
              "ich wir sie auch wenn kann werden jeder",
    "French": "le la les et ou est sont un une des du de pas avec pour dans sur ce qui que nous vous il "
              "elle peut chaque",
    "Spanish": "el la los las y o es son un una de del no con por para en que se su al lo como puede "
               "cada",
    "Italian": "il lo la gli le e o è sono un una di del non con per che si al come può ogni della",
    "Dutch": "de het een en of is zijn niet met van voor op dat die wij ze ook kan elke",
    "Portuguese": "o a os as e ou é são um uma de do da não com por para em que se mais cada pode",
}
_COMMON = {lang: frozenset(words.split()) for lang, words in COMMON_WORDS.items()}
_ALL_COMMON = frozenset().union(*_COMMON.values())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def words(text) -> list[str]:
    """The words of a text, lower-case (letters only; numbers and punctuation dropped)."""
    return _WORD.findall(str(text or "").lower())


def stem(word: str) -> str:
    """A crude stem that lets 'votes', 'voting' and 'voted' meet 'vote' (English endings only;
    other words pass through)."""
    for ending in ("ing", "ies", "es", "ed", "s", "e", "y"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def terms(requirements: str) -> set[str]:
    """The stems of the requirements' words that carry meaning (3+ letters, not common words)."""
    return {stem(w) for w in words(requirements) if len(w) >= 3 and w not in _ALL_COMMON}


def mentions(text, vocabulary: set[str]) -> list[str]:
    """The words of ``text`` that are terms of the requirements (``vocabulary`` from ``terms``)."""
    out = []
    for w in words(text):
        if len(w) >= 3 and w not in _ALL_COMMON and stem(w) in vocabulary and w not in out:
            out.append(w)
    return out


def script(text) -> str | None:
    """The writing system most letters of ``text`` belong to ('LATIN', 'CYRILLIC', 'CJK', ...)."""
    counts: dict[str, int] = {}
    for ch in str(text or ""):
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            key = name.split(" ")[0] if name else "OTHER"
            counts[key] = counts.get(key, 0) + 1
    return max(counts, key=counts.get) if counts else None


def language(text) -> str | None:
    """The language of a text among ``COMMON_WORDS``, or None when it cannot tell (too few common
    words, a tie, or another script)."""
    if script(text) not in (None, "LATIN"):
        return None
    ws = words(text)
    scores = {lang: sum(w in common for w in ws) for lang, common in _COMMON.items()}
    best = max(scores.values())
    leaders = [lang for lang, n in scores.items() if n == best]
    return leaders[0] if best >= 2 and len(leaders) == 1 else None


def foreign(text, requirements: str) -> str | None:
    """Why ``text`` is not in the language of the requirements, or None when it is (or when it is
    too short to tell)."""
    want_script, got_script = script(requirements), script(text)
    if want_script and got_script and want_script != got_script:
        return f"is written in {got_script.title()} letters, the requirements in {want_script.title()}"
    want = language(requirements)
    if want is None:
        return None
    ws = words(text)
    scores = {lang: sum(w in common for w in ws) for lang, common in _COMMON.items()}
    other = max((lang for lang in scores if lang != want), key=scores.get)
    if scores[other] >= 2 and scores[other] > scores[want]:
        return f"reads as {other}; write it in {want}, the language of the requirements"
    return None


_TOKEN = re.compile(r"[^\W_]+")
_VOWELS = frozenset("aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿ")


def gibberish(text) -> bool:
    """Letters and digits run together (``tlwc1234``) or mostly vowelless "words" (``Pb Bc Cd``):
    what a small model writes when it loses the thread. Only for Latin letters."""
    tokens = _TOKEN.findall(str(text or ""))
    if not tokens or script(text) not in (None, "LATIN"):
        return False
    if any(len(t) >= 6 and not t.isalpha() and not t.isdigit() for t in tokens):
        return True
    lettered = [t.lower() for t in tokens if t.isalpha() and len(t) >= 2 and not t.isupper()]  # (not acronyms)
    vowelless = sum(not (_VOWELS & set(t)) for t in lettered)
    return len(lettered) >= 3 and vowelless * 3 > len(lettered)


def _key(text) -> str:
    return " ".join(words(text))


def _repeats(texts: list[tuple[str, str]]) -> list[str]:
    """(label, text) pairs -> 'X repeats Y' for each text equal to an earlier one (word for word)."""
    seen: dict[str, str] = {}
    out = []
    for label, text in texts:
        k = _key(text)
        if not k:
            continue
        if k in seen:
            out.append(f"{label} repeats {seen[k]}")
        else:
            seen[k] = label
    return out


def _goal_copies(label: str, texts, goals) -> list[str]:
    keys = {_key(g) for g in goals or [] if _key(g)}
    return [f"{label} copies a goal of the analysis word for word" for t in texts if _key(t) in keys][:1]


def _verdict(problems: list[tuple[str, str]]) -> str | None:
    """[(check, problem)] -> one line, the first few problems, each prefixed with its check."""
    if not problems:
        return None
    shown = [f"[{check}] {text}" for check, text in problems[:3]]
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(shown) + more + "."


# the checks of the pipeline's steps ----------------------------------------------------------
def check_milestone(output, requirements: str = "", part=None) -> str | None:
    """One milestone of the plan ({title, goal}) named for one part of the requirements: it names
    terms of that part (of the whole requirements when ``part`` is not given) and is in the
    requirements' language. (The message does not quote the rejected title: a small model asked
    again copies what it is told.)"""
    if not isinstance(output, dict) or not str(output.get("title") or "").strip():
        return "[shape] give the milestone a title and a goal."
    title, goal = str(output.get("title") or ""), str(output.get("goal") or "")
    lines = (part or {}).get("lines") if isinstance(part, dict) else None
    vocabulary = terms(" ".join(lines) if lines else requirements)
    problems: list[tuple[str, str]] = []
    if vocabulary and not mentions(f"{title} {goal}", vocabulary):
        problems.append(("terms", "the milestone names nothing from its requirements; "
                                  "use their words for what it delivers"))
    why = foreign(f"{title}. {goal}", requirements)
    if why:
        problems.append(("language", f"the milestone {why}"))
    return _verdict(problems)


def check_stories(output, requirements: str = "", goals=None) -> str | None:
    """The stories of one milestone: "As a <user>, I want <action>, so that <benefit>" with a
    benefit that is not the action again; each story names a term of the requirements, is in their
    language, is made of words and does not copy a goal of the analysis word for word. (A story
    written twice in one answer is kept once by ``project_files.story_list``, and two stories may
    share a title: a label, not the story, renamed there. A small model asked again copies what it
    is told repeats.) Without ``requirements`` only the sentence and the goal copies are checked."""
    from .project_files import split_story
    stories = (output or {}).get("stories") if isinstance(output, dict) else None
    if not stories:
        return "[shape] write at least one user story."
    vocabulary = terms(requirements)
    problems: list[tuple[str, str]] = []
    for n, s in enumerate(stories, 1):
        parts = split_story(s.get("story"))
        criteria = [str(c) for c in s.get("acceptance_criteria") or []]
        if not parts["as_a"]:
            problems.append(("shape", f"story {n} must read 'As a <user>, I want <action>, so that <benefit>'"))
            continue
        garbled = [name for name, part in (("the role", parts["as_a"]), ("the 'I want'", parts["i_want"]),
                                           ("the 'so that'", parts["so_that"])) if gibberish(part)]
        if garbled:
            problems.append(("words", f"story {n}: {' and '.join(garbled)} is not made of words; write plain sentences"))
        if _key(parts["i_want"]) == _key(parts["so_that"]):
            problems.append(("benefit", f"story {n}: the 'so that' part must say why the user wants it, "
                                        "not repeat the 'I want'"))
        # the story itself, not its title (which is often the milestone's, copied)
        text = " ".join([parts["as_a"], parts["i_want"], parts["so_that"], *criteria])
        if vocabulary and not mentions(text, vocabulary):
            problems.append(("terms", f"story {n} ('{s.get('title')}') uses no words of the requirements; "
                                      "write about what they ask for"))
        why = foreign(" ".join([parts["i_want"], parts["so_that"], *criteria]), requirements) if requirements \
            else None
        if why:
            problems.append(("language", f"story {n} {why}"))
        problems += [("repeats", p) for p in _goal_copies(f"story {n}", [parts["i_want"], parts["so_that"]], goals)]
    return _verdict(problems)


def check_analysis(output, requirements: str = "") -> str | None:
    """The analysis: no item repeats another one word for word (a risk that is a goal again), the
    goals name terms of the requirements, and every item is in their language."""
    if not isinstance(output, dict):
        return "[shape] answer with goals, constraints, risks and open questions."
    vocabulary = terms(requirements)
    problems: list[tuple[str, str]] = []
    items = []
    for key in ("users", "goals", "constraints", "risks", "open_questions"):
        for n, text in enumerate(output.get(key) or [], 1):
            label = f"{key.replace('_', ' ')[:-1]} {n}"
            items.append((label, str(text)))
            if key != "users":
                why = foreign(text, requirements)
                if why:
                    problems.append(("language", f"{label} {why}"))
    goals = [str(g) for g in output.get("goals") or []]
    if vocabulary and goals and not mentions(" ".join(goals), vocabulary):
        problems.append(("terms", "the goals name nothing from the requirements; say what the users want to do"))
    problems += [("repeats", p) for p in _repeats(items)]
    return _verdict(problems)
