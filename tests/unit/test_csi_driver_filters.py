"""The driver rules of the preflight filters for the Azure Files chart (driver="file"), beside the blob ones."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.filter import preflight

FIELD = "azurefile_csi_driver_chart_version"


@pytest.mark.parametrize("version,starts", [
    ("1.34.8", FIELD + " 1.34.8 cannot mount Azure Files with a workload identity token alone: token-only SMB "
     "mounts (mountWithWorkloadIdentityToken) need driver 1.35.0"),
    ("v1.33.10", FIELD + " v1.33.10 cannot mount Azure Files"),
    ("1.35.0-rc.1", FIELD + " 1.35.0-rc.1 cannot mount Azure Files"),
    ("1.35.0", FIELD + " 1.35.0 is older than 1.35.3: the chart's CSIDriver has no requiresRepublish before 1.35.3"),
    ("1.35.2", FIELD + " 1.35.2 is older than 1.35.3: the chart's CSIDriver has no requiresRepublish"),
])
def test_files_charts_below_the_floor_say_which_part_is_missing(version, starts):
    problem = preflight.chart_problem(version, FIELD, "1.35.3", "file")
    assert problem.startswith(starts), problem


def test_files_charts_at_or_above_the_floor_pass_and_a_raised_floor_gives_no_false_reason():
    assert preflight.chart_problem("1.35.3", FIELD, "1.35.3", "file") is None
    assert preflight.chart_problem("1.35.7", FIELD, "1.35.3", "file") is None
    assert preflight.chart_problem("1.35.7", FIELD, "1.36.0", "file") == (
        FIELD + " 1.35.7 is older than the minimum version 1.36.0")


def test_the_blob_reason_is_unchanged_by_default():
    assert preflight.chart_problem("1.27.0", "v").startswith(
        "v 1.27.0 is older than 1.27.1: before 1.27.0 the chart's CSIDriver never refreshes")
    assert "Azure Files" not in preflight.driver_chart_problem("", "1.26.0")


def test_a_local_files_chart_is_judged_by_its_chart_yaml(tmp_path):
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: azurefile-csi-driver\nversion: 1.34.8\n")
    problem = preflight.driver_chart_problem(str(tmp_path), "1.35.7", "1.35.3", prefix="azurefile_csi_driver",
                                             driver="file")
    assert problem.startswith("azurefile_csi_driver_chart_ref %s (its Chart.yaml version) 1.34.8 cannot mount"
                              % tmp_path), problem


def test_files_values_that_break_token_only_smb_mounts():
    field = "azurefile_csi_driver_values"
    defaults = {"node": {"enableManagedIdentityAuth": True}, "feature": {"requiresRepublish": True},
                "linux": {"enabled": True}}
    assert preflight.driver_values_problems(defaults, field=field, driver="file") == []
    broken = {"node": {"enableManagedIdentityAuth": "False"}, "feature": {"requiresRepublish": False},
              "linux": {"enabled": "false"}}
    problems = preflight.driver_values_problems(broken, field=field, driver="file")
    assert [p.split(":")[1].strip() for p in problems] == [
        "feature.requiresRepublish is false", "node.enableManagedIdentityAuth is false", "linux.enabled is false"]
    assert all(p.startswith(field + ": ") for p in problems)
    # the blob rule (blobfuse v1) does not apply to the Files chart
    workloads = [{"name": "a", "namespace": "b"}]
    assert preflight.driver_values_problems({"node": {"enableBlobfuseProxy": False}}, workloads, field, "file") == []
    assert preflight.driver_values_problems([], field=field, driver="file") == [
        field + " must be a dict of chart values"]
