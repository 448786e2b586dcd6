// Optional Durable Functions backend (durableBackend = 'DurableTaskScheduler'): a Consumption scheduler and the
// app's task hub; the app reaches it with its managed identity (Durable Task Data Contributor, see rbac.bicep).
param name string
param taskHubName string
param location string
param tags object = {}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Reached over its public endpoint with Entra ID tokens; narrow this list when the app gets a VNet.
    ipAllowlist: ['0.0.0.0/0']
    sku: { name: 'Consumption' }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
