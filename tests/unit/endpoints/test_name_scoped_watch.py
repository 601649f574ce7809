"""Through the whole app: a user allowed to read only `fuzz-a` watches it by each URL form and
never receives an event of `fuzz-b` (the name-scoped policy of issue 6)."""

import asyncio

import orjson
import pytest

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.request.user import User
from k8s_aggapi.testing import FakeAuthorizer, build_test_app

from .test_single_name_watch import NS, W, fischer, flunder, only_a_events
from .test_watch import call


def only_fuzz_a(attributes):
    # writes are allowed so the test can make fuzz-b; every read is about fuzz-a alone
    return attributes.verb in ("create", "update") or attributes.name == "fuzz-a"


def app_for_alice():
    authorizer = FakeAuthorizer(allow=only_fuzz_a)
    return build_test_app([wardle_group()], user=User("alice", ("dev",)),
                          authorizer=authorizer), authorizer


@pytest.mark.parametrize(
    ("path", "query", "collection", "body_of"),
    [
        (f"{W}/watch/fischers/fuzz-a", b"", f"{W}/fischers", fischer),
        (f"{W}/watch/namespaces/default/flunders/fuzz-a", b"", NS, flunder),
        (NS, b"watch=1&fieldSelector=metadata.name%3Dfuzz-a", NS, flunder),
    ],
)
async def test_fuzz_b_never_reaches_a_user_allowed_only_fuzz_a(path, query, collection, body_of):
    app, authorizer = app_for_alice()
    await only_a_events(app, path, query, collection, body_of)
    watch = next(a for a in authorizer.seen if a.verb == "watch")
    assert watch.name == "fuzz-a"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (f"{W}/fischers/fuzz-b", b""),
        (f"{W}/watch/fischers/fuzz-b", b""),
        (f"{W}/watch/namespaces/default/flunders/fuzz-b", b""),
        (NS, b"watch=1&fieldSelector=metadata.name%3Dfuzz-b"),
        (NS, b"watch=1"),
        # the deprecated prefix takes no name from a selector (upstream): a collection watch
        (f"{W}/watch/namespaces/default/flunders", b"fieldSelector=metadata.name%3Dfuzz-a"),
        # the first name (terms sorted, as upstream) is no path segment: no name at all
        (NS, b"watch=1&fieldSelector=metadata.name%3Dfuzz-a,metadata.name%3D..%2Ffuzz-a"),
        (NS, b"watch=1&fieldSelector=metadata.name%3Dfuzz-a%25"),
    ],
)
async def test_other_reads_are_forbidden(path, query):
    app, _ = app_for_alice()
    status, chunks, _, task = await call(app, "GET", path, query)
    assert await asyncio.wait_for(status, 2) == 403
    await asyncio.wait_for(task, 2)
    assert orjson.loads(await chunks.get())["reason"] == "Forbidden"
