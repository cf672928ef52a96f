{{- if .Values.serviceAccount.create }}
{{- include "blobstandin.serviceAccount" (list . .Values.serviceAccount.controller) }}
{{- end }}
