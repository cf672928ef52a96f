apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Values.node.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "blobstandin.labels" . | nindent 4 }}
    app: {{ .Values.node.name }}
spec:
  selector:
    matchLabels:
      app: {{ .Values.node.name }}
  template:
    metadata:
      labels:
        {{- include "blobstandin.labels" . | nindent 8 }}
        app: {{ .Values.node.name }}
      annotations:
        blob.csi.azure.com/blobfuse-proxy: {{ ternary "enabled" "disabled" .Values.node.enableBlobfuseProxy | quote }}
    spec:
      serviceAccountName: {{ .Values.serviceAccount.node }}
      hostNetwork: true
      nodeSelector:
        kubernetes.io/os: linux
{{- with .Values.node.nodeSelector }}
        {{- toYaml . | nindent 8 }}
{{- end }}
      # As upstream: never on virtual-kubelet nodes; node.affinity adds to it.
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - key: type
                    operator: NotIn
                    values:
                      - virtual-kubelet
{{- with .Values.node.affinity }}
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- with .Values.node.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
{{- end }}
      priorityClassName: system-node-critical
{{- if .Values.node.enableBlobfuseProxy }}
      initContainers:
        # Installs blobfuse-proxy on the node so mounts survive driver restarts.
        - name: install-blobfuse-proxy
          image: {{ include "blobstandin.image" . }}
          command: ["/blobfuse-proxy/init.sh"]
{{- end }}
      containers:
        - name: node-driver-registrar
          image: mcr.microsoft.com/oss/v2/kubernetes-csi/csi-node-driver-registrar:v2.13.0
          args:
            - --csi-address=/csi/csi.sock
            - --kubelet-registration-path=/var/lib/kubelet/plugins/blob.csi.azure.com/csi.sock
        - name: blob
          image: {{ include "blobstandin.image" . }}
          args:
            - --endpoint=unix:///csi/csi.sock
            - --nodeid=$(KUBE_NODE_NAME)
            - --drivername={{ .Values.driver.name }}
            - --enable-blobfuse-proxy={{ .Values.node.enableBlobfuseProxy }}
          env:
            - name: KUBE_NODE_NAME
              valueFrom:
                fieldRef:
                  fieldPath: spec.nodeName
{{- with include "blobstandin.identityEnv" . | trim }}
            {{- . | nindent 12 }}
{{- end }}
