from __future__ import annotations

import pytest

from distro.tokens import (
    InvalidToken,
    SigningKey,
    make_token,
    read_fields,
    read_sealed,
    read_token,
    sign_fields,
)

KEY = b"k" * 32


def test_round_trip() -> None:
    assert read_token(KEY, "unsubscribe", make_token(KEY, "unsubscribe", 42)) == 42


@pytest.mark.parametrize(
    "token",
    [
        make_token(b"other-key", "unsubscribe", 42),
        make_token(KEY, "preferences", 42),
        make_token(KEY, "unsubscribe", 42)[:-2],
        make_token(KEY, "unsubscribe", 42).replace(".", ""),
        "",
        "....",
        "dW5zdWJzY3JpYmU6NDM.AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_forged_altered_or_wrong_scope_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        read_token(KEY, "unsubscribe", token)


def test_tokens_do_not_show_the_id_in_clear_and_differ_per_subscriber() -> None:
    assert make_token(KEY, "unsubscribe", 1) != make_token(KEY, "unsubscribe", 2)
    assert "unsubscribe:1" not in make_token(KEY, "unsubscribe", 1)


def test_a_sealed_token_returns_its_seal_and_needs_its_scope() -> None:
    token = make_token(KEY, "confirm-5eal", 7)
    assert read_sealed(KEY, "confirm", token) == (7, "5eal")
    for other in [make_token(KEY, "confirm", 7), make_token(KEY, "form-5eal", 7), token[:-3]]:
        with pytest.raises(InvalidToken):
            read_sealed(KEY, "confirm", other)
    with pytest.raises(InvalidToken):
        read_token(KEY, "confirm", token)  # a sealed token is not a plain one


OLD, NEW = b"o" * 32, b"n" * 32


def test_a_rotated_key_still_reads_what_the_previous_key_signed() -> None:
    rotated = SigningKey(NEW, [OLD])
    for scope in ("unsubscribe", "preferences"):
        assert read_token(rotated, scope, make_token(OLD, scope, 42)) == 42
    assert read_sealed(rotated, "confirm", make_token(OLD, "confirm-5eal", 7)) == (7, "5eal")


def test_a_rotated_key_signs_with_the_current_key_only() -> None:
    rotated = SigningKey(NEW, [OLD])
    token = make_token(rotated, "unsubscribe", 42)
    assert token == make_token(NEW, "unsubscribe", 42) != make_token(OLD, "unsubscribe", 42)
    with pytest.raises(InvalidToken):
        read_token(OLD, "unsubscribe", token)  # a server still on the old key: the new link is not its own


def test_a_key_dropped_from_previous_is_refused_and_scopes_still_hold() -> None:
    with pytest.raises(InvalidToken):
        read_token(SigningKey(NEW), "unsubscribe", make_token(OLD, "unsubscribe", 42))
    with pytest.raises(InvalidToken):
        read_token(SigningKey(NEW, [OLD]), "unsubscribe", make_token(OLD, "preferences", 42))


def test_a_signing_key_never_shows_its_bytes() -> None:
    assert "nnnn" not in repr(SigningKey(NEW, [OLD])) and "oooo" not in repr(SigningKey(NEW, [OLD]))


def test_field_tokens_round_trip_and_refuse_another_scope_count_or_key() -> None:
    token = sign_fields(KEY, "click", "weekly-2026-W48", 3)
    assert read_fields(KEY, "click", token, 2) == ("weekly-2026-W48", "3")
    assert read_fields(SigningKey(b"new" * 11, [KEY]), "click", token, 2) == ("weekly-2026-W48", "3")
    for scope, count, key in [
        ("open", 2, KEY),
        ("click", 1, KEY),
        ("click", 3, KEY),
        ("click", 2, b"x" * 32),
    ]:
        with pytest.raises(InvalidToken):
            read_fields(key, scope, token, count)
    with pytest.raises(InvalidToken):
        read_token(KEY, "click", token)  # not a subscriber token either
    for bad in [token[:-1], token.replace(".", ""), "", "a.b"]:
        with pytest.raises(InvalidToken):
            read_fields(KEY, "click", bad, 2)


@pytest.mark.parametrize("field", ["a:b", "café", ""])
def test_a_field_that_could_pose_as_two_or_read_back_differently_is_refused(field: str) -> None:
    if field:
        with pytest.raises(ValueError):
            sign_fields(KEY, "click", field, 1)
    else:  # an empty field signs, but never reads back as a field
        with pytest.raises(InvalidToken):
            read_fields(KEY, "click", sign_fields(KEY, "click", field, 1), 2)
