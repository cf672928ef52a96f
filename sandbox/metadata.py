"""Custom-cloud discovery: GET /metadata/endpoints.

Three formats, by api-version, as management.azure.com answers them:
- 2022-09-01 and later: one object, the cloud that served it (with `name`, `resourceManager`, `suffixes`), its
  `loginEndpoint` without a trailing slash (azure-cli issue #29283 shows the answer; azure-cli PR #30682 moved
  `az cloud register --endpoint-resource-manager` to this version and passes the object to `_arm_to_cli_mapper`);
- 2019-05-01 up to 2022-09-01: a list of clouds (azure-cli `ARM_CLOUD_METADATA_URL`, PR #10906 / #15037);
- missing or older (msrestazure, Azure Stack, azure.azcollection send 2015-01-01): the legacy single object
  without suffixes (azure-cli PR #31566 lists the formats).
Service endpoints the sandbox does not emulate point at *.keyless-sandbox.local names: they are strings only,
never contacted.
"""

from .server import Response

LIST_FORMAT_SINCE = "2019-05-01"
OBJECT_FORMAT_SINCE = "2022-09-01"
FAKE_DOMAIN = "keyless-sandbox.local"


def _fake(service: str) -> str:
    return f"https://{service}.{FAKE_DOMAIN}/"


class CloudMetadata:
    def __init__(self, app):
        self.app = app

    def register_routes(self, router):
        router.add(r"/metadata/endpoints", self._endpoints, ["GET"], "metadata")

    def list_format(self) -> list:
        app = self.app
        return [{
            "name": "KeylessSandbox",
            "portal": _fake("portal"),
            "authentication": {"loginEndpoint": app.authority_host + "/", "audiences": [app.arm_audience],
                               "tenant": "common", "identityProvider": "AAD"},
            "media": _fake("media"),
            "graphAudience": _fake("graph"),
            "graph": _fake("graph"),
            "batch": _fake("batch"),
            "resourceManager": app.arm_url,
            "vmImageAliasDoc": _fake("aliases") + "aliases.json",
            "activeDirectoryDataLake": _fake("datalake"),
            "sqlManagement": _fake("sqlmanagement"),
            "microsoftGraphResourceId": _fake("msgraph"),
            "appInsightsResourceId": _fake("appinsights"),
            "appInsightsTelemetryChannelResourceId": _fake("appinsights-telemetry"),
            "attestationResourceId": _fake("attest"),
            "synapseAnalyticsResourceId": _fake("synapse"),
            "logAnalyticsResourceId": _fake("loganalytics"),
            "ossrDbmsResourceId": _fake("ossrdbms"),
            "suffixes": {
                "azureDataLakeStoreFileSystem": f"datalakestore.{FAKE_DOMAIN}",
                "acrLoginServer": f"acr.{FAKE_DOMAIN}",
                "sqlServerHostname": f"database.{FAKE_DOMAIN}",
                "azureDataLakeAnalyticsCatalogAndJob": f"datalakeanalytics.{FAKE_DOMAIN}",
                "keyVaultDns": f"vault.{FAKE_DOMAIN}",
                "storage": f"core.{FAKE_DOMAIN}",
                "azureFrontDoorEndpointSuffix": f"fd.{FAKE_DOMAIN}",
                "storageSyncEndpointSuffix": f"afs.{FAKE_DOMAIN}",
                "mhsmDns": f"managedhsm.{FAKE_DOMAIN}",
                "mysqlServerEndpoint": f"mysql.{FAKE_DOMAIN}",
                "postgresqlServerEndpoint": f"postgres.{FAKE_DOMAIN}",
                "mariadbServerEndpoint": f"mariadb.{FAKE_DOMAIN}",
                "synapseAnalytics": f"synapse.{FAKE_DOMAIN}",
                "attestationEndpoint": f"attest.{FAKE_DOMAIN}",
            },
        }]

    def object_format(self) -> dict:
        """The 2022-09-01 answer: this cloud alone, its login endpoint without the trailing slash."""
        cloud = self.list_format()[0]
        cloud["authentication"]["loginEndpoint"] = self.app.authority_host.rstrip("/")
        return cloud

    def legacy_format(self) -> dict:
        app = self.app
        return {"galleryEndpoint": _fake("gallery"), "graphEndpoint": _fake("graph"),
                "portalEndpoint": _fake("portal"),
                "authentication": {"loginEndpoint": app.authority_host + "/", "audiences": [app.arm_audience]}}

    def _endpoints(self, request, _match):
        with self.app.store.lock:
            self.app.store.count("metadata_requests")
        version = request.query.get("api-version") or "2015-01-01"
        if version >= OBJECT_FORMAT_SINCE:
            body = self.object_format()
        elif version >= LIST_FORMAT_SINCE:
            body = self.list_format()
        else:
            body = self.legacy_format()
        return Response.json(200, body)
