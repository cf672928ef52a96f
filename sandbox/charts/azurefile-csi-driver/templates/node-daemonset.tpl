{{- /*
The Linux node plugin DaemonSet (upstream templates/csi-azurefile-node.yaml at 1.35.7): name linux.dsName, pods
labelled app: <dsName>, hostNetwork (hostPID with the azurefile proxy), service account serviceAccount.node; init
container install-azurefile-proxy, containers liveness-probe, node-driver-registrar, azfilesrefresh (only with
node.enableManagedIdentityAuth: it keeps the Kerberos tickets of identity mounts fresh) and azurefile, whose image tag
is the driver version the sandbox kubelet reads. Older versions render the same shape (sandbox/charts/README.md).
*/ -}}
{{- if .Values.linux.enabled }}
{{- $kubelet := .Values.linux.kubelet }}
{{- $mi := .Values.node.enableManagedIdentityAuth }}
{{- $proxy := .Values.node.azurefileProxy | default dict }}
{{- $hasProxy := hasKey .Values.node "azurefileProxy" }}
{{- $hasMI := hasKey .Values.node "enableManagedIdentityAuth" }}
{{- $image := include "filestandin.image" (list .Values.image.baseRepo .Values.image.azurefile) }}
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Values.linux.dsName }}
  namespace: {{ .Release.Namespace }}
  labels:
    app: {{ .Values.linux.dsName }}
    {{- include "filestandin.labels" . | nindent 4 }}
{{- with .Values.linux.labels }}
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- with .Values.linux.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
spec:
{{- if .Values.node.strategyType }}
  updateStrategy:
    rollingUpdate:
      maxUnavailable: {{ .Values.node.maxUnavailable }}
    type: {{ .Values.node.strategyType }}
{{- end }}
  selector:
    matchLabels:
      app: {{ .Values.linux.dsName }}
      {{- include "filestandin.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "filestandin.podLabels" (list . .Values.linux.dsName .Values.linux.podLabels) | nindent 8 }}
{{- with .Values.linux.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
{{- end }}
    spec:
      hostNetwork: true
{{- if $proxy.enabled }}
      hostPID: true
{{- end }}
      dnsPolicy: {{ .Values.linux.dnsPolicy }}
      serviceAccountName: {{ .Values.serviceAccount.node }}
      nodeSelector:
        kubernetes.io/os: linux
{{- with .Values.linux.nodeSelector }}
        {{- toYaml . | nindent 8 }}
{{- end }}
      affinity:
{{- with .Values.linux.affinity }}
        {{- toYaml . | nindent 8 }}
{{- end }}
        nodeAffinity:
          {{- toYaml .Values.linux.nodeAffinity | nindent 10 }}
      priorityClassName: system-node-critical
      securityContext:
        seccompProfile:
          type: RuntimeDefault
{{- with .Values.linux.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- if $hasProxy }}
      initContainers:
        - name: install-azurefile-proxy
          image: {{ $image | quote }}
          imagePullPolicy: IfNotPresent
          command: ["/azurefile-proxy/init.sh"]
          securityContext:
            privileged: true
            capabilities:
              drop: [ALL]
          env:
            - {name: DEBIAN_FRONTEND, value: noninteractive}
            - {name: AZNFS_NONINTERACTIVE_INSTALL, value: "1"}
            - {name: INSTALL_AZUREFILE_PROXY, value: {{ printf "%v" $proxy.enabled | quote }}}
            - {name: INSTALL_AZNFS_MOUNT, value: {{ printf "%v" $proxy.installAznfsMount | quote }}}
            - {name: KUBELET_PATH, value: {{ $kubelet | quote }}}
            - {name: MIGRATE_K8S_REPO, value: {{ printf "%v" $proxy.migrateK8sRepo | quote }}}
{{- if $hasMI }}
            - {name: ENABLE_MI_AUTH, value: {{ printf "%v" $mi | quote }}}
{{- end }}
          volumeMounts:
            - {name: host-usr, mountPath: /host/usr}
            - {name: host-etc, mountPath: /host/etc}
{{- if $mi }}
            - {name: mountpoint-dir, mountPath: {{ $kubelet | quote }}, mountPropagation: Bidirectional}
{{- end }}
{{- end }}
      containers:
        - name: liveness-probe
          image: {{ include "filestandin.image" (list .Values.image.baseRepo .Values.image.livenessProbe) | quote }}
          imagePullPolicy: {{ .Values.image.livenessProbe.pullPolicy }}
          args:
            - --csi-address=/csi/csi.sock
            - --probe-timeout=10s
            - --http-endpoint=localhost:{{ .Values.node.livenessProbe.healthPort }}
            - --v=2
          volumeMounts:
            - {name: socket-dir, mountPath: /csi}
          resources:
            {{- toYaml .Values.linux.resources.livenessProbe | nindent 12 }}
        {{- include "filestandin.registrar" . | nindent 8 }}
{{- if $mi }}
        - name: azfilesrefresh
          image: {{ $image | quote }}
          imagePullPolicy: {{ .Values.image.azurefile.pullPolicy }}
          command: [azfilesrefresh]
          securityContext:
            privileged: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - {name: mountpoint-dir, mountPath: {{ $kubelet | quote }}, mountPropagation: Bidirectional}
            - {name: azfilesauth, mountPath: /etc/azfilesauth}
            - {name: log-dir, mountPath: /var/log/}
          {{- /* upstream reads linux.resources.azfilesrefresh, which its values do not define: null */}}
          resources: {{ toYaml .Values.linux.resources.azfilesrefresh }}
{{- end }}
        {{- include "filestandin.nodeDriver" (list . $image) | nindent 8 }}
      volumes:
{{- if $hasProxy }}
        - {name: host-usr, hostPath: {path: /usr}}
        - {name: host-etc, hostPath: {path: /etc}}
{{- end }}
{{- if $hasMI }}
        - {name: azfilesauth, hostPath: {path: /etc/azfilesauth, type: DirectoryOrCreate}}
{{- end }}
        - name: socket-dir
          hostPath: {path: {{ printf "%s/plugins/%s" $kubelet .Values.driver.name | quote }}, type: DirectoryOrCreate}
        - {name: mountpoint-dir, hostPath: {path: {{ printf "%s/" $kubelet | quote }}, type: DirectoryOrCreate}}
        - name: registration-dir
          hostPath: {path: {{ printf "%s/plugins_registry/" $kubelet | quote }}, type: DirectoryOrCreate}
        - {name: azure-cred, hostPath: {path: /etc/kubernetes/, type: DirectoryOrCreate}}
        - {name: device-dir, hostPath: {path: /dev, type: Directory}}
        {{- include "filestandin.fedoraCerts" (list . "volumes") | nindent 8 }}
{{- if .Values.node.enableKataCCMount }}
        - name: kata-direct-volumes
          hostPath: {path: /run/kata-containers/shared/direct-volumes/, type: DirectoryOrCreate}
{{- end }}
{{- if $mi }}
        - {name: log-dir, hostPath: {path: /var/log/, type: DirectoryOrCreate}}
{{- end }}
{{- end }}
