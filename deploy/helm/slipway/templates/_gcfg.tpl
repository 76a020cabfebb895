{{/*
  Renders settings as gcfg, the format the server parses (src/config/gcfg.ts): strings quoted
  and escaped when they hold a comment character, a quote, a backslash, a control character or
  outer spaces; whole numbers as integers (YAML gives Helm 1000000 as a float); lists as
  repeated keys; a map under a key as the sub-section [Section "key"]. Secret keys are left
  out: they go to the Secret (secret.yaml).
*/}}

{{- define "slipway.gcfg.scalar" -}}
{{- $v := .value }}
{{- if kindIs "bool" $v }}
{{- ternary "true" "false" $v }}
{{- else if or (kindIs "float64" $v) (kindIs "float32" $v) }}
{{- if and (eq (floor $v) (float64 $v)) (lt (float64 $v) 9.0e15) (gt (float64 $v) -9.0e15) }}
{{- printf "%d" (int64 $v) }}
{{- else }}
{{- printf "%v" $v }}
{{- end }}
{{- else if or (kindIs "int" $v) (kindIs "int64" $v) (kindIs "int32" $v) (kindIs "uint64" $v) }}
{{- printf "%d" $v }}
{{- else if kindIs "string" $v }}
{{- if or (eq $v "") (regexMatch "^\\s|\\s$|[#;\"\\\\[:cntrl:]]" $v) }}
{{- printf "\"%s\"" ($v | replace "\\" "\\\\" | replace "\"" "\\\"" | replace "\n" "\\n" | replace "\t" "\\t" | replace "\r" "") }}
{{- else }}
{{- $v }}
{{- end }}
{{- else }}
{{- fail (printf "config.%s is %s; a setting is a string, number, boolean or list of them." .path (kindOf $v)) }}
{{- end }}
{{- end }}

{{- define "slipway.gcfg.keys" -}}
{{- $path := .path }}
{{- range $key, $value := .keys }}
{{- if or (kindIs "map" $value) (kindIs "invalid" $value) (include "slipway.isSecretKey" $key) }}{{ continue }}{{ end }}
{{- if not (regexMatch "^[A-Za-z][A-Za-z0-9_-]*$" $key) }}
{{- fail (printf "config.%s.%s: a key name is letters, digits, - and _, starting with a letter." $path $key) }}
{{- end }}
{{- if kindIs "slice" $value }}
{{- range $i, $item := $value }}
{{- if or (kindIs "map" $item) (kindIs "slice" $item) }}
{{- fail (printf "config.%s.%s[%d] is a %s; a list holds strings, numbers or booleans." $path $key $i (kindOf $item)) }}
{{- end }}
{{ $key }} = {{ include "slipway.gcfg.scalar" (dict "value" $item "path" (printf "%s.%s[%d]" $path $key $i)) }}
{{- end }}
{{- else }}
{{ $key }} = {{ include "slipway.gcfg.scalar" (dict "value" $value "path" (printf "%s.%s" $path $key)) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "slipway.gcfg.header" -}}
{{- $m := regexFindAll "^([A-Za-z][A-Za-z0-9.-]*)(?: \"([^\"\\\\]*)\")?$" . 1 }}
{{- if not $m }}
{{- fail (printf "config.%s: a section name is letters, digits, . and -, optionally followed by a quoted name (such as 'RPackageRepository \"CRAN\"')." .) }}
{{- end }}
{{- printf "[%s]" . }}
{{- end }}

{{- define "slipway.gcfg" -}}
; Written by the Slipway Helm chart from the chart's settings and the value `config`.
; Secrets are not here: they reach the server as SLIPWAY_<SECTION>_<KEY> variables.
{{- range $section, $keys := . }}
{{- $plain := dict }}
{{- $subsections := dict }}
{{- range $key, $value := $keys }}
{{- if kindIs "map" $value }}{{ $_ := set $subsections $key $value }}{{ else }}{{ $_ := set $plain $key $value }}{{ end }}
{{- end }}
{{- $lines := include "slipway.gcfg.keys" (dict "keys" $plain "path" $section) }}
{{- if $lines }}

{{ include "slipway.gcfg.header" $section }}
{{- $lines }}
{{- end }}
{{- range $name, $subkeys := $subsections }}
{{- if contains "\"" $section }}
{{- fail (printf "config.%s.%s: a sub-section cannot hold another; write it as its own section." $section $name) }}
{{- end }}
{{- range $k, $v := $subkeys }}
{{- if kindIs "map" $v }}
{{- fail (printf "config.%s.%s.%s is a map, but gcfg goes only two levels deep ([%s \"%s\"] %s = value)." $section $name $k $section $name $k) }}
{{- end }}
{{- end }}

{{ include "slipway.gcfg.header" (printf "%s \"%s\"" $section $name) }}
{{- include "slipway.gcfg.keys" (dict "keys" $subkeys "path" (printf "%s.%s" $section $name)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The secret settings, as {ENV_NAME: value}. */}}
{{- define "slipway.secretSettings" -}}
{{- $out := dict }}
{{- range $section, $keys := . }}
{{- range $key, $value := $keys }}
{{- if kindIs "map" $value }}
{{- range $k, $v := $value }}
{{- if include "slipway.isSecretKey" $k }}
{{- if kindIs "slice" $v }}{{ fail (printf "config.%s.%s.%s is a secret and cannot be a list." $section $key $k) }}{{ end }}
{{- $_ := set $out (include "slipway.envName" (list (regexReplaceAll "\"" $section "") $key $k)) (include "slipway.gcfg.secretValue" $v) }}
{{- end }}
{{- end }}
{{- else if include "slipway.isSecretKey" $key }}
{{- if kindIs "slice" $value }}{{ fail (printf "config.%s.%s is a secret and cannot be a list." $section $key) }}{{ end }}
{{- $_ := set $out (include "slipway.envName" (list (regexReplaceAll "\"" $section "") $key)) (include "slipway.gcfg.secretValue" $value) }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{- define "slipway.gcfg.secretValue" -}}
{{- if or (kindIs "float64" .) (kindIs "float32" .) }}
{{- if eq (floor .) (float64 .) }}{{ printf "%d" (int64 .) }}{{ else }}{{ printf "%v" . }}{{ end }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}
