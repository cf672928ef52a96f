#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: federated_credential
short_description: Trust a Kubernetes service account (or another OIDC subject) on a user-assigned managed identity
version_added: 0.1.0
description:
  - Manages the federated identity credentials of a user-assigned managed identity. A credential lets a token from
    an OIDC issuer (the AKS cluster's OIDC issuer URL) with a given subject
    (V(system:serviceaccount:<namespace>:<service account>)) be exchanged for an Entra token of the identity; that is
    how a pod becomes the identity without any secret.
  - Manages one credential (O(name), O(issuer), O(subject) or O(namespace) + O(service_account)) or many at once
    with O(credentials), in one task and with one read of the identity's credentials.
  - Everything is validated before the first write, against the identity's existing credentials too; Azure allows at
    most 20 credentials per identity and one credential per issuer and subject.
  - Azure rejects concurrent credential writes on one identity, so writes go one at a time and a rejected write is
    retried with bounded backoff.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  resource_group:
    description: Resource group of the managed identity.
    type: str
    required: true
  identity_name:
    description: Name of the user-assigned managed identity that holds the credentials.
    type: str
    required: true
  name:
    description:
      - Name of the credential (3 to 120 letters, digits, hyphens or underscores, starting with a letter or digit).
      - Single-credential form; mutually exclusive with O(credentials).
    type: str
  issuer:
    description:
      - The OIDC issuer URL, exactly as the cluster reports it (the C(oidc_issuer_url) returned by
        M(keyless.aks_storage.aks_oidc_cluster); AKS issuer URLs end with a slash, and a missing or extra slash makes
        every token exchange fail with C(AADSTS700213)).
    type: str
  subject:
    description:
      - The token subject. For Kubernetes, V(system:serviceaccount:<namespace>:<service account>); prefer
        O(namespace) and O(service_account), which build it.
    type: str
  namespace:
    description: Kubernetes namespace of the service account (with O(service_account), instead of O(subject)).
    type: str
  service_account:
    description: Kubernetes service account name (with O(namespace), instead of O(subject)).
    type: str
  audiences:
    description:
      - Audience of the token, as a one-element list (Azure allows exactly one audience per credential); duplicates
        are ignored.
    type: list
    elements: str
    default: [api://AzureADTokenExchange]
  credentials:
    description:
      - Many credentials on the identity, each with the keys of the single form.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the credential.
        type: str
        required: true
      issuer:
        description: The OIDC issuer URL. Required unless O(credentials[].state=absent).
        type: str
      subject:
        description: The token subject.
        type: str
      namespace:
        description: Kubernetes namespace (with O(credentials[].service_account)).
        type: str
      service_account:
        description: Kubernetes service account (with O(credentials[].namespace)).
        type: str
      audiences:
        description: Audiences of the token.
        type: list
        elements: str
        default: [api://AzureADTokenExchange]
      state:
        description: Whether this credential should exist; defaults to O(state).
        type: str
        choices: [present, absent]
  exclusive:
    description:
      - When V(true), credentials on the identity that are not listed are removed.
    type: bool
    default: false
  state:
    description: Whether the credentials should exist.
    type: str
    choices: [present, absent]
    default: present
  write_retry_timeout:
    description:
      - How long, in seconds, to keep retrying a credential write that Azure rejected because another write to the
        same identity was in progress.
    type: int
    default: 120
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
attributes:
  check_mode:
    support: full
    description: Validates everything and reports what would change; makes no write.
  diff_mode:
    support: full
    description: Shows the identity's credentials before and after.
"""

EXAMPLES = r"""
- name: Let the reports service account become id-reports
  keyless.aks_storage.federated_credential:
    resource_group: rg-keyless-dev
    identity_name: id-reports
    name: aks-dev-reports-writer
    issuer: "{{ cluster.oidc_issuer_url }}"
    namespace: reports
    service_account: reports-writer

- name: Several clusters trusting one identity, nothing else trusted
  keyless.aks_storage.federated_credential:
    resource_group: rg-keyless-prod
    identity_name: id-reports
    exclusive: true
    credentials:
      - name: aks-prod-weu
        issuer: "{{ weu_issuer }}"
        namespace: reports
        service_account: reports-writer
      - name: aks-prod-neu
        issuer: "{{ neu_issuer }}"
        namespace: reports
        service_account: reports-writer
"""

RETURN = r"""
credentials:
  description: The identity's federated credentials after the task (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the credential.
      type: str
      sample: aks-dev-reports-writer
    issuer:
      description: Issuer URL.
      type: str
      sample: https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/
    subject:
      description: Subject.
      type: str
      sample: system:serviceaccount:reports:reports-writer
    audiences:
      description: Audiences.
      type: list
      elements: str
      sample: [api://AzureADTokenExchange]
    id:
      description: ARM resource ID (null for a credential not yet created in check mode).
      type: str
created:
  description: Names of the credentials created.
  returned: always
  type: list
  elements: str
updated:
  description: Names of the credentials updated.
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the credentials deleted.
  returned: always
  type: list
  elements: str
"""

import re
from urllib.parse import urlsplit

from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import diff
from ansible_collections.keyless.aks_storage.plugins.module_utils.retries import retry_on_codes

MAX_CREDENTIALS = 20
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
CONCURRENT_WRITE = "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
SA_PREFIX = "system:serviceaccount:"
AKS_ISSUER_HOST = ".oic.prod-aks.azure.com"
CREDENTIAL_KEYS = ("name", "issuer", "subject", "namespace", "service_account", "audiences", "state")


class InvalidCredential(Exception):
    pass


def validate(item, index):
    """Return the desired credential {name, issuer, subject, audiences, state} or raise InvalidCredential."""
    where = "credentials[%d]" % index if index is not None else "the credential"
    name = item.get("name")
    if not name or not NAME.match(name):
        raise InvalidCredential("%s: name '%s' is invalid; use 3-120 letters, digits, hyphens or underscores, "
                                "starting with a letter or digit" % (where, name))
    if item["state"] == "absent":
        return dict(name=name, state="absent")
    issuer = item.get("issuer")
    parts = urlsplit(issuer or "")
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise InvalidCredential("%s (%s): issuer '%s' must be an https URL without query or fragment, exactly as the "
                                "cluster reports it" % (where, name, issuer))
    subject = item.get("subject")
    namespace, account = item.get("namespace"), item.get("service_account")
    if subject and (namespace or account):
        raise InvalidCredential("%s (%s): give either subject or namespace + service_account, not both"
                                % (where, name))
    if not subject:
        if not (namespace and account):
            raise InvalidCredential("%s (%s): subject, or namespace and service_account, is required" % (where, name))
        subject = SA_PREFIX + namespace + ":" + account
    if subject.startswith(SA_PREFIX):
        fields = subject[len(SA_PREFIX):].split(":")
        if len(fields) != 2 or not DNS_LABEL.match(fields[0]) or not DNS_SUBDOMAIN.match(fields[1]):
            raise InvalidCredential("%s (%s): subject '%s' is not system:serviceaccount:<namespace>:<service account> "
                                    "with valid Kubernetes names" % (where, name, subject))
    elif len(subject) > 600 or not subject.strip():
        raise InvalidCredential("%s (%s): subject must be 1-600 characters" % (where, name))
    if len(issuer) > 600:
        raise InvalidCredential("%s (%s): issuer must be at most 600 characters" % (where, name))
    audiences = sorted(set(item.get("audiences") or []))
    if not audiences or not all(isinstance(a, str) and a.strip() for a in audiences):
        raise InvalidCredential("%s (%s): audiences must be a non-empty list of strings" % (where, name))
    if len(audiences) > 1:
        raise InvalidCredential("%s (%s): audiences %s: Azure allows exactly one audience per federated credential "
                                "(api://AzureADTokenExchange for workload identity)" % (where, name, audiences))
    return dict(name=name, issuer=issuer, subject=subject, audiences=audiences, state="present")


def view(credential):
    """The compared/returned view of an SDK FederatedIdentityCredential."""
    return dict(name=credential.name, issuer=credential.issuer, subject=credential.subject,
                audiences=sorted(set(credential.audiences or [])), id=credential.id)


def same_settings(desired, current):
    return (desired["issuer"], desired["subject"], desired["audiences"]) == (
        current["issuer"], current["subject"], current["audiences"])


def desired_credentials(module):
    p = module.params
    single = {k: p.get(k) for k in CREDENTIAL_KEYS if k != "state"}
    if p["credentials"] is not None:
        if any(p.get(k) for k in ("name", "issuer", "subject", "namespace", "service_account")):
            module.fail_json(msg="use either credentials or the single-credential options (name, issuer, ...), "
                                 "not both")
        items = [(dict(item, state=item.get("state") or p["state"]), i) for i, item in enumerate(p["credentials"])]
    elif p["name"]:
        items = [(dict(single, state=p["state"]), None)]
    elif p["exclusive"]:
        items = []
    else:
        module.fail_json(msg="name (with issuer and subject) or credentials is required")
    try:
        desired = [validate(item, index) for item, index in items]
    except InvalidCredential as exc:
        module.fail_json(msg=str(exc))
    names = [d["name"] for d in desired]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        module.fail_json(msg="credential names listed more than once: %s" % ", ".join(duplicates))
    return desired


def plan(desired, existing, exclusive):
    """Return (creates, updates, deletes, final) or raise InvalidCredential when the final state is not allowed."""
    by_name = {c["name"]: c for c in existing}
    wanted = {d["name"] for d in desired if d["state"] == "present"}
    creates, updates, deletes = [], [], []
    for d in desired:
        current = by_name.get(d["name"])
        if d["state"] == "absent":
            if current:
                deletes.append(current)
        elif current is None:
            creates.append(d)
        elif not same_settings(d, current):
            updates.append(d)
    if exclusive:
        listed = {d["name"] for d in desired}
        deletes.extend(c for c in existing if c["name"] not in listed)
    deleted = {c["name"] for c in deletes}
    final = [c for c in existing if c["name"] not in deleted and c["name"] not in wanted]
    final += [dict(d, id=by_name[d["name"]]["id"] if d["name"] in by_name else None)
              for d in desired if d["state"] == "present"]
    for d in final:
        d.pop("state", None)

    if len(final) > MAX_CREDENTIALS:
        raise InvalidCredential("the identity would hold %d federated credentials; Azure allows at most %d per "
                                "identity (existing: %d, to create: %d). Remove some or use another identity"
                                % (len(final), MAX_CREDENTIALS, len(existing), len(creates)))
    seen = {}
    for c in sorted(final, key=lambda c: c["name"]):
        key = (c["issuer"], c["subject"])
        if key in seen:
            raise InvalidCredential("credentials '%s' and '%s' would both trust issuer %s with subject %s; Azure allows "
                                    "one credential per issuer and subject (remove or rename one)"
                                    % (seen[key], c["name"], c["issuer"], c["subject"]))
        seen[key] = c["name"]
    return creates, updates, deletes, sorted(final, key=lambda c: c["name"])


def issuer_warnings(final):
    """Warn about issuers that differ only by the trailing slash, the classic AADSTS700213 cause."""
    warnings = []
    issuers = {c["issuer"] for c in final}
    for issuer in sorted(issuers):
        host = urlsplit(issuer).netloc.lower()
        if host.endswith(AKS_ISSUER_HOST) and not issuer.endswith("/"):
            warnings.append("issuer %s has no trailing slash, but AKS OIDC issuer URLs end with one; tokens will not "
                            "match (AADSTS700213) unless the issuer is exactly as the cluster reports it" % issuer)
        twin = issuer[:-1] if issuer.endswith("/") else issuer + "/"
        if twin in issuers and issuer.endswith("/"):
            warnings.append("issuers %s and %s differ only by a trailing slash; only one of them can match the "
                            "cluster's tokens" % (twin, issuer))
    return warnings


def main():
    credential_spec = dict(
        name=dict(type="str", required=True),
        issuer=dict(type="str"),
        subject=dict(type="str"),
        namespace=dict(type="str"),
        service_account=dict(type="str"),
        audiences=dict(type="list", elements="str", default=[DEFAULT_AUDIENCE]),
        state=dict(type="str", choices=["present", "absent"]),
    )
    module = AzureModule(
        argument_spec=dict(
            resource_group=dict(type="str", required=True),
            identity_name=dict(type="str", required=True),
            name=dict(type="str"),
            issuer=dict(type="str"),
            subject=dict(type="str"),
            namespace=dict(type="str"),
            service_account=dict(type="str"),
            audiences=dict(type="list", elements="str", default=[DEFAULT_AUDIENCE]),
            credentials=dict(type="list", elements="dict", options=credential_spec),
            exclusive=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            write_retry_timeout=dict(type="int", default=120),
        ),
        supports_check_mode=True,
    )
    p = module.params
    desired = desired_credentials(module)
    rg, identity = p["resource_group"], p["identity_name"]
    fics = module.client("msi").federated_identity_credentials

    def list_existing():
        return [view(c) for c in fics.list(rg, identity)]

    existing = module.get_or_none("list federated credentials of identity %s" % identity, list_existing)
    if existing is None:
        module.fail_json(msg="managed identity %s was not found in resource group %s; create it first with "
                             "keyless.aks_storage.managed_identity" % (identity, rg))
    try:
        creates, updates, deletes, final = plan(desired, existing, p["exclusive"])
    except InvalidCredential as exc:
        module.fail_json(msg=str(exc))
    for warning in issuer_warnings(final):
        module.warn(warning)

    def write(action, fn, *args):
        # One write at a time per identity; Azure's concurrent-write rejection is retried, bounded.
        return module.call(action, retry_on_codes, lambda: fn(*args), {CONCURRENT_WRITE}, p["write_retry_timeout"])

    if not module.check_mode:
        written = {}
        for c in deletes:
            write("delete federated credential %s" % c["name"], fics.delete, rg, identity, c["name"])
        for d in creates + updates:
            body = {"properties": {"issuer": d["issuer"], "subject": d["subject"], "audiences": d["audiences"]}}
            written[d["name"]] = view(write("write federated credential %s" % d["name"], fics.create_or_update, rg,
                                            identity, d["name"], body))
        final = [written.get(c["name"], c) for c in final]

    changed = bool(creates or updates or deletes)
    module.exit_json(changed=changed, credentials=final,
                     created=[d["name"] for d in creates], updated=[d["name"] for d in updates],
                     deleted=[c["name"] for c in deletes],
                     diff=diff({"credentials": existing}, {"credentials": final}))


if __name__ == "__main__":
    main()
