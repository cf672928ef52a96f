{{- if .Values.serviceAccount.create }}
{{ include "filestandin.serviceAccount" (list . .Values.serviceAccount.controller) }}
{{- end }}
