from ansible_collections.keyless.aks_storage.plugins.module_utils import reconcile


def test_differences_reports_only_managed_keys_that_differ():
    current = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2], "unmanaged": "x"}
    desired = {"a": 1, "b": {"c": 5, "d": 3}, "e": [2, 1], "skip": None}
    assert reconcile.differences(desired, current) == ["b.c", "e"]


def test_differences_against_missing_current():
    assert reconcile.differences({"a": {"b": 1}}, None) == ["a"]
    assert reconcile.differences({}, {"a": 1}) == []


def test_deep_merge_keeps_base_and_skips_none():
    base = {"a": {"x": 1, "y": 2}, "b": 1}
    assert reconcile.deep_merge(base, {"a": {"y": 3}, "b": None, "c": 4}) == {"a": {"x": 1, "y": 3}, "b": 1, "c": 4}
    assert base == {"a": {"x": 1, "y": 2}, "b": 1}


def test_merge_tags_append_and_purge():
    assert reconcile.merge_tags({"a": "1"}, None) == ({"a": "1"}, False)
    assert reconcile.merge_tags({"a": "1"}, {"a": "1"}) == ({"a": "1"}, False)
    assert reconcile.merge_tags({"a": "1", "b": "2"}, {"a": "9"}) == ({"a": "9", "b": "2"}, True)
    assert reconcile.merge_tags({"a": "1", "b": "2"}, {"a": "1"}, append=False) == ({"a": "1"}, True)
    assert reconcile.merge_tags(None, {}) == ({}, False)


def test_normalize_location_and_diff_shape():
    assert reconcile.normalize_location("West Europe") == "westeurope"
    assert reconcile.normalize_location(None) is None
    assert reconcile.diff(None, {"a": 1}) == {"before": {}, "after": {"a": 1}}
