"""Microsoft.Storage: storage accounts, their blob service and blob containers, checkNameAvailability.

Shapes follow the 2025-06-01 examples in Azure/azure-rest-api-specs and what azure-mgmt-storage 25.3
(api-version 2026-09-01) sends and parses.
"""

from .accounts import CheckNameAvailability, StorageAccounts
from .blob_services import BlobServices
from .containers import Containers, blobs


def register(registry):
    registry.register(StorageAccounts())
    registry.register(CheckNameAvailability())
    registry.register(BlobServices())
    registry.register(Containers())


__all__ = ["blobs", "register"]
