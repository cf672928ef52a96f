"""Microsoft.Storage: storage accounts, their blob service and blob containers, their file service and file
shares, checkNameAvailability.

Shapes follow the 2025-06-01 examples in Azure/azure-rest-api-specs and what azure-mgmt-storage 25.3
(api-version 2026-09-01) sends and parses.
"""

from .accounts import CheckNameAvailability, StorageAccounts
from .blob_services import BlobServices
from .containers import Containers, blobs
from .file_services import FileServices
from .shares import Shares, share_files, write_probe_file


def register(registry):
    registry.register(StorageAccounts())
    registry.register(CheckNameAvailability())
    registry.register(BlobServices())
    registry.register(Containers())
    registry.register(FileServices())
    registry.register(Shares())


__all__ = ["blobs", "register", "share_files", "write_probe_file"]
