"""The Python snippets in README.md and docs/getting-started.md run, and serve what they say."""

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from k8s_aggapi.testing import build_test_app

ROOT = Path(__file__).parents[2]
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def snippet(path: str) -> dict:
    code = re.findall(r"```python\n(.*?)```", (ROOT / path).read_text(), re.S)
    assert code, f"no python snippet in {path}"
    namespace: dict = {"__name__": "snippet"}
    exec(compile("\n".join(code), path, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("path", ["README.md", "docs/getting-started.md"])
def test_widget_snippets_serve_widgets(path):
    group = snippet(path)["group"]
    with TestClient(build_test_app([group])) as client:
        base = "/apis/widgets.example.com/v1/namespaces/default/widgets"
        created = client.post(base, json={"metadata": {"name": "w"}, "spec": {"size": 3}})
        assert created.status_code == 201, created.text
        assert client.get(f"{base}/w").json()["spec"] == {"size": 3}


def test_getting_started_strategy_and_columns():
    group = snippet("docs/getting-started.md")["group"]
    with TestClient(build_test_app([group])) as client:
        base = "/apis/widgets.example.com/v1/namespaces/default/widgets"
        bad = client.post(base, json={"metadata": {"name": "w"}, "spec": {"size": 0}})
        assert bad.status_code == 422
        assert bad.json()["message"] == (
            'Widget.widgets.example.com "w" is invalid: spec.size: Invalid value: 0: '
            "must be positive")
        client.post(base, json={"metadata": {"name": "w"}, "spec": {"size": 2}})
        # the strategy's validate holds on every write, not only on create
        merge = {"content-type": "application/merge-patch+json"}
        patched = client.patch(f"{base}/w", json={"spec": {"size": 0}}, headers=merge)
        assert patched.status_code == 422, patched.text
        current = client.get(f"{base}/w").json()
        put = client.put(f"{base}/w", json={**current, "spec": {"size": 0}})
        assert put.status_code == 422, put.text
        assert put.json()["message"] == bad.json()["message"]
        wrong = client.post(base, json={"metadata": {"name": "v"}, "spec": {"size": "5"}})
        assert wrong.status_code == 400
        assert wrong.json()["message"] == (
            'Widget in version "v1" cannot be handled as a Widget: json: cannot unmarshal string '
            "into Go struct field WidgetSpec.spec.size of type int64")
        table = client.get(base, headers={"Accept": TABLE}).json()
        assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Created At", "Size"]
        assert table["rows"][0]["cells"][2] == 2
        resources = client.get("/apis/widgets.example.com/v1").json()["resources"]
        assert resources[0]["shortNames"] == ["wg"]
        assert resources[0]["categories"] == ["all"]


def test_resources_page_serves_what_it_says():
    group = snippet("docs/resources.md")["group"]
    table = {"accept": TABLE}
    with TestClient(build_test_app([group])) as client:
        base = "/apis/pools.example.com/v1"
        pools = f"{base}/namespaces/default/pools"
        client.post(pools, json={"metadata": {"name": "p"}, "spec": {"replicas": 1},
                                 "status": {"replicas": 5}})
        assert "status" not in client.get(f"{pools}/p").json()
        merge = {"content-type": "application/merge-patch+json"}
        client.patch(f"{pools}/p/status", json={"status": {"replicas": 1}}, headers=merge)
        scaled = client.patch(f"{pools}/p/scale", json={"spec": {"replicas": 3}}, headers=merge)
        assert scaled.json()["spec"] == {"replicas": 3}
        assert scaled.json()["status"] == {"replicas": 1}
        usage = client.get(f"{base}/poolusages", headers=table).json()
        assert [c["name"] for c in usage["columnDefinitions"]] == ["Name", "CPU(cores)"]
        assert usage["rows"][0]["cells"] == ["w-1", "250m"]
        assert client.delete(f"{base}/poolusages/w-1").status_code == 405
        assert client.get(f"{pools}/p/approval").json()["approved"] is True
        names = {r["name"] for r in client.get(base).json()["resources"]}
        assert names == {"pools", "pools/approval", "pools/scale", "pools/status", "poolusages"}
