"""A digest of the full ranked list of every dev query, to prove a refactor changed no ranking.

    python scripts/rank_digest.py --out before.json      # on the old code
    python scripts/rank_digest.py --out after.json --compare before.json

For each dev query (synthetic anime and manga, every form; the real posts, both forms) it ranks
the whole catalog with the served default model (hybrid; dense and lexical for the `query` form),
in the stable order (`anisim.ranking`), and keeps a SHA-256 of that order. `--compare` names every
query whose list differs and exits 1 if any does.

It also checks that the pages the service serves (`Searcher.search`, which finds them from the
rows' int8 codes) are those of the exact ranking: pages 1 of 10 and of 100, page 4 of 25, and page
1 of 10 among TV titles of 2000-2015 (a filter), for every query; it exits 1 if any differs.
Needs a built home (`anisim prepare`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from anisim.encoder import Embedder
from anisim.evaluation import FORMS, load_queries
from anisim.filters import Filters
from anisim.limits import KINDS
from anisim.models import resolve
from anisim.query import Query
from anisim.ranking import page_of
from anisim.search import Searcher
from anisim.settings import Settings


def query_sets(settings: Settings, kind: str) -> list[tuple[str, list[dict], tuple[str, ...]]]:
    sets = [(f"{kind}_dev", load_queries(settings.eval_dir / f"{kind}_dev.jsonl"), FORMS)]
    if kind == "anime":
        sets.append(("anime_tomt_dev", load_queries(settings.eval_dir / "anime_tomt_dev.jsonl"), ("query", "short")))
    return sets


PAGES = ((1, 10, Filters()), (1, 100, Filters()), (4, 25, Filters()),
         (1, 10, Filters(types=("TV",), year_min=2000, year_max=2015)))


def served_pages_differ(searcher: Searcher, query: Query, vector: np.ndarray | None, scores: np.ndarray) -> int:
    """How many of PAGES `Searcher.search` serves otherwise than the exact scores rank them."""
    differ = 0
    for page, size, filters in PAGES:
        exact = page_of(scores, page, size, filters.mask(searcher.columns))
        served = searcher.search(query, vector, page, size, filters)
        differ += not (np.array_equal(served.positions, exact.positions) and served.total == exact.total)
    return differ


def digests(settings: Settings) -> tuple[dict[str, str], dict[str, int]]:
    """{"set/form/mode/n": sha256 of the whole catalog's order} for every dev query, and for each
    kind how many served pages were checked and how many differ from the exact order."""
    spec = resolve(settings.models[0])
    encode = Embedder.for_settings(spec, settings).encode
    out, pages = {}, {"checked": 0, "differ": 0}
    for kind in KINDS:
        searcher = Searcher.open(kind, spec, settings.home)
        positions = np.arange(len(searcher.catalog.items))
        for name, queries, forms in query_sets(settings, kind):
            for form in forms:
                texts = [q[form] for q in queries if q.get(form)]
                for mode in ("hybrid", "dense", "lexical") if form == "query" else ("hybrid",):
                    parsed = [Query.parse(t, mode, searcher.names) for t in texts]
                    vectors = encode([q.text for q in parsed]) if mode != "lexical" else [None] * len(parsed)
                    for n, (query, vector) in enumerate(tqdm(list(zip(parsed, vectors)), desc=f"{name} {form} {mode}")):
                        scores = searcher.scores(query, vector)
                        order = positions[np.lexsort((positions, -scores))]
                        out[f"{name}/{form}/{mode}/{n}"] = hashlib.sha256(order.astype(np.int64).tobytes()).hexdigest()
                        pages["checked"] += len(PAGES)
                        pages["differ"] += served_pages_differ(searcher, query, vector, scores)
    return out, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="write the digests here (JSON)")
    parser.add_argument("--compare", type=Path, help="digests of the old code: report every difference")
    args = parser.parse_args()
    found, pages = digests(Settings.from_env())
    args.out.write_text(json.dumps(found, indent=0))
    print(f"{len(found)} ranked lists; served pages: {pages['differ']} of {pages['checked']} differ from the exact order")
    differ = []
    if args.compare:
        old = json.loads(args.compare.read_text())
        differ = sorted(k for k in old.keys() | found.keys() if old.get(k) != found.get(k))
        print(f"{len(differ)} of {len(old)} differ" + (": " + ", ".join(differ[:20]) if differ else ": identical"))
    sys.exit(1 if differ or pages["differ"] else 0)


if __name__ == "__main__":
    main()
