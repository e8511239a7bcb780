"""Content negotiation: Accept → rendering (RFC 9110 section 12.5.1), Content-Type → parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occi_twisted.renderings import form, json
from occi_twisted.renderings.document import Document
from occi_twisted.renderings.negotiation import (
    MediaRange,
    MediaTypes,
    acceptsAnything,
    choose,
    parseAccept,
)

#: What the server offers for an entity, in its order of preference.
OFFERED = ["text/plain", "text/occi", "application/occi+json", "application/json", "text/html"]


# -- Accept ------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "", "   "])
def test_no_accept_takes_the_servers_first_choice(accept: str | None) -> None:
    assert choose(accept, OFFERED) == "text/plain"
    assert acceptsAnything(accept)


@pytest.mark.parametrize("accept", ["*/*", "*/*;q=0.5", "*/*, */*;q=0.1", "*"])
def test_only_wildcards_accepts_anything(accept: str) -> None:
    assert choose(accept, OFFERED) == "text/plain"
    assert acceptsAnything(accept)


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*, text/html", "text/*", "*/*;q=0"]
)
def test_a_stated_preference_is_not_indifference(accept: str) -> None:
    assert not acceptsAnything(accept)


def test_an_exact_type_is_chosen() -> None:
    assert choose("application/json", OFFERED) == "application/json"
    assert choose("application/occi+json", OFFERED) == "application/occi+json"


def test_case_does_not_matter() -> None:
    assert choose("Application/OCCI+JSON", OFFERED) == "application/occi+json"


def test_q_values_pick_the_heaviest() -> None:
    accept = "text/plain;q=0.5, application/occi+json;q=0.8, text/html;q=0.7"
    assert choose(accept, OFFERED) == "application/occi+json"


def test_q_zero_excludes_even_under_a_wildcard() -> None:
    assert choose("*/*, text/plain;q=0", OFFERED) == "text/occi"
    assert choose("text/*, text/plain;q=0, text/occi;q=0", OFFERED) == "text/html"


def test_q_zero_everything_is_not_acceptable() -> None:
    assert choose("*/*;q=0", OFFERED) is None
    assert choose("text/plain;q=0", ["text/plain"]) is None


def test_nothing_fits_when_no_range_names_an_offered_type() -> None:
    assert choose("image/png", OFFERED) is None
    assert choose("application/xml, image/*", OFFERED) is None


def test_a_type_wildcard_takes_the_servers_first_of_that_type() -> None:
    assert choose("application/*", OFFERED) == "application/occi+json"
    assert choose("text/*", ["application/json", "text/html"]) == "text/html"


def test_most_specific_range_decides() -> None:
    # RFC 9110's example: text/plain is named exactly (0.9), its type wildcard says 0.1.
    accept = "text/*;q=0.1, text/plain;q=0.9, */*;q=0.5"
    assert choose(accept, ["text/html", "text/plain"]) == "text/plain"
    assert choose(accept, ["text/html", "application/json"]) == "application/json"


def test_ties_go_to_the_servers_preference() -> None:
    assert choose("application/json, text/plain", OFFERED) == "text/plain"
    assert choose("application/json, text/plain", list(reversed(OFFERED))) == (
        "application/json"
    )
    assert choose("text/plain;q=0.5, application/json;q=0.5", OFFERED) == "text/plain"


def test_parameters_must_match_except_charset() -> None:
    assert choose("application/json; charset=utf-8", OFFERED) == "application/json"
    assert choose("text/plain;level=1", ["text/plain"]) is None
    assert choose("text/plain;level=1", ["text/plain;level=1"]) == "text/plain;level=1"


def test_aliases_name_the_same_rendering() -> None:
    assert choose("text/occi+plain", OFFERED) == "text/plain"


def test_quoted_parameters_may_hold_commas() -> None:
    ranges = parseAccept('text/plain;x="a,b;c";q=0.2, application/json')
    assert [(r.type, r.subtype, r.q) for r in ranges] == [
        ("text", "plain", 0.2),
        ("application", "json", 1.0),
    ]
    assert ranges[0].parameters == (("x", "a,b;c"),)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("garbage", "text/plain"),  # nothing usable: as if absent
        (";;;,,,", "text/plain"),
        ("text/html;q=abc, application/json", "application/json"),  # bad range skipped
        ("application/json;q=2", "application/json"),  # clamped to 1
        ("application/json;q=.5, text/html;q=0.4", "application/json"),  # lenient q
        ("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", "text/html"),  # old Java
        ("*/json", "text/plain"),  # invalid: skipped
        ('text/plain;x="unterminated, application/json', "text/plain"),
    ],
)
def test_malformed_accept_is_read_leniently(accept: str, chosen: str) -> None:
    assert choose(accept, OFFERED) == chosen


def test_parameters_after_the_weight_are_ignored() -> None:
    (only,) = parseAccept("text/plain;q=0.3;ext=1")
    assert only == MediaRange("text", "plain", (), 0.3)


def test_a_huge_accept_is_cut_short_not_refused() -> None:
    accept = ", ".join(["image/png"] * 5000) + ", application/json"
    assert choose(accept, OFFERED) is None  # application/json lies beyond what is read
    assert choose("application/json, " + accept, OFFERED) == "application/json"


def test_nothing_is_chosen_when_nothing_is_offered() -> None:
    assert choose(None, []) is None
    assert choose("*/*", []) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_accept_header_gives_an_offered_type_or_none(accept: str) -> None:
    chosen = choose(accept, OFFERED)
    assert chosen is None or chosen in OFFERED
    assert isinstance(acceptsAnything(accept), bool)


_token = st.sampled_from(["text", "application", "image", "*", "plain", "json", "occi+json",
                          "html", "occi", "x"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_token, _token, st.one_of(st.none(), st.floats(0, 1)),
                          st.sampled_from(["", ";level=1", ";charset=utf-8"])),
                max_size=6))
def test_structured_accept_headers(ranges: list[tuple[str, str, float | None, str]]) -> None:
    accept = ", ".join(
        f"{kind}/{sub}{params}" + (f";q={q:.3f}" if q is not None else "")
        for kind, sub, q, params in ranges
    )
    chosen = choose(accept, OFFERED)
    assert chosen is None or chosen in OFFERED
    if not parseAccept(accept):
        assert chosen == OFFERED[0]  # nothing usable: as if there were no Accept
    elif chosen is not None:
        # Whatever was chosen, nothing offered weighs more.
        weights = {offered: _weight(parseAccept(accept), offered) for offered in OFFERED}
        assert weights[chosen] == max(weights.values()) > 0


def _weight(ranges: tuple[MediaRange, ...], offered: str) -> float:
    best, q = -1, 0.0
    for candidate in ranges:
        level = candidate.specificity(offered, {})
        if level > best or (level == best and level >= 0 and candidate.q > q):
            best, q = level, candidate.q
    return q if best >= 0 else 0.0


# -- Content-Type and the registry --------------------------------------------------------


def _types() -> MediaTypes:
    types = MediaTypes()
    types.add(json.MEDIA_TYPE, parser=json.parse, renderer=json.OCCI_JSON)
    types.add(json.PLAIN_JSON, parser=json.parse, renderer=json.JSON)
    types.add(form.MEDIA_TYPE, parser=form.parse)
    return types


@pytest.mark.parametrize(
    ("contentType", "key"),
    [
        ("application/occi+json", "application/occi+json"),
        ("application/json", "application/json"),
        ("Application/JSON; charset=UTF-8", "application/json"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("application/x-www-form-urlencoded;charset=utf-8", "application/x-www-form-urlencoded"),
        (" APPLICATION/OCCI+JSON ", "application/occi+json"),
        ("application/xml", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_content_type_to_parser(contentType: str | None, key: str | None) -> None:
    types = _types()
    assert types.parserKey(contentType) == key
    assert (types.parser(contentType) is None) == (key is None)


def test_both_json_types_read_with_the_same_parser() -> None:
    types = _types()
    assert types.parser("application/json") is types.parser("application/occi+json") is json.parse


def test_aliases_fold_into_the_registered_type() -> None:
    types = MediaTypes()

    def parsePlain(body: bytes, headers: object = None) -> Document:
        return Document()

    types.add("text/plain", parser=parsePlain)
    assert types.parserKey("text/occi+plain; charset=utf-8") == "text/plain"
    assert types.parser("TEXT/OCCI+PLAIN") is parsePlain


def test_output_types_in_registration_order() -> None:
    types = _types()
    assert types.outputTypes() == ["application/occi+json", "application/json"]
    assert types.inputTypes() == [
        "application/occi+json",
        "application/json",
        "application/x-www-form-urlencoded",
    ]
    assert types.renderer("application/json").mediaType == "application/json"
    assert types.renderer("Application/OCCI+JSON").mediaType == "application/occi+json"
    assert types.choose("application/*") == "application/occi+json"


def test_listing_only_renderings() -> None:
    types = _types()
    listing = json.JSONRenderer("text/uri-list")
    types.add("text/uri-list", renderer=listing, listingOnly=True)
    assert "text/uri-list" not in types.outputTypes()
    assert types.outputTypes(listing=True)[-1] == "text/uri-list"


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=80)))
def test_any_content_type_gives_a_key_or_none(contentType: str | None) -> None:
    key = _types().parserKey(contentType)
    assert key is None or key in _types().inputTypes()
