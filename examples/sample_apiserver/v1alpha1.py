"""wardle.example.com/v1alpha1: Flunder (namespaced) and Fischer (cluster-scoped)."""

from __future__ import annotations

from pydantic import Field

from k8s_aggapi.models import KubeModel, KubeObject


class FlunderSpec(KubeModel):
    """The desired state of a Flunder."""

    reference: str | None = Field(
        default=None,
        description="A name of another flunder or fischer, depending on the reference type.",
    )
    reference_type: str | None = Field(
        default=None,
        description='The type of the reference: "Flunder" or "Fischer". Defaults to "Flunder" '
        "when a reference is set.",
    )


class FlunderStatus(KubeModel):
    """The observed state of a Flunder (empty in the sample)."""


class Flunder(KubeObject):
    """A Flunder: a namespaced example object that may reference a Flunder or a Fischer."""

    spec: FlunderSpec = Field(default_factory=FlunderSpec, description="The flunder's spec.")
    status: FlunderStatus = Field(
        default_factory=FlunderStatus, description="The flunder's status."
    )


class Fischer(KubeObject):
    """A Fischer: a cluster-scoped example object listing flunder names that are banned."""

    disallowed_flunders: list[str] | None = Field(
        default=None, description="Names of flunders that may not be created."
    )
