"""Every attribute of the model accepts what its type allows and refuses the rest clearly."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from occi_twisted.model import AttributeDefinition, AttributeType, Registry
from occi_twisted.model.errors import InvalidAttribute
from occi_twisted.renderings.values import unfit

REGISTRY = Registry.standard()
DEFINITIONS = sorted(
    {(c.identifier, d.name): d for c in REGISTRY for d in c.attributes}.items()
)

#: A value each type must accept, and values it must refuse.
GOOD: dict[AttributeType, object] = {
    AttributeType.STRING: "a-value",
    AttributeType.INTEGER: 2,
    AttributeType.FLOAT: 2.5,
    AttributeType.BOOLEAN: True,
    AttributeType.LIST: ["a", 1],
    AttributeType.HASH: {"a": 1},
    AttributeType.URI: "/compute/1",
    AttributeType.IP: "192.0.2.1",
    AttributeType.CIDR: "192.0.2.0/24",
}
BAD: dict[AttributeType, list[object]] = {
    AttributeType.INTEGER: ["two", 2.5, True, None, [1]],
    AttributeType.FLOAT: ["two", True, None, "nan", float("inf")],
    AttributeType.BOOLEAN: ["yes", 1, None],
    AttributeType.LIST: ["a", 1, None, "{}"],
    AttributeType.HASH: ["a", [1], None, "[1]"],
    AttributeType.ENUM: ["no-such-value", None],
    AttributeType.IP: ["300.1.1.1", "host", None],
    AttributeType.CIDR: ["192.0.2.0/99", None],
    AttributeType.URI: ["", "has space", None],
    AttributeType.STRING: [None, {"a": 1}, "x" * 70000],
}


def _good(definition: AttributeDefinition) -> object:
    if definition.type is AttributeType.ENUM:
        return definition.enum[0]
    if definition.type is AttributeType.STRING and definition.pattern:
        samples = {
            "occi.core.id": "b10fa926-41a6-4125-ae94-bfad2670ca87",
            "occi.compute.hostname": "vm1.example.com",
            "occi.compute.architecture": "x64",
            "occi.network.label": "private",
            "occi.networkinterface.mac": "02:00:5e:10:00:01",
            "backup": "backup-20261127T000000Z",
        }
        return samples[definition.name]
    if definition.type in (AttributeType.INTEGER, AttributeType.FLOAT):
        low = definition.minimum if definition.minimum is not None else 0
        return type(GOOD[definition.type])(max(low, 1))
    return GOOD[definition.type]


@pytest.mark.parametrize(("owner", "definition"), [(k[0], d) for k, d in DEFINITIONS],
                         ids=[f"{k[0].rsplit('#')[1]}:{k[1]}" for k, _ in DEFINITIONS])
def test_every_attribute_validates(owner: str, definition: AttributeDefinition) -> None:
    good = _good(definition)
    assert definition.coerce(good) == good
    for bad in BAD.get(definition.type, []):
        with pytest.raises(InvalidAttribute) as raised:
            definition.coerce(bad)
        assert definition.name in raised.value.message
    if definition.pattern:
        with pytest.raises(InvalidAttribute, match="pattern"):
            definition.coerce("!! not matching !!")
    if definition.minimum is not None:
        with pytest.raises(InvalidAttribute, match="at least"):
            definition.coerce(definition.minimum - 1)
    if definition.maximum is not None:
        with pytest.raises(InvalidAttribute, match="at most"):
            definition.coerce(definition.maximum + 1)


def test_strings_from_forms_are_coerced() -> None:
    cores = AttributeDefinition("n", AttributeType.INTEGER)
    memory = AttributeDefinition("m", AttributeType.FLOAT)
    flag = AttributeDefinition("f", AttributeType.BOOLEAN)
    assert cores.coerce(" 2 ") == 2
    assert cores.coerce(4.0) == 4
    assert memory.coerce("2048") == 2048.0
    assert memory.coerce(3) == 3.0
    assert flag.coerce("TRUE") is True
    assert AttributeDefinition("s").coerce(2.0) == "2"
    assert AttributeDefinition("l", AttributeType.LIST).coerce('["a", 1]') == ["a", 1]
    assert AttributeDefinition("h", AttributeType.HASH).coerce('{"a": 1}') == {"a": 1}


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
                 st.lists(st.integers()), st.dictionaries(st.text(), st.integers())))
def test_coerce_raises_only_invalid_attribute(raw: object) -> None:
    for definition in (d for _, d in DEFINITIONS):
        try:
            value = definition.coerce(raw)
        except InvalidAttribute:
            continue
        if isinstance(value, float):
            assert math.isfinite(value)


#: Lists and hashes as forms and descriptors carry them: JSON text, nested to any depth.
JSON_TEXTS = st.one_of(
    st.sampled_from([1, 32, 33, 900, 990, 5000]).map(lambda n: "[" * n + "]" * n),
    st.sampled_from([1, 33, 900]).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.sampled_from(['["\\ud800"]', '{"\\udfff": 1}', "[NaN]", "[Infinity]", "[1e999]",
                     "[" + "9" * 301 + "]", "[" + "9" * 5000 + "]", '{"a": 1, "a": 2}']),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=3), inner, max_size=3)).map(json.dumps),
)


@given(JSON_TEXTS)
def test_a_list_or_hash_from_json_text_is_one_every_rendering_can_write(text: str) -> None:
    for kind in (AttributeType.LIST, AttributeType.HASH):
        try:
            value = AttributeDefinition("x", kind).coerce(text)
        except InvalidAttribute:
            continue
        json.dumps(value, allow_nan=False).encode("utf-8")
        assert unfit(value) is None


def test_nesting_beyond_the_limit_is_refused_before_the_recursion_limit() -> None:
    listed = AttributeDefinition("x", AttributeType.LIST)
    assert listed.coerce("[" * 33 + "]" * 33)
    with pytest.raises(InvalidAttribute, match="nested more than 32 deep"):
        listed.coerce("[" * 900 + "]" * 900)
    with pytest.raises(InvalidAttribute, match="surrogate"):
        listed.coerce('["\\ud800"]')
