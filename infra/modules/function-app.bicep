// The Function App on Flex Consumption (FC1, Python 3.11), running as the user-assigned identity, with every app
// setting the code reads (shared/settings.py) plus the host's own: identity-based AzureWebJobsStorage, Entra-
// authenticated Application Insights, the durable backend, and App Service Authentication for the dashboard.
param name string
param planName string
param location string
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param dashboardAuthClientId string
@allowed(['AzureStorage', 'DurableTaskScheduler'])
param durableBackend string
param durableTaskSchedulerEndpoint string
param taskHubName string
@description('App settings the pipeline reads, computed in main.bicep.')
param appSettings object
@description('Subnet (delegated to Microsoft.App/environments) for outbound VNet integration; empty: none.')
param virtualNetworkSubnetId string = ''
param maximumInstanceCount int = 100
param instanceMemoryMB int = 2048

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy exists only in some regions; azd lets the user pick any region, so it is left off rather than failing there
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: ACS posts call events and Event Grid delivers blob and recording events from the internet; the API keeps function keys and the dashboard Entra ID sign-in
  // checkov:skip=CKV_AZURE_17: none of the callers (ACS, Event Grid, browsers, API clients with function keys) presents a client certificate
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design; durable state lives in storage, so no instance has to stay up for failover
  // checkov:skip=CKV_AZURE_213: App Service health check is not available on Flex Consumption; GET /api/health serves external probes
  name: name
  location: location
  // azd deploys the `api` service of azure.yaml to the site carrying this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Flex Consumption takes the language from here; it refuses FUNCTIONS_WORKER_RUNTIME as an app setting.
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Deployments go through azd (Entra ID); basic-auth publishing credentials stay off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

var hostSettings = {
  // Identity-based host storage: no connection string, no key (the account refuses shared keys).
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // DefaultAzureCredential (shared/clients.py) picks the user-assigned identity by this id.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  // Entra ID ingestion (the component has local auth disabled); read by the Azure Monitor exporter.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The Python worker configures azure-monitor-opentelemetry and joins the host's trace context per invocation;
  // shared/telemetry.py then adds the instance-id span processor to that provider.
  PYTHON_ENABLE_OPENTELEMETRY: 'true'
  // ACS posts mid-call events here; the app's own public address.
  CALLBACK_BASE_URL: 'https://${site.properties.defaultHostName}'
}

// Overrides host.json's Azure Storage provider without a second host.json.
var durableTaskSchedulerSettings = (durableBackend == 'DurableTaskScheduler') ? {
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  AzureFunctionsJobHost__extensions__durableTask__hubName: taskHubName
} : {}

// The settings as the site's appsettings child (what the portal and `az functionapp config appsettings` edit).
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov runs its whole-web-app checks on sites/config children too; they are answered on `site` above:
  // checkov:skip=CKV_AZURE_13: not a site (appsettings child); App Service Authentication is the authsettingsV2 resource below
  // checkov:skip=CKV_AZURE_63: not a site (appsettings child); HTTP logs go to Application Insights through OpenTelemetry
  // checkov:skip=CKV_AZURE_65: not a site (appsettings child); detailed error pages would reveal internals to callers
  // checkov:skip=CKV_AZURE_66: not a site (appsettings child); failed request tracing is an IIS (Windows) feature, the app runs on Linux
  // checkov:skip=CKV_AZURE_80: not a site (appsettings child); the app runs Python 3.11, not .NET Framework
  // checkov:skip=CKV_AZURE_88: not a site (appsettings child); Flex Consumption deploys from a blob container, not Azure Files
  // checkov:skip=CKV_AZURE_222: not a site (appsettings child); public access is justified on `site`
  parent: site
  name: 'appsettings'
  properties: union(appSettings, hostSettings, durableTaskSchedulerSettings)
}

// Entra ID sign-in for the dashboard, when an app registration is given.
var entraIdProvider = empty(dashboardAuthClientId) ? {} : {
  azureActiveDirectory: {
    enabled: true
    registration: {
      clientId: dashboardAuthClientId
      openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    }
    validation: {
      allowedAudiences: [
        dashboardAuthClientId
        'api://${dashboardAuthClientId}'
      ]
    }
  }
}

// App Service Authentication, always on: only while it runs does the platform strip x-ms-client-principal*
// headers that a caller sends itself, so the dashboard can trust them; off, anyone could claim a sign-in.
// Unauthenticated requests still reach the functions: the HTTP API keeps its function keys, ACS and Event Grid
// call the webhooks without a sign-in, and the dashboard route answers 401 without the principal headers this
// layer adds for signed-in recruiters (none can sign in until DASHBOARD_AUTH_CLIENT_ID names a registration).
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov runs its whole-web-app checks on this authsettingsV2 child too; they are answered on `site` above:
  // checkov:skip=CKV_AZURE_13: this resource IS App Service Authentication (Entra ID); checkov mistakes the child for a site
  // checkov:skip=CKV_AZURE_63: not a site (authsettingsV2 child); HTTP logs go to Application Insights through OpenTelemetry
  // checkov:skip=CKV_AZURE_65: not a site (authsettingsV2 child); detailed error pages would reveal internals to callers
  // checkov:skip=CKV_AZURE_66: not a site (authsettingsV2 child); failed request tracing is an IIS (Windows) feature, the app runs on Linux
  // checkov:skip=CKV_AZURE_80: not a site (authsettingsV2 child); the app runs Python 3.11, not .NET Framework
  // checkov:skip=CKV_AZURE_88: not a site (authsettingsV2 child); Flex Consumption deploys from a blob container, not Azure Files
  // checkov:skip=CKV_AZURE_222: not a site (authsettingsV2 child); public access is justified on `site`
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: entraIdProvider
    login: {
      tokenStore: {
        enabled: true
      }
    }
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
