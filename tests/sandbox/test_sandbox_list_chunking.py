"""List chunking of the emulated API server (`limit`, `continue`, `metadata.continue`,
`metadata.remainingItemCount`) through the real kubernetes client, raw HTTPS for the refusals, and kubectl's
`--chunk-size` (behaviours and sources: sandbox/README.md, Kubernetes API, "List chunking")."""

import base64
import json
import urllib.parse

import pytest
from kubernetes import client as kclient

MAX_PAGES = 50  # every paging loop here stops after this many requests


def token_body(token):
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def make_token(body):
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def secret(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "stringData": {"k": name}}


@pytest.fixture
def estate(kube):
    """Secrets in namespaces whose names sort differently as tuples and as etcd keys ("a-b/" < "a/")."""
    for namespace in ("a", "a-b", "b"):
        kube.core.create_namespace({"metadata": {"name": namespace}})
    created = []
    for namespace, count in (("a", 4), ("a-b", 3), ("b", 5)):
        for index in range(count):
            name = f"s{index}"
            labels = {"tier": "gold"} if (len(created) % 3 == 0) else {"tier": "plain"}
            kube.core.create_namespaced_secret(namespace, secret(name, labels))
            created.append((namespace, name))
    return sorted(created, key=lambda item: f"{item[0]}/{item[1]}")


def pages(fetch, limit, **kwargs):
    """Follow continue tokens with `fetch(limit=, _continue=, _preload_content=False)` -> list of pages."""
    result, token = [], None
    for _request in range(MAX_PAGES):
        extra = {"_continue": token} if token else {}
        response = fetch(limit=limit, _preload_content=False, **kwargs, **extra)
        page = json.loads(response.data)
        result.append(page)
        token = page["metadata"].get("continue")
        if not token:
            return result
    raise AssertionError("paging did not end")


def keys(page):
    return [(i["metadata"].get("namespace"), i["metadata"]["name"]) for i in page["items"]]


def test_all_namespaces_pages_in_etcd_key_order(kube, estate, sandbox):
    before = sandbox.counters()["kubernetes"]["by_kind"].get("Secret", {}).get("reads", 0)
    got = pages(kube.core.list_secret_for_all_namespaces, 5)
    assert [len(p["items"]) for p in got] == [5, 5, 2]
    assert [k for p in got for k in keys(p)] == estate          # every item once, a-b/* before a/*
    assert estate[:3] == [("a-b", "s0"), ("a-b", "s1"), ("a-b", "s2")]
    assert [p["metadata"].get("remainingItemCount") for p in got] == [7, 2, None]
    assert len({p["metadata"]["resourceVersion"] for p in got}) == 1
    first = token_body(got[0]["metadata"]["continue"])
    assert first == {"v": "meta.k8s.io/v1", "rv": int(got[0]["metadata"]["resourceVersion"]), "start": "a/s1\x00"}
    after = sandbox.counters()["kubernetes"]["by_kind"]["Secret"]["reads"]
    assert after - before == len(got)


def test_namespaced_and_cluster_scoped_lists_page(kube, estate):
    got = pages(lambda **kw: kube.core.list_namespaced_secret("b", **kw), 2)
    assert [len(p["items"]) for p in got] == [2, 2, 1]
    assert token_body(got[0]["metadata"]["continue"])["start"] == "s1\x00"  # relative to the namespace
    for index in range(5):
        kube.core.create_persistent_volume({"metadata": {"name": f"pv{index}"}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "csi": {"driver": "blob.csi.azure.com", "volumeHandle": f"h{index}"}}})
        kclient.StorageV1Api(kube.api_client).create_storage_class(
            {"metadata": {"name": f"sc{index}"}, "provisioner": "blob.csi.azure.com"})
    volumes = pages(kube.core.list_persistent_volume, 2)
    assert [i["metadata"]["name"] for p in volumes for i in p["items"]] == [f"pv{i}" for i in range(5)]
    assert token_body(volumes[0]["metadata"]["continue"])["start"] == "pv1\x00"
    classes = pages(kclient.StorageV1Api(kube.api_client).list_storage_class, 4)
    assert [len(p["items"]) for p in classes] == [4, 1]


def test_selectors_fill_the_limit_with_matching_items(kube, estate):
    gold = [("a-b", "s2"), ("a", "s0"), ("a", "s3"), ("b", "s2")]   # every third secret created, in key order
    got = pages(kube.core.list_secret_for_all_namespaces, 2, label_selector="tier=gold")
    assert [k for p in got for k in keys(p)] == gold
    # b/s3 and b/s4 follow the last gold one: the second page has a token, the third is empty (as on etcd3).
    assert [len(p["items"]) for p in got] == [2, 2, 0]
    assert all("remainingItemCount" not in p["metadata"] for p in got)  # only without selectors
    fields = pages(kube.core.list_secret_for_all_namespaces, 3, field_selector="metadata.namespace=b")
    assert [k for p in fields for k in keys(p)] == [("b", f"s{i}") for i in range(5)]


def test_pages_after_the_first_see_the_first_page_s_revision(kube, estate, sandbox):
    first = json.loads(kube.core.list_namespaced_secret("b", limit=2, _preload_content=False).data)
    kube.core.delete_namespaced_secret("s3", "b")                       # on a later page
    kube.core.create_namespaced_secret("b", secret("s9"))               # would sort last
    kube.core.patch_namespaced_secret("s4", "b", {"metadata": {"labels": {"changed": "yes"}}})
    rest = json.loads(kube.core.list_namespaced_secret(
        "b", limit=10, _continue=first["metadata"]["continue"], _preload_content=False).data)
    assert [i["metadata"]["name"] for i in rest["items"]] == ["s2", "s3", "s4"]
    assert "changed" not in (rest["items"][2]["metadata"].get("labels") or {})
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    fresh = json.loads(kube.core.list_namespaced_secret("b", _preload_content=False).data)
    assert [i["metadata"]["name"] for i in fresh["items"]] == ["s0", "s1", "s2", "s4", "s9"]
    assert "continue" not in fresh["metadata"] and int(fresh["metadata"]["resourceVersion"]) > int(
        first["metadata"]["resourceVersion"])


def test_a_compacted_revision_is_410_with_an_inconsistent_continue(kube, estate, sandbox):
    sandbox.configure(list_snapshots=1)
    first = json.loads(kube.core.list_namespaced_secret("a", limit=1, _preload_content=False).data)
    kube.core.create_namespaced_secret("a", secret("s5"))
    kube.core.list_namespaced_secret("b", limit=1)                       # a newer snapshot replaces the first
    path = "/api/v1/namespaces/a/secrets?" + urllib.parse.urlencode({"limit": 2, "continue": first["metadata"][
        "continue"]})
    status, _headers, body = kube.raw("GET", path)
    assert status == 410 and body["reason"] == "Expired" and body["code"] == 410
    assert body["message"].startswith("The provided continue parameter is too old to display a consistent list "
                                      "result. You can start a new list without the continue parameter, or use the "
                                      "continue token in this response")
    retry = body["metadata"]["continue"]
    assert token_body(retry) == {"v": "meta.k8s.io/v1", "rv": -1, "start": "s0\x00"}
    status, _headers, rest = kube.raw("GET", "/api/v1/namespaces/a/secrets?" + urllib.parse.urlencode(
        {"limit": 10, "continue": retry}))
    assert status == 200 and [i["metadata"]["name"] for i in rest["items"]] == ["s1", "s2", "s3", "s5"]
    assert int(rest["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])


def test_unchanged_kind_continues_without_a_snapshot(kube, estate, sandbox):
    sandbox.configure(list_snapshots=0)
    first = json.loads(kube.core.list_namespaced_secret("a", limit=3, _preload_content=False).data)
    kube.core.create_namespaced_config_map("a", {"metadata": {"name": "unrelated"}})  # another kind moves on
    rest = json.loads(kube.core.list_namespaced_secret("a", limit=3, _continue=first["metadata"]["continue"],
                                                       _preload_content=False).data)
    assert [i["metadata"]["name"] for i in rest["items"]] == ["s3"]
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def refusal(kube, query, path="/api/v1/namespaces/a/secrets"):
    status, _headers, body = kube.raw("GET", path + "?" + urllib.parse.urlencode(query))
    return status, body.get("reason"), body.get("message")


def test_refusals_of_limit_and_continue(kube, estate):
    assert refusal(kube, {"limit": "abc"}) == (400, "BadRequest", 'strconv.ParseInt: parsing "abc": invalid syntax')
    assert refusal(kube, {"limit": "1.5"})[2] == 'strconv.ParseInt: parsing "1.5": invalid syntax'
    assert refusal(kube, {"limit": "99999999999999999999"})[2] == (
        'strconv.ParseInt: parsing "99999999999999999999": value out of range')
    prefix = "invalid continue token: continue key is not valid"
    assert refusal(kube, {"continue": "%%%"}) == (400, "BadRequest", f"{prefix}: illegal base64 data at input byte 0")
    assert refusal(kube, {"continue": make_token({"v": "meta.k8s.io/v2", "rv": 3, "start": "x"})})[2] == (
        f"{prefix}: server does not recognize this encoded version meta.k8s.io/v2")
    assert refusal(kube, {"continue": make_token({"v": "meta.k8s.io/v1", "start": "x"})})[2] == (
        f"{prefix}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    assert refusal(kube, {"continue": make_token({"v": "meta.k8s.io/v1", "rv": 3})})[2] == (
        f"{prefix}: encoded start key empty (version meta.k8s.io/v1)")
    assert refusal(kube, {"continue": make_token({"v": "meta.k8s.io/v1", "rv": 3, "start": "../b/s0"})})[2] == (
        f"{prefix}: ../b/s0")
    assert refusal(kube, {"continue": make_token({"v": "meta.k8s.io/v1", "rv": "3", "start": "x"})})[2] == (
        f"{prefix}: json: cannot unmarshal string into Go struct field continueToken.rv of type int64")
    assert refusal(kube, {"continue": make_token([1])})[2] == (
        f"{prefix}: json: cannot unmarshal array into Go value of type storage.continueToken")
    good = json.loads(kube.core.list_namespaced_secret("a", limit=1, _preload_content=False).data)["metadata"][
        "continue"]
    assert refusal(kube, {"continue": good, "resourceVersion": "5"}) == (
        400, "BadRequest", "specifying resource version is not allowed when using continue")
    status, reason, message = refusal(kube, {"continue": good, "resourceVersion": "5",
                                             "resourceVersionMatch": "NotOlderThan"})
    assert (status, reason) == (422, "Invalid") and message == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden '
        'when continue is provided')
    future = make_token({"v": "meta.k8s.io/v1", "rv": 10 ** 9, "start": "s0\x00"})
    status, reason, message = refusal(kube, {"continue": future})
    assert (status, reason) == (504, "Timeout")
    assert message.startswith("Timeout: Too large resource version: 1000000000, current: ")


def test_zero_negative_and_rv0_limits_mean_one_page(kube, estate):
    for query in ({"limit": "0"}, {"limit": "-3"}, {"limit": "2", "resourceVersion": "0"}):
        status, _headers, body = kube.raw("GET", "/api/v1/secrets?" + urllib.parse.urlencode(query))
        assert status == 200 and len(body["items"]) == len(estate) and "continue" not in body["metadata"]


def test_a_token_continues_another_request_from_its_key(kube, estate):
    """The token holds a key relative to the list's prefix and nothing of the request: the real server applies
    it to whatever list it is sent with (storage.DecodeContinue)."""
    token = json.loads(kube.core.list_namespaced_secret("a", limit=2, _preload_content=False).data)["metadata"][
        "continue"]
    other = json.loads(kube.core.list_namespaced_secret("b", limit=10, _continue=token, _preload_content=False).data)
    assert [i["metadata"]["name"] for i in other["items"]] == ["s2", "s3", "s4"]  # from "s1\0" on, in b


def test_single_name_field_selector_reads_one_key(kube, estate):
    status, _headers, body = kube.raw("GET", "/api/v1/namespaces/a/secrets?fieldSelector=metadata.name%3Ds1&limit=1")
    assert status == 200 and [i["metadata"]["name"] for i in body["items"]] == ["s1"]
    assert "continue" not in body["metadata"]


def test_table_output_carries_the_chunking_metadata(kube, estate):
    table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    status, _headers, body = kube.raw("GET", "/api/v1/secrets?limit=4", accept=table)
    assert status == 200 and body["kind"] == "Table" and len(body["rows"]) == 4
    assert body["metadata"]["remainingItemCount"] == len(estate) - 4 and body["metadata"]["continue"]
    status, _headers, rest = kube.raw("GET", "/api/v1/secrets?limit=100&continue=" + body["metadata"]["continue"],
                                      accept=table)
    assert len(rest["rows"]) == len(estate) - 4 and "continue" not in rest["metadata"]


def test_kubectl_chunk_size(kubectl, estate, sandbox):
    since = sandbox.requests()[-1]["index"] + 1 if sandbox.requests() else 0
    out = kubectl("get", "secrets", "-A", "--chunk-size=3", "-o", "name").stdout.split()
    assert len(out) == len(estate) and set(out) == {f"secret/{name}" for _ns, name in estate}
    listed = [r for r in sandbox.requests(since)
              if r["kind"] == "kubernetes" and r["path"].endswith("/api/v1/secrets")]
    assert [urllib.parse.parse_qs(r["query"]).get("limit") for r in listed] == [["3"]] * 4
    table = kubectl("get", "secrets", "-A", "--chunk-size=3").stdout.splitlines()
    assert len(table) == len(estate) + 1  # one header, every row once
