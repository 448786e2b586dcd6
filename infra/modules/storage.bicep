// The app's one storage account: Functions host (AzureWebJobsStorage), Durable Functions' Azure Storage backend,
// the blob containers the pipeline uses and the Flex Consumption deployment package. Shared keys are off: every
// caller authenticates with Entra ID (the app's managed identity, Event Grid's system topic needs no key).
param name string
param location string
param tags object = {}
param containerNames array
@description('Replication: LRS deploys in every region; choose Standard_ZRS where the region has availability zones.')
@allowed(['Standard_LRS', 'Standard_ZRS'])
param skuName string = 'Standard_LRS'
@description('Refuse public network access: the app then reaches the account over private endpoints (vnetEnabled).')
param privateOnly bool = false

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  // checkov:skip=CKV_AZURE_35: public access is denied when privateOnly (vnetEnabled) is set; without a VNet (the default) Flex Consumption reaches the account over its public endpoint, shared keys are off and every caller is authorized by Entra ID RBAC
  // checkov:skip=CKV_AZURE_59: as for CKV_AZURE_35: disabled with vnetEnabled, otherwise the app's only path to its own storage; anonymous blob access and shared keys are both disabled
  // checkov:skip=CKV_AZURE_206: LRS by default so the template deploys in regions without availability zones (STORAGE_SKU=Standard_ZRS where they exist); geo-replication would not help because a task hub cannot fail over to the read-only secondary
  sku: { name: skuName }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
    networkAcls: {
      // Without a VNet the app reaches storage over the public endpoint and Entra ID, not the network, is the
      // boundary. Trusted Azure services (Event Grid creating the BlobCreated subscription) stay bypassed.
      defaultAction: privateOnly ? 'Deny' : 'Allow'
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
