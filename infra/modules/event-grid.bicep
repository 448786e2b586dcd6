// Event Grid system topics whose subscriptions feed the app's triggers. The subscriptions themselves point at
// the Functions runtime webhooks with extension system keys that exist only once the app is deployed and
// running, so infra/hooks/postdeploy.* creates them (az eventgrid system-topic event-subscription create).
param storageTopicName string
param communicationTopicName string
param storageAccountName string
param communicationServiceName string
param location string
param tags object = {}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: communicationServiceName
}

// Microsoft.Storage.BlobCreated under resumes/ -> the resume_uploaded blob trigger (Event Grid source).
resource storageTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: storageTopicName
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Microsoft.Communication.RecordingFileStatusUpdated -> the recording_file_status_updated Event Grid trigger.
resource communicationTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: communicationTopicName
  location: 'global'
  tags: tags
  properties: {
    source: communication.id
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

output storageTopicName string = storageTopic.name
output communicationTopicName string = communicationTopic.name
