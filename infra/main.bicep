// hireflow on Azure: everything `azd up` provisions. Resource group scope lives in the modules; this file names
// things, wires modules together and publishes the outputs azd stores in the environment (.azure/<env>/.env),
// which the post-deploy hook reads.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of the resource group and of every resource that has no location of its own.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Region for Azure OpenAI and Document Intelligence (model availability differs by region); empty means location.')
param aiLocation string = ''

@description('E.164 number the interview calls come from: a number bought on the Communication Services resource (it cannot be bought from Bicep).')
param acsCallerPhoneNumber string

@description('Where Communication Services stores its data at rest.')
param acsDataLocation string = 'United States'

@description('Durable Functions backend: Azure Storage (queues, tables, blobs of the app\'s own account) or the Durable Task Scheduler.')
@allowed(['AzureStorage', 'DurableTaskScheduler'])
param durableBackend string = 'AzureStorage'

@description('Replication of the app\'s storage account: Standard_LRS (every region) or Standard_ZRS (regions with availability zones).')
@allowed(['Standard_LRS', 'Standard_ZRS'])
param storageSku string = 'Standard_LRS'

@description('Put the app in a virtual network and reach storage, Azure OpenAI and Document Intelligence over private endpoints only (their public access is then disabled).')
param vnetEnabled bool = false

@description('Client id of the Entra ID app registration that signs recruiters in to the dashboard; empty: App Service Authentication runs with no provider, so nobody can sign in.')
param dashboardAuthClientId string = ''

@description('Chat model behind the AZURE_OPENAI_CHAT_DEPLOYMENT deployment.')
param openAiChatModel string = 'gpt-4o-mini'
param openAiChatModelVersion string = '2024-07-18'
@description('Chat deployment capacity in thousands of tokens per minute.')
param openAiChatCapacity int = 30

@description('Speech-to-text model behind the AZURE_OPENAI_TRANSCRIPTION_DEPLOYMENT deployment.')
param openAiTranscriptionModel string = 'whisper'
param openAiTranscriptionModelVersion string = '001'
param openAiTranscriptionCapacity int = 1
@description('Requests per minute the transcription deployment admits (Azure OpenAI grants Whisper 3 by default); the app\'s shared budget for it starts from this.')
@minValue(1)
param openAiTranscriptionRequestsPerMinute int = 3

@secure()
@description('Key of the per-interview token in ACS callback URLs (a second factor beside the JWT ACS signs). azd generates it once per environment and keeps it, so running interviews keep valid URLs across deployments.')
@metadata({ azd: { type: 'generate', config: { length: 48, noSpecial: true } } })
param acsCallbackSecret string

@secure()
@description('Key of the dashboard\'s sign-in tickets and session cookies (DASHBOARD_SIGNING_SECRET), apart from the ACS callback secret so each can be rotated alone. azd generates it once per environment and keeps it.')
@metadata({ azd: { type: 'generate', config: { length: 48, noSpecial: true } } })
param dashboardSigningSecret string

@description('OpenID configuration ACS publishes for the JWTs it signs on Call Automation callbacks (public cloud).')
param acsOpenIdConfigurationUrl string = 'https://acscallautomation.communication.azure.com/calling/.well-known/acsopenidconfiguration'

@description('Business rules, passed to the app settings of the same names (defaults equal shared/settings.py).')
param screeningAdvanceThreshold string = '0.7'
param screeningRejectThreshold string = '0.4'
param businessHoursStart string = '9'
param businessHoursEnd string = '17'
param interviewLeadHours string = '24'
param interviewDurationMinutes string = '30'
param schedulingHorizonDays string = '14'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var effectiveAiLocation = empty(aiLocation) ? location : aiLocation
var functionAppName = 'func-hireflow-${resourceToken}'
// The Flex Consumption deployment package container (one per app; 63 characters at most).
var deploymentContainerName = 'app-package-${take(resourceToken, 12)}'
var taskHubName = 'hireflow'

// The containers the app reads and writes (settings' *_CONTAINER) plus the deployment package container.
var containers = {
  resumes: 'resumes'
  jobs: 'jobs'
  artifacts: 'artifacts'
  recordings: 'recordings'
  reports: 'reports'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-hireflow-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-hireflow-${resourceToken}'
    applicationInsightsName: 'appi-hireflow-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'sthireflow${take(resourceToken, 14)}'
    location: location
    tags: tags
    privateOnly: vnetEnabled
    skuName: storageSku
    containerNames: [
      containers.resumes
      containers.jobs
      containers.artifacts
      containers.recordings
      containers.reports
      deploymentContainerName
    ]
  }
}

module ai 'modules/ai.bicep' = {
  name: 'ai'
  scope: rg
  params: {
    openAiName: 'oai-hireflow-${resourceToken}'
    documentIntelligenceName: 'di-hireflow-${resourceToken}'
    location: effectiveAiLocation
    tags: tags
    privateOnly: vnetEnabled
    chatModel: openAiChatModel
    chatModelVersion: openAiChatModelVersion
    chatCapacity: openAiChatCapacity
    transcriptionModel: openAiTranscriptionModel
    transcriptionModelVersion: openAiTranscriptionModelVersion
    transcriptionCapacity: openAiTranscriptionCapacity
  }
}

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: 'vnet-hireflow-${resourceToken}'
    location: location
    tags: tags
  }
}

// Private endpoints (vnetEnabled only), one per sub-resource the app calls. The AI endpoints live in the
// VNet's region even when the accounts are in aiLocation.
module blobEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'pe-blob'
  scope: rg
  params: {
    name: 'pe-blob-${resourceToken}'
    location: location
    tags: tags
    vnetId: network!.outputs.id
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: storage.outputs.id
    groupId: 'blob'
    dnsZoneName: 'privatelink.blob.${environment().suffixes.storage}'
  }
}

module queueEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'pe-queue'
  scope: rg
  params: {
    name: 'pe-queue-${resourceToken}'
    location: location
    tags: tags
    vnetId: network!.outputs.id
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: storage.outputs.id
    groupId: 'queue'
    dnsZoneName: 'privatelink.queue.${environment().suffixes.storage}'
  }
}

module tableEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'pe-table'
  scope: rg
  params: {
    name: 'pe-table-${resourceToken}'
    location: location
    tags: tags
    vnetId: network!.outputs.id
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: storage.outputs.id
    groupId: 'table'
    dnsZoneName: 'privatelink.table.${environment().suffixes.storage}'
  }
}

module openAiEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'pe-openai'
  scope: rg
  params: {
    name: 'pe-openai-${resourceToken}'
    location: location
    tags: tags
    vnetId: network!.outputs.id
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: ai.outputs.openAiId
    groupId: 'account'
    dnsZoneName: 'privatelink.openai.azure.com'
  }
}

module documentIntelligenceEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'pe-docintel'
  scope: rg
  params: {
    name: 'pe-docintel-${resourceToken}'
    location: location
    tags: tags
    vnetId: network!.outputs.id
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: ai.outputs.documentIntelligenceId
    groupId: 'account'
    dnsZoneName: 'privatelink.cognitiveservices.azure.com'
  }
}

module communication 'modules/communication.bicep' = {
  name: 'communication'
  scope: rg
  params: {
    name: 'acs-hireflow-${resourceToken}'
    dataLocation: acsDataLocation
    tags: tags
  }
}

module durableTaskScheduler 'modules/durable-task-scheduler.bicep' = if (durableBackend == 'DurableTaskScheduler') {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    name: 'dts-hireflow-${resourceToken}'
    taskHubName: taskHubName
    location: location
    tags: tags
  }
}

module eventGrid 'modules/event-grid.bicep' = {
  name: 'event-grid'
  scope: rg
  params: {
    storageTopicName: 'evgt-storage-${resourceToken}'
    communicationTopicName: 'evgt-acs-${resourceToken}'
    storageAccountName: storage.outputs.name
    communicationServiceName: communication.outputs.name
    location: location
    tags: tags
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-hireflow-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    dashboardAuthClientId: dashboardAuthClientId
    durableBackend: durableBackend
    durableTaskSchedulerEndpoint: durableBackend == 'DurableTaskScheduler' ? durableTaskScheduler!.outputs.endpoint : ''
    taskHubName: taskHubName
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    appSettings: {
      HIREFLOW_PROFILE: 'azure'
      RESUME_TRIGGER_SOURCE: 'EventGrid'
      STORAGE_ACCOUNT_URL: storage.outputs.blobEndpoint
      RESUMES_CONTAINER: containers.resumes
      JOBS_CONTAINER: containers.jobs
      ARTIFACTS_CONTAINER: containers.artifacts
      RECORDINGS_CONTAINER: containers.recordings
      REPORTS_CONTAINER: containers.reports
      AZURE_OPENAI_ENDPOINT: ai.outputs.openAiEndpoint
      AZURE_OPENAI_API_VERSION: '2024-10-21'
      AZURE_OPENAI_CHAT_DEPLOYMENT: ai.outputs.chatDeploymentName
      AZURE_OPENAI_TRANSCRIPTION_DEPLOYMENT: ai.outputs.transcriptionDeploymentName
      // Whisper's request limit on Azure OpenAI; longer recordings are split by the transcription activity.
      AZURE_OPENAI_TRANSCRIPTION_MAX_BYTES: string(25 * 1024 * 1024)
      AZURE_OPENAI_CONTEXT_TOKENS: '128000'
      AZURE_OPENAI_MAX_OUTPUT_TOKENS: '4096'
      // Two client retries per request (honouring retry-after); the orchestrator's RetryOptions cover the rest.
      AZURE_OPENAI_MAX_RETRIES: '2'
      // The shared token budget starts from the chat deployment's quota: capacity is thousands of tokens per
      // minute, and Azure OpenAI allows 6 requests per minute per thousand.
      AZURE_OPENAI_CHAT_TOKENS_PER_MINUTE: string(openAiChatCapacity * 1000)
      AZURE_OPENAI_CHAT_REQUESTS_PER_MINUTE: string(openAiChatCapacity * 6)
      // Transcription quotas count requests only; the app reserves each transcription's requests on it.
      AZURE_OPENAI_TRANSCRIPTION_REQUESTS_PER_MINUTE: string(openAiTranscriptionRequestsPerMinute)
      DOCUMENT_INTELLIGENCE_ENDPOINT: ai.outputs.documentIntelligenceEndpoint
      DOCUMENT_INTELLIGENCE_MODEL: 'prebuilt-read'
      ACS_ENDPOINT: communication.outputs.endpoint
      ACS_CALLER_PHONE_NUMBER: acsCallerPhoneNumber
      // The audience of the JWT ACS signs its callbacks with, and where its signing keys are published.
      ACS_IMMUTABLE_RESOURCE_ID: communication.outputs.immutableResourceId
      ACS_OPENID_CONFIGURATION_URL: acsOpenIdConfigurationUrl
      ACS_CALLBACK_SECRET: acsCallbackSecret
      DASHBOARD_SIGNING_SECRET: dashboardSigningSecret
      HTTP_TIMEOUT_SECONDS: '60'
      HTTP_CONNECT_TIMEOUT_SECONDS: '10'
      SCREENING_ADVANCE_THRESHOLD: screeningAdvanceThreshold
      SCREENING_REJECT_THRESHOLD: screeningRejectThreshold
      BUSINESS_HOURS_START: businessHoursStart
      BUSINESS_HOURS_END: businessHoursEnd
      INTERVIEW_LEAD_HOURS: interviewLeadHours
      INTERVIEW_DURATION_MINUTES: interviewDurationMinutes
      SCHEDULING_HORIZON_DAYS: schedulingHorizonDays
    }
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    openAiName: ai.outputs.openAiName
    documentIntelligenceName: ai.outputs.documentIntelligenceName
    communicationServiceName: communication.outputs.name
    durableBackend: durableBackend
    durableTaskSchedulerName: durableBackend == 'DurableTaskScheduler' ? durableTaskScheduler!.outputs.name : ''
    taskHubName: taskHubName
  }
}

// Read by azd (AZURE_*, SERVICE_*) and by infra/hooks/postdeploy.* (names, topics, container).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output RESUMES_CONTAINER string = containers.resumes
output STORAGE_EVENTGRID_TOPIC_NAME string = eventGrid.outputs.storageTopicName
output ACS_EVENTGRID_TOPIC_NAME string = eventGrid.outputs.communicationTopicName
output ACS_RESOURCE_NAME string = communication.outputs.name
output AZURE_OPENAI_ENDPOINT string = ai.outputs.openAiEndpoint
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output DURABLE_BACKEND string = durableBackend
output VNET_ENABLED bool = vnetEnabled
