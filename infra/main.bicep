// chargeops on Azure: one resource-group deployment, least-privilege and secret-free.
//
//   identity    user-assigned managed identity the function app runs as
//   monitoring  Log Analytics + workspace-based Application Insights (local auth off)
//   storage     host storage, deployment container, state table (shared keys off, TLS 1.2)
//   servicebus  topic charger-events, subscriptions tickets + finance (local auth off)
//   keyvault    RBAC vault with purge protection for the secrets (values set by deploy.sh)
//   rbac        role assignments at the narrowest scope
//   function    Flex Consumption plan + Python 3.11 function app
//   alerts      action group + alert rules on chargeops itself (dead letters, no ingest,
//               function failures, health degraded)
//
// Deploy with infra/deploy.sh (docs/deploy.md). Only local modules: checkable offline.
// Kept to Bicep syntax that checkov and pycep-parser read: no user-defined types, spread,
// imports/exports or user functions.

targetScope = 'resourceGroup'

@description('Short prefix for resource names: lowercase letters, digits and hyphens, starting with a letter. Globally unique names get a suffix derived from the resource group.')
@minLength(2)
@maxLength(11)
param namePrefix string = 'chargeops'

@description('Azure region for all resources (must offer Flex Consumption: az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Tags applied to every resource.')
param tags object = {
  application: 'chargeops'
}

@description('Topic of the Zaptec Service Bus subscription ("Topic" in Zaptec messagingConnectionDetails).')
@minLength(1)
param zaptecTopic string

@description('Subscription on the Zaptec topic ("Subscription" in Zaptec messagingConnectionDetails; usually "default").')
@minLength(1)
param zaptecSubscription string = 'default'

@description('Target secrets: each {setting, secret} becomes app setting <setting> = Key Vault reference to secret <secret>. Use the setting names your config references as ${NAME}.')
param targetSecrets array = [
  {
    setting: 'PD_ROUTING_KEY'
    secret: 'pd-routing-key'
  }
  {
    setting: 'BILLING_SECRET'
    secret: 'billing-secret'
  }
]

@description('chargeops YAML config, inline (app setting CHARGEOPS_CONFIG). Empty: the built-in default. Put secrets in as ${NAME}, never literally.')
param chargeopsConfig string = ''

@description('Path of a YAML config file inside the app package (app setting CHARGEOPS_CONFIG_PATH). Empty: not set.')
param chargeopsConfigPath string = ''

@description('NCRONTAB (6 fields) of the charger registry refresh.')
param registryRefreshSchedule string = '0 */30 * * * *'

@description('NCRONTAB (6 fields) of the offline watchdog.')
param offlineWatchdogSchedule string = '0 */1 * * * *'

@description('NCRONTAB (6 fields) of the monthly uptime report.')
param uptimeReportSchedule string = '0 0 6 1 * *'

@description('Most instances the Flex Consumption app may scale out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Always Ready instances for the ingest function (0: scale from zero; 1 removes the up-to-2-minute wait for the first Zaptec message after idle, at the price of an instance kept running).')
@minValue(0)
@maxValue(10)
param ingestAlwaysReadyInstances int = 0

@description('Spread the Flex Consumption plan across availability zones (check region support; use with storageSku Standard_ZRS).')
param zoneRedundant bool = false

@description('Storage replication (Standard_LRS is the cheapest; Standard_ZRS survives a zone outage).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

@description('Days Log Analytics keeps logs and telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('How long an event waits on a subscription before it expires and is dead-lettered (ISO 8601).')
param messageTimeToLive string = 'P14D'

@description('Email address that receives chargeops alerts (action group). Empty: no email receiver.')
param alertEmail string = ''

@description('HTTPS URL that receives chargeops alerts as a webhook (common alert schema). Empty: no webhook receiver. Stored in the action group and the deployment history: use a URL without an embedded secret.')
param alertWebhookUrl string = ''

@description('Minutes without any ingest invocation before the no-ingest alert fires.')
@allowed([
  15
  30
  45
  60
  120
  180
  360
  720
  1440
])
param ingestSilenceMinutes int = 30

@description('Share (percent) of failed invocations of one function over 15 minutes that fires the failure alert.')
@minValue(1)
@maxValue(100)
param failureRatePercent int = 10

@description('Object id of the principal running deploy.sh; gets Key Vault Secrets Officer on the vault so it can set secrets. Empty: no grant.')
param deployerPrincipalId string = ''

@description('Type of deployerPrincipalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

var token = uniqueString(resourceGroup().id, namePrefix)
var compactPrefix = toLower(replace(namePrefix, '-', ''))
var names = {
  identity: '${namePrefix}-id'
  logAnalytics: '${namePrefix}-log'
  applicationInsights: '${namePrefix}-appi'
  storage: take('st${compactPrefix}${token}', 24)
  serviceBus: '${namePrefix}-sb-${token}'
  keyVault: '${namePrefix}-kv-${take(token, 8)}'
  plan: '${namePrefix}-plan'
  functionApp: '${namePrefix}-func-${token}'
}
var deploymentContainerName = 'app-package'
var tableName = 'chargeops'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    skuName: storageSku
    deploymentContainerName: deploymentContainerName
    tableName: tableName
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    name: names.serviceBus
    location: location
    tags: tags
    topicName: 'charger-events'
    ticketsSubscriptionName: 'tickets'
    financeSubscriptionName: 'finance'
    messageTimeToLive: messageTimeToLive
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    duplicateDetectionWindow: 'P1D'
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: names.keyVault
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    topicName: serviceBus.outputs.topicName
    ticketsSubscriptionName: serviceBus.outputs.ticketsSubscriptionName
    financeSubscriptionName: serviceBus.outputs.financeSubscriptionName
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module functionApp 'modules/function.bicep' = {
  name: 'function'
  params: {
    planName: names.plan
    appName: names.functionApp
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    blobServiceUri: storage.outputs.blobServiceUri
    queueServiceUri: storage.outputs.queueServiceUri
    tableServiceUri: storage.outputs.tableServiceUri
    deploymentContainerName: deploymentContainerName
    tableName: tableName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultUri: keyVault.outputs.uri
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    topicName: serviceBus.outputs.topicName
    ticketsSubscriptionName: serviceBus.outputs.ticketsSubscriptionName
    financeSubscriptionName: serviceBus.outputs.financeSubscriptionName
    zaptecTopic: zaptecTopic
    zaptecSubscription: zaptecSubscription
    targetSecrets: targetSecrets
    chargeopsConfig: chargeopsConfig
    chargeopsConfigPath: chargeopsConfigPath
    registryRefreshSchedule: registryRefreshSchedule
    offlineWatchdogSchedule: offlineWatchdogSchedule
    uptimeReportSchedule: uptimeReportSchedule
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    ingestAlwaysReadyInstances: ingestAlwaysReadyInstances
    zoneRedundant: zoneRedundant
  }
  // The app starts reading storage, Service Bus and Key Vault at once: grant access first.
  dependsOn: [
    rbac
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: namePrefix
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    serviceBusNamespaceName: serviceBus.outputs.name
    alertEmail: alertEmail
    alertWebhookUrl: alertWebhookUrl
    ingestSilenceMinutes: ingestSilenceMinutes
    failureRatePercent: failureRatePercent
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppId string = functionApp.outputs.id
output functionAppHostName string = functionApp.outputs.defaultHostName
output keyVaultName string = keyVault.outputs.name
output keyVaultUri string = keyVault.outputs.uri
output storageAccountName string = storage.outputs.name
output serviceBusNamespace string = serviceBus.outputs.name
output serviceBusFullyQualifiedNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output identityClientId string = identity.outputs.clientId
output identityPrincipalId string = identity.outputs.principalId
output applicationInsightsName string = monitoring.outputs.applicationInsightsName
output actionGroupId string = alerts.outputs.actionGroupId
output keyVaultTargets array = targetSecrets
