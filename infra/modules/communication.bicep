// Azure Communication Services: Call Automation places the interview calls and records them. The caller number
// is bought on this resource after provisioning (a parameter of main.bicep names it for the app).
param name string
param dataLocation string
param tags object = {}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    // Local (access key) authentication stays available only because ACS has no switch to turn it off for Call
    // Automation; the app never reads a key (ACS_ENDPOINT + managed identity).
  }
}

output name string = communication.name
output id string = communication.id
output endpoint string = 'https://${communication.properties.hostName}/'
// The audience of the JWT ACS signs on Call Automation callbacks.
output immutableResourceId string = communication.properties.immutableResourceId
