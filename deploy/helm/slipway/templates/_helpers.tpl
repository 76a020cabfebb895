{{/* Names, labels, images and the checks every render runs. */}}

{{- define "slipway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slipway.fullname" -}}
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

{{- define "slipway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slipway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "slipway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "slipway.selectorLabels" . }}
app.kubernetes.io/version: {{ include "slipway.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "slipway.version" -}}
{{- default .Chart.AppVersion .Values.versionOverride }}
{{- end }}

{{/* repository:tag of an image block; the tag defaults to the chart's version. */}}
{{- define "slipway.imageRef" -}}
{{- $image := .image }}
{{- if $image.tagPrefix }}
{{- fail (printf "%s.tagPrefix is %q, but Slipway's images carry no tag prefix: remove it (or set it to \"\") and give the whole tag in %s.tag." .path $image.tagPrefix .path) }}
{{- end }}
{{- if not $image.repository }}
{{- fail (printf "%s.repository is empty: name the image." .path) }}
{{- end }}
{{- printf "%s:%s" $image.repository (default (include "slipway.version" .root) (toString (default "" $image.tag))) }}
{{- end }}

{{- define "slipway.serverImage" -}}
{{- include "slipway.imageRef" (dict "image" .Values.image "path" "image" "root" .) }}
{{- end }}

{{/* Content runs on Kubernetes in both of Connect's modes: Slipway has one Kubernetes backend. */}}
{{- define "slipway.kubernetesEnabled" -}}
{{- if or .Values.launcher.enabled .Values.backends.kubernetes.enabled }}true{{ end }}
{{- end }}

{{- define "slipway.jobsNamespace" -}}
{{- if .Values.launcher.enabled }}
{{- default .Release.Namespace .Values.launcher.namespace }}
{{- else }}
{{- default .Release.Namespace .Values.backends.kubernetes.namespace }}
{{- end }}
{{- end }}

{{/* The init-container block of the active mode, with its values path for messages. */}}
{{- define "slipway.initContainerPath" -}}
{{- if .Values.launcher.enabled }}launcher.defaultInitContainer{{ else }}backends.kubernetes.defaultInitContainer{{ end }}
{{- end }}

{{- define "slipway.initContainerValues" -}}
{{- if .Values.launcher.enabled }}
{{- toYaml .Values.launcher.defaultInitContainer }}
{{- else }}
{{- toYaml .Values.backends.kubernetes.defaultInitContainer }}
{{- end }}
{{- end }}

{{- define "slipway.initContainerImage" -}}
{{- $init := include "slipway.initContainerValues" . | fromYaml }}
{{- if $init.enabled }}
{{- include "slipway.imageRef" (dict "image" $init "path" (include "slipway.initContainerPath" .) "root" .) }}
{{- end }}
{{- end }}

{{- define "slipway.sharedStorageUsed" -}}
{{- if or .Values.sharedStorage.create .Values.sharedStorage.mount }}true{{ end }}
{{- end }}

{{- define "slipway.sharedStorageName" -}}
{{- default (printf "%s-shared-storage" (include "slipway.fullname" .)) .Values.sharedStorage.name }}
{{- end }}

{{- define "slipway.sharedStorageSubPath" -}}
{{- $subPath := toString (default "" .Values.sharedStorage.subPath) }}
{{- if hasPrefix "/" $subPath }}
{{- fail (printf "sharedStorage.subPath is %q: it must be relative to the claim's root, without a leading /." $subPath) }}
{{- end }}
{{- if regexMatch "(^|/)\\.\\.(/|$)" $subPath }}
{{- fail (printf "sharedStorage.subPath is %q: it must stay inside the claim, without \"..\"." $subPath) }}
{{- end }}
{{- $subPath | trimSuffix "/" }}
{{- end }}

{{- define "slipway.serviceAccountName" -}}
{{- default (include "slipway.fullname" .) .Values.rbac.serviceAccount.name }}
{{- end }}

{{/* Where the server reads its files. */}}
{{- define "slipway.configDir" -}}/etc/slipway/config{{- end }}
{{- define "slipway.environmentsDir" -}}/etc/slipway/execution-environments{{- end }}

{{/* A Job or Service base: kind and apiVersion filled in, any other kind refused. */}}
{{- define "slipway.resourceBase" -}}
{{- $base := deepCopy (default (dict) .base) }}
{{- if not (kindIs "map" $base) }}
{{- fail (printf "%s must be a %s %s object." .path .apiVersion .kind) }}
{{- end }}
{{- $kind := default .kind $base.kind }}
{{- $apiVersion := default .apiVersion $base.apiVersion }}
{{- if or (ne $kind .kind) (ne $apiVersion .apiVersion) }}
{{- fail (printf "%s must be a %s %s, not %s %s." .path .apiVersion .kind $apiVersion $kind) }}
{{- end }}
{{- $_ := set $base "apiVersion" $apiVersion }}
{{- $_ = set $base "kind" $kind }}
{{- toYaml $base }}
{{- end }}

{{/*
  The Job base, with the init container's resources and security context (when given) as an
  init container named content-init that the Kubernetes backend completes with the image from
  [Kubernetes] InitContainerImage.
*/}}
{{- define "slipway.jobBase" -}}
{{- $job := include "slipway.resourceBase" (dict "base" .Values.backends.kubernetes.defaultResourceJobBase "path" "backends.kubernetes.defaultResourceJobBase" "kind" "Job" "apiVersion" "batch/v1") | fromYaml }}
{{- $init := include "slipway.initContainerValues" . | fromYaml }}
{{- if and $init.enabled (or $init.resources $init.securityContext) }}
{{- $container := dict "name" "content-init" }}
{{- with $init.resources }}{{ $_ := set $container "resources" . }}{{ end }}
{{- with $init.securityContext }}{{ $_ := set $container "securityContext" . }}{{ end }}
{{- $spec := default (dict) $job.spec }}
{{- $template := default (dict) $spec.template }}
{{- $podSpec := default (dict) $template.spec }}
{{- $inits := list }}
{{- range (default (list) $podSpec.initContainers) }}
{{- if ne .name "content-init" }}{{ $inits = append $inits . }}{{ end }}
{{- end }}
{{- $_ := set $podSpec "initContainers" (append $inits $container) }}
{{- $_ = set $template "spec" $podSpec }}
{{- $_ = set $spec "template" $template }}
{{- $_ = set $job "spec" $spec }}
{{- end }}
{{- toYaml $job }}
{{- end }}

{{/* Every check that cannot be written in values.schema.json, run by every render. */}}
{{- define "slipway.validate" -}}
{{- if and .Values.launcher.enabled .Values.backends.kubernetes.enabled }}
{{- fail "launcher.enabled and backends.kubernetes.enabled cannot both be true: keep backends.kubernetes (launcher is Connect's legacy mode)." }}
{{- end }}
{{- if and (include "slipway.kubernetesEnabled" .) (not (include "slipway.sharedStorageUsed" .)) }}
{{- fail "Content runs on Kubernetes, so the server and the content pods need one ReadWriteMany volume: set sharedStorage.create (or sharedStorage.mount with sharedStorage.name of an existing claim)." }}
{{- end }}
{{- if and .Values.launcher.enabled (not (kindIs "map" .Values.launcher.customRuntimeYaml)) }}
{{- fail (printf "launcher.customRuntimeYaml is %q, but Slipway ships no default runtime list: give the file itself ({name: Kubernetes, images: [...]}) or use executionEnvironments." (toString .Values.launcher.customRuntimeYaml)) }}
{{- end }}
{{- range $section, $keys := .Values.config }}
{{- if and (eq (lower $section) "kubernetes") (kindIs "map" $keys) }}
{{- range $key, $value := $keys }}
{{- if and (eq (lower $key) "enabled") (ne (toString $value) (toString (not (empty (include "slipway.kubernetesEnabled" $))))) }}
{{- fail (printf "config.Kubernetes.Enabled is %v, but backends.kubernetes.enabled and launcher.enabled say %v: set the backend with backends.kubernetes.enabled alone." $value (not (empty (include "slipway.kubernetesEnabled" $)))) }}
{{- end }}
{{- if and (eq (lower $key) "namespace") (include "slipway.kubernetesEnabled" $) (ne (toString $value) (include "slipway.jobsNamespace" $)) }}
{{- fail (printf "config.Kubernetes.Namespace is %q, but content Jobs run in %q (backends.kubernetes.namespace, or the release's): set backends.kubernetes.namespace alone, so the Role is made where the Jobs run." (toString $value) (include "slipway.jobsNamespace" $)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- $_ := include "slipway.sharedStorageSubPath" . }}
{{- $_ = include "slipway.serverImage" . }}
{{- $_ = include "slipway.initContainerImage" . }}
{{- $settings := include "slipway.settings" . | fromYaml }}
{{- $database := dict }}
{{- range $section, $keys := $settings }}{{ if eq (lower $section) "database" }}{{ $database = $keys }}{{ end }}{{ end }}
{{- $provider := "sqlite" }}
{{- range $key, $value := $database }}{{ if eq (lower $key) "provider" }}{{ $provider = lower (toString $value) }}{{ end }}{{ end }}
{{- if and (gt (int .Values.replicas) 1) (ne $provider "postgres") }}
{{- fail (printf "replicas is %d, but the database is SQLite, which one server at a time can use: set config.Database.Provider: postgres with config.Postgres.URL, or replicas: 1." (int .Values.replicas)) }}
{{- end }}
{{- if eq $provider "postgres" }}
{{- $url := "" }}
{{- range $section, $keys := $settings }}{{ if eq (lower $section) "postgres" }}{{ range $key, $value := $keys }}{{ if eq (lower $key) "url" }}{{ $url = $value }}{{ end }}{{ end }}{{ end }}{{ end }}
{{- if not $url }}
{{- fail "config.Database.Provider is postgres, but config.Postgres.URL is empty." }}
{{- end }}
{{- end }}
{{- end }}

{{/* (list defaults overrides): top-level keys of overrides replace the defaults', even when
  false (sprig's merge functions skip false and empty values). A null removes a default. */}}
{{- define "slipway.overlay" -}}
{{- $out := deepCopy (index . 0) }}
{{- range $key, $value := (default (dict) (index . 1)) }}
{{- if kindIs "invalid" $value }}{{ $_ := unset $out $key }}{{ else }}{{ $_ := set $out $key $value }}{{ end }}
{{- end }}
{{- toYaml $out }}
{{- end }}
