"""Stable order, exact pages and filters, on hand-made scores."""

import numpy as np

from anisim.columns import Membership
from anisim.filters import Filters
from anisim.ranking import page_of, refined, top_positions


def test_ties_break_by_position_even_at_the_cut_off():
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.5, 0.1], dtype=np.float32)
    assert list(top_positions(scores, 3)) == [1, 3, 0]
    assert list(top_positions(scores, 4)) == [1, 3, 0, 2]
    assert list(top_positions(scores, 99)) == [1, 3, 0, 2, 4, 5]


def test_pages_concatenate_to_one_big_page_without_gaps_or_overlaps():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 20, 500).astype(np.float32)  # many ties
    allowed = rng.random(500) < 0.6
    big = page_of(scores, 1, 30, allowed)
    pages = [page_of(scores, p, 10, allowed) for p in (1, 2, 3)]
    assert np.array_equal(np.concatenate([p.positions for p in pages]), big.positions)
    assert list(np.concatenate([p.ranks for p in pages])) == list(range(1, 31))
    assert all(allowed[big.positions]) and big.total == allowed.sum()
    assert pages[0].has_more


def test_refined_scores_give_the_exact_pages_and_rescore_only_what_could_reach_them():
    rng = np.random.default_rng(5)
    exact = rng.integers(0, 400, 2000).astype(np.float32) / 400  # many ties
    margin = np.full(exact.size, 0.01, dtype=np.float32)
    approximate = exact + rng.uniform(-0.01, 0.01, exact.size).astype(np.float32)
    allowed = rng.random(exact.size) < 0.7
    asked = []

    def rescore(positions):
        asked.append(positions.size)
        return exact[positions]

    for page, size, mask in ((1, 10, None), (3, 25, None), (1, 10, allowed), (20, 100, allowed)):
        scores = refined(approximate, margin, page * size, mask, rescore)
        served, wanted = page_of(scores, page, size, mask), page_of(exact, page, size, mask)
        assert np.array_equal(served.positions, wanted.positions) and served.total == wanted.total
    assert asked[0] < 100 and asked[-1] == allowed.sum()  # a first page rescored a few; every allowed one past the end


def test_a_page_past_the_end_is_empty_and_the_last_page_is_short():
    scores = np.arange(25, dtype=np.float32)
    assert page_of(scores, 3, 10).positions.size == 5 and not page_of(scores, 3, 10).has_more
    assert page_of(scores, 4, 10).positions.size == 0


class _Columns:
    """The columns a filter reads, for four hand-made titles."""

    size = 4
    tags = Membership([{"action", "shounen"}, {"romance"}, {"action", "hentai"}, set()])
    types_lower = np.array(["tv", "movie", "ova", "tv"], dtype=object)
    years = np.array([2001, 2015, np.nan, 2020], dtype=float)
    scores = np.array([8.0, 6.5, 7.0, np.nan])
    adult = np.array([False, False, True, False])


def test_filters_mask():
    facets = _Columns()
    assert Filters().mask(facets) is None
    assert list(Filters(genres=("Action",)).mask(facets)) == [True, False, True, False]
    assert list(Filters(genres=("Action",), exclude_adult=True).mask(facets)) == [True, False, False, False]
    assert list(Filters(exclude_genres=("romance",)).mask(facets)) == [True, False, True, True]
    assert list(Filters(types=("TV",)).mask(facets)) == [True, False, False, True]
    assert list(Filters(year_min=2010).mask(facets)) == [False, True, False, True]
    assert list(Filters(year_max=2010, min_score=7).mask(facets)) == [True, False, False, False]
    assert list(Filters(genres=("Action", "Shounen")).mask(facets)) == [True, False, False, False]
    assert list(Filters(genres=("Action", "never-a-tag")).mask(facets)) == [False] * 4
