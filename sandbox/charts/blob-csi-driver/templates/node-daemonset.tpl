{{- /*
The node DaemonSet: init container install-blobfuse-proxy, containers liveness-probe, node-driver-registrar, blob
and (with node.enableAznfsMount) aznfswatchdog (upstream's names and order). Shapes follow upstream's 1.27 charts;
per version: before v1.23.2 the init container exists only with node.enableBlobfuseProxy, the registrar's health
endpoint and node.hostPath from 1.27.4, host-opt (azurecontainerlinux) from 1.27.5, the rhcos paths from 1.27.8,
node.additionalVolumes(Mounts) and the cos/gardenlinux/flatcar bin mounts from 1.26.8 (not at 1.27.0), and the init
container's settings follow the keys that version's values.yaml has.
*/ -}}
{{- $n := .Values.node -}}
{{- $img := .Values.image -}}
{{- $proxy := $n.blobfuseProxy -}}
{{- $kubelet := .Values.linux.kubelet -}}
{{- $distro := .Values.linux.distro -}}
{{- $since1274 := include "blobstandin.since" (list . "1.27.4") -}}
{{- $since1275 := include "blobstandin.since" (list . "1.27.5") -}}
{{- $rhcos := and (eq $distro "rhcos") (include "blobstandin.since" (list . "1.27.8")) -}}
{{- /* node.hostPath (1.27.4 on); on rhcos the default /usr/local is its real path /var/usrlocal (host side from
1.27.8, the mount inside the init container too from 1.27.9) */ -}}
{{- $paths := dict "usr" "/usr" "usrLocal" "/usr/local" "etc" "/etc" "opt" "/opt" -}}
{{- if $since1274 }}{{ $paths = merge (deepCopy ($n.hostPath | default dict)) $paths }}{{ end -}}
{{- $usrLocalHost := $paths.usrLocal -}}
{{- $usrLocalMount := $paths.usrLocal -}}
{{- if and $rhcos (eq $paths.usrLocal "/usr/local") -}}
{{- $usrLocalHost = "/var/usrlocal" -}}
{{- if include "blobstandin.since" (list . "1.27.9") }}{{ $usrLocalMount = "/var/usrlocal" }}{{ end -}}
{{- end -}}
{{- /* the distro host bin directories and node.additionalVolumes / additionalVolumeMounts: 1.26.8 to 1.26.16 and
from 1.27.1 */ -}}
{{- $binDirs := or (and (include "blobstandin.since" (list . "1.26.8")) (not (include "blobstandin.since" (list . "1.27.0")))) (include "blobstandin.since" (list . "1.27.1")) -}}
{{- $varBin := and $binDirs (or (eq $distro "gardenlinux") (eq $distro "flatcar") (and (eq $distro "azurecontainerlinux") (include "blobstandin.oneOf" (list . "1.27.4")))) -}}
{{- $cosBin := and $binDirs (eq $distro "cos") -}}
{{- $hostOpt := and $since1275 (eq $distro "azurecontainerlinux") -}}
{{- $initAlways := include "blobstandin.since" (list . "1.23.2") -}}
{{- /* node.affinity's top-level keys come after (and so replace) the DaemonSet's own nodeAffinity, as upstream's
rendering does */ -}}
{{- $affinity := dict "nodeAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (dict "nodeSelectorTerms" (list (dict "matchExpressions" (list (dict "key" "type" "operator" "NotIn" "values" (list "virtual-kubelet"))))))) -}}
{{- range $key, $value := $n.affinity }}{{ $_ := set $affinity $key $value }}{{ end -}}
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ $n.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    app: {{ $n.name }}
    {{- include "blobstandin.labels" . | nindent 4 }}
spec:
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: {{ $n.maxUnavailable }}
  selector:
    matchLabels:
      app: {{ $n.name }}
      {{- include "blobstandin.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- include "blobstandin.podMetadata" (list . $n.name) | nindent 6 }}
    spec:
{{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- if or $n.enableBlobfuseProxy $n.enableAznfsMount }}
      hostPID: true
{{- end }}
      hostNetwork: true
      dnsPolicy: Default
      serviceAccountName: {{ .Values.serviceAccount.node }}
      nodeSelector:
        kubernetes.io/os: linux
{{- with $n.nodeSelector }}
        {{- toYaml . | nindent 8 }}
{{- end }}
      affinity:
        {{- toYaml $affinity | nindent 8 }}
      priorityClassName: {{ .Values.priorityClassName | quote }}
      securityContext:
        {{- include "blobstandin.podSecurityContext" . | nindent 8 }}
{{- with $n.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- if or $initAlways $n.enableBlobfuseProxy }}
      initContainers:
        - name: install-blobfuse-proxy
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.blob) | quote }}
          imagePullPolicy: IfNotPresent
          command:
            - /blobfuse-proxy/init.sh
          securityContext:
            privileged: true
            capabilities:
              drop:
                - ALL
          env:
            - name: DEBIAN_FRONTEND
              value: noninteractive
            - name: INSTALL_BLOBFUSE
              value: {{ $proxy.installBlobfuse | toString | quote }}
{{- if hasKey $proxy "blobfuseVersion" }}
            - name: BLOBFUSE_VERSION
              value: {{ $proxy.blobfuseVersion | toString | quote }}
{{- end }}
            - name: INSTALL_BLOBFUSE2
              value: {{ $proxy.installBlobfuse2 | toString | quote }}
            - name: BLOBFUSE2_VERSION
              value: {{ $proxy.blobfuse2Version | toString | quote }}
{{- if $initAlways }}
            - name: INSTALL_BLOBFUSE_PROXY
              value: {{ $n.enableBlobfuseProxy | toString | quote }}
{{- end }}
            - name: SET_MAX_OPEN_FILE_NUM
              value: {{ $proxy.setMaxOpenFileNum | toString | quote }}
            - name: MAX_FILE_NUM
              value: {{ $proxy.maxOpenFileNum | toString | quote }}
            - name: DISABLE_UPDATEDB
              value: {{ $proxy.disableUpdateDB | toString | quote }}
{{- if include "blobstandin.since" (list . "1.24.1") }}
            - name: KUBELET_PATH
              value: {{ $kubelet | quote }}
{{- end }}
{{- if hasKey $proxy "migrateK8sRepo" }}
            - name: MIGRATE_K8S_REPO
              value: {{ $proxy.migrateK8sRepo | toString | quote }}
{{- end }}
{{- if hasKey $proxy "setReadAheadSize" }}
            - name: SET_READ_AHEAD_SIZE
              value: {{ $proxy.setReadAheadSize | toString | quote }}
{{- end }}
{{- if hasKey $proxy "allowPackageInstallDowngrade" }}
            - name: ALLOW_PACKAGE_INSTALL_DOWNGRADE
              value: {{ $proxy.allowPackageInstallDowngrade | toString | quote }}
{{- end }}
{{- if hasKey $proxy "aptHttpTimeout" }}
            - name: APT_HTTP_TIMEOUT
              value: {{ $proxy.aptHttpTimeout | toString | quote }}
{{- end }}
          volumeMounts:
{{- if $cosBin }}
            - name: host-home-kubernetes-bin
              mountPath: /host/home/kubernetes/bin
{{- end }}
{{- if $varBin }}
            - name: host-var-bin
              mountPath: /host/var/bin
{{- end }}
{{- if $hostOpt }}
            - name: host-opt
              mountPath: /host{{ $paths.opt }}
{{- end }}
            - name: host-usr
              mountPath: /host{{ $paths.usr }}
{{- if $initAlways }}
            - name: host-usr-local
              mountPath: /host{{ $usrLocalMount }}
{{- end }}
            - name: host-etc
              mountPath: /host{{ $paths.etc }}
{{- if $binDirs }}
{{- with $n.additionalVolumeMounts }}
            {{- toYaml . | nindent 12 }}
{{- end }}
{{- end }}
{{- end }}
      containers:
        - name: liveness-probe
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.livenessProbe) | quote }}
          imagePullPolicy: {{ $img.livenessProbe.pullPolicy }}
          args:
            - --csi-address=/csi/csi.sock
            - --probe-timeout=10s
            - --http-endpoint=localhost:{{ $n.livenessProbe.healthPort }}
            - --v=2
          volumeMounts:
            - name: socket-dir
              mountPath: /csi
          resources:
            {{- toYaml $n.resources.livenessProbe | nindent 12 }}
          securityContext:
            capabilities:
              drop:
                - ALL
        - name: node-driver-registrar
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.nodeDriverRegistrar) | quote }}
          args:
            - --csi-address=$(ADDRESS)
            - --kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)
            - --v=2
{{- if $since1274 }}
            - --http-endpoint=localhost:{{ $n.nodeDriverRegistrar.healthPort }}
{{- end }}
          env:
            - name: ADDRESS
              value: /csi/csi.sock
            - name: DRIVER_REG_SOCK_PATH
              value: {{ $kubelet }}/plugins/{{ .Values.driver.name }}/csi.sock
          volumeMounts:
            - name: socket-dir
              mountPath: /csi
            - name: registration-dir
              mountPath: /registration
          resources:
            {{- toYaml $n.resources.nodeDriverRegistrar | nindent 12 }}
{{- if $since1274 }}
{{- with $n.nodeDriverRegistrar }}
          ports:
            - name: healthz
              containerPort: {{ .healthPort }}
              protocol: TCP
          livenessProbe:
            httpGet:
              host: localhost
              path: /healthz
              port: healthz
            initialDelaySeconds: {{ .livenessProbe.initialDelaySeconds }}
            timeoutSeconds: {{ .livenessProbe.timeoutSeconds }}
            periodSeconds: {{ .livenessProbe.periodSeconds }}
            failureThreshold: {{ .livenessProbe.failureThreshold }}
{{- end }}
{{- end }}
          securityContext:
            capabilities:
              drop:
                - ALL
        - name: blob
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.blob) | quote }}
          args:
            - --v={{ $n.logLevel }}
            - --endpoint=$(CSI_ENDPOINT)
            - --blobfuse-proxy-endpoint=$(BLOBFUSE_PROXY_ENDPOINT)
            - --enable-blobfuse-proxy={{ $n.enableBlobfuseProxy }}
            - --nodeid=$(KUBE_NODE_NAME)
            - --drivername={{ .Values.driver.name }}
            - --cloud-config-secret-name={{ $n.cloudConfigSecretName }}
            - --cloud-config-secret-namespace={{ $n.cloudConfigSecretNamespace }}
            - --custom-user-agent={{ .Values.driver.customUserAgent }}
            - --user-agent-suffix={{ .Values.driver.userAgentSuffix }}
            - --allow-empty-cloud-config={{ $n.allowEmptyCloudConfig }}
            - --enable-get-volume-stats={{ .Values.feature.enableGetVolumeStats }}
            - --append-timestamp-cache-dir={{ $n.appendTimeStampInCacheDir }}
            - --mount-permissions={{ $n.mountPermissions }}
            - --allow-inline-volume-key-access-with-idenitity={{ $n.allowInlineVolumeKeyAccessWithIdentity }}
{{- if hasKey $n "enableAznfsMount" }}
            - --enable-aznfs-mount={{ $n.enableAznfsMount }}
{{- end }}
{{- if hasKey $n "metricsPort" }}
            - --metrics-address=0.0.0.0:{{ $n.metricsPort }}
{{- end }}
{{- if and (hasKey $n "metricsPort") (or (include "blobstandin.since" (list . "1.26.1")) (include "blobstandin.oneOf" (list . "1.25.4" "1.25.6"))) }}
          ports:
            - name: metrics
              containerPort: {{ $n.metricsPort }}
              protocol: TCP
{{- end }}
          livenessProbe:
            httpGet:
              host: localhost
              path: /healthz
              port: {{ $n.livenessProbe.healthPort }}
            initialDelaySeconds: 30
            timeoutSeconds: 30
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
            - name: BLOBFUSE_PROXY_ENDPOINT
              value: unix:///csi/blobfuse-proxy.sock
{{- with .Values.driver.httpsProxy }}
            - name: HTTPS_PROXY
              value: {{ . }}
{{- end }}
{{- with .Values.driver.httpProxy }}
            - name: HTTP_PROXY
              value: {{ . }}
{{- end }}
            - name: KUBE_NODE_NAME
              valueFrom:
                fieldRef:
                  apiVersion: v1
                  fieldPath: spec.nodeName
            - name: AZURE_GO_SDK_LOG_LEVEL
              value: {{ .Values.driver.azureGoSDKLogLevel }}
{{- if eq .Values.cloud "AzureStackCloud" }}
            - name: AZURE_ENVIRONMENT_FILEPATH
              value: /etc/kubernetes/azurestackcloud.json
{{- end }}
          imagePullPolicy: {{ $img.blob.pullPolicy }}
          securityContext:
            privileged: true
            capabilities:
              drop:
                - ALL
          volumeMounts:
            - name: socket-dir
              mountPath: /csi
            - name: mountpoint-dir
              mountPath: {{ $kubelet }}/
              mountPropagation: Bidirectional
            - name: azure-cred
              mountPath: /etc/kubernetes/
            - name: blob-cache
              mountPath: /mnt
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
{{- if $n.enableAznfsMount }}
            - name: aznfs-data
              mountPath: /opt/microsoft/aznfs/data
            - name: lib-modules
              mountPath: /lib/modules
              readOnly: true
{{- end }}
          resources:
            {{- toYaml $n.resources.blob | nindent 12 }}
{{- if $n.enableAznfsMount }}
        - name: aznfswatchdog
          image: {{ include "blobstandin.image" (list $img.baseRepo $img.blob) | quote }}
          command:
            - aznfswatchdog
          imagePullPolicy: {{ $img.blob.pullPolicy }}
          securityContext:
            privileged: true
            capabilities:
              drop:
                - ALL
          resources:
            {{- toYaml $n.resources.aznfswatchdog | nindent 12 }}
          volumeMounts:
            - name: aznfs-data
              mountPath: /opt/microsoft/aznfs/data
            - name: mountpoint-dir
              mountPath: {{ $kubelet }}/
              mountPropagation: Bidirectional
{{- end }}
      volumes:
{{- if $cosBin }}
        - name: host-home-kubernetes-bin
          hostPath:
            path: /home/kubernetes/bin
{{- end }}
{{- if $varBin }}
        - name: host-var-bin
          hostPath:
            path: /var/bin
{{- end }}
{{- if $hostOpt }}
        - name: host-opt
          hostPath:
            path: {{ $paths.opt }}
{{- end }}
{{- if or $initAlways $n.enableBlobfuseProxy }}
        - name: host-usr
          hostPath:
            path: {{ $paths.usr }}
{{- if $initAlways }}
        - name: host-usr-local
          hostPath:
            path: {{ $usrLocalHost }}
{{- end }}
        - name: host-etc
          hostPath:
            path: {{ $paths.etc }}
{{- end }}
        - name: socket-dir
          hostPath:
            path: {{ $kubelet }}/plugins/{{ .Values.driver.name }}
            type: DirectoryOrCreate
        - name: mountpoint-dir
          hostPath:
            path: {{ $kubelet }}/
            type: DirectoryOrCreate
        - name: registration-dir
          hostPath:
            path: {{ $kubelet }}/plugins_registry/
            type: DirectoryOrCreate
        - name: azure-cred
          hostPath:
            path: /etc/kubernetes/
            type: DirectoryOrCreate
        - name: blob-cache
          hostPath:
            path: {{ $n.blobfuseCachePath }}
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
{{- if $n.enableAznfsMount }}
        - name: aznfs-data
          hostPath:
            path: /opt/microsoft/aznfs/data
            type: DirectoryOrCreate
        - name: lib-modules
          hostPath:
            path: /lib/modules
            type: DirectoryOrCreate
{{- end }}
{{- if $binDirs }}
{{- with $n.additionalVolumes }}
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- end }}
