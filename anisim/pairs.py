"""Training pairs for the encoder, mined from the catalogs and the dev sets without leaking answers.

A pair is (query-like text, a text of the title it describes). Four sources:
- `ict`      inverse cloze: one or two sentences of a synopsis against the rest of it, so the model
             learns to find a whole story from a fragment of it; a share of the fragments lose their
             names (`text.without_names`, the dev sets' `noname` form), so it also learns to find a
             story from what happens in it;
- `title`    a title or synonym against the synopsis (people remember names);
- `synopses` two distinct synopses of one title (two sites describing the same story);
- `dev`      the dev-set descriptions (every form) of the titles in the *train* split only, in
             `dev_passes` copies (the closest thing to real queries, so seen more than once); each
             carries every text the index holds for its title (whole synopses and passages) as
             `candidates`, and training takes as positive the one the base model finds closest,
             so the model learns to match descriptions to passages as the index stores them;
             a dev pair may also carry a hard negative, another title the search ranks first
             for its query (`hard_negatives`).

The dev sets are split by title, with a hash of (kind, MAL id): the same title is always on the
same side, whatever else changes, and `anisim eval --split validation` reports on the rest.
The catalog texts themselves are what the service searches, so mining every synopsis (validation
titles included) uses nothing a deployed service would not have; only dev *queries* are answers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from anisim.catalog import Catalog
from anisim.index import DEFAULT_PASSAGE_WORDS, passages
from anisim.query import Query
from anisim.ranking import top_positions
from anisim.search import Encode, Searcher
from anisim.text import clean_query, sentences, without_names

VALIDATION_PERCENT = 30
SPLITS = ("all", "train", "validation")
DEV_FORMS = ("query", "short", "noname")


@dataclass(frozen=True)
class Pair:
    """Two texts about one title. `key` names the title: no batch holds two pairs of one title,
    since in-batch negatives would then include a true match."""

    query: str
    positive: str
    key: str
    source: str
    candidates: tuple[str, ...] = ()  # texts the positive may be chosen from (`training.closest_positives`)
    negative: str | None = None       # a hard negative: a text of another title the query resembles
    negative_key: str | None = None   # that title's key


def split_of(kind: str, item_id: int) -> str:
    """'train' or 'validation', fixed per title."""
    bucket = int(hashlib.sha256(f"{kind}:{item_id}".encode()).hexdigest(), 16) % 100
    return "validation" if bucket < VALIDATION_PERCENT else "train"


def in_split(queries: list[dict], kind: str, split: str) -> list[dict]:
    """The queries of one split ('all' keeps every query)."""
    return queries if split == "all" else [q for q in queries if split_of(kind, q["id"]) == split]


MIN_NONAME_WORDS = 6  # a fragment left shorter than this without its names keeps them


def _inverse_cloze(text: str, rng: random.Random, noname_share: float) -> tuple[str, str] | None:
    """(a span of one or two sentences, the synopsis without it), or None for short synopses;
    with probability `noname_share` the span loses its names."""
    parts = sentences(text)
    if len(parts) < 3:
        return None
    width = rng.choice((1, 2))
    start = rng.randrange(len(parts) - width + 1)
    span = " ".join(parts[start:start + width])
    if noname_share and rng.random() < noname_share:
        nameless = without_names(span)
        if len(nameless.split()) >= MIN_NONAME_WORDS:
            span = nameless
    return span, " ".join(parts[:start] + parts[start + width:])


def _catalog_pairs(catalog: Catalog, rng: random.Random, ict: int, titles: int, noname_share: float) -> Iterator[Pair]:
    """Up to `ict` inverse-cloze and `titles` title pairs, and every distinct-synopses pair."""
    kind = catalog.kind
    by_item = catalog.synopses.groupby("item_id", sort=True)["text"].agg(list)
    ids = list(by_item.index)
    for item_id in rng.sample(ids, min(ict, len(ids))):
        texts = by_item[item_id]
        split = _inverse_cloze(rng.choice(texts), rng, noname_share)
        if split:
            yield Pair(*split, key=f"{kind}:{item_id}", source="ict")
    for item_id in rng.sample(ids, min(titles, len(ids))):
        row = catalog.items.iloc[int(catalog.position[item_id])]
        names = [n for n in (row["title"], row["title_english"], *(row["title_synonyms"] or [])) if n and _latin(n)]
        if names:
            yield Pair(rng.choice(names), by_item[item_id][0], key=f"{kind}:{item_id}", source="title")
    for item_id, texts in by_item.items():
        if len(texts) > 1:
            yield Pair(texts[1], texts[0], key=f"{kind}:{item_id}", source="synopses")


def _latin(name: str) -> bool:
    """Mostly Latin letters: the base model's vocabulary cannot read other scripts' synonyms."""
    return sum(c.isascii() for c in name) >= 0.8 * len(name)


def _dev_pairs(catalog: Catalog, queries: list[dict]) -> Iterator[Pair]:
    """Every form of every train-split dev query, against the title's first synopsis, with every
    text of the title (its synopses whole and their passages) as candidates."""
    by_item = catalog.synopses.groupby("item_id", sort=True)["text"].agg(list)
    for query in in_split(queries, catalog.kind, "train"):
        if query["id"] not in by_item.index:
            continue
        texts = by_item[query["id"]]
        candidates = tuple(dict.fromkeys(u for t in texts for u in [t, *passages(t, DEFAULT_PASSAGE_WORDS)]))
        for form in DEV_FORMS:
            if query.get(form):
                yield Pair(clean_query(query[form]), texts[0], key=f"{catalog.kind}:{query['id']}", source="dev",
                           candidates=candidates)


def mine_pairs(catalogs: dict[str, Catalog], dev: dict[str, list[dict]], seed: int, ict_per_kind: int,
               titles_per_kind: int, noname_share: float = 0.0, dev_passes: int = 1) -> list[Pair]:
    """All training pairs of every kind, shuffled with `seed`."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for kind, catalog in sorted(catalogs.items()):
        pairs += _catalog_pairs(catalog, rng, ict_per_kind, titles_per_kind, noname_share)
        pairs += list(_dev_pairs(catalog, dev.get(kind, []))) * dev_passes
    rng.shuffle(pairs)
    return pairs


NEAR_COPY = 0.5  # word Jaccard above which two texts are one story told in the same words


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def near_copy(a: str, b: str) -> bool:
    """Two texts that share most of their words (a recap movie's synopsis and its series', say)."""
    first, second = _words(a), _words(b)
    return len(first & second) > NEAR_COPY * max(1, len(first | second))


def hard_negatives(pairs: list[Pair], searchers: dict[str, Searcher], encode: Encode,
                   sources: tuple[str, ...] = ("dev",)) -> list[Pair]:
    """Each pair of `sources` (dev pairs; `anisim train --ict-negatives` adds the inverse-cloze
    fragments, measured no better: README) gets as negative the text of the other title the search
    ranks first for its query (hybrid, as the service ranks; the text is the title's row that
    matched best, as the index stores it): mostly sequels and same-franchise entries, what rank-1
    misses lose to.
    A title whose text nearly copies the pair's positive is passed over for the next one: two
    entries telling one story in the same words are not a mistake to learn from (BM25's first
    title, without that check, made the model worse: README)."""
    texts = list(dict.fromkeys(p.query for p in pairs if p.source in sources))
    vectors = dict(zip(texts, encode(texts))) if texts else {}
    found: dict[tuple[str, str, str], tuple[str, str] | None] = {}  # repeated dev pairs are mined once
    out = []
    for pair in pairs:
        if pair.source in sources:
            signature = (pair.query, pair.key, pair.positive)
            if signature not in found:
                found[signature] = _negative(pair, searchers, vectors[pair.query])
            if found[signature]:
                text, key = found[signature]
                pair = dataclasses.replace(pair, negative=text, negative_key=key)
        out.append(pair)
    return out


def _negative(pair: Pair, searchers: dict[str, Searcher], vector: np.ndarray) -> tuple[str, str] | None:
    """(text, key) of the first title among the search's top ten for `pair.query` that is neither
    the pair's own title nor a near copy of its positive."""
    kind, _, item = pair.key.partition(":")
    searcher = searchers[kind]
    ranked = top_positions(searcher.scores(Query.parse(pair.query, "hybrid"), vector), 10)
    rows = searcher.dense_matches(vector, ranked)
    for position, row in zip(ranked, rows):
        other = int(searcher.catalog.items["id"].iat[int(position)])
        if other != int(item) and not near_copy(row.text, pair.positive):
            return row.text, f"{kind}:{other}"
    return None


def batches(pairs: list[Pair], size: int) -> list[list[Pair]]:
    """Consecutive batches in which no title appears twice (a repeat waits for a later batch)."""
    out: list[list[Pair]] = []
    waiting = list(pairs)
    while waiting:
        batch: list[Pair] = []
        keys: set[str] = set()
        rest: list[Pair] = []
        for pair in waiting:
            if len(batch) < size and pair.key not in keys:
                batch.append(pair)
                keys.add(pair.key)
            else:
                rest.append(pair)
        out.append(batch)
        waiting = rest
    return out
