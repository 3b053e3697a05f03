{{/* Names, labels, and the environment and volumes the API and the workers share. */}}

{{- define "elevate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "elevate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "elevate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "elevate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api") */}}
{{- define "elevate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "elevate.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The workers' service account: the only one a cloud IAM role (AWS targets) belongs on. */}}
{{- define "elevate.workerServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-worker" (include "elevate.fullname" .)) .Values.worker.serviceAccount.name -}}
{{- else -}}
{{- default (include "elevate.serviceAccountName" .) .Values.worker.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "elevate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "elevate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "elevate.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{- define "elevate.secretName" -}}
{{- if .Values.secrets.create -}}{{ include "elevate.fullname" . }}{{- else -}}{{ required "secrets.existingSecret: name the Secret with database-url (or set secrets.create)" .Values.secrets.existingSecret }}{{- end -}}
{{- end -}}

{{- define "elevate.apiSecretName" -}}
{{- if .Values.secrets.create -}}{{ include "elevate.fullname" . }}-api{{- else -}}{{ required "secrets.existingApiSecret: name the Secret with decision-signing.pem (or set secrets.create)" .Values.secrets.existingApiSecret }}{{- end -}}
{{- end -}}

{{- define "elevate.policyConfigMapName" -}}
{{- default (printf "%s-policy" (include "elevate.fullname" .)) .Values.policy.existingConfigMap -}}
{{- end -}}

{{- define "elevate.publicKeysConfigMapName" -}}
{{- if .Values.decisionKeys.publicKeys -}}{{ include "elevate.fullname" . }}-decision-keys{{- else -}}{{ required "decisionKeys: give publicKeys or existingConfigMap (the workers check the API's signatures with them)" .Values.decisionKeys.existingConfigMap }}{{- end -}}
{{- end -}}

{{- define "elevate.temporalTls" -}}
{{- if or .Values.temporal.tls.enabled .Values.temporal.tls.clientCertSecret .Values.temporal.apiKey.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* Seconds Kubernetes waits after SIGTERM: the shutdown grace plus time to exit. */}}
{{- define "elevate.terminationGracePeriodSeconds" -}}
{{- add (int .Values.shutdownGraceSeconds) 15 -}}
{{- end -}}

{{/* Environment of every process. */}}
{{- define "elevate.env" -}}
- name: NODE_ENV
  value: production
- name: HOST
  value: 0.0.0.0
- name: ELEVATE_CONFIG
  value: /etc/elevate/policy/policy.yaml
- name: ELEVATE_SHUTDOWN_GRACE_SECONDS
  value: {{ .Values.shutdownGraceSeconds | quote }}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address is required" .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: ELEVATE_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
{{- if include "elevate.temporalTls" . }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- with .Values.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- with .Values.temporal.tls.clientCertSecret }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /etc/elevate/temporal-tls/{{ $.Values.temporal.tls.certKey }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /etc/elevate/temporal-tls/{{ $.Values.temporal.tls.keyKey }}
{{- end }}
{{- if .Values.temporal.tls.caKey }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: /etc/elevate/temporal-ca/{{ .Values.temporal.tls.caKey }}
{{- end }}
{{- if .Values.temporal.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY_FILE
  value: /etc/elevate/temporal-api-key/{{ .Values.temporal.apiKey.key }}
{{- end }}
- name: DATABASE_URL_FILE
  value: /etc/elevate/secrets/database-url
{{- if .Values.metrics.token }}
- name: ELEVATE_METRICS_TOKEN_FILE
  value: /etc/elevate/secrets/metrics-token
{{- end }}
{{- if .Values.aws.credentialsMode }}
- name: ELEVATE_CREDENTIALS_KEY_FILE
  value: /etc/elevate/secrets/credentials-key
{{- end }}
{{- if .Values.auditCheckpoints.key }}
- name: ELEVATE_AUDIT_CHECKPOINT_KEY_FILE
  value: /etc/elevate/secrets/audit-checkpoint.pem
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Environment of the workers only: the targets' connections. Only workers grant and revoke, so
only they hold the LDAP account that may write, and reach AWS.
*/}}
{{- define "elevate.workerEnv" -}}
{{- if .Values.ldap.url }}
- name: LDAP_URL
  value: {{ .Values.ldap.url | quote }}
- name: LDAP_BIND_DN
  value: {{ required "ldap.bindDn is required with ldap.url" .Values.ldap.bindDn | quote }}
- name: LDAP_BIND_PASSWORD_FILE
  value: /etc/elevate/ldap/ldap-bind-password
{{- end }}
{{- with .Values.aws.region }}
- name: AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Environment of the API only: a read-only LDAP account, when one is given. */}}
{{- define "elevate.apiEnv" -}}
{{- if and .Values.ldap.url .Values.ldap.apiBindDn }}
- name: LDAP_URL
  value: {{ .Values.ldap.url | quote }}
- name: LDAP_BIND_DN
  value: {{ .Values.ldap.apiBindDn | quote }}
- name: LDAP_BIND_PASSWORD_FILE
  value: /etc/elevate/ldap/ldap-api-bind-password
{{- end }}
{{- end -}}

{{/*
The LDAP password of one kind of process, in its own volume: the workers' account (key
ldap-bind-password) or the API's read-only one (ldap-api-bind-password). Called with a list:
(list $ "ldap-bind-password").
*/}}
{{- define "elevate.ldapVolume" -}}
{{- $root := index . 0 -}}
- name: ldap
  secret:
    secretName: {{ include "elevate.secretName" $root }}
    defaultMode: 0440
    items:
      - key: {{ index . 1 }}
        path: {{ index . 1 }}
{{- end -}}

{{/* Keys of the shared Secret this release uses. */}}
{{- define "elevate.secretItems" -}}
- key: database-url
  path: database-url

{{- if .Values.metrics.token }}
- key: metrics-token
  path: metrics-token
{{- end }}
{{- if .Values.aws.credentialsMode }}
- key: credentials-key
  path: credentials-key
{{- end }}
{{- if .Values.auditCheckpoints.key }}
- key: audit-checkpoint.pem
  path: audit-checkpoint.pem
{{- end }}
{{- end -}}

{{/* Mounts of every process. */}}
{{- define "elevate.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: policy
  mountPath: /etc/elevate/policy
  readOnly: true
- name: secrets
  mountPath: /etc/elevate/secrets
  readOnly: true
{{- if .Values.temporal.tls.clientCertSecret }}
- name: temporal-tls
  mountPath: /etc/elevate/temporal-tls
  readOnly: true
{{- end }}
{{- if .Values.temporal.tls.caKey }}
- name: temporal-ca
  mountPath: /etc/elevate/temporal-ca
  readOnly: true
{{- end }}
{{- if .Values.temporal.apiKey.existingSecret }}
- name: temporal-api-key
  mountPath: /etc/elevate/temporal-api-key
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes of every process. */}}
{{- define "elevate.volumes" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
- name: policy
  configMap:
    name: {{ include "elevate.policyConfigMapName" . }}
    items:
      - key: policy.yaml
        path: policy.yaml
- name: secrets
  secret:
    secretName: {{ include "elevate.secretName" . }}
    defaultMode: 0440
    items:
      {{- include "elevate.secretItems" . | nindent 6 }}
{{- with .Values.temporal.tls.clientCertSecret }}
- name: temporal-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: {{ $.Values.temporal.tls.certKey }}
        path: {{ $.Values.temporal.tls.certKey }}
      - key: {{ $.Values.temporal.tls.keyKey }}
        path: {{ $.Values.temporal.tls.keyKey }}
{{- end }}
{{- if .Values.temporal.tls.caKey }}
- name: temporal-ca
  secret:
    secretName: {{ required "temporal.tls.caSecret or temporal.tls.clientCertSecret: the Secret with temporal.tls.caKey" (default .Values.temporal.tls.clientCertSecret .Values.temporal.tls.caSecret) }}
    defaultMode: 0444
    items:
      - key: {{ .Values.temporal.tls.caKey }}
        path: {{ .Values.temporal.tls.caKey }}
{{- end }}
{{- if .Values.temporal.apiKey.existingSecret }}
- name: temporal-api-key
  secret:
    secretName: {{ .Values.temporal.apiKey.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.temporal.apiKey.key }}
        path: {{ .Values.temporal.apiKey.key }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Checksums that roll the pods when chart-managed configuration changes. */}}
{{- define "elevate.checksums" -}}
checksum/policy: {{ .Values.policy | toJson | sha256sum }}
checksum/decision-keys: {{ .Values.decisionKeys | toJson | sha256sum }}
{{- if .Values.secrets.create }}
checksum/secrets: {{ .Values.secrets | toJson | sha256sum }}
{{- end }}
{{- end -}}
