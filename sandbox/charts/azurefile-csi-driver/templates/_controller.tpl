{{- /* The azurefile container of the controller (controller-deployment.tpl). */ -}}
{{- define "filestandin.controllerDriver" -}}
{{- $c := .Values.controller -}}
- name: azurefile
  image: {{ include "filestandin.image" (list .Values.image.baseRepo .Values.image.azurefile) | quote }}
  imagePullPolicy: {{ .Values.image.azurefile.pullPolicy }}
  args:
    - --v={{ $c.logLevel }}
    - --endpoint=$(CSI_ENDPOINT)
    - --metrics-address=0.0.0.0:{{ $c.metricsPort }}
    - --kubeconfig={{ $c.kubeconfig }}
    - --drivername={{ .Values.driver.name }}
    - --cloud-config-secret-name={{ $c.cloudConfigSecretName }}
    - --cloud-config-secret-namespace={{ $c.cloudConfigSecretNamespace }}
    - --custom-user-agent={{ .Values.driver.customUserAgent }}
    - --user-agent-suffix={{ .Values.driver.userAgentSuffix }}
    - --allow-empty-cloud-config={{ $c.allowEmptyCloudConfig }}
  ports:
    - {name: metrics, containerPort: {{ $c.metricsPort }}, protocol: TCP}
{{- if ne $c.hostNetwork true }}
    - {name: healthz, containerPort: {{ $c.livenessProbe.healthPort }}, protocol: TCP}
{{- end }}
  livenessProbe:
    httpGet:
      path: /healthz
{{- if eq $c.hostNetwork true }}
      host: localhost
      port: {{ $c.livenessProbe.healthPort }}
{{- else }}
      port: healthz
{{- end }}
    failureThreshold: 5
    initialDelaySeconds: 30
    timeoutSeconds: 10
    periodSeconds: 30
  env:
    {{- include "filestandin.driverEnv" . | nindent 4 }}
    - name: AZURE_GO_SDK_LOG_LEVEL
      value: {{ .Values.driver.azureGoSDKLogLevel }}
    - {name: AZCOPY_CONCURRENCY_VALUE, value: "10"}
    - {name: AZCOPY_CONCURRENT_FILES, value: "20"}
    - {name: AZCOPY_BUFFER_GB, value: "1"}
  volumeMounts:
    - {name: socket-dir, mountPath: /csi}
    - {name: azcopy-dir, mountPath: /root/.azcopy}
    - {name: azure-cred, mountPath: /etc/kubernetes/}
    {{- include "filestandin.fedoraCerts" (list . "mounts") | nindent 4 }}
  resources:
    {{- toYaml $c.resources.azurefile | nindent 4 }}
  securityContext:
    capabilities:
      drop: [ALL]
{{- end -}}
