// Flex Consumption plan + Python function app running as the user-assigned identity.
// Every connection is identity-based; the only secrets are Key Vault references resolved with
// that identity (keyVaultReferenceIdentity). No setting holds a key or a password.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Function app name (globally unique; becomes <name>.azurewebsites.net).')
param appName string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Blob endpoint, without trailing slash.')
param blobServiceUri string

@description('Queue endpoint, without trailing slash.')
param queueServiceUri string

@description('Table endpoint, without trailing slash.')
param tableServiceUri string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Table holding all chargeops state.')
param tableName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Key Vault URI (https://<vault>.vault.azure.net/).')
param keyVaultUri string

@description('Fully qualified name of our Service Bus namespace.')
param serviceBusFullyQualifiedNamespace string

@description('Our topic.')
param topicName string

@description('Our tickets subscription.')
param ticketsSubscriptionName string

@description('Our finance subscription.')
param financeSubscriptionName string

@description('Zaptec topic name (from Zaptec messagingConnectionDetails).')
param zaptecTopic string

@description('Zaptec subscription name (from Zaptec messagingConnectionDetails).')
param zaptecSubscription string

@description('Target secrets: [{setting, secret}], each becomes an app setting with a Key Vault reference.')
param targetSecrets array

@description('Inline chargeops YAML config ("" = built-in default).')
param chargeopsConfig string

@description('Path of a chargeops YAML config file ("" = not set).')
param chargeopsConfigPath string

@description('NCRONTAB schedule of the registry refresh.')
param registryRefreshSchedule string

@description('NCRONTAB schedule of the offline watchdog.')
param offlineWatchdogSchedule string

@description('NCRONTAB schedule of the monthly uptime report.')
param uptimeReportSchedule string

@description('Upper bound on instances the plan scales out to.')
param maximumInstanceCount int

@description('Memory per instance in MB.')
param instanceMemoryMB int

@description('Always Ready instances kept warm for the ingest function (0 = scale from zero).')
param ingestAlwaysReadyInstances int

@description('Spread instances across availability zones (needs a region that supports it for Flex Consumption; pair with zone-redundant storage).')
param zoneRedundant bool

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var baseSettings = [
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: blobServiceUri
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: queueServiceUri
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: tableServiceUri
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    name: 'ZAPTEC_SERVICEBUS'
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/zaptec-servicebus-connection/)'
  }
  {
    name: 'ZAPTEC_TOPIC'
    value: zaptecTopic
  }
  {
    name: 'ZAPTEC_SUBSCRIPTION'
    value: zaptecSubscription
  }
  {
    name: 'ZAPTEC_USERNAME'
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/zaptec-username/)'
  }
  {
    name: 'ZAPTEC_PASSWORD'
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/zaptec-password/)'
  }
  {
    name: 'CHARGEOPS_SERVICEBUS__fullyQualifiedNamespace'
    value: serviceBusFullyQualifiedNamespace
  }
  {
    name: 'CHARGEOPS_SERVICEBUS__credential'
    value: 'managedidentity'
  }
  {
    name: 'CHARGEOPS_SERVICEBUS__clientId'
    value: identityClientId
  }
  {
    name: 'CHARGEOPS_TOPIC'
    value: topicName
  }
  {
    name: 'CHARGEOPS_TICKETS_SUBSCRIPTION'
    value: ticketsSubscriptionName
  }
  {
    name: 'CHARGEOPS_FINANCE_SUBSCRIPTION'
    value: financeSubscriptionName
  }
  {
    name: 'CHARGEOPS_STORAGE'
    value: tableServiceUri
  }
  {
    name: 'CHARGEOPS_TABLE'
    value: tableName
  }
  {
    name: 'CHARGEOPS_CONFIG'
    value: chargeopsConfig
  }
  {
    name: 'REGISTRY_REFRESH_SCHEDULE'
    value: registryRefreshSchedule
  }
  {
    name: 'OFFLINE_WATCHDOG_SCHEDULE'
    value: offlineWatchdogSchedule
  }
  {
    name: 'UPTIME_REPORT_SCHEDULE'
    value: uptimeReportSchedule
  }
]

var configPathSettings = empty(chargeopsConfigPath) ? [] : [
  {
    name: 'CHARGEOPS_CONFIG_PATH'
    value: chargeopsConfigPath
  }
]

// Always Ready instances per function ("function:<name>"); none by default.
var alwaysReady = (ingestAlwaysReadyInstances > 0) ? [
  {
    name: 'function:ingest'
    instanceCount: ingestAlwaysReadyInstances
  }
] : []

var targetSettings = [for target in targetSecrets: {
  name: target.setting
  value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${target.secret}/)'
}]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  // checkov:skip=CKV_AZURE_225: Zone redundancy is the zoneRedundant parameter (default off: not every Flex Consumption region offers it; pair it with storageSku Standard_ZRS).
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  // checkov:skip=CKV_AZURE_17: The only HTTP function is the operators' `health` probe behind a function key; client certificates would lock out standard monitoring probes.
  // checkov:skip=CKV_AZURE_212: numberOfWorkers is a dedicated-plan setting; Flex Consumption scales instances per event source (maximumInstanceCount).
  // checkov:skip=CKV_AZURE_213: App Service health check evicts instances behind an HTTP load balancer; this app's work arrives by Service Bus and timers (Flex scales per trigger), and its `health` function is for operators' probes.
  // checkov:skip=CKV_AZURE_222: Without VNet integration and a private endpoint the operator deploys the package over the public (Entra-ID-authenticated) endpoint; the only HTTP function is the key-protected `health` probe. See docs/deploy.md "Network isolation".
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  // (checkov's parser reads at most four comment lines in a row: this skip sits apart.)
  // checkov:skip=CKV_AZURE_78: Flex Consumption rejects siteConfig.ftpsState ("site configuration properties ... for Flex Consumption sites is invalid"; Flex deprecations table: FTPS not supported); there is no FTP endpoint to disable, and basic-auth publishing (ftp, scm) is turned off by the basicPublishingCredentialsPolicies below.
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: identityId
    // Only site-config properties Flex Consumption accepts: the deprecated ones (ftpsState,
    // alwaysOn, linuxFxVersion, ...) make ARM reject the site; tests/infra list them.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      appSettings: concat(baseSettings, configPathSettings, targetSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobServiceUri}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Basic (user/password) publishing credentials off: deployments authenticate with Entra ID.
// `location` is not in the published type, but ARM rejects these children without it ("The
// parameter location has an invalid value", Azure/bicep-types-az#1317); Azure Verified Modules
// set it too (avm/res/web/site/basic-publishing-credentials-policy).
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  location: location
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  location: location
  properties: {
    allow: false
  }
}

output id string = app.id
output name string = app.name
output defaultHostName string = app.properties.defaultHostName
