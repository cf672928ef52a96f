{{- /*
keyless sandbox stand-in chart: shared definitions. Written for the sandbox from the objects upstream's chart
renders (kubernetes-sigs/azurefile-csi-driver charts/<version>/azurefile-csi-driver); see sandbox/charts/README.md.
*/ -}}

{{- /* The chart's name; nameOverride replaces it. */ -}}
{{- define "filestandin.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "filestandin.selectorLabels" -}}
app.kubernetes.io/name: {{ include "filestandin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /* Labels of every object, customLabels included. */ -}}
{{- define "filestandin.labels" -}}
{{ include "filestandin.selectorLabels" . }}
app.kubernetes.io/component: csi-driver
app.kubernetes.io/part-of: {{ include "filestandin.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /* A pod template's labels: (list $ appName podLabels). The workload identity webhook acts on pods labelled
azure.workload.identity/use: "true", so both templates carry it when the driver has a client ID. */ -}}
{{- define "filestandin.podLabels" -}}
{{- $root := index . 0 -}}
app: {{ index . 1 }}
{{ include "filestandin.labels" $root }}
{{- if $root.Values.workloadIdentity.clientID }}
azure.workload.identity/use: "true"
{{- end }}
{{- with index . 2 }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /* A container image: (list .Values.image.baseRepo .Values.image.<name>). A repository starting with "/" is under
baseRepo, any other is a full reference. */ -}}
{{- define "filestandin.image" -}}
{{- $image := index . 1 -}}
{{- if hasPrefix "/" $image.repository }}{{ index . 0 }}{{ end }}{{ $image.repository }}:{{ $image.tag }}
{{- end -}}

{{- /* "true" when the chart version is at least the given one: (list $ "1.35.3"). Versions up to v1.30.9 carry a
"v". */ -}}
{{- define "filestandin.since" -}}
{{- if semverCompare (printf ">=%s-0" (index . 1)) (trimPrefix "v" (index . 0).Chart.Version) }}true{{ end -}}
{{- end -}}

{{- /* One of the driver's ServiceAccounts: (list $ name). With workloadIdentity.clientID it is labelled
azure.workload.identity/use: "true" and annotated with the client ID (and tenantID, when set). */ -}}
{{- define "filestandin.serviceAccount" -}}
{{- $root := index . 0 -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ index . 1 }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "filestandin.labels" $root | nindent 4 }}
{{- with $root.Values.workloadIdentity }}
{{- if .clientID }}
    azure.workload.identity/use: "true"
  annotations:
    azure.workload.identity/client-id: {{ .clientID | quote }}
{{- if .tenantID }}
    azure.workload.identity/tenant-id: {{ .tenantID | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- /* A ClusterRole and the ClusterRoleBinding granting it to a ServiceAccount of the release's namespace:
(list $ roleName bindingName rules serviceAccountName). */ -}}
{{- define "filestandin.clusterRole" -}}
{{- $root := index . 0 -}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ index . 1 }}
  labels:
    {{- include "filestandin.labels" $root | nindent 4 }}
rules:
  {{- toYaml (index . 3) | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ index . 2 }}
  labels:
    {{- include "filestandin.labels" $root | nindent 4 }}
subjects:
  - kind: ServiceAccount
    name: {{ index . 4 }}
    namespace: {{ $root.Release.Namespace }}
roleRef:
  kind: ClusterRole
  name: {{ index . 1 }}
  apiGroup: rbac.authorization.k8s.io
{{- end -}}

{{- /* The host's CA certificates for the fedora distro: (list $ "mounts"|"volumes"). */ -}}
{{- define "filestandin.fedoraCerts" -}}
{{- if eq (index . 0).Values.linux.distro "fedora" }}
{{- if eq (index . 1) "mounts" }}
- name: ssl
  mountPath: /etc/ssl/certs
  readOnly: true
- name: ssl-pki
  mountPath: /etc/pki/ca-trust/extracted
  readOnly: true
{{- else }}
- name: ssl
  hostPath:
    path: /etc/ssl/certs
- name: ssl-pki
  hostPath:
    path: /etc/pki/ca-trust/extracted
{{- end }}
{{- end }}
{{- end -}}
