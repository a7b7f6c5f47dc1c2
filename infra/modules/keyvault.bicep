// Key Vault in RBAC mode with purge protection. It holds the secrets the app reads through
// Key Vault references (Zaptec credentials, Zaptec's Service Bus connection string, target
// secrets). The template creates no secrets and takes no secret values: infra/deploy.sh writes
// them from environment variables. Audit events go to Log Analytics.

@description('Key Vault name (3-24 letters, digits and hyphens, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Log Analytics workspace that receives the vault audit log.')
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: Flex Consumption without VNet integration resolves Key Vault references over the public endpoint ("trusted services" does not cover them); access is RBAC-only. See docs/deploy.md "Network isolation".
  // checkov:skip=CKV_AZURE_189: Public network access stays on so the Flex Consumption app (no VNet) can resolve Key Vault references and deploy.sh can write secrets; every request needs Entra ID + RBAC.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource audit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
