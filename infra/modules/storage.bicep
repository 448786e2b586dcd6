// The app's one storage account: Functions host (AzureWebJobsStorage), Durable Functions' Azure Storage backend,
// the blob containers the pipeline uses and the Flex Consumption deployment package. Shared keys are off: every
// caller authenticates with Entra ID (the app's managed identity, Event Grid's system topic needs no key).
param name string
param location string
param tags object = {}
param containerNames array

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  // checkov:skip=CKV_AZURE_35: no VNet is provisioned (docs/DEPLOY.md), so Flex Consumption and Event Grid reach the account over its public endpoint; shared keys are off and every caller is authorized by Entra ID RBAC
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: public network access is how the app reaches its own storage without a VNet; anonymous blob access and shared keys are both disabled
  // checkov:skip=CKV_AZURE_206: zone-redundant (ZRS) replication is chosen; geo-replication would not help because a task hub cannot fail over to the read-only secondary region
  sku: { name: 'Standard_ZRS' }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // Flex Consumption without a virtual network reaches storage over the public endpoint; Entra ID, not the
      // network, is the boundary (see docs/DEPLOY.md for the VNet option that is not provisioned here).
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: { publicAccess: 'None' }
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
