{{- /* The node plugin's ClusterRoles and bindings (upstream templates/rbac-csi-azurefile-node.yaml): secrets get, and
with node.enableKataCCMount pods/nodes get and runtimeclasses get/list. */ -}}
{{- if .Values.rbac.create }}
{{- $name := .Values.rbac.name }}
{{- $sa := .Values.serviceAccount.node }}
{{ include "filestandin.clusterRole" (list . (printf "csi-%s-node-secret-role" $name) (printf "csi-%s-node-secret-binding" $name) (list (dict "apiGroups" (list "") "resources" (list "secrets") "verbs" (list "get"))) $sa) }}
{{- if .Values.node.enableKataCCMount }}
{{- $kata := fromYamlArray `
- {apiGroups: [""], resources: [pods], verbs: [get]}
- {apiGroups: [""], resources: [nodes], verbs: [get]}
- {apiGroups: [node.k8s.io], resources: [runtimeclasses], verbs: [get, list]}
` }}
{{ include "filestandin.clusterRole" (list . (printf "csi-%s-node-katacc-role" $name) (printf "csi-%s-node-katacc-binding" $name) $kata $sa) }}
{{- end }}
{{- end }}
