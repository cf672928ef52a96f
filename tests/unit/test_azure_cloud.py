import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_cloud as ac


@pytest.mark.parametrize("value,arm", [
    ("AzureCloud", "https://management.azure.com/"),
    ("azurepubliccloud", "https://management.azure.com/"),
    ("AzureChinaCloud", "https://management.chinacloudapi.cn/"),
    ("AzureUSGovernment", "https://management.usgovcloudapi.net/"),
    (None, "https://management.azure.com/"),
])
def test_known_clouds(value, arm):
    cloud = ac.known_cloud(value)
    assert cloud.resource_manager == arm
    assert cloud.well_known
    assert cloud.scope.endswith("/.default") and "//.default" not in cloud.scope


def test_unknown_cloud_name_lists_choices():
    with pytest.raises(ac.CloudError, match="AzureChinaCloud"):
        ac.known_cloud("Narnia")


@pytest.mark.parametrize("value,expected", [
    ("https://arm.example/", "https://arm.example/metadata/endpoints?api-version=2022-09-01"),
    ("https://arm.example", "https://arm.example/metadata/endpoints?api-version=2022-09-01"),
    ("https://arm.example/metadata/endpoints?api-version=2015-01-01",
     "https://arm.example/metadata/endpoints?api-version=2015-01-01"),
])
def test_metadata_url_for(value, expected):
    assert ac.metadata_url_for(value) == expected


def test_metadata_url_refuses_http():
    with pytest.raises(ac.CloudError, match="https"):
        ac.metadata_url_for("http://arm.example/")


LIST_DOC = [
    {"name": "Other", "resourceManager": "https://other.example/",
     "authentication": {"loginEndpoint": "https://login.other/", "audiences": ["https://other/"]}},
    {"name": "Stack", "resourceManager": "https://arm.example:8443/",
     "authentication": {"loginEndpoint": "https://login.example/", "audiences": ["https://aud.example/", "x"]}},
]


def test_list_format_picks_the_cloud_served_by_the_host():
    cloud = ac.cloud_from_metadata("https://arm.example:8443/metadata/endpoints?api-version=2020-06-01", LIST_DOC)
    assert (cloud.name, cloud.resource_manager, cloud.login_endpoint) == (
        "Stack", "https://arm.example:8443/", "https://login.example/")
    assert cloud.scope == "https://aud.example/.default"
    assert not cloud.well_known


def test_list_format_without_a_match_fails_clearly():
    with pytest.raises(ac.CloudError, match="none served by"):
        ac.cloud_from_metadata("https://nowhere.example/metadata/endpoints", LIST_DOC)


def test_legacy_single_object_format_uses_the_serving_host():
    doc = {"galleryEndpoint": "https://g/", "authentication": {"loginEndpoint": "https://login.example/adfs",
                                                               "audiences": ["https://arm.example/"]}}
    cloud = ac.cloud_from_metadata("https://arm.example/metadata/endpoints?api-version=2015-01-01", doc)
    assert cloud.resource_manager == "https://arm.example/"
    assert cloud.login_endpoint == "https://login.example/adfs/"


def test_2022_09_01_single_object_format_is_the_serving_cloud():
    # management.azure.com's answer at 2022-09-01 (azure-cli issue #29283): one object, login without a slash
    doc = {"name": "AzureCloud", "resourceManager": "https://management.azure.com/", "suffixes": {"storage": "s"},
           "authentication": {"loginEndpoint": "https://login.microsoftonline.com",
                              "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
                              "tenant": "common", "identityProvider": "AAD"}}
    cloud = ac.cloud_from_metadata("https://management.azure.com/metadata/endpoints?api-version=2022-09-01", doc)
    assert (cloud.name, cloud.resource_manager, cloud.login_endpoint, cloud.scope) == (
        "AzureCloud", "https://management.azure.com/", "https://login.microsoftonline.com/",
        "https://management.core.windows.net/.default")


def test_metadata_with_http_endpoint_is_refused():
    doc = [{"name": "x", "resourceManager": "https://arm.example/",
            "authentication": {"loginEndpoint": "http://login.example/", "audiences": ["a"]}}]
    with pytest.raises(ac.CloudError, match="non-https"):
        ac.cloud_from_metadata("https://arm.example/metadata/endpoints", doc)


def test_metadata_without_authentication_is_refused():
    with pytest.raises(ac.CloudError, match="authentication"):
        ac.cloud_from_metadata("https://arm.example/metadata/endpoints", {"x": 1})
