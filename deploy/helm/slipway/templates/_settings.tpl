{{/*
  Slipway's configuration: the chart's own settings, then `config` merged over them (section and
  key names compared case-insensitively, as the server reads them; the user's value wins, even
  false or "", and a list replaces a list). Returned as YAML: {Section: {Key: value}}.
*/}}

{{- define "slipway.chartSettings" -}}
{{- $settings := dict }}
{{- $_ := set $settings "Server" (dict "Address" (printf "0.0.0.0:%d" (int .Values.pod.port)) "DataDir" .Values.sharedStorage.path) }}
{{- /* The server image holds no interpreters for the local runner to find. */}}
{{- $_ = set $settings "Applications" (dict "HostEnvironment" false) }}
{{- $_ = set $settings "ExecutionEnvironments" (dict "ConfigFilePath" (printf "%s/environments.yaml" (include "slipway.environmentsDir" .))) }}
{{- if include "slipway.kubernetesEnabled" . }}
{{- $kubernetes := dict "Enabled" true "Namespace" (include "slipway.jobsNamespace" .) }}
{{- if and (include "slipway.sharedStorageUsed" .) .Values.sharedStorage.mountContent }}
{{- $_ = set $kubernetes "DataDirPVCName" (include "slipway.sharedStorageName" .) }}
{{- with include "slipway.sharedStorageSubPath" . }}{{ $_ = set $kubernetes "DataDirPVCSubPath" . }}{{ end }}
{{- end }}
{{- $_ = set $kubernetes "DefaultResourceJobBase" (printf "%s/job.yaml" (include "slipway.configDir" .)) }}
{{- if .Values.backends.kubernetes.defaultResourceServiceBase }}
{{- $_ = set $kubernetes "DefaultResourceServiceBase" (printf "%s/service.yaml" (include "slipway.configDir" .)) }}
{{- end }}
{{- $init := include "slipway.initContainerValues" . | fromYaml }}
{{- with include "slipway.initContainerImage" . }}
{{- $_ = set $kubernetes "InitContainerImage" . }}
{{- with $init.imagePullPolicy }}{{ $_ = set $kubernetes "InitContainerImagePullPolicy" . }}{{ end }}
{{- end }}
{{- if .Values.backends.kubernetes.prePullImages }}
{{- $_ = set $kubernetes "PrePullImages" true }}
{{- end }}
{{- $_ = set $settings "Kubernetes" $kubernetes }}
{{- end }}
{{- if .Values.launcher.enabled }}
{{- $_ = set $settings "Launcher" (dict "ClusterDefinition" (printf "%s/runtime.yaml" (include "slipway.configDir" .))) }}
{{- end }}
{{- if .Values.prometheus.enabled }}
{{- $_ = set $settings "Metrics" (dict "PrometheusListen" (printf ":%d" (int .Values.prometheus.port))) }}
{{- end }}
{{- toYaml $settings }}
{{- end }}

{{/* Connect's Server.Address is the public URL; Slipway's is the HOST:PORT it listens on. */}}
{{- define "slipway.isConnectServerURL" -}}
{{- if and (eq (lower .section) "server") (eq (lower .key) "address") (kindIs "string" .value) (regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://" .value) }}true{{ end }}
{{- end }}

{{- define "slipway.settings" -}}
{{- $settings := include "slipway.chartSettings" . | fromYaml }}
{{- range $section, $keys := .Values.config }}
{{- if kindIs "invalid" $keys }}{{ continue }}{{ end }}
{{- if not (kindIs "map" $keys) }}
{{- fail (printf "config.%s must be a section, a map of Key: value, not %s %q." $section (kindOf $keys) (toString $keys)) }}
{{- end }}
{{- $name := $section }}
{{- $target := dict }}
{{- range $existing, $values := $settings }}
{{- if eq (lower $existing) (lower $section) }}{{ $name = $existing }}{{ $target = $values }}{{ end }}
{{- end }}
{{- range $key, $value := $keys }}
{{- if kindIs "invalid" $value }}{{ continue }}{{ end }}
{{- if include "slipway.isConnectServerURL" (dict "section" $section "key" $key "value" $value) }}{{ continue }}{{ end }}
{{- $replaced := list }}
{{- range $existing, $_ := $target }}
{{- if eq (lower $existing) (lower $key) }}{{ $replaced = append $replaced $existing }}{{ end }}
{{- end }}
{{- range $replaced }}{{ $_ := unset $target . }}{{ end }}
{{- $_ := set $target $key $value }}
{{- end }}
{{- $_ := set $settings $name $target }}
{{- end }}
{{- toYaml $settings }}
{{- end }}

{{/* True for keys whose values must stay out of ConfigMaps. */}}
{{- define "slipway.isSecretKey" -}}
{{- if regexMatch "(?i)(password|secret|key|token)$" . }}true{{ end }}
{{- end }}

{{- define "slipway.envName" -}}
{{- regexReplaceAll "[^A-Z0-9]+" (upper (join "_" (prepend . "SLIPWAY"))) "_" | trimSuffix "_" }}
{{- end }}
