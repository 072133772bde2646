"""DynamoDB's own checks on an item, made before the item is written.

BatchWriteItem refuses a whole batch (``ValidationException``) when one of its
25 items breaks a rule, so every rule DynamoDB applies to an item is checked
here first and a bad record becomes an invalid record with its JSON path:

* **size**: at most 400 KB (409 600 bytes) for the whole item *as written*,
  including the attributes ferry adds. Sizes follow DynamoDB's accounting:
  attribute names and strings count their UTF-8 bytes, a number
  ``ceil(significant digits / 2) + 1`` bytes (one more when negative), booleans
  and nulls 1 byte, a list or map 3 bytes plus 1 byte per element (plus the
  element's name in a map);
* **names**: no empty attribute name (at the top level or inside a map);
* **strings**: valid UTF-8, so no lone surrogate (``"\\ud800"`` in JSON decodes
  to one); key attributes non-empty, the partition key at most 2048 bytes and
  the sort key at most 1024;
* **numbers**: finite, at most 38 significant digits (leading and trailing
  zeros do not count), magnitude 1E-130 to 9.9999999999999999999999999999999999999E+125
  (or zero);
* **nesting**: at most 32 levels.

Pure: no AWS, no boto3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

MAX_ITEM_BYTES = 400 * 1024
MAX_DEPTH = 32
NUMBER_DIGITS = 38
MIN_EXPONENT = -130  # adjusted exponent of 1E-130
MAX_EXPONENT = 125  # adjusted exponent of 9.99...E+125
PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024
_LARGEST = "9.9999999999999999999999999999999999999E+125"
_LIST_OVERHEAD = 3
_ELEMENT_OVERHEAD = 1


class ItemProblem(ValueError):
    """DynamoDB would refuse the item: ``path`` says where (``$.a.b[3]``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _text_bytes(text: str, path: str, what: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as err:
        raise ItemProblem(
            path,
            f"{what} holds a lone surrogate (U+{ord(text[err.start]):04X} at character "
            f"{err.start + 1}): not valid UTF-8, DynamoDB refuses it",
        ) from None


def number_size(value: int | Decimal, path: str = "$") -> int:
    """DynamoDB's size of a number, or :class:`ItemProblem` if it cannot store it."""
    number = Decimal(value)
    if not number.is_finite():
        raise ItemProblem(path, f"number {number} is not finite")
    sign, digits, _exponent = number.as_tuple()
    text = "".join(map(str, digits)).strip("0")
    if not text:
        return 1  # zero
    if len(text) > NUMBER_DIGITS:
        raise ItemProblem(
            path, f"number has {len(text)} significant digits, DynamoDB keeps {NUMBER_DIGITS}"
        )
    adjusted = number.adjusted()
    if adjusted > MAX_EXPONENT:
        raise ItemProblem(path, f"number is larger than DynamoDB's maximum ({_LARGEST})")
    if adjusted < MIN_EXPONENT:
        raise ItemProblem(path, "number is smaller in magnitude than DynamoDB's minimum (1E-130)")
    return (len(text) + 1) // 2 + 1 + (1 if sign else 0)


def value_size(value: Any, path: str = "$", max_depth: int = MAX_DEPTH) -> int:
    """DynamoDB's size of one attribute value (iterative: hostile nesting cannot recurse)."""
    total = 0
    stack: list[tuple[str, Any, int]] = [(path, value, 1)]
    while stack:
        where, node, level = stack.pop()
        if isinstance(node, Mapping):
            if level > max_depth:
                raise ItemProblem(where, f"nested deeper than DynamoDB's {max_depth} levels")
            total += _LIST_OVERHEAD
            for name, child in node.items():
                key = str(name)
                if not key:
                    raise ItemProblem(where, "an attribute name is empty")
                total += _ELEMENT_OVERHEAD + _text_bytes(key, f"{where}.{key}", "attribute name")
                stack.append((f"{where}.{key}", child, level + 1))
        elif isinstance(node, list | tuple):
            if level > max_depth:
                raise ItemProblem(where, f"nested deeper than DynamoDB's {max_depth} levels")
            total += _LIST_OVERHEAD
            for index, child in enumerate(node):
                total += _ELEMENT_OVERHEAD
                stack.append((f"{where}[{index}]", child, level + 1))
        elif isinstance(node, str):
            total += _text_bytes(node, where, "string")
        elif isinstance(node, bytes | bytearray):
            total += len(node)
        elif node is None or isinstance(node, bool):
            total += 1
        elif isinstance(node, int | Decimal):
            total += number_size(node, where)
        else:
            raise ItemProblem(where, f"{type(node).__name__} is not a DynamoDB type")
    return total


def item_size(item: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for ``item``: names plus values (:class:`ItemProblem` if refused)."""
    total = 0
    for name, value in item.items():
        if not name:
            raise ItemProblem("$", "an attribute name is empty")
        path = f"$.{name}"
        total += _text_bytes(name, path, "attribute name") + value_size(value, path, MAX_DEPTH)
    return total


def check_item(
    item: Mapping[str, Any],
    key: Sequence[str] = (),
    *,
    max_bytes: int = MAX_ITEM_BYTES,
) -> int:
    """The item's size; :class:`ItemProblem` for anything DynamoDB would refuse.

    ``key`` names the table's key attributes (partition key first).
    """
    for position, name in enumerate(key):
        value = item.get(name)
        limit = PARTITION_KEY_BYTES if position == 0 else SORT_KEY_BYTES
        if isinstance(value, str):
            size = _text_bytes(value, f"$.{name}", "key attribute")
            if not size:
                raise ItemProblem(f"$.{name}", "a key attribute cannot be an empty string")
            if size > limit:
                message = f"key attribute is {size} bytes, the limit is {limit}"
                raise ItemProblem(f"$.{name}", message)
    size = item_size(item)
    if size > max_bytes:
        raise ItemProblem(
            "$", f"item is {size} bytes as DynamoDB counts them, the limit is {max_bytes} (400 KB)"
        )
    return size
