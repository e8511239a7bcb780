"""Form fields, one per attribute definition, flattened once and written with a value.

Fields are named as the attributes are, which is what
:func:`occi_twisted.renderings.form.parse` reads back; a select offers an attribute's enum
(or true/false), a number input its bounds, a textarea a list or hash written as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from twisted.web.template import Flattenable, Tag, slot, tags

from ...model import AttributeDefinition, AttributeType
from .markup import NOTHING, Markup, around, dashed, escaped, flattened
from .words import number, valueText

_EMPTY_CHOICE = {False: "(none)", True: "(choose)"}


@dataclass(frozen=True)
class Field:
    """One input of a form: with a hole for its value, or for a select one flattening per
    option it may have chosen."""

    #: For an input: the field before and after its value.
    input: tuple[Markup, Markup] | None = None
    #: For a select: the field with each value chosen, and with none.
    chosen: Mapping[str, Markup] = field(default_factory=dict)
    unchosen: Markup = NOTHING
    #: For a select: the value chosen when none is given.
    default: str | None = None

    def __call__(self, value: str | None) -> Markup:
        if self.input is not None:
            before, after = self.input
            return Markup(before + escaped(value) + after) if value else Markup(before + after)
        wanted = value if value is not None else self.default
        return self.chosen.get(wanted, self.unchosen) if wanted is not None else self.unchosen


def hidden(name: str, value: Flattenable) -> Tag:
    return tags.input(type="hidden", name=name, value=value)


def defaultText(definition: AttributeDefinition) -> str | None:
    return valueText(definition.default) if definition.default is not None else None


def _hint(definition: AttributeDefinition) -> list[Flattenable]:
    notes: list[str] = []
    if definition.description:
        notes.append(definition.description)
    low, high = definition.minimum, definition.maximum
    if low is not None and high is not None:
        notes.append(f"from {number(low)} to {number(high)}")
    elif low is not None:
        notes.append(f"at least {number(low)}")
    elif high is not None:
        notes.append(f"at most {number(high)}")
    if definition.pattern is not None:
        notes.append(f"matching {definition.pattern}")
    if definition.type in (AttributeType.LIST, AttributeType.HASH):
        notes.append(f"a {definition.type.value} written as JSON")
    if definition.default is not None:
        notes.append(f"default {valueText(definition.default)}")
    return [" ", tags.small("; ".join(notes), class_="hint")] if notes else []


def fieldTag(definition: AttributeDefinition, formId: str, value: str | slot | None, *,
             orDefault: bool = True) -> Tag:
    """The input for ``definition`` in the form ``formId``, named as the attribute is, holding
    ``value``; a select chooses it, or without one the default (unless not ``orDefault``)."""
    name = definition.name
    ident = f"{formId}-{name}"
    required = {"required": "required"} if definition.required else {}
    kind = definition.type
    default = defaultText(definition)
    control: Tag
    if kind in (AttributeType.ENUM, AttributeType.BOOLEAN):
        values = list(definition.enum if kind is AttributeType.ENUM else ("true", "false"))
        if default is None or default not in values:
            values.insert(0, "")
        wanted = value if value is not None or not orDefault else default
        options = [tags.option(choice or _EMPTY_CHOICE[definition.required], value=choice,
                               **({"selected": "selected"} if choice == wanted else {}))
                   for choice in values]
        control = tags.select(options, name=name, id=ident, **required)
    elif kind in (AttributeType.INTEGER, AttributeType.FLOAT):
        bounds = {"step": "1" if kind is AttributeType.INTEGER else "any"}
        if definition.minimum is not None:
            bounds["min"] = number(definition.minimum)
        if definition.maximum is not None:
            bounds["max"] = number(definition.maximum)
        if default is not None:
            bounds["placeholder"] = default
        control = tags.input(type="number", name=name, id=ident, **bounds, **required,
                             value=value or "")
    elif kind in (AttributeType.LIST, AttributeType.HASH):
        control = tags.textarea(value or "", name=name, id=ident, rows="3", **required)
    else:
        placeholder = {"placeholder": default} if default is not None else {}
        control = tags.input(type="text", name=name, id=ident, **placeholder, **required,
                             value=value or "")
    marker = ([" ", tags.abbr("*", class_="required", title="required")]
              if definition.required else [])
    return tags.p(tags.label(name, marker, **dashed(for_=ident)), " ", control,
                  _hint(definition), class_="field")


def fieldOf(definition: AttributeDefinition, formId: str) -> Field:
    """:func:`fieldTag` flattened once, to be written with an entity's value."""
    if definition.type not in (AttributeType.ENUM, AttributeType.BOOLEAN):
        return Field(input=around(fieldTag(definition, formId, slot("value")), "value"))
    values = definition.enum if definition.type is AttributeType.ENUM else ("true", "false")
    return Field(chosen={value: flattened(fieldTag(definition, formId, value))
                         for value in ("", *values)},
                 unchosen=flattened(fieldTag(definition, formId, None, orDefault=False)),
                 default=defaultText(definition))
