{{- /*
The CSIDriver, per upstream chart version (templates/csi-azurefile-driver.yaml): attachRequired from
controller.attachRequired, podInfoOnMount true, both volume lifecycle modes, fsGroupPolicy from feature.fsGroupPolicy
and the image-tag annotations at every offered version; a token request for the workload identity audience, without
expirationSeconds (the API server's TokenRequest default, 1 h), from v1.29.4; requiresRepublish from 1.35.3
(feature.requiresRepublish, true when the key is absent). docs/research/azure-files.md section 1.
*/ -}}
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: {{ .Values.driver.name }}
  labels:
    {{- include "filestandin.labels" . | nindent 4 }}
  annotations:
    csiDriver: {{ .Values.image.azurefile.tag | quote }}
    snapshot: {{ .Values.snapshot.image.csiSnapshotter.tag | quote }}
spec:
  attachRequired: {{ .Values.controller.attachRequired }}
  podInfoOnMount: true
{{- if include "filestandin.since" (list . "1.35.3") }}
  requiresRepublish: {{ if hasKey .Values.feature "requiresRepublish" }}{{ .Values.feature.requiresRepublish }}{{ else }}true{{ end }}
{{- end }}
  volumeLifecycleModes:
    - Persistent
    - Ephemeral
  fsGroupPolicy: {{ .Values.feature.fsGroupPolicy }}
{{- if include "filestandin.since" (list . "1.29.4") }}
  tokenRequests:
    - audience: api://AzureADTokenExchange
{{- end }}
