from __future__ import annotations

import pytest

from distro.tokens import InvalidToken, SigningKey, make_token, read_sealed, read_token

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
