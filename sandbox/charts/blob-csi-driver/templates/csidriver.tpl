{{- /*
The CSIDriver, per upstream chart version: attachRequired false, podInfoOnMount true, fsGroupPolicy from
feature.fsGroupPolicy and both volume lifecycle modes at every version; a token request for the workload identity
audience from v1.23.3; from 1.27.0 that request has expirationSeconds 3600 and requiresRepublish follows
feature.requiresRepublish (default true).
*/ -}}
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: {{ .Values.driver.name }}
  labels:
    {{- include "blobstandin.labels" . | nindent 4 }}
spec:
  attachRequired: false
  podInfoOnMount: true
  fsGroupPolicy: {{ .Values.feature.fsGroupPolicy }}
  volumeLifecycleModes:
    - Persistent
    - Ephemeral
{{- if include "blobstandin.since" (list . "1.27.0") }}
  requiresRepublish: {{ .Values.feature.requiresRepublish }}
{{- end }}
{{- if include "blobstandin.since" (list . "1.23.3") }}
  tokenRequests:
    - audience: api://AzureADTokenExchange
{{- if include "blobstandin.since" (list . "1.27.0") }}
      expirationSeconds: 3600
{{- end }}
{{- end }}
