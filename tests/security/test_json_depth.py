"""HostileInputGuard's depth count against the plain byte-by-byte walk it replaced."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kinsave.security.middleware import json_depth, nested_deeper


def walked_depth(body: bytes) -> int:
    """The first implementation: every byte in Python (strings skipped, escapes honoured)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


JSON_BYTES = st.sampled_from(list(b'[]{}"\\:,a 1\n'))
json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab\n\u00e9'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=30,
)


@settings(max_examples=500)
@given(st.lists(JSON_BYTES, max_size=80).map(bytes))
def test_same_depth_as_the_walk_on_any_bytes(body: bytes) -> None:
    assert json_depth(body) == walked_depth(body)


@settings(max_examples=300)
@given(json_values)
def test_same_depth_as_the_walk_on_json(value: object) -> None:
    body = json.dumps(value, ensure_ascii=False).encode()
    assert json_depth(body) == walked_depth(body)


def test_unterminated_strings_and_trailing_escapes() -> None:
    for body in (b'["[[[', b'["a\\', b'["a\\"[[', b'[[]]"', b'"\\\\"[[', b"]]][[", b""):
        assert json_depth(body) == walked_depth(body)


@settings(max_examples=300)
@given(st.lists(JSON_BYTES, max_size=80).map(bytes), st.integers(min_value=0, max_value=6))
def test_nested_deeper_agrees_with_the_walk(body: bytes, limit: int) -> None:
    assert nested_deeper(body, limit) == (walked_depth(body) > limit)


def test_a_body_opening_at_most_the_limit_is_never_too_deep() -> None:
    thirty_lines = {"lines": [{"sku": f"S{i}", "quantity": 1} for i in range(30)]}
    body = json.dumps(thirty_lines).encode()  # opens 32: one object, one array, 30 lines
    assert not nested_deeper(body, 32) and not nested_deeper(b"[" * 32 + b"]" * 32, 32)
    assert nested_deeper(b"[" * 33 + b"]" * 33, 32)
    assert not nested_deeper(b'["' + b"[" * 40 + b'"]', 32)  # in a string: not nesting
