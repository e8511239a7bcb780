"""HTML form input: the walkthrough's ``compute.cores=2&compute.memory=2048`` and friends."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occi_twisted.model import Registry, newEntity
from occi_twisted.model.errors import BadRequest
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.renderings.document import CategoryRef, Document
from occi_twisted.renderings.form import attributeName, parse, walkthroughRequest
from occi_twisted.renderings.resolve import describeEntity

from .support import INFRA


def test_the_walkthrough_creates_a_compute() -> None:
    document = parse(b"compute.cores=2&compute.memory=2048")
    assert document == Document(attributes={"occi.compute.cores": "2",
                                            "occi.compute.memory": "2048"})
    # POSTed to /compute/, the collection gives the kind and the model coerces the strings.
    description = describeEntity(document, Registry.standard())
    entity = newEntity(description, kind=COMPUTE)
    assert entity.kind == COMPUTE
    assert entity.attributes["occi.compute.cores"] == 2
    assert entity.attributes["occi.compute.memory"] == 2048.0


def test_full_names_and_other_names_are_kept() -> None:
    document = parse(b"occi.compute.cores=4&method=acpioff&occi-twisted.backup.keep=3"
                     b"&com.example.colour=red")
    assert document.attributes == {
        "occi.compute.cores": "4",
        "method": "acpioff",
        "occi-twisted.backup.keep": "3",
        "com.example.colour": "red",
    }


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("compute.cores", "occi.compute.cores"),
        ("storage.size", "occi.storage.size"),
        ("network.vlan", "occi.network.vlan"),
        ("networkinterface.mac", "occi.networkinterface.mac"),
        ("storagelink.deviceid", "occi.storagelink.deviceid"),
        ("core.title", "occi.core.title"),
        ("credentials.ssh.publickey", "occi.credentials.ssh.publickey"),
        ("title", "occi.core.title"),
        ("summary", "occi.core.summary"),
        ("id", "occi.core.id"),
        ("compute", "compute"),
        ("method", "method"),
        ("occi.compute.cores", "occi.compute.cores"),
    ],
)
def test_short_names_stand_for_full_attribute_names(field: str, name: str) -> None:
    assert attributeName(field) == name


def test_categories_by_identifier_or_term() -> None:
    document = parse(
        b"kind=http%3A%2F%2Fschemas.ogf.org%2Focci%2Finfrastructure%23compute"
        b"&mixin=small&mixin=http://schemas.ogf.org/occi/infrastructure%23os_tpl"
        b"&category=+medium+"
    )
    assert document.categories == (
        CategoryRef(INFRA, "compute", cls="kind"),
        CategoryRef("", "small", cls="mixin"),
        CategoryRef(INFRA, "os_tpl", cls="mixin"),
        CategoryRef("", "medium", cls=None),
    )


def test_title_and_summary() -> None:
    document = parse(b"title=Web+server&summary=Serves+%C3%BCber+pages")
    assert document.attributes == {"occi.core.title": "Web server",
                                   "occi.core.summary": "Serves über pages"}


def test_raw_utf8_is_read_too() -> None:
    assert parse("title=Größe".encode()).attributes == {"occi.core.title": "Größe"}


def test_action_by_term_or_identifier() -> None:
    assert parse(b"action=stop&method=acpioff") == Document(
        action=CategoryRef("", "stop", cls="action"), attributes={"method": "acpioff"})
    stop = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
    assert parse(urlencode({"action": stop}).encode()).action == CategoryRef(
        "http://schemas.ogf.org/occi/infrastructure/compute/action#", "stop", cls="action")


def test_locations_for_mixin_association() -> None:
    document = parse(b"location=%2Fcompute%2F1&location=http://h/compute/2")
    assert document.locations == ("/compute/1", "http://h/compute/2")


def test_blank_fields_are_left_out() -> None:
    # A browser submits every input of a form, filled or not.
    document = parse(b"compute.cores=2&compute.memory=&title=&mixin=&&=")
    assert document == Document(attributes={"occi.compute.cores": "2"})


def test_values_are_kept_as_given() -> None:
    assert parse(b"compute.cores=+2+").attributes == {"occi.compute.cores": " 2 "}
    assert parse(b"x=a%3Db%26c").attributes == {"x": "a=b&c"}


def test_an_empty_body_is_an_empty_document() -> None:
    assert parse(b"") == Document()


def test_the_parser_takes_headers() -> None:
    assert parse(b"a=1", {"content-type": ["application/x-www-form-urlencoded"]}
                 ).attributes == {"a": "1"}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"compute.cores=2&compute.cores=3", "more than once"),
        (b"compute.cores=2&occi.compute.cores=2", "more than once"),
        (b"title=a&occi.core.title=b", "more than once"),
        (b"=2", "without a field name"),
        (b"a+b=2", "not an attribute name"),
        (b"%00=2", "not an attribute name"),
        (b"x%0Ay=2", "not an attribute name"),
        (b"title=%FF", "not valid UTF-8"),
        (b"\xff=1", "not valid UTF-8"),
        (b"kind=a%23", "scheme#term"),
        (b"kind=%23compute", "scheme#term"),
        (b"mixin=two+words", "scheme#term"),
        (b"action=stop&action=start", "more than one action"),
        (b"location=a+b", "not a location"),
        (b"&".join([b"a%d=1" % i for i in range(1001)]), "more than 1000 fields"),
    ],
)
def test_malformed_forms_are_refused_in_one_sentence(body: bytes, words: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(body)
    assert words in caught.value.message
    assert caught.value.message.endswith(".")


def test_the_walkthroughs_request_shorthand() -> None:
    document = walkthroughRequest(parse(b"state=shutdown&type=acpioff"))
    assert document == Document(action=CategoryRef("", "stop", cls="action"),
                                attributes={"method": "acpioff"})
    assert walkthroughRequest(parse(b"state=start")).action == CategoryRef(
        "", "start", cls="action")


def test_the_shorthand_leaves_other_requests_alone() -> None:
    named = parse(b"action=stop&state=x")
    assert walkthroughRequest(named) is named
    plain = parse(b"method=acpioff")
    assert walkthroughRequest(plain) is plain


def test_an_unknown_request_state() -> None:
    with pytest.raises(BadRequest, match="not one of"):
        walkthroughRequest(parse(b"state=dancing"))


_fieldNames = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,3}", fullmatch=True),
    st.sampled_from(["compute.cores", "title", "summary", "id", "method"]),
).filter(lambda name: name not in ("kind", "mixin", "category", "action", "location"))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_fieldNames, st.text(min_size=1, max_size=30), max_size=8))
def test_urlencoded_fields_read_back(fields: dict[str, str]) -> None:
    names = [attributeName(name) for name in fields]
    if len(set(names)) != len(names):
        with pytest.raises(BadRequest):
            parse(urlencode(fields).encode())
        return
    document = parse(urlencode(fields).encode())
    assert document.attributes == {
        attributeName(name): value for name, value in fields.items() if value.strip()
    }


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_say_why(body: bytes) -> None:
    try:
        document = parse(body)
    except BadRequest as error:
        assert error.message
        return
    assert all(isinstance(value, str) for value in document.attributes.values())


_formish = st.lists(
    st.tuples(st.sampled_from(["kind", "mixin", "category", "action", "location", "title",
                               "compute.cores", "x", "", "a b", "%", "%zz"]),
              st.text(max_size=15)),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=100), _formish.map(
    lambda pairs: "&".join(f"{name}={value}" for name, value in pairs))))
def test_any_form_string_parses_or_says_why(text: str) -> None:
    try:
        parse(text.encode("utf-8", "surrogatepass"))
    except BadRequest as error:
        assert error.message
