"""Properties of the ddmin schedule: results are interesting, never larger, 1-minimal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carts_reduce.search.ddmin import chunk_removals, ddmin

items = st.lists(st.integers(min_value=0, max_value=30), max_size=60)


@given(items, st.sets(st.integers(min_value=0, max_value=30), max_size=4))
def test_monotone_predicate_reduces_to_exactly_what_it_needs(values, needed):
    needed &= set(values)

    def has_all(candidate):
        return needed <= set(candidate)

    result = ddmin(values, has_all)
    assert has_all(result)
    assert sorted(set(result)) == sorted(needed)
    assert len(result) == len(needed)  # one of each needed value, nothing else


@given(items, st.integers(min_value=2, max_value=7), st.integers(min_value=0, max_value=6))
def test_any_predicate_gives_an_interesting_1_minimal_result(values, modulus, remainder):
    remainder %= modulus

    def interesting(candidate):  # not monotone: removing items can make it true again
        return sum(candidate) % modulus == remainder

    if not interesting(values):
        values = values + [(remainder - sum(values)) % modulus]
    result = ddmin(values, interesting)
    assert interesting(result)
    assert len(result) <= len(values)
    for index in range(len(result)):
        assert not interesting(result[:index] + result[index + 1 :]), "not 1-minimal"
    # The result keeps the order of the input: it is a subsequence.
    position = 0
    for value in result:
        position = values.index(value, position) + 1


@given(st.integers(min_value=1, max_value=200))
def test_schedule_ends_with_every_single_unit(count):
    singles = [removed for (size, _), removed in chunk_removals(count) if size == 1]
    assert [r.start for r in singles] == list(range(count))
    assert all(len(r) == 1 for r in singles)


@given(st.integers(min_value=1, max_value=200), st.data())
def test_resuming_at_a_cursor_continues_the_same_schedule(count, data):
    schedule = list(chunk_removals(count))
    index = data.draw(st.integers(min_value=0, max_value=len(schedule) - 1))
    cursor = schedule[index][0]
    assert list(chunk_removals(count, cursor)) == schedule[index:]


def test_chunks_start_large_and_halve():
    sizes = [size for (size, _), _ in chunk_removals(16)]
    assert sizes[0] == 8
    assert sorted(set(sizes), reverse=True) == [8, 4, 2, 1]
    assert list(chunk_removals(0)) == []
