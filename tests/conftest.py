"""Shared fixtures: the usual cast of users."""

import pytest

from accounts.models import Role, User


def make_user(username: str, role: str, **extra) -> User:
    return User.objects.create_user(username=username, password="pw-" + username, role=role, **extra)


@pytest.fixture
def alice(db) -> User:
    """A teacher."""
    return make_user("alice", Role.TEACHER)


@pytest.fixture
def bob(db) -> User:
    """Another teacher."""
    return make_user("bob", Role.TEACHER)


@pytest.fixture
def sam(db) -> User:
    """A student."""
    return make_user("sam", Role.STUDENT)


@pytest.fixture
def mo(db) -> User:
    """A moderator."""
    return make_user("mo", Role.MODERATOR)
