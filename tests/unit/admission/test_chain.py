"""The admission chain: mutating plugins in order, then validating ones; what they see."""

import pytest

from k8s_aggapi import errors
from k8s_aggapi.admission import (
    Attributes,
    Chain,
    GroupVersionKind,
    GroupVersionResource,
    MutatingPlugin,
    Operation,
    RequestAdmission,
    ValidatingPlugin,
    forbidden,
)
from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.authentication.user import User
from k8s_aggapi.registry.rest import DeleteOptions, ObjectUpdate, RequestContext
from k8s_aggapi.storage import MemoryStorage

GVK = GroupVersionKind("example.com", "v1", "Thing")
GVR = GroupVersionResource("example.com", "v1", "things")


class Recorder(MutatingPlugin, ValidatingPlugin):
    def __init__(self, name, log, *, mutate=None, refuse=None, operations=None):
        self.label, self.log, self.mutate, self.refuse = name, log, mutate, refuse
        if operations is not None:
            self.operations = frozenset(operations)

    async def admit(self, attributes):
        self.log.append(("admit", self.label, attributes))
        if self.mutate:
            self.mutate(attributes)
        if self.refuse == "admit":
            raise forbidden(attributes, "no")

    async def validate(self, attributes):
        self.log.append(("validate", self.label, attributes))
        if self.refuse == "validate":
            raise forbidden(attributes, "no")


class OnlyValidating(ValidatingPlugin):
    def __init__(self, log):
        self.log = log

    async def validate(self, attributes):
        self.log.append(("validate", "v", attributes))


def attrs(op=Operation.CREATE, **kw):
    return Attributes(op, GVK, GVR, **kw)


async def test_mutating_then_validating_in_order():
    log = []
    chain = Chain([Recorder("a", log), OnlyValidating(log), Recorder("b", log)])
    await chain.admit(attrs())
    await chain.validate(attrs())
    assert [(phase, name) for phase, name, _ in log] == [
        ("admit", "a"), ("admit", "b"), ("validate", "a"), ("validate", "v"),
        ("validate", "b")]


async def test_operations_narrow_a_plugin():
    log = []
    chain = Chain([Recorder("c", log, operations={Operation.CREATE})])
    await chain.admit(attrs(Operation.UPDATE))
    assert log == []
    await chain.admit(attrs(Operation.CREATE))
    assert len(log) == 1


def test_a_plugin_must_be_of_a_kind():
    with pytest.raises(TypeError):
        Chain([object()])  # type: ignore[list-item]


def test_forbidden_words_as_upstream():
    err = forbidden(attrs(name="x"), "this name may not be used")
    assert err.code == 403
    assert err.message == 'things.example.com "x" is forbidden: this name may not be used'
    unnamed = forbidden(attrs(object={"metadata": {"generateName": "g-"}}), "no")
    assert unnamed.message == 'things.example.com "g-" is forbidden: no'
    assert forbidden(attrs(), "no").message == 'things.example.com "Unknown" is forbidden: no'


# the store calls the chain on every write ---------------------------------------------

def things_store():
    group = APIGroup("example.com")
    resource = group.version("v1").add_store(
        ResourceInfo(kind="Thing", plural="things"), MemoryStorage())
    return resource.rest


def ctx(chain, user=None, dry_run=False):
    return RequestContext("ns", user, dry_run, RequestAdmission(chain, GVK, GVR, "", user))


def thing(name, **spec):
    return {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": name},
            "spec": spec}


async def test_create_sees_the_object_user_and_dry_run():
    log = []
    store = things_store()
    alice = User("alice", ("team",))
    await store.create(ctx(Chain([Recorder("r", log)]), alice, dry_run=True), thing("one"))
    admit, validate = log[0][2], log[1][2]
    assert admit.operation is Operation.CREATE and admit.old_object is None
    assert admit.object["metadata"]["name"] == "one" and admit.user == alice
    assert admit.dry_run and admit.namespace == "ns" and admit.kind == GVK
    # validating admission runs after the strategy: the system fields are set by then
    assert "uid" in validate.object["metadata"]


async def test_mutation_is_stored_and_validated():
    def label(a):
        a.object["metadata"].setdefault("labels", {})["admitted"] = "yes"

    store = things_store()
    created = await store.create(ctx(Chain([Recorder("m", [], mutate=label)])), thing("one"))
    assert created["metadata"]["labels"] == {"admitted": "yes"}

    def bad(a):
        a.object["metadata"]["labels"] = {"-bad": "x"}

    with pytest.raises(errors.Invalid):
        await store.create(ctx(Chain([Recorder("m", [], mutate=bad)])), thing("two"))


async def test_generated_name_comes_after_mutating_admission():
    log = []
    store = things_store()
    obj = thing("")
    obj["metadata"] = {"generateName": "gen-"}
    created = await store.create(ctx(Chain([Recorder("r", log)])), obj)
    assert log[0][2].name == "" and log[1][2].name == created["metadata"]["name"]


async def test_refusal_stores_nothing():
    store = things_store()
    with pytest.raises(errors.Forbidden) as refused:
        await store.create(ctx(Chain([Recorder("r", [], refuse="validate")])), thing("one"))
    assert refused.value.message == 'things.example.com "one" is forbidden: no'
    with pytest.raises(errors.NotFound):
        await store.get(RequestContext("ns"), "one")


async def test_update_and_patch_see_the_old_object():
    log = []
    store = things_store()
    created = await store.create(RequestContext("ns"), thing("one", size=1))
    chain = Chain([Recorder("r", log)])
    put = thing("one", size=2)
    put["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    await store.update(ctx(chain), "one", ObjectUpdate.replace(put))
    seen = log[0][2]
    assert seen.operation is Operation.UPDATE
    assert seen.old_object["spec"] == {"size": 1} and seen.object["spec"] == {"size": 2}

    log.clear()

    def patched(current):
        return {**current, "spec": {"size": 3}}

    await store.update(ctx(chain), "one", ObjectUpdate(patched))
    assert log[0][2].old_object["spec"] == {"size": 2}
    assert log[1][2].object["spec"] == {"size": 3}


async def test_refused_update_keeps_the_stored_object():
    store = things_store()
    created = await store.create(RequestContext("ns"), thing("one", size=1))
    chain = Chain([Recorder("r", [], refuse="admit", operations={Operation.UPDATE})])
    with pytest.raises(errors.Forbidden):
        await store.update(ctx(chain), "one", ObjectUpdate(lambda cur: {**cur, "spec": {"size": 9}}))
    assert (await store.get(RequestContext("ns"), "one"))["spec"] == created["spec"]


async def test_delete_sees_the_old_object_only():
    log = []
    store = things_store()
    await store.create(RequestContext("ns"), thing("one"))
    chain = Chain([Recorder("r", log, refuse="validate", operations={Operation.DELETE})])
    with pytest.raises(errors.Forbidden):
        await store.delete(ctx(chain), "one", DeleteOptions())
    seen = log[0][2]
    assert seen.operation is Operation.DELETE and seen.object is None
    assert seen.old_object["metadata"]["name"] == "one"
    assert await store.get(RequestContext("ns"), "one")
    await store.delete(ctx(Chain()), "one", DeleteOptions())
