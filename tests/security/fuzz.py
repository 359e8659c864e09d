"""Load 10,000 generated pipeline specs and count what went wrong.

    python tests/security/fuzz.py               # 10,000 specs, seed 0
    python tests/security/fuzz.py -n 500 --seed 7 --show 5

Each spec (YAML text or a dict; native or py-orc; with templates, nesting, unicode and control
characters) must load or be refused with one SpecError line, within 2 s and 200 MB. Prints the
counts per outcome and examples of every problem; exits 1 when there is any.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from specgen import check_one, short, spec_dict, spec_text  # noqa: E402

PROBLEMS = ("unexpected", "multiline", "overtime", "overmemory")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="how many specs (default 10,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=3, help="examples to print per problem kind")
    ap.add_argument("--save", metavar="DIR", help="write every problem spec there (repr), to replay it")
    args = ap.parse_args(argv)
    save = os.path.abspath(args.save) if args.save else None

    os.chdir(tempfile.mkdtemp(prefix="orc-fuzz-"))  # nothing a spec names is found by accident
    for key in [k for k in os.environ if k.startswith("ORC_") or k.endswith("_API_KEY")]:
        del os.environ[key]
    counts: collections.Counter = collections.Counter()
    examples: dict[str, list] = collections.defaultdict(list)
    slowest = [0.0, None]

    @seed(args.seed)
    @settings(max_examples=args.n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(spec_text, spec_dict))
    def one(spec):
        t0 = time.monotonic()
        outcome, detail = check_one(spec)
        took = time.monotonic() - t0
        if took > slowest[0]:
            slowest[:] = [took, short(spec)]
        counts[outcome] += 1
        counts["text" if isinstance(spec, str) else "dict"] += 1
        if outcome in PROBLEMS and len(examples[outcome]) < args.show:
            examples[outcome].append((detail, short(spec)))
        if outcome in PROBLEMS and save:
            os.makedirs(save, exist_ok=True)
            digits = sys.get_int_max_str_digits()
            sys.set_int_max_str_digits(0)  # the spec may hold a 5,000-digit number
            try:
                text = f"# {detail}\nimport sys\nsys.set_int_max_str_digits(0)\nSPEC = {spec!r}\n"
            finally:
                sys.set_int_max_str_digits(digits)
            with open(os.path.join(save, f"{outcome}-{counts[outcome]}.py"), "w") as fh:
                fh.write(text)

    t0 = time.monotonic()
    one()
    total = counts["loaded"] + counts["refused"] + sum(counts[p] for p in PROBLEMS)
    print(f"{total} specs ({counts['text']} YAML texts, {counts['dict']} dicts), seed {args.seed}, "
          f"{time.monotonic() - t0:.0f} s; slowest {slowest[0]:.2f} s")
    print(f"  loaded                {counts['loaded']:6d}")
    print(f"  refused (one line)    {counts['refused']:6d}")
    for p in PROBLEMS:
        print(f"  {p:<21} {counts[p]:6d}")
    for p in PROBLEMS:
        for detail, spec in examples[p]:
            print(f"\n[{p}] {detail}\n    spec: {spec}")
    return 1 if any(counts[p] for p in PROBLEMS) else 0


if __name__ == "__main__":
    sys.exit(main())
