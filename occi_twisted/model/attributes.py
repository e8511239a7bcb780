"""Attribute definitions and the validation of attribute values.

OCCI renderings disagree on how typed a value is on the wire: JSON carries numbers and booleans,
the text renderings carry quoted strings and bare numbers, and HTML forms and the walkthrough's
descriptor carry nothing but strings.  Every value therefore passes through
:meth:`AttributeDefinition.coerce`, which accepts any of those spellings and yields the one
Python type the model stores, or raises :class:`~occi_twisted.model.errors.InvalidAttribute` with
a sentence a person can act on.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import NoReturn

from .errors import InvalidAttribute

#: What an attribute value may be once validated.
Value = str | int | float | bool | list["Value"] | dict[str, "Value"]


class AttributeType(Enum):
    """The OCCI 1.2 attribute types (GFD.221 section 4.6), as the model checks them."""

    STRING = "string"
    ENUM = "enum"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    LIST = "list"
    HASH = "hash"
    URI = "uri"
    IP = "ip"
    CIDR = "cidr"

    @property
    def jsonType(self) -> str:
        """The JSON Schema type name GFD.225 uses for this attribute type."""
        return _JSON_TYPES[self]


_JSON_TYPES = {
    AttributeType.STRING: "string",
    AttributeType.ENUM: "string",
    AttributeType.INTEGER: "number",
    AttributeType.FLOAT: "number",
    AttributeType.BOOLEAN: "boolean",
    AttributeType.LIST: "array",
    AttributeType.HASH: "object",
    AttributeType.URI: "string",
    AttributeType.IP: "string",
    AttributeType.CIDR: "string",
}

#: Longest string value accepted, so that one attribute cannot fill the store.
MAX_STRING = 64 * 1024

#: The deepest nesting of a list or hash value (lists and hashes inside lists and hashes).
MAX_DEPTH = 32
#: The most digits of an integer inside a list or hash (a double holds about 308).
MAX_DIGITS = 300

# ASCII digits only: \d would take any script's digits, and int() and float() would read them.
_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
#: Half a UTF-16 surrogate pair, which JSON escapes can spell and no encoding can write
#: (the renderings refuse it in what they decode; this is for the JSON decoded here).
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class AttributeDefinition:
    """One attribute a category defines: its name, type and the rules values must keep."""

    name: str
    type: AttributeType = AttributeType.STRING
    mutable: bool = True
    required: bool = False
    default: Value | None = None
    description: str = ""
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    _compiled: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.pattern is not None:
            object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def coerce(self, raw: object) -> Value:
        """Turn a parsed value of any rendering into the stored value, or say why not."""
        value = self._coerceType(raw)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise InvalidAttribute(
                    self.name, f"must be at least {_num(self.minimum)}, not {_num(value)}"
                )
            if self.maximum is not None and value > self.maximum:
                raise InvalidAttribute(
                    self.name, f"must be at most {_num(self.maximum)}, not {_num(value)}"
                )
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise InvalidAttribute(self.name, f"is longer than {MAX_STRING} characters")
            if self._compiled is not None and not self._compiled.fullmatch(value):
                raise InvalidAttribute(
                    self.name, f"{value!r} does not match the pattern {self.pattern}"
                )
        return value

    def _coerceType(self, raw: object) -> Value:
        kind = self.type
        if kind is AttributeType.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            raise InvalidAttribute(self.name, f"must be true or false, not {_show(raw)}")
        if kind is AttributeType.INTEGER:
            if isinstance(raw, bool):
                raise InvalidAttribute(self.name, f"must be a whole number, not {_show(raw)}")
            if isinstance(raw, int):
                return raw
            if isinstance(raw, float) and raw.is_integer():
                return int(raw)
            if isinstance(raw, str) and _INT_RE.fullmatch(raw.strip()):
                return int(raw.strip())
            raise InvalidAttribute(self.name, f"must be a whole number, not {_show(raw)}")
        if kind is AttributeType.FLOAT:
            if isinstance(raw, bool):
                raise InvalidAttribute(self.name, f"must be a number, not {_show(raw)}")
            try:
                if isinstance(raw, (int, float)):
                    number = float(raw)
                elif isinstance(raw, str) and _FLOAT_RE.fullmatch(raw.strip()):
                    number = float(raw.strip())
                else:
                    raise InvalidAttribute(self.name, f"must be a number, not {_show(raw)}")
            except OverflowError:
                raise InvalidAttribute(self.name, "is too large a number") from None
            if not math.isfinite(number):
                raise InvalidAttribute(self.name, "must be a finite number")
            return number
        if kind in (AttributeType.LIST, AttributeType.HASH) and isinstance(raw, str):
            # The text renderings can carry lists and hashes only as quoted JSON text.
            try:
                raw = _JSON.decode(raw)
            except (ValueError, RecursionError):
                raise InvalidAttribute(
                    self.name, f"must be a {kind.value} written as JSON, not {_show(raw)}"
                ) from None
        if kind is AttributeType.LIST:
            if isinstance(raw, list):
                return [_plain(item, self.name) for item in raw]
            raise InvalidAttribute(self.name, f"must be a list, not {_show(raw)}")
        if kind is AttributeType.HASH:
            if isinstance(raw, dict) and all(isinstance(k, str) for k in raw):
                _checkKeys(raw, self.name)
                return {str(k): _plain(v, self.name) for k, v in raw.items()}
            raise InvalidAttribute(self.name, f"must be an object, not {_show(raw)}")
        # The remaining types are all strings on the wire.
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, int):
            if abs(raw) >= 10**1000:
                raise InvalidAttribute(self.name, "is too long a number")
            text = str(raw)
        elif isinstance(raw, float):
            text = _num(raw)
        elif isinstance(raw, str):
            text = raw
        else:
            raise InvalidAttribute(self.name, f"must be a string, not {_show(raw)}")
        if kind is AttributeType.ENUM and text not in self.enum:
            choices = ", ".join(self.enum)
            raise InvalidAttribute(self.name, f"must be one of {choices}, not {text!r}")
        if kind is AttributeType.IP:
            try:
                ipaddress.ip_address(text)
            except ValueError:
                raise InvalidAttribute(self.name, f"{text!r} is not an IP address") from None
        if kind is AttributeType.CIDR:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise InvalidAttribute(
                    self.name, f"{text!r} is not a network in CIDR notation"
                ) from None
        if kind is AttributeType.URI and (not text or any(c.isspace() for c in text)):
            raise InvalidAttribute(self.name, f"{text!r} is not a URI")
        return text


def _integer(text: str) -> int:
    if len(text.lstrip("+-")) > MAX_DIGITS:
        raise ValueError(f"more than {MAX_DIGITS} digits")
    return int(text)


def _noConstant(text: str) -> NoReturn:
    raise ValueError(f"{text} is not a JSON value")


#: Lists and hashes written as JSON text (forms and descriptors carry nothing else).
_JSON = json.JSONDecoder(parse_int=_integer, parse_constant=_noConstant)


def _plain(raw: object, name: str, depth: int = 1) -> Value:
    """Check that a list item or hash value is itself JSON-like, writable (no half
    surrogate pairs) and no deeper than :data:`MAX_DEPTH`, which also bounds the recursion."""
    if depth > MAX_DEPTH:
        raise InvalidAttribute(name, f"is nested more than {MAX_DEPTH} deep")
    if isinstance(raw, str):
        if _SURROGATE.search(raw):
            raise InvalidAttribute(name, "holds half a UTF-16 surrogate pair")
        return raw
    if isinstance(raw, (bool, int)):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise InvalidAttribute(name, "must hold finite numbers only")
        return raw
    if isinstance(raw, list):
        return [_plain(item, name, depth + 1) for item in raw]
    if isinstance(raw, dict) and all(isinstance(k, str) for k in raw):
        _checkKeys(raw, name)
        return {str(k): _plain(v, name, depth + 1) for k, v in raw.items()}
    raise InvalidAttribute(name, f"holds a value that is not JSON-like: {_show(raw)}")


def _checkKeys(raw: dict[str, object], name: str) -> None:
    if any(_SURROGATE.search(key) for key in raw):
        raise InvalidAttribute(name, "holds half a UTF-16 surrogate pair")


def _num(value: float) -> str:
    """Render a number the way a person writes it: 2, not 2.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return _show(value)


def _show(raw: object) -> str:
    if isinstance(raw, int) and abs(raw) > 10**40:
        return "a number of more than 40 digits"
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."
