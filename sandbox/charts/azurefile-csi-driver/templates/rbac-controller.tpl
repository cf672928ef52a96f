{{- /* The controller's ClusterRoles and bindings (upstream templates/rbac-csi-azurefile-controller.yaml): names from
rbac.name, rules as upstream 1.35.7 grants them. */ -}}
{{- if .Values.rbac.create }}
{{- $name := .Values.rbac.name }}
{{- $sa := .Values.serviceAccount.controller }}
{{- $leases := dict "apiGroups" (list "coordination.k8s.io") "resources" (list "leases") "verbs" (list "get" "watch" "list" "delete" "update" "create" "patch") }}
{{- $provisioner := fromYamlArray `
- {apiGroups: [""], resources: [persistentvolumes], verbs: [get, list, watch, create, patch, delete]}
- {apiGroups: [""], resources: [persistentvolumeclaims], verbs: [get, list, watch, update]}
- {apiGroups: [storage.k8s.io], resources: [storageclasses], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [events], verbs: [get, list, watch, create, update, patch]}
- {apiGroups: [storage.k8s.io], resources: [csinodes], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [nodes], verbs: [get, list, watch]}
- {apiGroups: [snapshot.storage.k8s.io], resources: [volumesnapshots], verbs: [get, list]}
- {apiGroups: [snapshot.storage.k8s.io], resources: [volumesnapshotcontents], verbs: [get, list]}
` }}
{{- $attacher := fromYamlArray `
- {apiGroups: [""], resources: [persistentvolumes], verbs: [get, list, watch, update]}
- {apiGroups: [""], resources: [nodes], verbs: [get, list, watch]}
- {apiGroups: [csi.storage.k8s.io], resources: [csinodeinfos], verbs: [get, list, watch]}
- {apiGroups: [storage.k8s.io], resources: [volumeattachments], verbs: [get, list, watch, update, patch]}
- {apiGroups: [storage.k8s.io], resources: [volumeattachments/status], verbs: [get, list, watch, update, patch]}
` }}
{{- $snapshotter := fromYamlArray `
- {apiGroups: [""], resources: [events], verbs: [list, watch, create, update, patch]}
- {apiGroups: [""], resources: [secrets], verbs: [get]}
- {apiGroups: [snapshot.storage.k8s.io], resources: [volumesnapshotclasses], verbs: [get, list, watch]}
- {apiGroups: [snapshot.storage.k8s.io], resources: [volumesnapshotcontents], verbs: [create, get, list, watch, update, delete, patch]}
- {apiGroups: [snapshot.storage.k8s.io], resources: [volumesnapshotcontents/status], verbs: [update, patch]}
` }}
{{- $resizer := fromYamlArray `
- {apiGroups: [""], resources: [persistentvolumes], verbs: [get, list, watch, update, patch]}
- {apiGroups: [""], resources: [persistentvolumeclaims], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [persistentvolumeclaims/status], verbs: [update, patch]}
- {apiGroups: [""], resources: [events], verbs: [list, watch, create, update, patch]}
- {apiGroups: [storage.k8s.io], resources: [volumeattributesclasses], verbs: [get, list, watch]}
` }}
{{ include "filestandin.clusterRole" (list . (printf "%s-external-provisioner-role" $name) (printf "%s-csi-provisioner-binding" $name) (append $provisioner $leases) $sa) }}
{{ include "filestandin.clusterRole" (list . (printf "%s-external-attacher-role" $name) (printf "%s-csi-attacher-binding" $name) (append $attacher $leases) $sa) }}
{{ include "filestandin.clusterRole" (list . (printf "%s-external-snapshotter-role" $name) (printf "%s-csi-snapshotter-binding" $name) (append $snapshotter $leases) $sa) }}
{{ include "filestandin.clusterRole" (list . (printf "%s-external-resizer-role" $name) (printf "%s-csi-resizer-role" $name) (append $resizer $leases) $sa) }}
{{ include "filestandin.clusterRole" (list . (printf "csi-%s-controller-secret-role" $name) (printf "csi-%s-controller-secret-binding" $name) (list (dict "apiGroups" (list "") "resources" (list "secrets") "verbs" (list "get" "create"))) $sa) }}
{{- end }}
