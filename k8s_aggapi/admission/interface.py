"""The two kinds of admission plugin (upstream's MutationInterface and ValidationInterface).

A plugin is a class that derives from `MutatingPlugin`, `ValidatingPlugin` or both: what it
is is declared, so mypy checks the signatures and the chain sorts plugins by class, never by
sniffing method names. `operations` is upstream's `admission.NewHandler(ops...)`.
"""

from __future__ import annotations

import abc
from typing import ClassVar

from k8s_aggapi.admission.attributes import Attributes, Operation

ALL_OPERATIONS = frozenset(Operation)


class Plugin:
    """Base of both kinds: the operations it handles (all, unless a subclass narrows them)."""

    name: ClassVar[str] = ""
    operations: ClassVar[frozenset[Operation]] = ALL_OPERATIONS

    def handles(self, operation: Operation) -> bool:
        return operation in self.operations


class MutatingPlugin(Plugin, abc.ABC):
    """Runs first, in chain order, and may change `attributes.object` in place; raises a
    StatusError (usually `forbidden(...)`) to refuse."""

    @abc.abstractmethod
    async def admit(self, attributes: Attributes) -> None: ...


class ValidatingPlugin(Plugin, abc.ABC):
    """Runs after every mutating plugin and after the strategy's validation, in chain order;
    must not change the object; raises a StatusError to refuse."""

    @abc.abstractmethod
    async def validate(self, attributes: Attributes) -> None: ...
