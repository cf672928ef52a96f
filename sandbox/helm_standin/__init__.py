"""A stand-in for the `helm` CLI, for the sandbox's emulated clusters only.

Helm 4 cannot install into the emulated API server (it needs OpenAPI and sends protobuf), so sandbox runs give
`kubernetes.core.helm` this executable as `binary_path` (the connection file's `helm_binary`, written by
`wrapper.write()` at sandbox start). It implements the subcommands and output formats kubernetes.core 6.2 uses,
renders charts with a real `helm template`, keeps Helm-3-style release Secrets and writes the rendered objects
through the emulated API over HTTPS (TLS verified, loopback only). The upstream blob-csi-driver and azurefile-csi-driver
repositories map to the sandbox's own stand-in charts (sandbox/charts/blob-csi-driver, azurefile-csi-driver), not
the real charts: real installs need a real cluster and the real chart.
"""
