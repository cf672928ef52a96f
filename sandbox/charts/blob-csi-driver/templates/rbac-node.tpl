{{- /* The node plugin's cluster role (secrets: get) and its binding to the node ServiceAccount. */ -}}
{{- if .Values.rbac.create }}
{{- $stem := .Values.rbac.name }}
{{- $rules := list (dict "apiGroups" (list "") "resources" (list "secrets") "verbs" (list "get")) }}
{{ include "blobstandin.clusterRole" (list . (printf "csi-%s-node-secret-role" $stem) (printf "csi-%s-node-secret-binding" $stem) $rules .Values.serviceAccount.node) }}
{{- end }}
