"""Every committed ranking trial (scripts/trials/*.toml) against the landed formula, side by side.

    python scripts/trials.py [--only bm25-0.4] [--max-minutes 20] [--json FILE]

Each trial file names the kinds it changes. For each, the landed formula (anisim/fusion.toml) and
the trial rank the dev queries of both splits (train, validation) and, for anime, the real posts,
with the served default model; each form is encoded once and shared. The table gives R@1 / R@10 /
MRR@10 per set and form. One trial alone is also `anisim eval --ranking FILE` (its file says
which commands). Needs a built home (`anisim prepare`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from eval_all import cached

from anisim.encoder import Embedder
from anisim.evaluation import FORMS, evaluate, load_queries
from anisim.fusion import load_fusions
from anisim.models import resolve
from anisim.pairs import in_split
from anisim.search import Searcher
from anisim.settings import Settings

TRIALS = Path(__file__).resolve().parent / "trials"
REAL_POSTS = "anime_tomt_dev.jsonl"


def query_sets(settings: Settings, kind: str) -> list[tuple[str, list[dict]]]:
    queries = load_queries(settings.eval_dir / f"{kind}_dev.jsonl")
    sets = [(f"{kind} {split}", in_split(queries, kind, split)) for split in ("train", "validation")]
    if kind == "anime":
        sets.append(("real posts", load_queries(settings.eval_dir / REAL_POSTS)))
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="one trial, by its file name without .toml")
    parser.add_argument("--max-minutes", type=float, default=20.0, help="stop starting trials after this long")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    deadline = time.monotonic() + 60 * args.max_minutes
    settings = Settings.from_env()
    spec = resolve(settings.models[0])
    encode = cached(Embedder.for_settings(spec, settings).encode)
    searchers: dict[str, Searcher] = {}
    rows = []
    print("R@1 / R@10 / MRR@10, landed -> trial")
    print("| trial | set | n | form | landed | trial |")
    print("|---|---|---|---|---|---|")
    for path in sorted(TRIALS.glob(f"{args.only or '*'}.toml")):
        for kind, fusion in load_fusions(path).items():
            if time.monotonic() > deadline:
                print("(--max-minutes reached)")
                break
            landed = searchers.setdefault(kind, Searcher.open(kind, spec, settings.home))
            for name, queries in query_sets(settings, kind):
                before = evaluate(landed, encode, queries, "hybrid")
                after = evaluate(landed.with_fusion(fusion), encode, queries, "hybrid")
                for form in (f for f in FORMS if f in before):
                    cells = ["{recall@1:.3f} / {recall@10:.3f} / {mrr@10:.3f}".format(**r[form]) for r in (before, after)]
                    print(f"| {path.stem} | {name} | {before['n']} | {form} | {cells[0]} | {cells[1]} |", flush=True)
                    rows.append({"trial": path.stem, "set": name, "n": before["n"], "form": form,
                                 "landed": before[form], "trial_metrics": after[form]})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
