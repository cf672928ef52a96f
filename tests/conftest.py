"""Shared pytest setup: make the collection importable as ``ansible_collections.keyless.aks_storage``."""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _collections_root():
    """A directory holding ansible_collections/keyless/aks_storage -> the repository (created once)."""
    root = REPO_ROOT / "build" / "collections"
    link = root / "ansible_collections" / "keyless" / "aks_storage"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(os.path.relpath(REPO_ROOT, link.parent), target_is_directory=True)
        except FileExistsError:  # another xdist worker won the race
            pass
    return root


COLLECTIONS_ROOT = _collections_root()
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS_ROOT)


def pytest_collection_modifyitems(items):
    """The long-running files first (a stable sort keeps each file's tests together and in order): with
    ``--dist loadfile`` the workers take files in this order, so the short ones fill in at the end instead of one
    worker running a long file alone while the others are done."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)
