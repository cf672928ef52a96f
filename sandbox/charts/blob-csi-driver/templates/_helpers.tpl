{{/* Labels on every object of the release. */}}
{{- define "blobstandin.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Driver image reference. */}}
{{- define "blobstandin.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default (printf "v%s" (trimPrefix "v" .Chart.AppVersion)) }}
{{- end -}}

{{/* Upstream added tokenRequests (audience api://AzureADTokenExchange) to the CSIDriver in chart v1.23.3. */}}
{{- define "blobstandin.requestsTokens" -}}
{{- if semverCompare ">=1.23.3-0" (trimPrefix "v" .Chart.Version) }}true{{ end -}}
{{- end -}}

{{/* Environment of the driver containers: the driver's own workload identity, when configured. */}}
{{- define "blobstandin.identityEnv" -}}
{{- if .Values.workloadIdentity.clientID }}
- name: AZURE_CLIENT_ID
  value: {{ .Values.workloadIdentity.clientID | quote }}
{{- end }}
{{- if .Values.workloadIdentity.tenantID }}
- name: AZURE_TENANT_ID
  value: {{ .Values.workloadIdentity.tenantID | quote }}
{{- end }}
{{- end -}}
