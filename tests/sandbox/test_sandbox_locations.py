"""The subscription's locations (the real SubscriptionClient lists them) and ARM's refusal of any other location."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from sandbox import sdk


def test_list_locations_through_the_real_sdk(sandbox):
    conn = sandbox.conn
    client = SubscriptionClient(sdk.credential(conn), **sdk.client_kwargs(conn))
    regions = {loc.name: loc for loc in client.subscriptions.list_locations(conn["subscription_id"])}
    assert {"westeurope", "eastus", "northeurope", "swedencentral"} <= set(regions)
    assert regions["westeurope"].display_name == "West Europe"
    assert regions["westeurope"].id == "/subscriptions/%s/locations/westeurope" % conn["subscription_id"]


@pytest.mark.parametrize("location", ["westeuropa", "West Europa", "mars"])
def test_an_unknown_location_is_refused_like_arm(sandbox, location):
    conn = sandbox.conn
    resources = ResourceManagementClient(sdk.credential(conn), conn["subscription_id"], **sdk.client_kwargs(conn))
    with pytest.raises(HttpResponseError) as refused:
        resources.resource_groups.create_or_update("rg-loc", {"location": location})
    assert refused.value.status_code == 400 and refused.value.error.code == "LocationNotAvailableForResourceGroup"
    assert "The provided location '%s' is not available for resource group" % location.replace(" ", "").lower() in \
        refused.value.error.message
    resources.resource_groups.create_or_update("rg-loc", {"location": "West Europe"})
    msi = ManagedServiceIdentityClient(sdk.credential(conn), conn["subscription_id"], **sdk.client_kwargs(conn))
    with pytest.raises(HttpResponseError) as refused:
        msi.user_assigned_identities.create_or_update("rg-loc", "id-loc", {"location": location})
    assert refused.value.error.code == "LocationNotAvailableForResourceType"
    assert "for resource type 'Microsoft.ManagedIdentity/userAssignedIdentities'" in refused.value.error.message
    assert sandbox.counters()["writes"] == 3  # refused writes are answered, and nothing was stored
    assert [g.name for g in resources.resource_groups.list()] == ["rg-loc"]
