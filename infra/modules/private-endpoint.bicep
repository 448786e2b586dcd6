// One private endpoint with its private DNS zone (linked to the VNet), so the app resolves the service's
// public name to the endpoint's private address.
param name string
param location string
param tags object = {}
param vnetId string
param subnetId string
@description('Resource id of the service the endpoint connects to.')
param targetId string
@description('Sub-resource of the target: blob, queue, table, account.')
param groupId string
@description('privatelink.* zone of that sub-resource.')
param dnsZoneName string

resource zone 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: dnsZoneName
  location: 'global'
  tags: tags
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: zone
  name: '${name}-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnetId }
  }
}

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: { id: subnetId }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetId
          groupIds: [groupId]
        }
      }
    ]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: replace(dnsZoneName, '.', '-')
        properties: { privateDnsZoneId: zone.id }
      }
    ]
  }
}
