"""The subscription's locations: GET /subscriptions/{s}/locations (Microsoft.Resources, api-version 2022-12-01),
and the refusal ARM answers for a location that is not one of them.

The list is a snapshot of Azure public cloud's physical regions (name, display name, geography), as
`az account list-locations` shows them. ARM refuses a PUT to any other location: a resource group with 400
LocationNotAvailableForResourceGroup, a resource with 400 LocationNotAvailableForResourceType (message shapes as ARM
words them).
"""

from .errors import ArmError

REGIONS = [
    ("eastus", "East US", "United States"), ("eastus2", "East US 2", "United States"),
    ("southcentralus", "South Central US", "United States"), ("westus2", "West US 2", "United States"),
    ("westus3", "West US 3", "United States"), ("centralus", "Central US", "United States"),
    ("northcentralus", "North Central US", "United States"), ("westus", "West US", "United States"),
    ("westcentralus", "West Central US", "United States"), ("canadacentral", "Canada Central", "Canada"),
    ("canadaeast", "Canada East", "Canada"), ("brazilsouth", "Brazil South", "Brazil"),
    ("brazilsoutheast", "Brazil Southeast", "Brazil"), ("mexicocentral", "Mexico Central", "Mexico"),
    ("chilecentral", "Chile Central", "Chile"), ("northeurope", "North Europe", "Europe"),
    ("westeurope", "West Europe", "Europe"), ("swedencentral", "Sweden Central", "Sweden"),
    ("uksouth", "UK South", "United Kingdom"), ("ukwest", "UK West", "United Kingdom"),
    ("francecentral", "France Central", "France"), ("francesouth", "France South", "France"),
    ("germanywestcentral", "Germany West Central", "Germany"), ("germanynorth", "Germany North", "Germany"),
    ("italynorth", "Italy North", "Italy"), ("norwayeast", "Norway East", "Norway"),
    ("norwaywest", "Norway West", "Norway"), ("polandcentral", "Poland Central", "Poland"),
    ("spaincentral", "Spain Central", "Spain"), ("switzerlandnorth", "Switzerland North", "Switzerland"),
    ("switzerlandwest", "Switzerland West", "Switzerland"), ("australiaeast", "Australia East", "Australia"),
    ("australiasoutheast", "Australia Southeast", "Australia"), ("australiacentral", "Australia Central", "Australia"),
    ("southeastasia", "Southeast Asia", "Asia Pacific"), ("eastasia", "East Asia", "Asia Pacific"),
    ("japaneast", "Japan East", "Japan"), ("japanwest", "Japan West", "Japan"),
    ("koreacentral", "Korea Central", "Korea"), ("koreasouth", "Korea South", "Korea"),
    ("centralindia", "Central India", "India"), ("southindia", "South India", "India"),
    ("westindia", "West India", "India"), ("indonesiacentral", "Indonesia Central", "Indonesia"),
    ("malaysiawest", "Malaysia West", "Malaysia"), ("newzealandnorth", "New Zealand North", "New Zealand"),
    ("uaenorth", "UAE North", "UAE"), ("qatarcentral", "Qatar Central", "Qatar"),
    ("israelcentral", "Israel Central", "Israel"), ("southafricanorth", "South Africa North", "South Africa"),
]
NAMES = {name for name, _display, _geography in REGIONS}


def body(subscription_id, region):
    name, display, geography = region
    return {"id": f"/subscriptions/{subscription_id}/locations/{name}", "name": name, "type": "Region",
            "displayName": display, "regionalDisplayName": f"({geography}) {display}",
            "metadata": {"regionType": "Physical", "regionCategory": "Recommended", "geography": geography}}


def require(location, type_name):
    """``location`` (already normalized) must be one of the subscription's; ARM's refusal otherwise."""
    if location in NAMES:
        return location
    regions = ",".join(sorted(NAMES))
    if type_name == "Microsoft.Resources/resourceGroups":
        raise ArmError(400, "LocationNotAvailableForResourceGroup",
                       f"The provided location '{location}' is not available for resource group. List of available "
                       f"regions is '{regions}'.")
    raise ArmError(400, "LocationNotAvailableForResourceType",
                   f"The provided location '{location}' is not available for resource type '{type_name}'. List of "
                   f"available regions for the resource type is '{regions}'.")
