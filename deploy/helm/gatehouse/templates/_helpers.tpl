{{- define "gatehouse.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gatehouse.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gatehouse.labels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gatehouse.secretName" -}}
{{- default (include "gatehouse.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The environment every gatehouse container gets: configuration by environment only. */}}
{{- define "gatehouse.env" -}}
- name: GATEHOUSE__SERVER__LISTEN
  value: ":8080"
- name: GATEHOUSE__SERVER__PUBLIC_URL
  value: {{ required "publicURL is required" .Values.publicURL | quote }}
{{- with .Values.cookieDomain }}
- name: GATEHOUSE__SERVER__COOKIE_DOMAIN
  value: {{ . | quote }}
{{- end }}
{{- with .Values.trustedProxies }}
- name: GATEHOUSE__SERVER__TRUSTED_PROXIES
  value: {{ join "," . | quote }}
{{- end }}
- name: GATEHOUSE__DATABASE__DRIVER
  value: postgres
- name: GATEHOUSE__DATABASE__DSN
  valueFrom:
    secretKeyRef:
{{- if .Values.database.existingSecret.name }}
      name: {{ .Values.database.existingSecret.name }}
      key: {{ .Values.database.existingSecret.key }}
{{- else }}
      name: {{ include "gatehouse.fullname" . }}-database
      key: dsn
{{- end }}
{{- if or .Values.redis.url .Values.redis.existingSecret.name }}
- name: GATEHOUSE__REDIS__URL
  valueFrom:
    secretKeyRef:
{{- if .Values.redis.existingSecret.name }}
      name: {{ .Values.redis.existingSecret.name }}
      key: {{ .Values.redis.existingSecret.key }}
{{- else }}
      name: {{ include "gatehouse.fullname" . }}-database
      key: redis_url
{{- end }}
{{- end }}
- name: GATEHOUSE__AUTH__JWT_SECRET_FILE
  value: /run/secrets/gatehouse/jwt_secret
- name: GATEHOUSE__AUTH__MFA_SECRET_KEY_FILE
  value: /run/secrets/gatehouse/mfa_secret_key
- name: GATEHOUSE_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
