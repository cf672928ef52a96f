{{- /*
The controller's cluster roles and their bindings to the controller ServiceAccount (upstream's names with rbac.name
"blob"): the external provisioner, the external resizer, and secrets (get, create). Upstream's provisioner role may
patch persistentvolumes at v1.24.2 and from 1.25.0 on.
*/ -}}
{{- if .Values.rbac.create }}
{{- $stem := .Values.rbac.name }}
{{- $pvVerbs := list "get" "list" "watch" "create" "delete" }}
{{- if or (include "blobstandin.oneOf" (list . "1.24.2")) (include "blobstandin.since" (list . "1.25.0")) }}
{{- $pvVerbs = list "get" "list" "watch" "create" "patch" "delete" }}
{{- end }}
{{- $rules := dict }}
{{- $_ := set $rules "provisioner" (list
      (dict "apiGroups" (list "") "resources" (list "persistentvolumes") "verbs" $pvVerbs)
      (dict "apiGroups" (list "") "resources" (list "persistentvolumeclaims") "verbs" (list "get" "list" "watch" "update"))
      (dict "apiGroups" (list "storage.k8s.io") "resources" (list "storageclasses") "verbs" (list "get" "list" "watch"))
      (dict "apiGroups" (list "") "resources" (list "events") "verbs" (list "get" "list" "watch" "create" "update" "patch"))
      (dict "apiGroups" (list "storage.k8s.io") "resources" (list "csinodes") "verbs" (list "get" "list" "watch"))
      (dict "apiGroups" (list "") "resources" (list "nodes") "verbs" (list "get" "list" "watch"))
      (dict "apiGroups" (list "coordination.k8s.io") "resources" (list "leases") "verbs" (list "get" "list" "watch" "create" "update" "patch"))) }}
{{- $_ := set $rules "resizer" (list
      (dict "apiGroups" (list "") "resources" (list "persistentvolumes") "verbs" (list "get" "list" "watch" "update" "patch"))
      (dict "apiGroups" (list "") "resources" (list "persistentvolumeclaims") "verbs" (list "get" "list" "watch"))
      (dict "apiGroups" (list "") "resources" (list "persistentvolumeclaims/status") "verbs" (list "update" "patch"))
      (dict "apiGroups" (list "") "resources" (list "events") "verbs" (list "list" "watch" "create" "update" "patch"))
      (dict "apiGroups" (list "coordination.k8s.io") "resources" (list "leases") "verbs" (list "get" "list" "watch" "create" "update" "patch"))) }}
{{- $_ := set $rules "secrets" (list (dict "apiGroups" (list "") "resources" (list "secrets") "verbs" (list "get" "create"))) }}
{{- $roles := list
      (list (printf "%s-external-provisioner-role" $stem) (printf "%s-csi-provisioner-binding" $stem) $rules.provisioner)
      (list (printf "%s-external-resizer-role" $stem) (printf "%s-csi-resizer-role" $stem) $rules.resizer)
      (list (printf "csi-%s-controller-secret-role" $stem) (printf "csi-%s-controller-secret-binding" $stem) $rules.secrets) }}
{{- range $roles }}
{{ include "blobstandin.clusterRole" (list $ (index . 0) (index . 1) (index . 2) $.Values.serviceAccount.controller) }}
{{- end }}
{{- end }}
