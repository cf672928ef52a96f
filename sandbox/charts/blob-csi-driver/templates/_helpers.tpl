{{- /*
keyless sandbox stand-in chart: shared definitions. Written for the sandbox from the objects upstream's chart
renders (kubernetes-sigs/blob-csi-driver charts/<version>/blob-csi-driver); see sandbox/charts/README.md.
*/ -}}

{{- /* The chart's name; nameOverride replaces it, as upstream's does. */ -}}
{{- define "blobstandin.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /* Labels the workloads select their pods by (besides app). */ -}}
{{- define "blobstandin.selectorLabels" -}}
app.kubernetes.io/name: {{ include "blobstandin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /* Labels of every object, customLabels included. */ -}}
{{- define "blobstandin.labels" -}}
{{ include "blobstandin.selectorLabels" . }}
app.kubernetes.io/component: csi-driver
app.kubernetes.io/part-of: {{ include "blobstandin.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /* Labels of a pod template: (list $ appName). The workload identity webhook acts on pods labelled
azure.workload.identity/use: "true", so both templates carry it when the driver has a client ID. */ -}}
{{- define "blobstandin.podLabels" -}}
{{- $root := index . 0 -}}
app: {{ index . 1 }}
{{ include "blobstandin.labels" $root }}
{{- if $root.Values.workloadIdentity.clientID }}
azure.workload.identity/use: "true"
{{- end }}
{{- with $root.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /* Pod template metadata and the pod-level fields both workloads share: (list $ appName). */ -}}
{{- define "blobstandin.podMetadata" -}}
{{- $root := index . 0 -}}
labels:
  {{- include "blobstandin.podLabels" . | nindent 2 }}
{{- with $root.Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- /* A container image: (list .Values.image.baseRepo .Values.image.<name>). A repository starting with "/" is under
baseRepo, any other is a full reference. */ -}}
{{- define "blobstandin.image" -}}
{{- $image := index . 1 -}}
{{- if hasPrefix "/" $image.repository }}{{ index . 0 }}{{ end }}{{ $image.repository }}:{{ $image.tag }}
{{- end -}}

{{- /* "true" when the chart version is at least the given one: (list $ "1.27.0"). Upstream's versions before 1.25.0
carry a "v". */ -}}
{{- define "blobstandin.since" -}}
{{- if semverCompare (printf ">=%s-0" (index . 1)) (trimPrefix "v" (index . 0).Chart.Version) }}true{{ end -}}
{{- end -}}

{{- /* "true" when the chart version is one of the given ones: (list $ "1.25.4" "1.25.6"). */ -}}
{{- define "blobstandin.oneOf" -}}
{{- $version := trimPrefix "v" (index . 0).Chart.Version -}}
{{- range rest . }}{{ if eq $version . }}true{{ end }}{{ end -}}
{{- end -}}

{{- /* The pod securityContext: .Values.securityContext when set, else the RuntimeDefault seccomp profile. */ -}}
{{- define "blobstandin.podSecurityContext" -}}
{{- if .Values.securityContext }}
{{- toYaml .Values.securityContext }}
{{- else -}}
seccompProfile:
  type: RuntimeDefault
{{- end }}
{{- end -}}

{{- /* Mounts and volumes of the host's CA certificates: Azure Stack and the Red Hat family need them. */ -}}
{{- define "blobstandin.needsHostCerts" -}}
{{- if or (eq .Values.cloud "AzureStackCloud") (include "blobstandin.redHat" .) }}true{{ end -}}
{{- end -}}

{{- define "blobstandin.redHat" -}}
{{- if or (eq .Values.linux.distro "fedora") (and (eq .Values.linux.distro "rhcos") (include "blobstandin.since" (list . "1.27.8"))) }}true{{ end -}}
{{- end -}}

{{- /* One of the driver's ServiceAccounts: (list $ name). With workloadIdentity.clientID both are labelled
azure.workload.identity/use: "true" and annotated with the client ID (and tenantID, when set). */ -}}
{{- define "blobstandin.serviceAccount" -}}
{{- $root := index . 0 -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ index . 1 }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "blobstandin.labels" $root | nindent 4 }}
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
{{- define "blobstandin.clusterRole" -}}
{{- $root := index . 0 -}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ index . 1 }}
  labels:
    {{- include "blobstandin.labels" $root | nindent 4 }}
rules:
  {{- toYaml (index . 3) | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ index . 2 }}
  labels:
    {{- include "blobstandin.labels" $root | nindent 4 }}
subjects:
  - kind: ServiceAccount
    name: {{ index . 4 }}
    namespace: {{ $root.Release.Namespace }}
roleRef:
  kind: ClusterRole
  name: {{ index . 1 }}
  apiGroup: rbac.authorization.k8s.io
{{- end -}}
