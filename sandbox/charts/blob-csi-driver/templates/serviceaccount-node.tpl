{{- if .Values.serviceAccount.create }}
{{- include "blobstandin.serviceAccount" (list . .Values.serviceAccount.node) }}
{{- end }}
