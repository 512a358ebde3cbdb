"""The `cap` mode of forced distribution (service/scoring/distribution.py): the worse of
the computed rating and the rank's band, so nobody is ever raised, against the `enforce`
mode on the same groups, ties and edge cases included."""

from __future__ import annotations

from decimal import Decimal as Dec

from hypothesis import given
from hypothesis import strategies as st

from service.scoring.engine import capped_ratings, enforced_ratings, rating_for
from service.scoring.policy import DEFAULT_BANDS

APPENDIX = (("S", Dec("0.10")), ("A", Dec("0.20")), ("B", Dec("0.50")), ("C", Dec("0.15")), ("D", Dec("0.05")))
ORDER = {r: i for i, (r, _) in enumerate(APPENDIX)}


def computed(final: Dec) -> str:
    rating = rating_for(final, DEFAULT_BANDS)
    assert rating is not None
    return rating


def cap(finals: list[str]) -> list[str]:
    rows = [(i, Dec(f), computed(Dec(f))) for i, f in enumerate(finals)]
    out = capped_ratings(rows, APPENDIX)
    return [out[i] for i in range(len(finals))]


def test_appendix_a_capped_lowers_the_top_and_never_raises_the_bottom() -> None:
    finals = ["112", "101", "101", "96", "90", "88", "85", "79", "70", "55"]
    assert [computed(Dec(f)) for f in finals] == ["S", "A", "A", "A", "B", "B", "B", "C", "C", "D"]
    # enforce: S, A, A, B, B, B, B, B, C, C (79 and 55 go up); cap keeps them, lowers 96 only
    assert cap(finals) == ["S", "A", "A", "B", "B", "B", "B", "C", "C", "D"]


def test_a_tie_is_never_raised_but_may_stay_over_the_share() -> None:
    # ten equal finals of 100 (A): enforce gives all of them S (the best band a tie got),
    # cap leaves all of them A: the A share is exceeded only because they tie
    finals = ["100"] * 10
    enforced = enforced_ratings([(i, Dec(f)) for i, f in enumerate(finals)], APPENDIX)
    assert set(enforced.values()) == {"S"}
    assert cap(finals) == ["A"] * 10
    # three tied at the top band with one S place: all keep S, in both modes
    finals = ["115", "115", "115", "90", "90", "90", "90", "90", "90", "90"]
    assert cap(finals)[:3] == ["S", "S", "S"]


def test_ties_as_shown_share_one_capped_rating() -> None:
    bands = (("S", Dec("0.5")), ("A", Dec("0.5")))
    rows = [("e1", Dec("112.314"), "S"), ("e2", Dec("112.306"), "S"), ("e3", Dec("111"), "S")]
    # 112.31 twice: both take the rank-1 band S; e3 is third of three, past the S share
    assert capped_ratings(rows, bands) == {"e1": "S", "e2": "S", "e3": "A"}


def test_edge_cases() -> None:
    assert capped_ratings([], APPENDIX) == {}
    # a group of one: 10 % and 30 % of one person round to 0, so rank 1 is B's (SPEC's rule)
    assert enforced_ratings([("e", Dec(200))], APPENDIX) == {"e": "B"}
    assert capped_ratings([("e", Dec(200), "S")], APPENDIX) == {"e": "B"}  # lowered like enforce
    assert enforced_ratings([("e", Dec(10))], APPENDIX) == {"e": "B"}  # enforce raises D to B
    assert capped_ratings([("e", Dec(10), "D")], APPENDIX) == {"e": "D"}  # cap does not
    # a computed rating the guideline does not name is kept as it is
    assert capped_ratings([("e", Dec(50), "X")], APPENDIX) == {"e": "X"}


@given(st.lists(st.integers(min_value=0, max_value=130), min_size=1, max_size=40))
def test_cap_never_raises_and_never_goes_below_enforce(values: list[int]) -> None:
    rows = [(i, Dec(v), computed(Dec(v))) for i, v in enumerate(values)]
    capped = capped_ratings(rows, APPENDIX)
    enforced = enforced_ratings([(i, f) for i, f, _ in rows], APPENDIX)
    for i, _, rating in rows:
        assert ORDER[capped[i]] >= ORDER[rating]  # never better than computed
        assert ORDER[capped[i]] >= ORDER[enforced[i]]  # never better than the rank's band
        assert capped[i] in (rating, enforced[i])  # one of the two: nothing else moves it
