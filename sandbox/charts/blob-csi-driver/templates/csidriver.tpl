apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: {{ .Values.driver.name }}
  labels:
    {{- include "blobstandin.labels" . | nindent 4 }}
spec:
  attachRequired: false
  podInfoOnMount: true
  fsGroupPolicy: ReadWriteOnceWithFSType
  volumeLifecycleModes:
    - Persistent
    - Ephemeral
{{- if include "blobstandin.requestsTokens" . }}
  # The kubelet hands the driver a service account token for this audience on every mount (and republish).
  requiresRepublish: true
  tokenRequests:
    - audience: api://AzureADTokenExchange
      expirationSeconds: 3600
{{- end }}
