{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Values.serviceAccount.controller }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "blobstandin.labels" . | nindent 4 }}
{{- if .Values.workloadIdentity.clientID }}
  annotations:
    azure.workload.identity/client-id: {{ .Values.workloadIdentity.clientID | quote }}
{{- end }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Values.serviceAccount.node }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "blobstandin.labels" . | nindent 4 }}
{{- end }}
