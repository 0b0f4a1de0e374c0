"""argon2id password hashing and the password policy."""

from __future__ import annotations

import dataclasses

import argon2
import pytest
from argon2.profiles import CHEAPEST

from tradewind.security.errors import InvalidPasswordHash, WeakPassword
from tradewind.security.passwords import (
    PRODUCTION_PARAMETERS,
    PasswordCheck,
    PasswordHasher,
    check_password_policy,
    hash_password,
    password_problems,
    verify_password,
)

# Cheap but still argon2id with a real salt and hash length: tests stay fast.
FAST = dataclasses.replace(CHEAPEST, salt_len=16, hash_len=32)
GOOD_PASSWORD = "correct horse battery staple"


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(FAST)


def test_production_hashes_are_argon2id_with_rfc_9106_parameters() -> None:
    encoded = hash_password(GOOD_PASSWORD)  # the default hasher: production parameters
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert argon2.extract_parameters(encoded) == PRODUCTION_PARAMETERS
    assert verify_password(encoded, GOOD_PASSWORD) == PasswordCheck(ok=True, needs_rehash=False)


def test_right_and_wrong_passwords(hasher: PasswordHasher) -> None:
    encoded = hasher.hash(GOOD_PASSWORD)
    assert hasher.verify(encoded, GOOD_PASSWORD) == PasswordCheck(ok=True, needs_rehash=False)
    assert hasher.verify(encoded, GOOD_PASSWORD.upper()) == PasswordCheck(ok=False)
    assert hasher.hash(GOOD_PASSWORD) != encoded  # fresh salt each time


def test_a_hash_made_with_other_parameters_verifies_and_asks_for_a_rehash(
    hasher: PasswordHasher,
) -> None:
    older = PasswordHasher(dataclasses.replace(FAST, time_cost=2)).hash(GOOD_PASSWORD)
    check = verify_password(older, GOOD_PASSWORD, hasher)
    assert check == PasswordCheck(ok=True, needs_rehash=True)
    assert verify_password(hash_password(GOOD_PASSWORD, hasher), GOOD_PASSWORD, hasher) == (
        PasswordCheck(ok=True, needs_rehash=False)
    )


def test_an_unknown_user_costs_one_argon2_verification_like_a_known_one(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = hasher.hash(GOOD_PASSWORD)
    calls: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def counting_verify(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    assert hasher.verify(None, "whatever-they-typed") == PasswordCheck(ok=False)
    assert hasher.verify(encoded, "whatever-they-typed") == PasswordCheck(ok=False)
    assert len(calls) == 2
    assert argon2.extract_parameters(calls[0]) == argon2.extract_parameters(calls[1])


def test_passwords_are_compared_after_unicode_normalisation(hasher: PasswordHasher) -> None:
    composed, decomposed = "caf\u00e9-Passw0rd!", "cafe\u0301-Passw0rd!"
    assert hasher.verify(hasher.hash(composed), decomposed).ok


@pytest.mark.parametrize(
    "stored",
    [
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$corrupt!!",
        "",
    ],
)
def test_a_stored_value_that_is_no_argon2id_hash_is_an_error_not_a_mismatch(
    hasher: PasswordHasher, stored: str
) -> None:
    with pytest.raises(InvalidPasswordHash):
        hasher.verify(stored, GOOD_PASSWORD)


def test_argon2i_hashes_are_refused(hasher: PasswordHasher) -> None:
    argon2i = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=argon2.Type.I)
    with pytest.raises(InvalidPasswordHash):
        hasher.verify(argon2i.hash(GOOD_PASSWORD), GOOD_PASSWORD)
    with pytest.raises(ValueError, match="only argon2id"):
        PasswordHasher(dataclasses.replace(FAST, type=argon2.Type.I))


# -- policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [GOOD_PASSWORD, "Tr0ub4dor&3xyz", "kangaroo-umbrella-42", "ünïcødé-pässwörd-λ"],
)
def test_reasonable_passwords_pass(password: str) -> None:
    assert password_problems(password) == []
    check_password_policy(password)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!pass", "at least 12 characters"),
        ("alllowercaseletters", "two kinds of characters"),
        ("123456789012345", "two kinds of characters"),
        ("aaaaaaaaaaaa1", "5 different characters"),
        ("ab12ab12ab12ab12", "5 different characters"),
        ("x" * 1000 + "Y1" + "z" * 100, "at most 1024"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    assert any(problem in text for text in password_problems(password))


def test_the_users_own_email_or_name_is_refused() -> None:
    problems = password_problems("Seymour-Butz-2026!", ["seymour@example.com"])
    assert problems == ["do not use your e-mail address or name in your password"]
    assert password_problems("Seymour-Butz-2026!", ["sey@example.com", "bob"]) == []


def test_every_broken_rule_is_listed_and_the_password_never_echoed() -> None:
    with pytest.raises(WeakPassword) as caught:
        check_password_policy("aaaa")
    assert len(caught.value.problems) == 3
    assert "aaaa" not in str(caught.value)
