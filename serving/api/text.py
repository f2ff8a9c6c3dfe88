"""Text fields of request bodies: valid Unicode without control characters.

JSON may carry what neither the answer nor the databases can hold: unpaired surrogates
(``"\\udc80"``) cannot be encoded as UTF-8, and PostgreSQL refuses NUL in text. Such input is
refused as invalid (422 naming the field) before it reaches the store.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic.json_schema import JsonDict

SURROGATE = re.compile(r"[\ud800-\udfff]")
#: Control characters refused in free text (tab, line feed and carriage return are allowed).
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Control characters refused in one-line values (names, ids, codes).
LINE_CONTROL = re.compile(r"[\x00-\x1f]")


def _refuse(value: str, controls: re.Pattern[str], expected: str) -> str:
    found = SURROGATE.search(value)
    if found is not None:
        raise ValueError(f"contains an unpaired surrogate U+{ord(found.group()):04X} at position "
                         f"{found.start()}: expected valid Unicode text")
    found = controls.search(value)
    if found is not None:
        raise ValueError(f"contains the control character U+{ord(found.group()):04X} at position "
                         f"{found.start()}: expected {expected}")
    return value


def free_text(value: str) -> str:
    """``value`` if it is valid Unicode without control characters other than tabs and line breaks."""
    return _refuse(value, TEXT_CONTROL, "text without control characters (tabs and line breaks allowed)")


def one_line(value: str) -> str:
    """``value`` if it is valid Unicode without any control character."""
    return _refuse(value, LINE_CONTROL, "one line of text without control characters")


#: The same rules as JSON Schema patterns for the OpenAPI schema (the validators' errors say more).
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
LINE_PATTERN = r"^[^\x00-\x1f]*$"
FreeText = Annotated[str, AfterValidator(free_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
OneLine = Annotated[str, AfterValidator(one_line), Field(json_schema_extra={"pattern": LINE_PATTERN})]
#: A one-line object key (the object's schema names the pattern as ``propertyNames``).
OneLineKey = Annotated[str, AfterValidator(one_line)]
ONE_LINE_KEYS: JsonDict = {"propertyNames": {"pattern": LINE_PATTERN}}
