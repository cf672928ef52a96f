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
  - Manages the credentials of many identities in one task with O(identities) (the bulk form), in one module run
    with one token and one read per identity.
  - Everything is validated before the first write, against the identities' existing credentials too; Azure allows
    at most 20 credentials per identity and one credential per issuer and subject. In the bulk form every identity is
    validated and read before the first write to any of them, so one invalid item or one missing identity fails the
    task without changing anything.
  - Azure rejects concurrent credential writes on one identity, so writes go one at a time (identity after identity
    in the bulk form) and a rejected write is retried with bounded backoff.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  resource_group:
    description:
      - Resource group of the managed identity.
      - Required with O(identity_name); with O(identities), the default resource group of the listed identities.
    type: str
  identity_name:
    description:
      - Name of the user-assigned managed identity that holds the credentials.
      - Required unless O(identities) is given; mutually exclusive with it.
    type: str
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
      - Mutually exclusive with the single-credential options and with O(identities).
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
  identities:
    description:
      - The bulk form. The credentials of many identities, in one task.
      - Mutually exclusive with O(identity_name), O(name), O(issuer), O(subject), O(namespace), O(service_account) and
        O(credentials).
      - Every item is validated and every identity's credentials are read before the first write; an invalid item or a
        missing identity fails the task, naming the identity, and nothing is written (a missing identity is no error
        in check mode, see the notes).
      - An identity may be listed only once.
    type: list
    elements: dict
    suboptions:
      resource_group:
        description: Resource group of the identity; defaults to the top-level O(resource_group).
        type: str
      identity_name:
        description: Name of the user-assigned managed identity.
        type: str
        required: true
      credentials:
        description:
          - The credentials on this identity, with the keys of the top-level O(credentials).
          - With O(identities[].exclusive=true), an empty list removes every credential of the identity.
        type: list
        elements: dict
        required: true
        suboptions:
          name:
            description: As O(credentials[].name).
            type: str
            required: true
          issuer:
            description: As O(credentials[].issuer).
            type: str
          subject:
            description: As O(credentials[].subject).
            type: str
          namespace:
            description: As O(credentials[].namespace).
            type: str
          service_account:
            description: As O(credentials[].service_account).
            type: str
          audiences:
            description: As O(credentials[].audiences).
            type: list
            elements: str
            default: [api://AzureADTokenExchange]
          state:
            description: As O(credentials[].state).
            type: str
            choices: [present, absent]
      exclusive:
        description:
          - When V(true), credentials on this identity that are not listed are removed.
          - Defaults to the top-level O(exclusive).
        type: bool
  exclusive:
    description:
      - When V(true), credentials on the identity that are not listed are removed.
      - With O(identities), the default of O(identities[].exclusive).
    type: bool
    default: false
  state:
    description:
      - Whether the credentials should exist.
      - The default of O(credentials[].state) and O(identities[].credentials[].state).
    type: str
    choices: [present, absent]
    default: present
  write_retry_timeout:
    description:
      - How long, in seconds, to keep retrying a credential write that Azure rejected because another write to the
        same identity was in progress.
    type: int
    default: 120
notes:
  - In check mode an identity that does not exist yet is not an error, in either form. An earlier task of the play
    (M(keyless.aks_storage.managed_identity)) would have created it, but check mode created nothing; so the task
    plans the identity's credentials as if it existed holding none, reports C(changed) with what it would write
    (RV(credentials), RV(created), the diff, as for any check-mode create) and warns that the identity was not
    found and that the result assumes an earlier task creates it. Outside check mode a missing identity fails the
    task before any write, naming it.
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
attributes:
  check_mode:
    support: full
    description:
      - Validates everything and reports what would change; makes no write.
      - An identity not created yet is planned as empty, with a warning (see the notes).
  diff_mode:
    support: full
    description:
      - Shows the identity's credentials before and after.
      - In the bulk form, the credentials of every listed identity, keyed by C(<resource group>/<identity name>).
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

- name: Every workload identity trusted by the cluster, in one task (one token, one read per identity)
  keyless.aks_storage.federated_credential:
    resource_group: rg-keyless-prod
    identities:
      - identity_name: id-reports
        credentials:
          - name: aks-prod-weu-reports-writer
            issuer: "{{ cluster.oidc_issuer_url }}"
            namespace: reports
            service_account: reports-writer
      - identity_name: id-billing
        resource_group: rg-billing
        exclusive: true
        credentials:
          - name: aks-prod-weu-billing-export
            issuer: "{{ cluster.oidc_issuer_url }}"
            namespace: billing
            service_account: exporter
  register: federation

- name: Show what changed, per identity
  ansible.builtin.debug:
    msg: "{{ federation.identities | selectattr('changed') | map(attribute='identity_name') | list }}"
"""

RETURN = r"""
credentials:
  description: The identity's federated credentials after the task (in check mode, as they would be).
  returned: with O(identity_name) (the single-identity forms)
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
  returned: with O(identity_name) (the single-identity forms)
  type: list
  elements: str
updated:
  description: Names of the credentials updated.
  returned: with O(identity_name) (the single-identity forms)
  type: list
  elements: str
deleted:
  description: Names of the credentials deleted.
  returned: with O(identity_name) (the single-identity forms)
  type: list
  elements: str
identities:
  description: One entry per listed identity, in the order of O(identities).
  returned: with O(identities) (the bulk form)
  type: list
  elements: dict
  contains:
    resource_group:
      description: Resource group of the identity.
      type: str
      sample: rg-keyless-prod
    identity_name:
      description: Name of the identity.
      type: str
      sample: id-reports
    credentials:
      description: As RV(credentials), for this identity.
      type: list
      elements: dict
    created:
      description: As RV(created), for this identity.
      type: list
      elements: str
    updated:
      description: As RV(updated), for this identity.
      type: list
      elements: str
    deleted:
      description: As RV(deleted), for this identity.
      type: list
      elements: str
    changed:
      description: Whether this identity's credentials changed (or would change, in check mode).
      type: bool
written:
  description:
    - When a write failed mid-way, the labels of the items converged before it that needed a write (see
      C(docs/results.md)).
  returned: on a failure after the first item
  type: list
  elements: str
  sample: ["identities[0] (rg-keyless-dev/example)"]
unchanged:
  description: When a write failed mid-way, the labels of the items converged before it that were already as asked.
  returned: on a failure after the first item
  type: list
  elements: str
failed_item:
  description: When a write failed mid-way, the label of the item that failed (the message starts with it).
  returned: on a failure after the first item
  type: str
  sample: "identities[2] (rg-keyless-dev/example)"
failed_items:
  description:
    - When items failed, the labels of all of them; an item whose failure is its own (see C(docs/results.md)) does not
      stop the items after it.
  returned: on a failure
  type: list
  elements: str
not_attempted:
  description: When a write failed mid-way, the labels of the items after the failed one, not touched.
  returned: on a failure after the first item
  type: list
  elements: str
"""

import re
from urllib.parse import urlsplit

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk, rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError, refuse
from ansible_collections.keyless.aks_storage.plugins.module_utils.identity import missing as missing_identity
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import diff
from ansible_collections.keyless.aks_storage.plugins.module_utils.retries import retry_on_codes

MAX_CREDENTIALS = 20
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
CONCURRENT_WRITE = "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$")
DNS_LABEL = rules.DNS_LABEL
DNS_SUBDOMAIN = rules.DNS_SUBDOMAIN
# Entra ID compares issuer, subject and audience of the token with the credential's, exactly (case and whitespace).
EXACT = "Entra ID compares it byte for byte with the token's %s claim (a mismatch is AADSTS700213/AADSTS70021)"
SA_PREFIX = "system:serviceaccount:"
AKS_ISSUER_HOST = ".oic.prod-aks.azure.com"
CREDENTIAL_KEYS = ("name", "issuer", "subject", "namespace", "service_account", "audiences", "state")
# Options of the single-identity forms that make no sense with identities (audiences has a default, so is not here).
SINGLE_IDENTITY_OPTIONS = ("identity_name", "name", "issuer", "subject", "namespace", "service_account", "credentials")


class InvalidCredential(ModuleError):
    """A credential that cannot be converged as asked; nothing has been written."""


def validate(item, index):
    """Return the desired credential {name, issuer, subject, audiences, state} or raise InvalidCredential."""
    name = item.get("name")
    where = bulk.label("credentials", index, name) if index is not None else "the credential"
    if not name or not NAME.match(name):
        raise InvalidCredential("%s: name '%s' is invalid; use 3-120 letters, digits, hyphens or underscores, "
                                "starting with a letter or digit" % (where, name))
    if item["state"] == "absent":
        return dict(name=name, state="absent")
    issuer = desired_issuer(item, where)
    subject = desired_subject(item, where)
    audiences = sorted(set(item.get("audiences") or []))
    if not audiences or not all(isinstance(a, str) and a.strip() for a in audiences):
        raise InvalidCredential("%s: audiences must be a non-empty list of strings" % where)
    refuse([rules.exact_problem(a, "audience", EXACT % "aud") for a in audiences], where, InvalidCredential)
    if len(audiences) > 1:
        raise InvalidCredential("%s: audiences %s: Azure allows exactly one audience per federated credential "
                                "(api://AzureADTokenExchange for workload identity)" % (where, audiences))
    return dict(name=name, issuer=issuer, subject=subject, audiences=audiences, state="present")


def desired_issuer(item, where):
    """The issuer, checked: an https URL exactly as the cluster reports it (no whitespace, userinfo, query)."""
    issuer = item.get("issuer")
    refuse([rules.exact_problem(issuer, "issuer", EXACT % "iss")], where, InvalidCredential)
    parts = urlsplit(issuer or "")
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise InvalidCredential("%s: issuer '%s' must be an https URL without query or fragment, exactly as the "
                                "cluster reports it" % (where, issuer))
    if "@" in parts.netloc:
        raise InvalidCredential("%s: issuer '%s' carries user information (user@host); an OIDC issuer URL never does, "
                                "and Entra ID would never match it" % (where, issuer))
    if len(issuer) > 600:
        raise InvalidCredential("%s: issuer must be at most 600 characters" % where)
    return issuer


def desired_subject(item, where):
    """The subject: given, or built from namespace and service_account; checked either way."""
    subject = item.get("subject")
    namespace, account = item.get("namespace"), item.get("service_account")
    refuse([rules.exact_problem(subject, "subject", EXACT % "sub")], where, InvalidCredential)
    if isinstance(subject, str) and subject.lower().startswith(SA_PREFIX) and not subject.startswith(SA_PREFIX):
        raise InvalidCredential("%s: subject '%s' must start with %s in lowercase: Kubernetes issues the sub claim so "
                                "and %s" % (where, subject, SA_PREFIX, EXACT % "sub"))
    if subject and (namespace or account):
        raise InvalidCredential("%s: give either subject or namespace + service_account, not both" % where)
    if not subject:
        if not (namespace and account):
            raise InvalidCredential("%s: subject, or namespace and service_account, is required" % where)
        subject = SA_PREFIX + namespace + ":" + account
    if subject.startswith(SA_PREFIX):
        fields = subject[len(SA_PREFIX):].split(":")
        if len(fields) != 2 or not DNS_LABEL.match(fields[0]) or not DNS_SUBDOMAIN.match(fields[1]):
            raise InvalidCredential("%s: subject '%s' is not system:serviceaccount:<namespace>:<service account> "
                                    "with valid Kubernetes names" % (where, subject))
    elif len(subject) > 600 or not subject.strip():
        raise InvalidCredential("%s: subject must be 1-600 characters" % where)
    return subject


def view(credential):
    """The compared/returned view of an SDK FederatedIdentityCredential."""
    return dict(name=credential.name, issuer=credential.issuer, subject=credential.subject,
                audiences=sorted(set(credential.audiences or [])), id=credential.id)


def same_settings(desired, current):
    return (desired["issuer"], desired["subject"], desired["audiences"]) == (
        current["issuer"], current["subject"], current["audiences"])


def desired_from(p):
    """The validated desired credentials of one identity, from the module's (or a bulk item's) options.

    ``p`` holds name, issuer, subject, namespace, service_account, audiences, credentials, exclusive and state.
    Raises InvalidCredential.
    """
    single = {k: p.get(k) for k in CREDENTIAL_KEYS if k != "state"}
    if p.get("credentials") is not None:
        if any(p.get(k) for k in ("name", "issuer", "subject", "namespace", "service_account")):
            raise InvalidCredential("use either credentials or the single-credential options (name, issuer, ...), "
                                    "not both")
        items = [(dict(item, state=item.get("state") or p["state"]), i) for i, item in enumerate(p["credentials"])]
    elif p.get("name"):
        items = [(dict(single, state=p["state"]), None)]
    elif p["exclusive"]:
        items = []
    else:
        raise InvalidCredential("name (with issuer and subject) or credentials is required")
    desired = [validate(item, index) for item, index in items]
    names = [d["name"] for d in desired]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidCredential("credential names listed more than once: %s" % ", ".join(duplicates))
    return desired


IDENTITY_KEYS = ("resource_group", "identity_name", "credentials", "exclusive")


def identity_key(options):
    return bulk.resource_key(dict(resource_group=options["resource_group"], name=options["identity_name"]))


def bulk_targets(p):
    """Validate every item of ``identities`` (no Azure call) and return one bulk.Item per identity, whose options are
    {resource_group, identity_name, desired, exclusive}. Raises InvalidCredential naming the item and its identity."""
    targets = bulk.items_from_params(p, "identities", IDENTITY_KEYS, key_of=identity_key)
    for target in targets:
        if not target["resource_group"]:
            raise InvalidCredential("resource_group is required, in the item or at the top level").labelled(
                target.label)
        refuse(identity_problems(target.options), target.label, InvalidCredential)
    for target, earlier in bulk.duplicates(targets, lambda t: t.key.lower()):  # ARM names are case-insensitive
        raise InvalidCredential("the identity is already listed as identities[%d]; list each identity once, with all "
                                "of its credentials" % earlier.index).labelled(target.label)
    for target in targets:
        if target["credentials"] is None:
            raise InvalidCredential("credentials is required (an empty list, with exclusive: true, removes every "
                                    "credential of the identity)").labelled(target.label)
        try:
            target.options["desired"] = desired_from(dict(target.options, state=p["state"]))
        except InvalidCredential as exc:
            raise exc.labelled(target.label)
    return targets


def identity_problems(options):
    return [rules.name_problem("resource group", options["resource_group"], "resource_group"),
            rules.name_problem("identity", options["identity_name"], "identity_name")]


def single_target(p):
    """The one target of the single-identity forms (a single credential or a credentials list)."""
    refuse(identity_problems(p), error=InvalidCredential)
    options = dict(resource_group=p["resource_group"], identity_name=p["identity_name"], desired=desired_from(p),
                   exclusive=p["exclusive"])
    return bulk.Item(options, key=identity_key(options))


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


def outcome(planned, final):
    """The per-identity result: the credentials after the task and what was created, updated and deleted."""
    return dict(credentials=final, created=[d["name"] for d in planned["creates"]],
                updated=[d["name"] for d in planned["updates"]], deleted=[c["name"] for c in planned["deletes"]],
                changed=bool(planned["creates"] or planned["updates"] or planned["deletes"]))


def plan_identity(module, fics, target):
    """Read one identity's credentials (one list call) and plan its changes; raise, naming it, if that is not
    possible. Returns {existing, creates, updates, deletes, final, warnings}."""
    rg, identity = target["resource_group"], target["identity_name"]
    action = "list federated credentials of identity " + identity
    existing = module.get_or_none(action, lambda: [view(c) for c in fics.list(rg, identity)])
    if existing is None:
        # an error, except in check mode: then an earlier task creates the identity, holding no credential yet
        module.parent_missing(*missing_identity(rg, identity))
        existing = []
    creates, updates, deletes, final = plan(target["desired"], existing, target["exclusive"])
    prefix = target.label + ": " if target.label else ""
    return dict(existing=existing, creates=creates, updates=updates, deletes=deletes, final=final,
                warnings=[prefix + w for w in issuer_warnings(final)])


def write_steps(target, planned):
    """One identity's writes as bulk items, in the order they are made: deletes first (they free the 20-credential
    limit and issuer+subject pairs), then creates and updates, each labelled as the task listed it."""
    index = {d["name"]: i for i, d in enumerate(target["desired"])}
    steps = []
    for credential, write in ([(c, "delete") for c in planned["deletes"]]
                              + [(d, "write") for d in planned["creates"] + planned["updates"]]):
        name = credential["name"]
        where = bulk.label("credentials", index[name], name) if name in index else "unlisted (%s)" % name
        steps.append((bulk.Item(credential, where, name), write))
    return steps


def write_credential(module, fics, target, credential, write):
    """Make one write (Azure's concurrent-write rejection retried, bounded); returns the step's result."""
    rg, identity, name = target["resource_group"], target["identity_name"], credential["name"]
    timeout = module.params["write_retry_timeout"]
    if write == "delete":
        module.write("delete federated credential %s" % name, retry_on_codes,
                     lambda: fics.delete(rg, identity, name), {CONCURRENT_WRITE}, timeout)
        return dict(changed=True, credential=None)
    body = {"properties": {"issuer": credential["issuer"], "subject": credential["subject"],
                           "audiences": credential["audiences"]}}
    made = module.write("write federated credential %s" % name, retry_on_codes,
                        lambda: fics.create_or_update(rg, identity, name, body), {CONCURRENT_WRITE}, timeout)
    return dict(changed=True, credential=view(made))


def apply_identity(module, fics, target, planned, labelled_steps):
    """Make one identity's planned writes, one at a time (never in check mode); returns its outcome. With
    ``labelled_steps`` each write is a bulk item of its own (the single-identity form)."""
    if module.check_mode:
        return outcome(planned, planned["final"])
    steps = write_steps(target, planned)
    items = [item if labelled_steps else bulk.Item(item.options, None, item.key) for item, _write in steps]
    results = bulk.apply_all(module, items, [write for _item, write in steps],
                             lambda item, write: write_credential(module, fics, target, item.options, write))
    written = {r["credential"]["name"]: r["credential"] for r in results if r["credential"]}
    return outcome(planned, [written.get(c["name"], c) for c in planned["final"]])


def bulk_diff(results, befores):
    """The bulk form's diff: each identity's credentials before and after, keyed by "<resource group>/<identity>"."""
    keys = [identity_key(r) for r in results]
    return diff(dict(zip(keys, befores)), {key: r["credentials"] for key, r in zip(keys, results)})


def run(module):
    """Validate every target, read and plan every identity, then write identity after identity (or not, in check
    mode); returns the single form's or the bulk form's result."""
    bulk_form = module.params["identities"] is not None
    refuse([rules.range_problem(module.params["write_retry_timeout"], "write_retry_timeout", 0)])
    targets = bulk_targets(module.params) if bulk_form else [single_target(module.params)]
    fics = module.client("msi").federated_identity_credentials
    plans = bulk.plan_all(targets, lambda target: plan_identity(module, fics, target))
    for warning in [w for planned in plans for w in planned["warnings"]]:
        module.warn(warning)
    if not bulk_form:
        # One identity: each of its writes is an item (labelled as the credentials list names it).
        single = apply_identity(module, fics, targets[0], plans[0], module.params["credentials"] is not None)
        return dict(changed=single["changed"], credentials=single["credentials"], created=single["created"],
                    updated=single["updated"], deleted=single["deleted"],
                    diff=diff({"credentials": plans[0]["existing"]}, {"credentials": single["credentials"]}))
    results = bulk.apply_all(
        module, targets, plans,
        lambda target, planned: dict(resource_group=target["resource_group"], identity_name=target["identity_name"],
                                     **apply_identity(module, fics, target, planned, False)),
        "identities")
    return dict(changed=any(r["changed"] for r in results), identities=results,
                diff=bulk_diff(results, [planned["existing"] for planned in plans]))


def credential_spec():
    return dict(
        name=dict(type="str", required=True),
        issuer=dict(type="str"),
        subject=dict(type="str"),
        namespace=dict(type="str"),
        service_account=dict(type="str"),
        audiences=dict(type="list", elements="str", default=[DEFAULT_AUDIENCE]),
        state=dict(type="str", choices=["present", "absent"]),
    )


def main():
    module = AzureModule(
        argument_spec=dict(
            resource_group=dict(type="str"),
            identity_name=dict(type="str"),
            name=dict(type="str"),
            issuer=dict(type="str"),
            subject=dict(type="str"),
            namespace=dict(type="str"),
            service_account=dict(type="str"),
            audiences=dict(type="list", elements="str", default=[DEFAULT_AUDIENCE]),
            credentials=dict(type="list", elements="dict", options=credential_spec()),
            identities=dict(type="list", elements="dict", options=dict(
                resource_group=dict(type="str"),
                identity_name=dict(type="str", required=True),
                credentials=dict(type="list", elements="dict", required=True, options=credential_spec()),
                exclusive=dict(type="bool"),
            )),
            exclusive=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            write_retry_timeout=dict(type="int", default=120),
        ),
        mutually_exclusive=[("identities", other) for other in SINGLE_IDENTITY_OPTIONS],
        required_one_of=[("identity_name", "identities")],
        required_by={"identity_name": "resource_group"},
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
