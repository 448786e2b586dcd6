// Azure OpenAI (chat + transcription deployments) and Document Intelligence. Both have a custom subdomain, which
// Entra ID authentication requires, and keys disabled: the app calls them with its managed identity only.
param openAiName string
param documentIntelligenceName string
param location string
param tags object = {}
param chatModel string
param chatModelVersion string
param chatCapacity int
param transcriptionModel string
param transcriptionModelVersion string
param transcriptionCapacity int
@description('Refuse public network access: the app then reaches both accounts over private endpoints (vnetEnabled).')
param privateOnly bool = false

resource openAi 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: openAiName
  location: location
  tags: tags
  kind: 'OpenAI'
  // checkov:skip=CKV_AZURE_134: public access is disabled with vnetEnabled (private endpoint); without a VNet (the default) the app calls the public endpoint, keys are disabled and only the app's identity holds a data-plane role
  sku: { name: 'S0' }
  identity: { type: 'SystemAssigned' }
  properties: {
    customSubDomainName: openAiName
    disableLocalAuth: true
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
    networkAcls: { defaultAction: privateOnly ? 'Deny' : 'Allow' }
  }
}

resource chatDeployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: openAi
  name: chatModel
  sku: {
    name: 'GlobalStandard'
    capacity: chatCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: chatModel
      version: chatModelVersion
    }
  }
}

// Deployments of one account are created one at a time (the service refuses concurrent ones).
resource transcriptionDeployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: openAi
  name: transcriptionModel
  dependsOn: [chatDeployment]
  sku: {
    name: 'Standard'
    capacity: transcriptionCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: transcriptionModel
      version: transcriptionModelVersion
    }
  }
}

resource documentIntelligence 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: documentIntelligenceName
  location: location
  tags: tags
  kind: 'FormRecognizer'
  // checkov:skip=CKV_AZURE_134: as for Azure OpenAI: disabled with vnetEnabled, otherwise a public endpoint with keys disabled and Entra ID RBAC for the app's identity only
  sku: { name: 'S0' }
  identity: { type: 'SystemAssigned' }
  properties: {
    customSubDomainName: documentIntelligenceName
    disableLocalAuth: true
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
    networkAcls: { defaultAction: privateOnly ? 'Deny' : 'Allow' }
  }
}

output openAiName string = openAi.name
output openAiId string = openAi.id
output openAiEndpoint string = openAi.properties.endpoint
output chatDeploymentName string = chatDeployment.name
output transcriptionDeploymentName string = transcriptionDeployment.name
output documentIntelligenceName string = documentIntelligence.name
output documentIntelligenceId string = documentIntelligence.id
output documentIntelligenceEndpoint string = documentIntelligence.properties.endpoint
