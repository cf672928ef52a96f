{{- /*
The controller Deployment (upstream templates/csi-azurefile-controller.yaml at 1.35.7): name controller.name, replicas
controller.replicas, pods labelled app: <name>, service account serviceAccount.controller; containers csi-provisioner,
csi-snapshotter, csi-resizer, liveness-probe and azurefile. Older versions render the same shape (their csi-attacher
is left out, see sandbox/charts/README.md).
*/ -}}
{{- $c := .Values.controller }}
{{- $ns := .Release.Namespace }}
{{- $drop := dict "capabilities" (dict "drop" (list "ALL")) }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $c.name }}
  namespace: {{ $ns }}
  labels:
    app: {{ $c.name }}
    {{- include "filestandin.labels" . | nindent 4 }}
{{- with $c.labels }}
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- with $c.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
spec:
  replicas: {{ $c.replicas }}
  selector:
    matchLabels:
      {{- include "filestandin.selectorLabels" . | nindent 6 }}
      app: {{ $c.name }}
{{- with $c.strategyType }}
  strategy:
    type: {{ . }}
{{- end }}
  template:
    metadata:
      labels:
        {{- include "filestandin.podLabels" (list . $c.name $c.podLabels) | nindent 8 }}
{{- with $c.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
{{- end }}
    spec:
      hostNetwork: {{ $c.hostNetwork }}
      serviceAccountName: {{ .Values.serviceAccount.controller }}
      nodeSelector:
        kubernetes.io/os: linux
{{- with $c.nodeSelector }}
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- if contains "nodeSelectorTerms" (toYaml $c.affinity) }}
      affinity:
        {{- toYaml $c.affinity | nindent 8 }}
{{- else if or $c.runOnControlPlane $c.runOnMaster }}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
{{- if $c.runOnControlPlane }}
                  - {key: node-role.kubernetes.io/control-plane, operator: Exists}
{{- end }}
{{- if $c.runOnMaster }}
                  - {key: node-role.kubernetes.io/master, operator: Exists}
{{- end }}
{{- end }}
      priorityClassName: system-cluster-critical
      securityContext:
        seccompProfile:
          type: RuntimeDefault
{{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
{{- end }}
      containers:
        - name: csi-provisioner
          image: {{ include "filestandin.image" (list .Values.image.baseRepo .Values.image.csiProvisioner) | quote }}
          imagePullPolicy: {{ .Values.image.csiProvisioner.pullPolicy }}
          args:
            - -v=2
            - --csi-address=$(ADDRESS)
            - --leader-election
            - --leader-election-namespace={{ $ns }}
            - --timeout=1200s
            - --extra-create-metadata=true
            - --kube-api-qps=50
            - --kube-api-burst=100
            - --retry-interval-max=30m
            - --feature-gates=VolumeAttributesClass=true
          env:
            - {name: ADDRESS, value: /csi/csi.sock}
          volumeMounts:
            - {name: socket-dir, mountPath: /csi}
          resources:
            {{- toYaml $c.resources.csiProvisioner | nindent 12 }}
          securityContext:
            {{- toYaml $drop | nindent 12 }}
        - name: csi-snapshotter
          image: {{ include "filestandin.image" (list .Values.image.baseRepo .Values.snapshot.image.csiSnapshotter) | quote }}
          args:
            - -csi-address=$(ADDRESS)
            - -leader-election
            - --leader-election-namespace={{ $ns }}
            - -v=2
            - --kube-api-qps=100
            - --kube-api-burst=200
            - --retry-interval-max=30m
          env:
            - {name: ADDRESS, value: /csi/csi.sock}
          volumeMounts:
            - {name: socket-dir, mountPath: /csi}
          resources:
            {{- toYaml $c.resources.csiSnapshotter | nindent 12 }}
          securityContext:
            {{- toYaml $drop | nindent 12 }}
        - name: csi-resizer
          image: {{ include "filestandin.image" (list .Values.image.baseRepo .Values.image.csiResizer) | quote }}
          imagePullPolicy: {{ .Values.image.csiResizer.pullPolicy }}
          args:
            - -csi-address=$(ADDRESS)
            - -v=2
            - -leader-election
            - --leader-election-namespace={{ $ns }}
            - -handle-volume-inuse-error=false
            - -timeout=120s
            - -feature-gates=RecoverVolumeExpansionFailure=true,VolumeAttributesClass=true
            - --retry-interval-max=30m
          env:
            - {name: ADDRESS, value: /csi/csi.sock}
          volumeMounts:
            - {name: socket-dir, mountPath: /csi}
          resources:
            {{- toYaml $c.resources.csiResizer | nindent 12 }}
          securityContext:
            {{- toYaml $drop | nindent 12 }}
        - name: liveness-probe
          image: {{ include "filestandin.image" (list .Values.image.baseRepo .Values.image.livenessProbe) | quote }}
          imagePullPolicy: {{ .Values.image.livenessProbe.pullPolicy }}
          args:
            - --csi-address=/csi/csi.sock
            - --probe-timeout=3s
{{- if eq $c.hostNetwork true }}
            - --http-endpoint=localhost:{{ $c.livenessProbe.healthPort }}
{{- else }}
            - --health-port={{ $c.livenessProbe.healthPort }}
{{- end }}
            - --v=2
          volumeMounts:
            - {name: socket-dir, mountPath: /csi}
          resources:
            {{- toYaml $c.resources.livenessProbe | nindent 12 }}
          securityContext:
            {{- toYaml $drop | nindent 12 }}
        {{- include "filestandin.controllerDriver" . | nindent 8 }}
      volumes:
        - {name: socket-dir, emptyDir: {}}
        - {name: azcopy-dir, emptyDir: {}}
        - {name: azure-cred, hostPath: {path: /etc/kubernetes/, type: DirectoryOrCreate}}
        {{- include "filestandin.fedoraCerts" (list . "volumes") | nindent 8 }}
