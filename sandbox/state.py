"""All mutable sandbox state behind one lock.

ARM resources are stored by lowercased id (ARM ids are case-insensitive) and keep the id in the
case they were created with. Issued tokens survive `reset()` because long-lived SDK clients in a
test session keep using them; everything else (resources, counters, log, faults, config) is reset.
"""

import collections
import copy
import json
import os
import threading
import time

REQUEST_LOG_LIMIT = 5000
TOKEN_REGISTRY_LIMIT = 20000
OPERATION_LIMIT = 2000
TOTAL_COUNTERS = ("reads", "writes", "list_keys", "lro_polls", "token_requests",
                  "metadata_requests", "unauthorized", "faults_injected")
STATE_FILE_VERSION = 1

# Tunables settable through POST /_sandbox/config. Providers add their own with add_config_defaults().
BASE_CONFIG = {
    "lro_retry_after": "1",   # Retry-After on LRO responses; azure-core treats "0" as absent (-> 30 s)
    "lro_polls": 1,           # polls answered "still running" before an operation completes
    "lro_max_seconds": 30.0,  # an operation nobody polls completes on its own after this long
    "token_lifetime": 3599,   # expires_in of issued access tokens
    "page_size": 0,           # >0: list responses are paged with nextLink/$skiptoken
    "extra_audiences": [],    # token audiences accepted besides the built-in ones
}


class Store:
    def __init__(self, state_file=None):
        self.lock = threading.RLock()
        self.state_file = state_file
        self.config_defaults = copy.deepcopy(BASE_CONFIG)
        self.identity = {}
        self.tokens = collections.OrderedDict()
        # Named state sections owned by other components (e.g. "kubernetes"): objects with
        # reset(), dump() -> dict, restore(dict) and counters() -> dict.
        self.sections = {}
        self._loaded_sections = {}
        # Callables told about the bodies delete_tree() removed (kept across reset); the ARM framework
        # forwards them to ResourceType.on_deleted() so providers can clean up what lives outside ARM.
        self.delete_listeners = []
        self.reset()

    def register_section(self, name: str, section) -> None:
        """Attach a state section: it is reset now, then restored from the loaded state file if any."""
        with self.lock:
            self.sections[name] = section
            section.reset()
            if name in self._loaded_sections:
                section.restore(self._loaded_sections.pop(name))

    # ----------------------------------------------------------------- lifecycle
    def add_config_defaults(self, defaults: dict) -> None:
        with self.lock:
            for key, value in defaults.items():
                self.config_defaults[key] = copy.deepcopy(value)
                self.config.setdefault(key, copy.deepcopy(value))

    def reset(self) -> None:
        with self.lock:
            self.resources = {}          # lower id -> ARM body
            self.hidden = {}             # lower id -> provider-private data, never served by ARM
            self.operations = collections.OrderedDict()
            self.app_federated_credentials = []
            self.directory_groups = {}   # lower group object id -> {"id", "members": [principal object ids]}
            self.faults = []
            self.fault_seq = 0
            self.config = copy.deepcopy(self.config_defaults)
            self.totals = dict.fromkeys(TOTAL_COUNTERS, 0)
            self.by_type = {}
            self.token_by_grant = {}
            self.log = collections.deque(maxlen=REQUEST_LOG_LIMIT)
            self.log_next = 0
            for section in self.sections.values():
                section.reset()
            self.dirty = True

    # ----------------------------------------------------------------- resources
    def get(self, resource_id: str):
        return self.resources.get(resource_id.lower())

    def put(self, body: dict, hidden=None) -> None:
        key = body["id"].lower()
        self.resources[key] = body
        if hidden is not None:
            self.hidden[key] = hidden
        self.dirty = True

    def delete_tree(self, resource_id: str) -> bool:
        """Delete a resource and everything whose id lies under it (children, extension resources)."""
        key = resource_id.lower()
        existed = key in self.resources
        prefix = key + "/"
        removed = []
        for other in [k for k in self.resources if k == key or k.startswith(prefix)]:
            removed.append(self.resources.pop(other))
            self.hidden.pop(other, None)
        self.dirty = True
        for listener in list(self.delete_listeners):
            listener(removed)
        return existed

    def under(self, container_id: str, type_name=None) -> list:
        """Resources whose id lies under `container_id`, optionally of one type, in creation order."""
        prefix = container_id.lower().rstrip("/") + "/"
        wanted = type_name.lower() if type_name else None
        return [body for key, body in self.resources.items()
                if key.startswith(prefix) and (wanted is None or body.get("type", "").lower() == wanted)]

    def of_type(self, type_name: str) -> list:
        wanted = type_name.lower()
        return [body for body in self.resources.values() if body.get("type", "").lower() == wanted]

    # ----------------------------------------------------------------- tokens
    def groups_of(self, object_id: str) -> list:
        """The directory groups (object ids, sorted) that list `object_id` as a member (see directory.py)."""
        wanted = object_id.lower()
        return sorted(g["id"] for g in self.directory_groups.values()
                      if wanted in (m.lower() for m in g.get("members", [])))

    def remember_token(self, token: str, info: dict) -> None:
        self.tokens[token] = info
        while len(self.tokens) > TOKEN_REGISTRY_LIMIT:
            self.tokens.popitem(last=False)

    # ----------------------------------------------------------------- counters
    def count(self, name: str, amount: int = 1) -> None:
        self.totals[name] = self.totals.get(name, 0) + amount

    def count_type(self, type_name: str, kind: str) -> None:
        """kind is 'read' or 'write'; counted per canonical resource type and in the totals."""
        entry = self.by_type.setdefault(type_name, {"reads": 0, "writes": 0})
        entry[kind + "s"] += 1
        self.count(kind + "s")

    def count_token(self, grant: str) -> None:
        self.count("token_requests")
        self.token_by_grant[grant] = self.token_by_grant.get(grant, 0) + 1

    def counters(self) -> dict:
        with self.lock:
            return {**copy.deepcopy(self.totals), "by_type": copy.deepcopy(self.by_type),
                    "token_requests_by_grant": dict(self.token_by_grant),
                    **{name: section.counters() for name, section in self.sections.items()}}

    # ----------------------------------------------------------------- request log
    def record(self, entry: dict) -> None:
        with self.lock:
            entry["index"] = self.log_next
            self.log_next += 1
            self.log.append(entry)

    def requests(self, since: int = 0) -> list:
        with self.lock:
            return [dict(e) for e in self.log if e["index"] >= since]

    # ----------------------------------------------------------------- operations
    def add_operation(self, op: dict) -> None:
        self.operations[op["id"]] = op
        while len(self.operations) > OPERATION_LIMIT:
            self.operations.popitem(last=False)

    # ----------------------------------------------------------------- persistence
    def snapshot(self) -> dict:
        with self.lock:
            return {"version": STATE_FILE_VERSION, "identity": copy.deepcopy(self.identity),
                    "resources": copy.deepcopy(list(self.resources.values())),
                    "hidden": copy.deepcopy(self.hidden),
                    "app_federated_credentials": copy.deepcopy(self.app_federated_credentials),
                    "directory_groups": copy.deepcopy(self.directory_groups),
                    "sections": {name: copy.deepcopy(section.dump()) for name, section in self.sections.items()}}

    def restore_snapshot(self, data: dict) -> None:
        """Put back what snapshot() returned (resources, hidden data, app credentials, sections); counters, the
        request log, faults and config are reset, issued tokens kept (as by reset())."""
        if data.get("version") != STATE_FILE_VERSION:
            raise ValueError(f"unsupported snapshot version {data.get('version')!r}")
        with self.lock:
            self.reset()
            self.resources = {body["id"].lower(): copy.deepcopy(body) for body in data.get("resources", [])}
            self.hidden = copy.deepcopy(data.get("hidden", {}))
            self.app_federated_credentials = copy.deepcopy(data.get("app_federated_credentials", []))
            self.directory_groups = copy.deepcopy(data.get("directory_groups", {}))
            for name, section in self.sections.items():
                if name in data.get("sections", {}):
                    section.restore(copy.deepcopy(data["sections"][name]))
            self.dirty = True

    def flush(self) -> None:
        """Write the state file (atomically) if anything changed since the last write."""
        with self.lock:
            if not self.state_file or not self.dirty:
                return
            data = json.dumps(self.snapshot(), indent=1, sort_keys=True)
            tmp = f"{self.state_file}.tmp-{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, self.state_file)
            self.dirty = False

    def load(self) -> dict:
        """Load resources from the state file if it exists; returns the persisted identity (or {})."""
        if not self.state_file or not os.path.exists(self.state_file):
            return {}
        with open(self.state_file, encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("version") != STATE_FILE_VERSION:
            raise ValueError(f"{self.state_file}: unsupported state file version {data.get('version')!r}")
        with self.lock:
            self.resources = {body["id"].lower(): body for body in data.get("resources", [])}
            self.hidden = dict(data.get("hidden", {}))
            self.app_federated_credentials = list(data.get("app_federated_credentials", []))
            self.directory_groups = dict(data.get("directory_groups", {}))
            self._loaded_sections = dict(data.get("sections", {}))  # applied by register_section()
            self.dirty = False
        return data.get("identity", {})


def now() -> float:
    return time.time()
