"""Python steps used by examples/tour.yaml (plain functions: params in, output out)."""
from __future__ import annotations

import os
import re
import tempfile
from collections import Counter

STOP = set("a an and are as at be by for from has in is it its of on or that the this to was were will with".split())


def word_stats(doc: dict) -> dict:
    words = re.findall(r"[a-z']+", doc["text"].lower())
    return {"title": doc["title"], "words": len(words), "sentences": max(1, doc["text"].count(".")),
            "unique": len(set(words))}


def keywords(doc: dict, top: int = 3) -> list[str]:
    words = [w for w in re.findall(r"[a-z']+", doc["text"].lower()) if w not in STOP and len(w) > 3]
    return [w for w, _ in Counter(words).most_common(top)]


def merge_keywords(lists: list[list[str]]) -> list[str]:
    counts = Counter(w for ks in lists for w in ks)
    return [w for w, _ in counts.most_common(8)]


def flaky_glossary(run_id: str) -> dict:
    """Fails on its first try in each run (like a flaky service), succeeds on the second.
    The first try leaves a marker in the system's temp folder (not in your checkout)."""
    marker = os.path.join(tempfile.gettempdir(), f"orc-tour-{run_id}.tried")
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise ConnectionError("glossary service unavailable (first try fails on purpose)")
    os.remove(marker)
    return {"tide": "the periodic rise and fall of sea level",
            "estuary": "where a river meets the sea",
            "salinity": "the amount of salt dissolved in water"}
