{{- /* Containers of the node plugin (node-daemonset.tpl). */ -}}

{{- /* node-driver-registrar; its health endpoint, port and liveness probe only where the version's values have
node.nodeDriverRegistrar (from 1.35.2). */ -}}
{{- define "filestandin.registrar" -}}
{{- $registrar := .Values.node.nodeDriverRegistrar -}}
- name: node-driver-registrar
  image: {{ include "filestandin.image" (list .Values.image.baseRepo .Values.image.nodeDriverRegistrar) | quote }}
  imagePullPolicy: {{ .Values.image.nodeDriverRegistrar.pullPolicy }}
  args:
    - --csi-address=$(ADDRESS)
    - --kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)
    - --v=2
{{- if $registrar }}
    - --http-endpoint=localhost:{{ $registrar.healthPort }}
{{- end }}
  env:
    - {name: ADDRESS, value: /csi/csi.sock}
    - {name: DRIVER_REG_SOCK_PATH, value: {{ printf "%s/plugins/%s/csi.sock" .Values.linux.kubelet .Values.driver.name | quote }}}
  volumeMounts:
    - {name: socket-dir, mountPath: /csi}
    - {name: registration-dir, mountPath: /registration}
  resources:
    {{- toYaml .Values.linux.resources.nodeDriverRegistrar | nindent 4 }}
{{- if $registrar }}
  ports:
    - {name: healthz, containerPort: {{ $registrar.healthPort }}, protocol: TCP}
  livenessProbe:
    httpGet: {host: localhost, path: /healthz, port: healthz}
    {{- with $registrar.livenessProbe }}
    initialDelaySeconds: {{ .initialDelaySeconds }}
    timeoutSeconds: {{ .timeoutSeconds }}
    periodSeconds: {{ .periodSeconds }}
    failureThreshold: {{ .failureThreshold }}
    {{- end }}
{{- end }}
{{- end -}}

{{- /* The azurefile container (the driver): (list $ image). Flags follow the values the version has
(`--metrics-address` with node.metricsPort, `--enable-kata-cc-mount` with node.enableKataCCMount). */ -}}
{{- define "filestandin.nodeDriver" -}}
{{- $root := index . 0 -}}
{{- $v := $root.Values -}}
{{- $proxy := $v.node.azurefileProxy | default dict -}}
{{- $hasProxy := hasKey $v.node "azurefileProxy" -}}
- name: azurefile
  image: {{ index . 1 | quote }}
  imagePullPolicy: {{ $v.image.azurefile.pullPolicy }}
  args:
    - --v={{ $v.node.logLevel }}
    - --endpoint=$(CSI_ENDPOINT)
{{- if $hasProxy }}
    - --azurefile-proxy-endpoint=$(AZUREFILE_PROXY_ENDPOINT)
    - --enable-azurefile-proxy={{ $proxy.enabled }}
{{- end }}
    - --nodeid=$(KUBE_NODE_NAME)
    - --kubeconfig={{ $v.linux.kubeconfig }}
    - --drivername={{ $v.driver.name }}
    - --cloud-config-secret-name={{ $v.node.cloudConfigSecretName }}
    - --cloud-config-secret-namespace={{ $v.node.cloudConfigSecretNamespace }}
    - --custom-user-agent={{ $v.driver.customUserAgent }}
    - --user-agent-suffix={{ $v.driver.userAgentSuffix }}
    - --allow-empty-cloud-config={{ $v.node.allowEmptyCloudConfig }}
    - --enable-volume-mount-group={{ $v.feature.enableVolumeMountGroup }}
    - --enable-get-volume-stats={{ $v.feature.enableGetVolumeStats }}
    - --mount-permissions={{ $v.linux.mountPermissions }}
    - --allow-inline-volume-key-access-with-identity={{ $v.node.allowInlineVolumeKeyAccessWithIdentity }}
{{- if hasKey $v.node "metricsPort" }}
    - --metrics-address=0.0.0.0:{{ $v.node.metricsPort }}
{{- end }}
{{- if hasKey $v.node "enableKataCCMount" }}
    - --enable-kata-cc-mount={{ $v.node.enableKataCCMount }}
{{- end }}
  livenessProbe:
    httpGet: {host: localhost, path: /healthz, port: {{ $v.node.livenessProbe.healthPort }}}
    failureThreshold: 5
    initialDelaySeconds: 30
    timeoutSeconds: 30
    periodSeconds: 30
  env:
    {{- include "filestandin.driverEnv" $root | nindent 4 }}
    - name: KUBE_NODE_NAME
      valueFrom:
        fieldRef: {apiVersion: v1, fieldPath: spec.nodeName}
    - name: AZURE_GO_SDK_LOG_LEVEL
      value: {{ $v.driver.azureGoSDKLogLevel }}
{{- if $hasProxy }}
    - {name: AZUREFILE_PROXY_ENDPOINT, value: "unix:///csi/azurefile-proxy.sock"}
{{- end }}
  securityContext:
    privileged: true
    capabilities:
      drop: [ALL]
  volumeMounts:
    - {name: socket-dir, mountPath: /csi}
    - {name: mountpoint-dir, mountPath: {{ printf "%s/" $v.linux.kubelet | quote }}, mountPropagation: Bidirectional}
    - {name: azure-cred, mountPath: /etc/kubernetes/}
    - {name: device-dir, mountPath: /dev}
    {{- include "filestandin.fedoraCerts" (list $root "mounts") | nindent 4 }}
{{- if $v.node.enableKataCCMount }}
    - {name: kata-direct-volumes, mountPath: /run/kata-containers/shared/direct-volumes}
{{- end }}
{{- if $v.node.enableManagedIdentityAuth }}
    - {name: log-dir, mountPath: /var/log/}
    - {name: azfilesauth, mountPath: /etc/azfilesauth}
{{- end }}
  resources:
    {{- toYaml $v.linux.resources.azurefile | nindent 4 }}
{{- end -}}

{{- /* The driver's credential file, CSI endpoint and proxies (node and controller). */ -}}
{{- define "filestandin.driverEnv" -}}
- name: AZURE_CREDENTIAL_FILE
  valueFrom:
    configMapKeyRef: {name: {{ .Values.azureCredentialFileConfigMap }}, key: path, optional: true}
- {name: CSI_ENDPOINT, value: "unix:///csi/csi.sock"}
{{- with .Values.driver.httpsProxy }}
- {name: HTTPS_PROXY, value: {{ . | quote }}}
{{- end }}
{{- with .Values.driver.httpProxy }}
- {name: HTTP_PROXY, value: {{ . | quote }}}
{{- end }}
{{- end -}}
