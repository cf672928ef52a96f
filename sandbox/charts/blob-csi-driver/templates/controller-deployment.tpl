{{- /*
The controller Deployment: containers csi-provisioner, liveness-probe, blob and csi-resizer (upstream's names and
order). Shapes follow upstream's 1.27 charts; the per-version differences kept are the provisioner's and resizer's
feature gates and the provisioner's timeout and retry interval.
*/ -}}
{{- $c := .Values.controller -}}
{{- $img := .Values.image -}}
{{- $hostNet := eq $c.hostNetwork true -}}
{{- $since1274 := include "blobstandin.since" (list . "1.27.4") -}}
{{- $only1272 := include "blobstandin.oneOf" (list . "1.27.2") -}}
{{- /* Before v1.24.6 and at 1.25.0: controller.affinity as given, runOnMaster / runOnControlPlane as node labels
in the nodeSelector. Since: controller.affinity only when it has nodeSelectorTerms (never at v1.24.6 and 1.25.1,
whose check has its arguments swapped), else runOnControlPlane / runOnMaster as node affinity. */ -}}
{{- $legacy := or (not (include "blobstandin.since" (list . "1.24.6"))) (include "blobstandin.oneOf" (list . "1.25.0")) -}}
{{- $nodeSelector := dict -}}
{{- $affinity := dict -}}
{{- if $legacy -}}
{{- $affinity = $c.affinity | default dict -}}
{{- if $c.runOnMaster }}{{ $_ := set $nodeSelector "node-role.kubernetes.io/master" "" }}{{ end -}}
{{- if $c.runOnControlPlane }}{{ $_ := set $nodeSelector "node-role.kubernetes.io/control-plane" "" }}{{ end -}}
{{- else if and (contains "nodeSelectorTerms" (toYaml $c.affinity)) (not (include "blobstandin.oneOf" (list . "1.24.6" "1.25.1"))) -}}
{{- $affinity = $c.affinity -}}
{{- else if or $c.runOnControlPlane $c.runOnMaster -}}
{{- $exprs := list -}}
{{- if $c.runOnControlPlane }}{{ $exprs = append $exprs (dict "key" "node-role.kubernetes.io/control-plane" "operator" "Exists") }}{{ end -}}
{{- if $c.runOnMaster }}{{ $exprs = append $exprs (dict "key" "node-role.kubernetes.io/master" "operator" "Exists") }}{{ end -}}
{{- $affinity = dict "nodeAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (dict "nodeSelectorTerms" (list (dict "matchExpressions" $exprs)))) -}}
{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $c.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    app: {{ $c.name }}
    {{- include "blobstandin.labels" . | nindent 4 }}
spec:
  replicas: {{ $c.replicas }}
  selector:
    matchLabels:
      app: {{ $c.name }}
      {{- include "blobstandin.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- include "blobstandin.podMetadata" (list . $c.name) | nindent 6 }}
    spec:
{{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
{{- end }}
      hostNetwork: {{ $c.hostNetwork }}
      serviceAccountName: {{ .Values.serviceAccount.controller }}
      nodeSelector:
        kubernetes.io/os: linux
{{- with $nodeSelector }}
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- /* from v1.24.6 (not 1.25.0) upstream places controller.nodeSelector after the affinity block: it reaches the
nodeSelector only when no affinity is rendered */ -}}
{{- if or $legacy (not $affinity) }}
{{- with $c.nodeSelector }}
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- end }}
{{- with $affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
{{- end }}
      priorityClassName: {{ .Values.priorityClassName | quote }}
      securityContext:
        {{- include "blobstandin.podSecurityContext" . | nindent 8 }}
{{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
{{- end }}
      containers:
        - name: csi-provisioner
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.csiProvisioner) | quote }}
          args:
            - -v=2
            - --csi-address=$(ADDRESS)
            - --leader-election
            - --leader-election-namespace={{ .Release.Namespace }}
            - --timeout={{ ternary "1200s" "120s" (include "blobstandin.since" (list . "1.23.1") | empty | not) }}
            - --extra-create-metadata=true
            - --kube-api-qps=50
            - --kube-api-burst=100
{{- if $since1274 }}
            - --retry-interval-max=30m
            - --feature-gates=VolumeAttributesClass=false
{{- else }}
{{- if include "blobstandin.since" (list . "1.23.0") }}
            - --feature-gates=HonorPVReclaimPolicy=true{{ if $only1272 }},VolumeAttributesClass=false{{ end }}
{{- end }}
{{- if include "blobstandin.since" (list . "1.24.6") }}
            - --retry-interval-max=30m
{{- end }}
{{- end }}
          env:
            - name: ADDRESS
              value: /csi/csi.sock
          imagePullPolicy: {{ $img.csiProvisioner.pullPolicy }}
          volumeMounts:
            - name: socket-dir
              mountPath: /csi
          resources:
            {{- toYaml $c.resources.csiProvisioner | nindent 12 }}
          securityContext:
            capabilities:
              drop:
                - ALL
        - name: liveness-probe
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.livenessProbe) | quote }}
          args:
            - --csi-address=/csi/csi.sock
            - --probe-timeout=3s
{{- if $hostNet }}
            - --http-endpoint=localhost:{{ $c.livenessProbe.healthPort }}
{{- else }}
            - --health-port={{ $c.livenessProbe.healthPort }}
{{- end }}
          imagePullPolicy: {{ $img.livenessProbe.pullPolicy }}
          volumeMounts:
            - name: socket-dir
              mountPath: /csi
          resources:
            {{- toYaml $c.resources.livenessProbe | nindent 12 }}
          securityContext:
            capabilities:
              drop:
                - ALL
        - name: blob
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.blob) | quote }}
          args:
            - --v={{ $c.logLevel }}
            - --endpoint=$(CSI_ENDPOINT)
            - --metrics-address=0.0.0.0:{{ $c.metricsPort }}
            - --drivername={{ .Values.driver.name }}
            - --custom-user-agent={{ .Values.driver.customUserAgent }}
            - --user-agent-suffix={{ .Values.driver.userAgentSuffix }}
            - --cloud-config-secret-name={{ $c.cloudConfigSecretName }}
            - --cloud-config-secret-namespace={{ $c.cloudConfigSecretNamespace }}
            - --allow-empty-cloud-config={{ $c.allowEmptyCloudConfig }}
          ports:
            - name: metrics
              containerPort: {{ $c.metricsPort }}
              protocol: TCP
{{- if not $hostNet }}
            - name: healthz
              containerPort: {{ $c.livenessProbe.healthPort }}
              protocol: TCP
{{- end }}
          livenessProbe:
            httpGet:
              path: /healthz
{{- if $hostNet }}
              host: localhost
              port: {{ $c.livenessProbe.healthPort }}
{{- else }}
              port: healthz
{{- end }}
            initialDelaySeconds: 30
            timeoutSeconds: 10
            periodSeconds: 30
            failureThreshold: 5
          env:
            - name: AZURE_CREDENTIAL_FILE
              valueFrom:
                configMapKeyRef:
                  name: azure-cred-file
                  key: path
                  optional: true
            - name: CSI_ENDPOINT
              value: unix:///csi/csi.sock
{{- with .Values.driver.httpsProxy }}
            - name: HTTPS_PROXY
              value: {{ . }}
{{- end }}
{{- with .Values.driver.httpProxy }}
            - name: HTTP_PROXY
              value: {{ . }}
{{- end }}
            - name: AZURE_GO_SDK_LOG_LEVEL
              value: {{ .Values.driver.azureGoSDKLogLevel }}
{{- if eq .Values.cloud "AzureStackCloud" }}
            - name: AZURE_ENVIRONMENT_FILEPATH
              value: /etc/kubernetes/azurestackcloud.json
{{- end }}
            - name: AZCOPY_CONCURRENCY_VALUE
              value: "10"
            - name: AZCOPY_CONCURRENT_FILES
              value: "20"
            - name: AZCOPY_BUFFER_GB
              value: "1"
          imagePullPolicy: {{ $img.blob.pullPolicy }}
          volumeMounts:
            - name: socket-dir
              mountPath: /csi
            - name: azcopy-dir
              mountPath: /root/.azcopy
            - name: azure-cred
              mountPath: /etc/kubernetes/
{{- if include "blobstandin.needsHostCerts" . }}
            - name: ssl
              mountPath: /etc/ssl/certs
              readOnly: true
{{- end }}
{{- if include "blobstandin.redHat" . }}
            - name: ssl-pki
              mountPath: /etc/pki/ca-trust/extracted
              readOnly: true
{{- end }}
          resources:
            {{- toYaml $c.resources.blob | nindent 12 }}
          securityContext:
            capabilities:
              drop:
                - ALL
        - name: csi-resizer
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.csiResizer) | quote }}
          args:
            - -csi-address=$(ADDRESS)
            - -v=2
            - -leader-election
            - --leader-election-namespace={{ .Release.Namespace }}
            - -handle-volume-inuse-error=false
{{- if $since1274 }}
            - --feature-gates=VolumeAttributesClass=false
{{- else if $only1272 }}
            - -feature-gates=VolumeAttributesClass=false
{{- end }}
          env:
            - name: ADDRESS
              value: /csi/csi.sock
          imagePullPolicy: {{ $img.csiResizer.pullPolicy }}
          volumeMounts:
            - name: socket-dir
              mountPath: /csi
          resources:
            {{- toYaml $c.resources.csiResizer | nindent 12 }}
          securityContext:
            capabilities:
              drop:
                - ALL
      volumes:
        - name: socket-dir
          emptyDir: {}
        - name: azcopy-dir
          emptyDir: {}
        - name: azure-cred
          hostPath:
            path: /etc/kubernetes/
            type: DirectoryOrCreate
{{- if include "blobstandin.needsHostCerts" . }}
        - name: ssl
          hostPath:
            path: /etc/ssl/certs
{{- end }}
{{- if include "blobstandin.redHat" . }}
        - name: ssl-pki
          hostPath:
            path: /etc/pki/ca-trust/extracted
{{- end }}
