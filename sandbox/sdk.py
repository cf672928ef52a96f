"""Constructor arguments that make the real Azure SDKs talk to a sandbox (from its connection dict).

Imports the SDKs lazily so `sandbox` itself stays free of Azure dependencies.

    cred = sdk.credential(conn)
    rm = ResourceManagementClient(cred, conn["subscription_id"], **sdk.client_kwargs(conn))
"""


def credential(conn: dict, secret: str | None = None, **kwargs):
    """ClientSecretCredential against the sandbox authority.

    disable_instance_discovery=True is required: otherwise MSAL first asks login.microsoftonline.com
    whether the authority is known.
    """
    from azure.identity import ClientSecretCredential
    return ClientSecretCredential(conn["tenant_id"], conn["client_id"], secret or conn["client_secret"],
                                  authority=conn["authority_host"], disable_instance_discovery=True,
                                  connection_verify=conn["ca_file"], **kwargs)


def workload_credential(conn: dict, token_file: str, client_id: str | None = None, **kwargs):
    """WorkloadIdentityCredential (federated token file) against the sandbox authority."""
    from azure.identity import WorkloadIdentityCredential
    return WorkloadIdentityCredential(tenant_id=conn["tenant_id"], client_id=client_id or conn["client_id"],
                                      token_file_path=token_file, authority=conn["authority_host"],
                                      connection_verify=conn["ca_file"], **kwargs)


def client_kwargs(conn: dict, **kwargs) -> dict:
    """Keyword arguments for any azure-mgmt-* client: ARM URL, token scope, CA."""
    return dict(base_url=conn["arm_url"], credential_scopes=[conn["arm_scope"]],
                connection_verify=conn["ca_file"], **kwargs)
