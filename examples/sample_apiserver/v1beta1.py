"""wardle.example.com/v1beta1: Flunder, with one reference field per kind referred to.

Its fields are upstream's internal version's, so it is also the hub the store works in
(validation, admission); objects are kept in v1alpha1, upstream's storage version.
"""

from __future__ import annotations

from pydantic import Field

from k8s_aggapi.models import KubeModel, KubeObject


class FlunderSpec(KubeModel):
    """The desired state of a Flunder."""

    flunder_reference: str | None = Field(
        default=None, description="A name of another flunder, mutually exclusive to the "
        "FischerReference.")
    fischer_reference: str | None = Field(
        default=None, description="A name of a fischer, mutually exclusive to the "
        "FlunderReference.")
    reference_type: str | None = Field(default=None, description="The reference type.")


class FlunderStatus(KubeModel):
    """The observed state of a Flunder (empty in the sample)."""


class Flunder(KubeObject):
    """A Flunder: a namespaced example object that may reference a Flunder or a Fischer."""

    spec: FlunderSpec = Field(default_factory=FlunderSpec, description="The flunder's spec.")
    status: FlunderStatus = Field(
        default_factory=FlunderStatus, description="The flunder's status."
    )
