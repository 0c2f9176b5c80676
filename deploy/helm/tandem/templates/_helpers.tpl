{{- define "tandem.fullname" -}}{{ printf "%s" .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}

{{- define "tandem.labels" -}}
app.kubernetes.io/part-of: tandem
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "tandem.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "tandem.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{- define "tandem.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}

{{/* Non-secret settings: the ConfigMap's data, and inline env of the pre-install Job (hooks run before it exists). */}}
{{- define "tandem.configData" -}}
{{- $v := .Values -}}
TANDEM_LOG_LEVEL: {{ $v.logLevel | quote }}
KAFKA_BOOTSTRAP_SERVERS: {{ $v.kafka.bootstrapServers | quote }}
TANDEM_TOPIC_PREFIX: {{ $v.kafka.topicPrefix | quote }}
TANDEM_TOPIC_PARTITIONS: {{ $v.kafka.partitions | quote }}
TANDEM_TOPIC_REPLICATION_FACTOR: {{ $v.kafka.replicationFactor | quote }}
TANDEM_TOPIC_MIN_INSYNC_REPLICAS: {{ $v.kafka.minInsyncReplicas | quote }}
TANDEM_KAFKA_SECURITY_PROTOCOL: {{ $v.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL_" $v.kafka.securityProtocol }}
TANDEM_KAFKA_SASL_MECHANISM: {{ $v.kafka.sasl.mechanism | quote }}
TANDEM_KAFKA_SASL_USERNAME: {{ $v.kafka.sasl.username | quote }}
{{- end }}
{{- if $v.kafka.tls.caSecret.name }}
TANDEM_KAFKA_SSL_CAFILE: {{ printf "/etc/tandem/kafka-ca/%s" $v.kafka.tls.caSecret.key | quote }}
{{- end }}
TANDEM_JWT_ISSUER: {{ $v.auth.issuer | quote }}
TANDEM_JWT_AUDIENCE: {{ $v.auth.audience | quote }}
TANDEM_JWT_MAX_LIFETIME_S: {{ $v.auth.maxTokenLifetimeSeconds | quote }}
TANDEM_EMPLOYEE_ID_CLAIM: {{ $v.auth.employeeIdClaim | quote }}
TANDEM_GROUPS_CLAIM: {{ $v.auth.groupsClaim | quote }}
TANDEM_ROLES_CLAIM: {{ $v.auth.rolesClaim | quote }}
{{- if $v.auth.jwksUrl }}
TANDEM_JWKS_URL: {{ $v.auth.jwksUrl | quote }}
{{- end }}
TANDEM_SHUTDOWN_GRACE_S: {{ $v.shutdownGraceSeconds | quote }}
{{- end -}}

{{/* Secrets, always by reference to EXISTING Secrets. Needs dict: root, db (secret ref or nil), service. */}}
{{- define "tandem.secretEnv" -}}
{{- $v := .root.Values -}}
{{- if hasPrefix "SASL_" $v.kafka.securityProtocol }}
- name: TANDEM_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $v.kafka.sasl.passwordSecret.name }}, key: {{ $v.kafka.sasl.passwordSecret.key }}}
{{- end }}
{{- if .db }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ .db.name }}, key: {{ .db.key }}}
{{- end }}
{{- if not $v.auth.jwksUrl }}
- name: TANDEM_JWT_SECRET
  valueFrom:
    secretKeyRef: {name: {{ $v.auth.secretName }}, key: jwt-secret}
{{- end }}
{{- /* Every service turns the employee-id claim into the caller's participant id with the same key. */}}
- name: TANDEM_PSEUDONYM_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.auth.secretName }}, key: pseudonym-key}
{{- /* Every service seals and opens per-person fields with data keys these master keys wrap (docs/adr/0012). */}}
- name: TANDEM_MASTER_KEYS
  valueFrom:
    secretKeyRef: {name: {{ $v.auth.secretName }}, key: master-keys}
{{- end -}}

{{- define "tandem.volumes" -}}
- name: tmp
  emptyDir: {sizeLimit: 256Mi}
{{- if .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  secret: {secretName: {{ .Values.kafka.tls.caSecret.name }}}
{{- end }}
{{- end -}}

{{- define "tandem.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/tandem/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}
