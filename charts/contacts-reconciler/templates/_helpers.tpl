{{/* Names, labels and the pod template shared by the Deployment and the StatefulSet. */}}

{{- define "contacts-reconciler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "contacts-reconciler.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "contacts-reconciler.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "contacts-reconciler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "contacts-reconciler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "contacts-reconciler.labels" -}}
helm.sh/chart: {{ include "contacts-reconciler.chart" . }}
{{ include "contacts-reconciler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: contacts-reconciler
{{- end }}

{{- define "contacts-reconciler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "contacts-reconciler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "contacts-reconciler.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "contacts-reconciler.configMapName" -}}
{{- printf "%s-config" (include "contacts-reconciler.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "contacts-reconciler.manifestsConfigMapName" -}}
{{- if .Values.manifests.configMap.existing }}
{{- .Values.manifests.configMap.existing }}
{{- else }}
{{- printf "%s-manifests" (include "contacts-reconciler.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "contacts-reconciler.stateClaimName" -}}
{{- if .Values.state.persistence.existingClaim }}
{{- .Values.state.persistence.existingClaim }}
{{- else }}
{{- printf "%s-state" (include "contacts-reconciler.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The spec of the state PersistentVolumeClaim (one claim, or one per shard). */}}
{{- define "contacts-reconciler.stateClaimSpec" -}}
{{- $persistence := .Values.state.persistence }}
accessModes:
  {{- toYaml $persistence.accessModes | nindent 2 }}
{{- with $persistence.storageClassName }}
storageClassName: {{ . | quote }}
{{- end }}
resources:
  requests:
    storage: {{ $persistence.size }}
{{- end }}

{{/* A ConfigMap key for a manifest path: keys cannot hold '/', the volume item restores it. */}}
{{- define "contacts-reconciler.manifestKey" -}}
{{- printf "%s.%s" (sha256sum . | trunc 8) (regexReplaceAll "[^-._a-zA-Z0-9]" . "_") | trunc 253 }}
{{- end }}

{{- define "contacts-reconciler.shardArg" -}}
{{- if .Values.sharding.enabled }}
{{- printf "--shard=auto/%d" (int .Values.sharding.shards) }}
{{- else }}
{{- "--shard=0/1" }}
{{- end }}
{{- end }}

{{/* A manifests path as the controller sees it: relative paths live in the checkout. */}}
{{- define "contacts-reconciler.manifestsPath" -}}
{{- if isAbs . }}{{ clean . }}{{ else }}{{ clean (printf "/manifests/current/%s" .) }}{{ end }}
{{- end }}

{{/* Whether there is an accounts file: accounts listed, or selected from the Directory. */}}
{{- define "contacts-reconciler.hasConfig" -}}
{{- if or .Values.accounts .Values.directory }}true{{ end }}
{{- end }}

{{/* Entries (accounts or directory entries) with their manifests resolved in the checkout. */}}
{{- define "contacts-reconciler.withManifestPaths" -}}
{{- $entries := list }}
{{- range . }}
{{- $entry := deepCopy . }}
{{- if kindIs "string" $entry.manifests }}
{{- $_ := set $entry "manifests" (include "contacts-reconciler.manifestsPath" $entry.manifests) }}
{{- else }}
{{- $paths := list }}
{{- range $entry.manifests }}
{{- $paths = append $paths (include "contacts-reconciler.manifestsPath" .) }}
{{- end }}
{{- $_ := set $entry "manifests" $paths }}
{{- end }}
{{- $entries = append $entries $entry }}
{{- end }}
{{- dict "entries" $entries | toJson }}
{{- end }}

{{/* The accounts config file of `reconciler run --config`. */}}
{{- define "contacts-reconciler.accountsConfig" -}}
{{- $config := dict }}
{{- if .Values.accounts }}
{{- $_ := set $config "accounts" (include "contacts-reconciler.withManifestPaths" .Values.accounts | fromJson).entries }}
{{- end }}
{{- if .Values.directory }}
{{- $_ := set $config "directory" (include "contacts-reconciler.withManifestPaths" .Values.directory | fromJson).entries }}
{{- end }}
{{- $config | toYaml }}
{{- end }}

{{- define "contacts-reconciler.gitSyncContainer" -}}
{{- $git := .root.Values.manifests.git }}
{{- $creds := $git.credentials }}
- name: {{ .name }}
  image: {{ printf "%s:%s" $git.image.repository $git.image.tag | quote }}
  imagePullPolicy: {{ $git.image.pullPolicy }}
  args:
    - {{ printf "--repo=%s" $git.repo | quote }}
    - {{ printf "--ref=%s" $git.ref | quote }}
    - --root=/manifests
    - --link=current
    - {{ printf "--period=%s" $git.period | quote }}
    - {{ printf "--depth=%d" (int $git.depth) | quote }}
    {{- if .oneTime }}
    - --one-time
    {{- else }}
    - --max-failures=-1
    {{- end }}
    {{- if $creds.existingSecret }}
    {{- if eq $creds.type "ssh" }}
    - {{ printf "--ssh-key-file=/etc/git-secret/%s" $creds.sshKeyKey | quote }}
    - --ssh-known-hosts=true
    - {{ printf "--ssh-known-hosts-file=/etc/git-secret/%s" $creds.knownHostsKey | quote }}
    {{- else }}
    - {{ printf "--password-file=/etc/git-secret/%s" $creds.passwordKey | quote }}
    {{- end }}
    {{- end }}
  env:
    - name: HOME
      value: /tmp
    {{- if and $creds.existingSecret (ne $creds.type "ssh") }}
    - name: GITSYNC_USERNAME
      valueFrom:
        secretKeyRef:
          name: {{ $creds.existingSecret }}
          key: {{ $creds.usernameKey }}
    {{- end }}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
    runAsUser: 65533
    runAsGroup: 65533
  resources:
    {{- toYaml $git.resources | nindent 4 }}
  volumeMounts:
    - name: manifests
      mountPath: /manifests
    - name: git-tmp
      mountPath: /tmp
    {{- if $creds.existingSecret }}
    - name: git-credentials
      mountPath: /etc/git-secret
      readOnly: true
    {{- end }}
{{- end }}

{{- define "contacts-reconciler.podTemplate" -}}
metadata:
  annotations:
    {{- if include "contacts-reconciler.hasConfig" . }}
    checksum/config: {{ include "contacts-reconciler.accountsConfig" . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "contacts-reconciler.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "contacts-reconciler.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ .Values.controller.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- if eq .Values.manifests.source "git" }}
  initContainers:
    {{- include "contacts-reconciler.gitSyncContainer" (dict "root" . "name" "git-sync-init" "oneTime" true) | nindent 4 }}
  {{- end }}
  containers:
    - name: reconciler
      image: {{ include "contacts-reconciler.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        {{- if include "contacts-reconciler.hasConfig" . }}
        - --config=/etc/reconciler/config.yaml
        {{- end }}
        - {{ include "contacts-reconciler.shardArg" . }}
        - {{ printf "--state-dir=%s" .Values.state.mountPath | quote }}
        - --health-addr=:8081
        - --metrics-addr=:8080
        - {{ printf "--resync-interval=%s" .Values.controller.resyncInterval | quote }}
        - {{ printf "--poll-interval=%s" .Values.controller.pollInterval | quote }}
        - {{ printf "--poll-share=%v" .Values.controller.pollShare | quote }}
        - {{ printf "--drift-policy=%s" .Values.controller.driftPolicy | quote }}
        - {{ printf "--log-format=%s" .Values.controller.logFormat | quote }}
        - {{ printf "--target=%s" .Values.controller.target | quote }}
        {{- if .Values.credentials.existingSecret }}
        - {{ printf "--credentials=/var/run/secrets/reconciler/%s" .Values.credentials.key | quote }}
        {{- end }}
        {{- with .Values.controller.owner }}
        - {{ printf "--owner=%s" . | quote }}
        {{- end }}
        {{- if .Values.controller.prune }}
        - --prune
        {{- end }}
        - {{ printf "--max-deletes=%d" (int .Values.controller.maxDeletes) | quote }}
        - {{ printf "--max-delete-share=%v" .Values.controller.maxDeleteShare | quote }}
        {{- if .Values.controller.allowMassDelete }}
        - --allow-mass-delete
        {{- end }}
        - {{ printf "--api-grace=%s" .Values.controller.apiGrace | quote }}
        {{- if .Values.controller.suspend }}
        - --suspend
        {{- end }}
        {{- with .Values.notifications.githubStatus }}
        - {{ printf "--github-status=%s" . | quote }}
        {{- end }}
        {{- range .Values.controller.extraArgs }}
        - {{ . | quote }}
        {{- end }}
        {{- if not (include "contacts-reconciler.hasConfig" .) }}
        # No accounts file: one account, the credentials' own user, from the whole checkout.
        - /manifests/current
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        # The state directory (create journals, write locks), also for commands run with
        # kubectl exec: the root filesystem is read-only.
        - name: RECONCILER_STATE_DIR
          value: {{ .Values.state.mountPath | quote }}
        {{- if and .Values.credentials.existingSecret .Values.credentials.tokenKey }}
        - name: RECONCILER_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ .Values.credentials.existingSecret }}
              key: {{ .Values.credentials.tokenKey }}
        {{- end }}
        {{- with .Values.notifications.existingSecret }}
        - name: RECONCILER_NOTIFY
          valueFrom:
            secretKeyRef:
              name: {{ . }}
              key: {{ $.Values.notifications.urlsKey }}
              optional: true
        - name: RECONCILER_GITHUB_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ . }}
              key: {{ $.Values.notifications.githubTokenKey }}
              optional: true
        {{- end }}
        {{- with .Values.controller.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: 8080
          protocol: TCP
        - name: health
          containerPort: 8081
          protocol: TCP
      startupProbe:
        httpGet:
          path: /healthz
          port: health
        {{- toYaml .Values.probes.startup | nindent 8 }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: health
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: health
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        {{- if include "contacts-reconciler.hasConfig" . }}
        - name: config
          mountPath: /etc/reconciler
          readOnly: true
        {{- end }}
        - name: manifests
          mountPath: {{ if eq .Values.manifests.source "git" }}/manifests{{ else }}/manifests/current{{ end }}
          readOnly: true
        - name: tmp
          mountPath: /tmp
        - name: state
          mountPath: {{ .Values.state.mountPath }}
        {{- if .Values.credentials.existingSecret }}
        - name: credentials
          mountPath: /var/run/secrets/reconciler
          readOnly: true
        {{- end }}
    {{- if eq .Values.manifests.source "git" }}
    {{- include "contacts-reconciler.gitSyncContainer" (dict "root" . "name" "git-sync" "oneTime" false) | nindent 4 }}
    {{- end }}
  volumes:
    {{- if include "contacts-reconciler.hasConfig" . }}
    - name: config
      configMap:
        name: {{ include "contacts-reconciler.configMapName" . }}
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.tmpSizeLimit }}
    {{- $persistence := .Values.state.persistence }}
    {{- if not $persistence.enabled }}
    - name: state
      emptyDir:
        sizeLimit: {{ .Values.state.sizeLimit }}
    {{- else if not .Values.sharding.enabled }}
    {{- /* Sharded: every replica's claim comes from the StatefulSet's volumeClaimTemplates. */}}
    - name: state
      persistentVolumeClaim:
        claimName: {{ include "contacts-reconciler.stateClaimName" . }}
    {{- end }}
    {{- if eq .Values.manifests.source "git" }}
    - name: manifests
      emptyDir: {}
    - name: git-tmp
      emptyDir:
        sizeLimit: {{ .Values.tmpSizeLimit }}
    {{- with .Values.manifests.git.credentials.existingSecret }}
    - name: git-credentials
      secret:
        secretName: {{ . }}
        defaultMode: 0440
    {{- end }}
    {{- else }}
    - name: manifests
      configMap:
        name: {{ include "contacts-reconciler.manifestsConfigMapName" . }}
        {{- if not .Values.manifests.configMap.existing }}
        {{- with .Values.manifests.configMap.files }}
        items:
          {{- range $path, $_ := . }}
          - key: {{ include "contacts-reconciler.manifestKey" $path }}
            path: {{ $path }}
          {{- end }}
        {{- end }}
        {{- end }}
    {{- end }}
    {{- if .Values.credentials.existingSecret }}
    - name: credentials
      secret:
        secretName: {{ .Values.credentials.existingSecret }}
        defaultMode: 0440
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
