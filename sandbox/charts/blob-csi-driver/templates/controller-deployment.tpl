apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.controller.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "blobstandin.labels" . | nindent 4 }}
    app: {{ .Values.controller.name }}
spec:
  replicas: {{ .Values.controller.replicas }}
  selector:
    matchLabels:
      app: {{ .Values.controller.name }}
  template:
    metadata:
      labels:
        {{- include "blobstandin.labels" . | nindent 8 }}
        app: {{ .Values.controller.name }}
    spec:
      serviceAccountName: {{ .Values.serviceAccount.controller }}
      nodeSelector:
        kubernetes.io/os: linux
{{- with .Values.controller.nodeSelector }}
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- with .Values.controller.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
{{- end }}
      priorityClassName: system-cluster-critical
      containers:
        - name: csi-provisioner
          image: mcr.microsoft.com/oss/v2/kubernetes-csi/csi-provisioner:v5.2.0
          args:
            - --csi-address=$(ADDRESS)
            - --leader-election
          env:
            - name: ADDRESS
              value: /csi/csi.sock
        - name: blob
          image: {{ include "blobstandin.image" . }}
          args:
            - --endpoint=$(CSI_ENDPOINT)
            - --drivername={{ .Values.driver.name }}
          env:
            - name: CSI_ENDPOINT
              value: unix:///csi/csi.sock
{{- with include "blobstandin.identityEnv" . | trim }}
            {{- . | nindent 12 }}
{{- end }}
