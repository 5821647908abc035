"""Similar-name suggestions while a name is typed, at 100,000 profiles (issue 7: p95 < 50 ms per keystroke).

Measures `crm.merges.duplicates.similar_profiles` (process-wide name index + 3-letter token-prefix
candidates + rapidfuzz) on a synthetic SQLite database built like bench_search.py's, calling it once
per keystroke of a few names as a person types them. Same-run references: the previous
implementation (`previous_similar_profiles` below, as it was in crm.profiles.service: it loads and folds every name on each
call) and rapidfuzz over all folded names already in memory (no database, no candidates). Also
prints the cold first call (builds the index), the version check alone, and recall: how many of the
in-memory reference's matches (same scorer, same cutoff) the fast lookup also returns.

    python benchmarks/bench_similar_names.py [--profiles 100000] [--quick] [--keep PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import machine_line, percentile, print_table  # first: puts the repo root on sys.path
from bench_search import build_database
from rapidfuzz import fuzz, process
from sqlmodel import Session, select

from crm.merges import duplicates
from crm.profiles.models import Profile
from crm.profiles.stats import fold

GOAL_MS = 50.0
TYPED = ("Lucia Gomez", "Maria Garcia Lopez", "Javier Fernandez", "Ana Martin Sanz", "Chen Wang", "Sofia Rodriguez")



def previous_similar_profiles(name: str, *, session: Session, limit: int = 3, cutoff: float = 85) -> list[tuple[int, float]]:
    """The implementation this one replaced: every name loaded and folded on each call."""
    wanted = fold(name).strip()
    if len(wanted) < 3:
        return []
    names = dict(session.exec(select(Profile.id, Profile.display_name)).all())  # type: ignore[call-overload]
    choices = {pid: fold(display).strip() for pid, display in names.items()}
    matches = process.extract(wanted, choices, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff, limit=limit)
    return [(pid, float(score)) for _, score, pid in matches]

def keystrokes(names: tuple[str, ...]) -> list[str]:
    """Every prefix of at least 3 characters, as the form asks after each key (debounced or not)."""
    return [name[:n] for name in names for n in range(3, len(name) + 1)]


def timed(fn, *args, **kwargs) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="fewer names, fewer calls of the old code")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database at this path")
    args = parser.parse_args()
    print(machine_line())
    typed = TYPED[:3] if args.quick else TYPED
    calls = keystrokes(typed)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "similar.db"
        if path.exists():
            from crm.db import make_engine
            engine = make_engine(f"sqlite:///{path}")
        else:
            started = time.perf_counter()
            engine, _ = build_database(path, args.profiles)
            print(f"built {args.profiles:,} profiles in {time.perf_counter() - started:.1f} s")
        with Session(engine) as session:
            cold, _ = timed(duplicates.similar_profiles, "Lucia Gomez", session=session)
            version = [timed(duplicates._version, session)[0] for _ in range(30)]
            ours = [timed(duplicates.similar_profiles, q, session=session)[0] for q in calls]

            # Reference 1: rapidfuzz over every folded name already in memory, same scorers and cutoff.
            rows = session.exec(select(Profile.id, Profile.display_name)).all()  # type: ignore[call-overload]
            folded = {pid: " ".join(duplicates.name_tokens(fold(name))) for pid, name in rows}
            reference = []
            recall_hits = recall_total = full_hits = full_total = 0
            for q in calls:
                tokens = duplicates.name_tokens(fold(q))
                scorer = fuzz.token_set_ratio if len(tokens) >= 2 else fuzz.token_sort_ratio
                ms, found = timed(process.extract, " ".join(tokens), folded, scorer=scorer,
                                  score_cutoff=duplicates.NAME_CUTOFF, limit=3)
                reference.append(ms)
                want = {pid for _, _, pid in found}  # type: ignore[union-attr]
                got = {m.profile_id for m in duplicates.similar_profiles(q, session=session, limit=50)}
                recall_hits += len(want & got)
                recall_total += len(want)
                if q in typed:
                    full_hits += len(want & got)
                    full_total += len(want)

            # Reference 2: the previous implementation (loads and folds every name per call).
            old_calls = calls[:: max(1, len(calls) // (8 if args.quick else 20))]
            before = [timed(previous_similar_profiles, q, session=session)[0] for q in old_calls]
    rows_out = [
        ("similar_profiles (ours), per keystroke", len(ours), percentile(ours, 50), percentile(ours, 95),
         max(ours), "met" if percentile(ours, 95) < GOAL_MS else "NOT met"),
        ("reference: rapidfuzz over all names in memory", len(reference), percentile(reference, 50),
         percentile(reference, 95), max(reference), ""),
        ("previous crm.profiles.service.similar_profiles", len(before), percentile(before, 50),
         percentile(before, 95), max(before), ""),
        ("version check alone", len(version), percentile(version, 50), percentile(version, 95), max(version), ""),
    ]
    print_table(("case", "calls", "p50 ms", "p95 ms", "max ms", f"goal p95 < {GOAL_MS:.0f} ms"), rows_out,
                title=f"Similar names at {args.profiles:,} profiles")
    print(f"\ncold first call (builds the name index): {cold:.0f} ms")
    print(f"ours / in-memory reference (p95): {percentile(ours, 95) / percentile(reference, 95):.2f}x; "
          f"previous / ours (p95): {percentile(before, 95) / percentile(ours, 95):.1f}x")
    recall = recall_hits / recall_total if recall_total else 1.0
    print(f"recall against the in-memory reference's top 3, every keystroke: {recall_hits}/{recall_total} ({recall:.0%}); "
          f"whole names: {full_hits}/{full_total}")
    print("(misses are half-typed names that share one word only, e.g. 'Maria Ga' ~ 'maria vega': the candidates\n"
          " need two shared 3-letter word prefixes when the query has two words)")


if __name__ == "__main__":
    main()
