"""Test-only local stand-in for Azure Resource Manager and Microsoft Entra ID.

One loopback HTTPS process (``python -m sandbox``) that the real Azure SDKs and real
``ansible-playbook`` runs talk to. Nothing here reaches Azure. See ``sandbox/README.md``.
"""

__version__ = "0.1.0"
