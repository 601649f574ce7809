"""Query parameters of list and watch: Go's integer rules and upstream's messages, 400 or 422,
never a 500; pagination tokens checked; nothing silently accepted that upstream refuses."""

import asyncio
import base64

import orjson
import pytest

from .conftest import W, flunder, resource_app
from .test_watch import call

NS = f"{W}/namespaces/default/flunders"
NINES = "9" * 400


def create(client, name):
    assert client.post(NS, json=flunder(name)).status_code == 201


async def watch_status(query: bytes):
    status, chunks, gone, task = await call(resource_app(), "GET", NS, b"watch=1&" + query)
    code = await asyncio.wait_for(status, 2)
    gone.set()
    await asyncio.wait_for(task, 2)
    body = b"".join([chunks.get_nowait() for _ in range(chunks.qsize())])
    return code, orjson.loads(body) if code != 200 else None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (f"timeoutSeconds={NINES}", f'strconv.ParseInt: parsing "{NINES}": value out of range'),
        ("timeoutSeconds=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("timeoutSeconds=1.5", 'strconv.ParseInt: parsing "1.5": invalid syntax'),
        ("timeoutSeconds=", 'strconv.ParseInt: parsing "": invalid syntax'),
        ("limit=9223372036854775808",
         'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
        ("resourceVersion=abc", 'invalid resource version: resourceVersion: Invalid value: "abc": '
                                'strconv.ParseUint: parsing "abc": invalid syntax'),
        ("resourceVersion=-1", 'invalid resource version: resourceVersion: Invalid value: "-1": '
                               'strconv.ParseUint: parsing "-1": invalid syntax'),
        (f"resourceVersion={NINES}",
         f'invalid resource version: resourceVersion: Invalid value: "{NINES}": '
         f'strconv.ParseUint: parsing "{NINES}": value out of range'),
    ],
)
def test_bad_integers_are_400_on_list(client, query, message):
    r = client.get(f"{NS}?{query}")
    assert r.status_code == 400, r.text
    assert r.json()["message"] == message


@pytest.mark.parametrize(
    "query", [f"timeoutSeconds={NINES}", "resourceVersion=abc", "resourceVersion=-1",
              "limit=x", "timeoutSeconds=-"]
)
async def test_bad_integers_are_400_on_watch(query):
    code, body = await watch_status(query.encode())
    assert code == 400 and body["reason"] == "BadRequest"


async def test_largest_timeout_is_served():
    status, _, gone, task = await call(resource_app(), "GET", NS,
                                       b"watch=1&timeoutSeconds=9223372036854775807")
    assert await asyncio.wait_for(status, 2) == 200
    gone.set()
    await asyncio.wait_for(task, 2)


async def test_negative_timeout_ends_the_watch_at_once():
    # upstream accepts it: the watch's deadline has already passed
    status, _, _, task = await call(resource_app(), "GET", NS, b"watch=1&timeoutSeconds=-5")
    assert await asyncio.wait_for(status, 2) == 200
    await asyncio.wait_for(task, 2)


def test_negative_limit_lists_everything_as_upstream(client):
    for name in "abc":
        create(client, name)
    r = client.get(NS, params={"limit": "-1"})
    assert r.status_code == 200
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["a", "b", "c"]


def test_booleans_follow_upstreams_rule(client):
    create(client, "a")
    # any value but "0"/"false" is true: garbage is not an error upstream
    assert client.get(NS, params={"watch": "FALSE"}).json()["kind"] == "FlunderList"
    assert client.get(NS, params={"allowWatchBookmarks": "abc"}).status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("resourceVersionMatch=Exact",
         'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
         "resourceVersionMatch is forbidden unless resourceVersion is provided"),
        ("resourceVersion=1&resourceVersionMatch=Bogus",
         'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: '
         '"Bogus": supported values: "Exact", "NotOlderThan", ""'),
        ("sendInitialEvents=true",
         'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
         "sendInitialEvents is forbidden for list"),
    ],
)
def test_list_options_validation_is_422(client, query, message):
    r = client.get(f"{NS}?{query}")
    assert r.status_code == 422, r.text
    assert r.json()["message"] == message
    assert r.json()["details"]["kind"] == "ListOptions"


async def test_watch_options_validation_is_422():
    code, body = await watch_status(b"sendInitialEvents=true")
    assert code == 422
    assert body["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")


def test_label_selector_gt_lists_integer_labels_above(client):
    for name, value in (("one", "1"), ("two", "2"), ("ten", "10"), ("word", "x")):
        body = flunder(name)
        body["metadata"]["labels"] = {"a": value}
        assert client.post(NS, json=body).status_code == 201
    above = client.get(NS, params={"labelSelector": "a>1"}).json()["items"]
    assert sorted(i["metadata"]["name"] for i in above) == ["ten", "two"]
    below = client.get(NS, params={"labelSelector": "a<2"}).json()["items"]
    assert [i["metadata"]["name"] for i in below] == ["one"]
    r = client.get(NS, params={"labelSelector": "a>x"})
    assert r.status_code == 400
    assert "for 'Gt', 'Lt' operators, the value must be an integer" in r.json()["message"]


def _token(rv, start):
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_continue_resumes_at_its_revision(client):
    for name in "abc":
        create(client, name)
    r = client.get(NS, params={"continue": _token(2, "b")})
    assert r.status_code == 200
    # the list as it was at revision 2: "c" was created after it
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["b"]
    assert r.json()["metadata"]["resourceVersion"] == "2"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"continue": _token(0, "b")}, "invalid continue token: continue key is not valid: "
                                       "incorrect encoded start resourceVersion (version "
                                       "meta.k8s.io/v1)"),
        ({"continue": _token(5, "../other/b")}, "invalid continue token: continue key is not "
                                                "valid: ../other/b"),
        ({"continue": _token(5, "b"), "resourceVersion": "5"},
         "specifying resource version is not allowed when using continue"),
    ],
)
def test_bad_continue_is_400(client, params, message):
    r = client.get(NS, params=params)
    assert r.status_code == 400
    assert r.json()["message"] == message


@pytest.mark.parametrize(
    ("method", "path", "params", "message"),
    [
        ("POST", NS, {"dryRun": "Some"},
         'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Some"]: '
         'supported values: "All"'),
        ("POST", NS, {"fieldValidation": "Loose"},
         'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": '
         'supported values: "", "Ignore", "Strict", "Warn"'),
        ("POST", NS, {"fieldManager": "m" * 129},
         'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than '
         "128 bytes"),
        ("POST", NS, {"fieldManager": "a\x07"},
         'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\a": '
         "invalid character U+0007 (at position 1)"),
        ("PUT", f"{NS}/a", {"dryRun": ""},
         'UpdateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: [""]: '
         'supported values: "All"'),
        ("PATCH", f"{NS}/a", {"force": "true"},
         'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for '
         "non-apply patch"),
    ],
)
def test_write_options_are_validated_and_write_nothing(client, method, path, params, message):
    obj = client.post(NS, json=flunder("a")).json()
    body = flunder("b") if method == "POST" else {**obj, "spec": {"reference": "changed"}}
    headers = {"content-type": "application/merge-patch+json" if method == "PATCH"
               else "application/json"}
    r = client.request(method, path, params=params, content=orjson.dumps(body), headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["message"] == message
    items = client.get(NS).json()["items"]
    assert [(i["metadata"]["name"], i["spec"].get("reference")) for i in items] == [("a", None)]
