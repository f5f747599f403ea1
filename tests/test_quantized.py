"""The int8 first pass of dense search: its error bound holds, and served pages are the exact ones."""

import numpy as np
import pytest

from anisim.filters import Filters
from anisim.query import Query
from anisim.ranking import page_of

PAGES = ((1, 10, Filters()), (2, 25, Filters()), (1, 100, Filters()), (1, 10, Filters(types=("TV",))),
         (1, 10, Filters(year_min=2000, year_max=2012)),
         (3, 100, Filters()), (2, 100, Filters(types=("TV",))))  # deep: most or all titles rescored


@pytest.fixture(scope="module")
def queries(dev_queries, encoder):
    texts = [q["query"] for q in dev_queries["anime"][:40]] + [q["short"] for q in dev_queries["anime"][:20]]
    return list(zip(texts, encoder.encode(texts)))


def test_each_approximate_score_is_within_its_bound_and_the_bound_is_tight_enough(searchers, queries):
    dense = searchers["anime"].dense
    for _, vector in queries:
        approximate, bound = dense.approximate(vector)
        error = np.abs(approximate - dense.scores(vector)[0])
        assert np.all(error <= bound)
        assert float(np.median(bound)) < 0.05  # useful: a page rescores a few items, not all


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_served_pages_are_the_exact_rankings_pages(searchers, queries, mode):
    searcher = searchers["anime"]
    for text, vector in queries:
        query = Query.parse(text, mode, searcher.names)
        exact = searcher.scores(query, vector)
        for page, size, filters in PAGES:
            served = searcher.search(query, vector, page, size, filters)
            wanted = page_of(exact, page, size, filters.mask(searcher.columns))
            assert np.array_equal(served.positions, wanted.positions), (text[:40], page, size, filters)
            assert np.array_equal(served.scores, wanted.scores) and served.total == wanted.total


def test_similar_titles_are_the_exact_nearest(searchers):
    searcher = searchers["anime"]
    dense = searcher.dense
    for position in (0, 7, 31):
        item_id = int(searcher.catalog.items["id"].iat[position])
        vector = dense.item_vector(position)
        exact = dense.scores(vector)[0]
        allowed = np.ones(exact.size, dtype=bool)
        allowed[position] = False
        assert np.array_equal(searcher.similar(item_id, 1, 20).positions, page_of(exact, 1, 20, allowed).positions)
