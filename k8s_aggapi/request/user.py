"""Who is making a request: the `user.Info` of k8s.io/apiserver."""

from __future__ import annotations

from dataclasses import dataclass, field

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
MASTERS = "system:masters"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def with_group(self, group: str) -> User:
        """The same user with `group` added once (like upstream's AuthenticatedGroupAdder)."""
        if group in self.groups:
            return self
        return User(self.name, (*self.groups, group), self.uid, self.extra)


ANONYMOUS_USER = User(ANONYMOUS, (UNAUTHENTICATED,))
