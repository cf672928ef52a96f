# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve ``cloud_environment`` into the endpoints a credential and an ARM client need."""

from __future__ import annotations

from urllib.parse import urlsplit

# Well-known clouds, so public-cloud runs need no metadata request.
_KNOWN = {
    "azurecloud": ("AzureCloud", "https://management.azure.com/", "https://login.microsoftonline.com/",
                   "https://management.azure.com/"),
    "azurechinacloud": ("AzureChinaCloud", "https://management.chinacloudapi.cn/", "https://login.chinacloudapi.cn/",
                        "https://management.chinacloudapi.cn/"),
    "azureusgovernment": ("AzureUSGovernment", "https://management.usgovcloudapi.net/",
                          "https://login.microsoftonline.us/", "https://management.usgovcloudapi.net/"),
}
# Names older tooling (msrestazure, azure.azcollection) uses for the same clouds.
_ALIASES = {"azurepubliccloud": "azurecloud", "azureusgovernmentcloud": "azureusgovernment"}

KNOWN_CLOUD_NAMES = tuple(v[0] for v in _KNOWN.values())
METADATA_PATH = "/metadata/endpoints"
METADATA_API_VERSION = "2022-09-01"


class CloudError(Exception):
    """``cloud_environment`` cannot be turned into endpoints; the message says why."""


class Cloud:
    """Endpoints of one Azure cloud."""

    def __init__(self, name, resource_manager, login_endpoint, audience, well_known=False):
        self.name = name
        self.resource_manager = _with_slash(resource_manager)
        self.login_endpoint = _with_slash(login_endpoint)
        self.audience = audience
        # Entra instance discovery asks the public cloud about the authority; a custom authority must skip it.
        self.well_known = well_known

    @property
    def scope(self):
        return self.audience.rstrip("/") + "/.default"

    def as_dict(self):
        return {"name": self.name, "resource_manager": self.resource_manager,
                "login_endpoint": self.login_endpoint, "audience": self.audience}


def _with_slash(url):
    return url if url.endswith("/") else url + "/"


def is_url(value):
    return "://" in (value or "")


def known_cloud(value):
    key = (value or "AzureCloud").replace(" ", "").lower()
    key = _ALIASES.get(key, key)
    if key not in _KNOWN:
        raise CloudError(
            "cloud_environment '%s' is not a known cloud; use one of %s or an https ARM metadata URL "
            "such as https://<arm-host>/metadata/endpoints?api-version=%s"
            % (value, ", ".join(KNOWN_CLOUD_NAMES), METADATA_API_VERSION))
    name, arm, login, audience = _KNOWN[key]
    return Cloud(name, arm, login, audience, well_known=True)


def metadata_url_for(value):
    """The metadata URL to fetch for a custom ``cloud_environment`` (an ARM root or a full metadata URL)."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise CloudError("cloud_environment '%s' must be an https URL (bearer tokens are never sent over http)"
                         % value)
    if parts.path.rstrip("/").endswith(METADATA_PATH):
        return value
    return "%s://%s%s%s?api-version=%s" % (parts.scheme, parts.netloc, parts.path.rstrip("/"), METADATA_PATH,
                                           METADATA_API_VERSION)


def cloud_from_metadata(metadata_url, document):
    """Build a Cloud from a metadata document in either ARM format.

    ``api-version=2022-09-01`` answers one object, the cloud of the ARM host that served it (azure-cli #29283);
    2019-05-01 to 2020-06-01 a list of clouds (each naming its ``resourceManager``); ``2015-01-01`` one object
    without a name or suffixes. An object is always the serving host's cloud.
    """
    parts = urlsplit(metadata_url)
    served_by = "%s://%s/" % (parts.scheme, parts.netloc)
    if isinstance(document, list):
        entries = [e for e in document if isinstance(e, dict) and e.get("resourceManager")]
        matching = [e for e in entries if _same_host(e["resourceManager"], served_by)]
        chosen = matching or (entries if len(entries) == 1 else [])
        if not chosen:
            raise CloudError("metadata at %s lists clouds %s, none served by %s"
                             % (metadata_url, [e.get("name") for e in entries], served_by))
        entry = chosen[0]
        arm = entry["resourceManager"]
        name = entry.get("name") or parts.netloc
    elif isinstance(document, dict):
        entry, arm, name = document, served_by, document.get("name") or parts.netloc
    else:
        raise CloudError("metadata at %s is neither an object nor a list" % metadata_url)
    auth = entry.get("authentication") or {}
    login = auth.get("loginEndpoint")
    audiences = auth.get("audiences") or []
    if not login or not audiences:
        raise CloudError("metadata at %s has no authentication.loginEndpoint/audiences" % metadata_url)
    for url in (arm, login):
        if urlsplit(url).scheme != "https":
            raise CloudError("metadata at %s names a non-https endpoint %s" % (metadata_url, url))
    return Cloud(name, arm, login, audiences[0])


def _same_host(url_a, url_b):
    return urlsplit(url_a).netloc.lower() == urlsplit(url_b).netloc.lower()
