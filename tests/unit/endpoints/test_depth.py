"""One nesting limit for every body: an object at the limit is servable in every shape, one
level more is a 4xx Status and nothing is stored."""

import orjson
import pytest

from k8s_aggapi.endpoints.depth import SERVED_WRAPPERS, WRITER_MAX_DEPTH, dump_within
from k8s_aggapi.limits import DEFAULT_LIMITS

from .conftest import TABLE, W, flunder, resource_app
from .test_watch import call, events

NS = f"{W}/namespaces/default/flunders"
LIMIT = DEFAULT_LIMITS.max_nesting_depth
PARTIAL = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
MERGE = {"content-type": "application/merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}
JSON = {"content-type": "application/json"}


def nest(levels, leaf=None):
    """`levels` dicts one inside the other."""
    value = {} if leaf is None else leaf
    for _ in range(levels - 1):
        value = {"f:a": value}
    return value


def nest_json(levels):
    """`nest(levels)` as JSON text, for depths orjson would refuse to write."""
    return b'{"f:a":' * (levels - 1) + b"{}" + b"}" * (levels - 1)


def depth(value):
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def deep_flunder(total, rv=None):
    """A Flunder nesting exactly `total` levels, in managedFields[0].fieldsV1."""
    body = flunder("a")
    body["metadata"]["managedFields"] = [
        {"manager": "m", "operation": "Update", "fieldsV1": nest(total - 4)}]
    if rv:
        body["metadata"]["resourceVersion"] = rv
    assert depth(body) == total
    return body


def test_the_limit_leaves_room_for_the_deepest_served_shape():
    assert LIMIT + SERVED_WRAPPERS <= WRITER_MAX_DEPTH
    assert dump_within(nest(LIMIT), LIMIT) == orjson.dumps(nest(LIMIT))
    assert dump_within(nest(LIMIT + 1), LIMIT) is None
    assert dump_within(5, LIMIT) == b"5"
    # a configured limit above what can be served is lowered to what can
    top = WRITER_MAX_DEPTH - SERVED_WRAPPERS
    assert dump_within(nest(top), 10_000) is not None
    assert dump_within(nest(top + 1), 10_000) is None


async def test_an_object_at_the_limit_is_servable_everywhere():
    app = resource_app()
    _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder("a")))
    await t
    status, chunks, gone, watch = await call(app, "GET", NS, b"watch=true")
    assert await status == 200
    status_t, table_chunks, gone_t, watch_t = await call(
        app, "GET", f"{W}/flunders", b"watch=true&includeObject=Object",
        headers=[(b"accept", TABLE.encode())])
    assert await status_t == 200
    await events(chunks, 1)
    await events(table_chunks, 1)

    status_p, put_chunks, _, t = await call(
        app, "PUT", f"{NS}/a", body=orjson.dumps(deep_flunder(LIMIT, rv="1")))
    await t
    assert await status_p == 200, await put_chunks.get()
    [modified] = await events(chunks, 1)
    assert modified["type"] == "MODIFIED" and depth(modified["object"]) == LIMIT
    [row_event] = await events(table_chunks, 1)
    assert depth(row_event["object"]["rows"][0]["object"]) == LIMIT
    gone.set()
    gone_t.set()
    await watch
    await watch_t

    shapes = [
        (f"{NS}/a", b"", None), (NS, b"", None), (f"{W}/flunders", b"", None),
        (f"{NS}/a", b"includeObject=Object", TABLE), (NS, b"includeObject=Object", TABLE),
        (f"{W}/flunders", b"includeObject=Object", TABLE),
        (f"{NS}/a", b"", PARTIAL), (NS, b"", PARTIAL_LIST), (f"{W}/flunders", b"", PARTIAL_LIST),
    ]
    for path, query, accept in shapes:
        headers = [(b"accept", accept.encode())] if accept else []
        status, body, _, t = await call(app, "GET", path, query, headers=headers)
        await t
        assert await status == 200, (path, query, accept)
        orjson.loads(b"".join(body.get_nowait() for _ in range(body.qsize())))  # every part


@pytest.fixture
def stored(client):
    r = client.post(NS, json=flunder("a"))
    assert r.status_code == 201
    return r.json()


def assert_unchanged(client, stored):
    now = client.get(f"{NS}/a").json()
    assert now["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert now["metadata"].get("managedFields") == stored["metadata"].get("managedFields")


def assert_too_deep(r, code=400, prefix="the body of the request could not be decoded as JSON"):
    assert r.status_code == code, r.text
    status = r.json()
    assert status["kind"] == "Status" and status["code"] == code
    assert status["reason"] == ("BadRequest" if code == 400 else "Invalid")
    if code == 400:
        assert status["message"] == f"{prefix}: exceeded max depth of {LIMIT}"
    else:
        assert f"exceeded max depth of {LIMIT}" in status["details"]["causes"][0]["message"]


def test_put_one_level_deeper_is_400(client, stored):
    body = orjson.dumps(deep_flunder(LIMIT + 1, "1"))
    assert_too_deep(client.put(f"{NS}/a", content=body, headers=JSON))
    assert_unchanged(client, stored)
    assert client.put(f"{NS}/a", json=deep_flunder(LIMIT, "1")).status_code == 200


@pytest.mark.parametrize("levels", [LIMIT + 1, 300, 995, 2000])
def test_merge_patch_past_the_limit_is_400(client, stored, levels):
    patch = (b'{"metadata":{"managedFields":[{"manager":"m","operation":"Update","fieldsV1":'
             + nest_json(levels - 4) + b"}]}}")
    if levels < WRITER_MAX_DEPTH:
        assert depth(orjson.loads(patch)) == levels
    assert_too_deep(client.patch(f"{NS}/a", content=patch, headers=MERGE),
                    prefix="error decoding patch")
    assert_unchanged(client, stored)


@pytest.mark.parametrize("levels", [LIMIT + 1, 600])
def test_json_patch_value_past_the_limit_is_400(client, stored, levels):
    ops = b'[{"op":"add","path":"/metadata/labels/x","value":' + nest_json(levels - 2) + b"}]"
    if levels < WRITER_MAX_DEPTH:
        assert depth(orjson.loads(ops)) == levels
    assert_too_deep(client.patch(f"{NS}/a", content=ops, headers=JSON_PATCH),
                    prefix="error decoding patch")
    assert_unchanged(client, stored)


def test_a_patch_whose_result_is_too_deep_is_422(client, stored):
    assert client.put(f"{NS}/a", json=deep_flunder(LIMIT, "1")).status_code == 200
    at_limit = client.get(f"{NS}/a").json()
    innermost = "/metadata/managedFields/0/fieldsV1" + "/f:a" * (LIMIT - 5)
    ops = [{"op": "add", "path": f"{innermost}/x", "value": {}}]
    r = client.patch(f"{NS}/a", content=orjson.dumps(ops), headers=JSON_PATCH)
    assert_too_deep(r, 422)
    assert r.json()["details"]["causes"][0]["field"] == "patch"
    now = client.get(f"{NS}/a").json()
    assert now["metadata"]["resourceVersion"] == at_limit["metadata"]["resourceVersion"]


def test_create_and_delete_bodies_past_the_limit_are_400(client, stored):
    deep = flunder("b")
    deep["spec"] = nest(LIMIT)
    assert_too_deep(client.post(NS, content=orjson.dumps(deep), headers=JSON))
    assert [i["metadata"]["name"] for i in client.get(NS).json()["items"]] == ["a"]
    options = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": nest(LIMIT)}
    r = client.request("DELETE", f"{NS}/a", content=orjson.dumps(options), headers=JSON)
    assert_too_deep(r)
    assert_unchanged(client, stored)
