"""JSON from outside, with its nesting bounded before the parser sees it.

Python's parser recurses once per level: a 64 KiB body of ``[`` exhausts the interpreter's
stack (RecursionError, a 500) long before any schema could refuse it. The bodies this
service accepts nest a few levels deep, so anything past MAX_DEPTH is refused unread.
"""
import json
import re

MAX_DEPTH = 32
# Strings first (their brackets are text), then every bracket left in order.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_OPENING = frozenset(b"[{")


class JsonBodyError(ValueError):
    """The body is not JSON, or nests deeper than MAX_DEPTH."""


def depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (0 for a scalar)."""
    deepest = level = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        level += 1 if match.group()[0] in _OPENING else -1
        deepest = max(deepest, level)
    return deepest


def loads(body: bytes | str, *, max_depth: int = MAX_DEPTH):
    """``json.loads`` that refuses deep nesting and every parse error as JsonBodyError."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if depth(raw) > max_depth:
        raise JsonBodyError(f"JSON nests deeper than {max_depth} levels.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        raise JsonBodyError("Body is not JSON.") from None
