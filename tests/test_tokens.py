from __future__ import annotations

import pytest

from distro.tokens import InvalidToken, make_token, read_sealed, read_token

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
