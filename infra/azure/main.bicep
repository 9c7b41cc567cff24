// Marketplace on Azure Functions (Linux Consumption): the isolated worker functions/Marketplace.Functions.Azure
// (Microsoft.Azure.Functions.Worker with the ASP.NET Core integration, FUNCTIONS_WORKER_RUNTIME=dotnet-isolated).
// One package (`dotnet publish functions/Marketplace.Functions.Azure -c Release -r linux-x64 --self-contained false`,
// zipped: the worker, its functions.metadata and host.json) runs as two Function Apps on one plan:
//   - <name>-api: the HTTP functions Publish, Download and the catch-all Api; the Projections timer is disabled;
//   - <name>-projections: the Projections timer (catch-up, receipt pruning, webhook dispatch), one instance at most;
//     its HTTP functions are disabled, so it has no public route.
// The function names are those of the worker's generated functions.metadata. Schema migration is a deploy step
// (db-apply), not a start. tests/Marketplace.Tests/Deployment compiles this file with the Bicep CLI and checks it
// against the worker's functions.metadata.

@description('Base name of the resources: lower-case letters, digits and hyphens.')
@minLength(3)
@maxLength(16)
param name string = 'marketplace'

param location string = resourceGroup().location

@description('Npgsql connection string of the PostgreSQL database (e.g. Azure Database for PostgreSQL flexible server, SSL Mode=Require). Kept in Key Vault; the apps read it through a Key Vault reference.')
@secure()
param postgresConnectionString string

@description('Schema of the events and documents.')
param martenSchema string = 'marketplace'

@description('URL of the deployment zip (the worker\'s publish output; a blob URL with a read SAS): Linux Consumption runs from a package URL.')
param packageUrl string

@description('Base64 32-byte Ed25519 seed of the registry key (checkpoints, webhook signatures): every app signs with it and clients pin it, so keep it across deployments.')
@secure()
param registrySigningKey string

@description('Typesense: the cluster URL (empty = PostgreSQL full-text search) and the alias searched and fed.')
param typesenseUrl string = ''
param typesenseCollection string = 'packages'

var suffix = uniqueString(resourceGroup().id, name)
var storageName = take('st${replace(name, '-', '')}${suffix}', 24)
var blobContainer = 'packages'
var blobHost = '${storageName}.blob.${environment().suffixes.storage}'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Package blobs (sha256/…) and staged uploads (uploads/…) in one private container: the app's Azure blob store
// (Blobs__Store=azure) redirects downloads to short-lived read SAS URLs and hands out create-only SAS URLs for uploads.
resource packagesContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: blobContainer
  properties: { publicAccess: 'None' }
}

// A staged upload no publish promoted is garbage after a day (the upload SAS lives minutes).
resource stagedUploadsExpiry 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-staged-uploads'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: [ 'blockBlob' ], prefixMatch: [ '${blobContainer}/uploads/' ] }
            actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1 } } }
          }
        }
      ]
    }
  }
}

// Azure Front Door Standard in front of the blob service, for downloads only. The container stays private: Front
// Door has no identity or key of its own and forwards each request's path and query (the app's read SAS for that one
// blob) unchanged over HTTPS, so it can fetch only what the app signed. The app (Blobs__Azure__CdnBaseUrl) redirects a
// download to https://<endpoint host>/packages/sha256/…?<SAS>, a SAS that is the same for every download of one blob
// within a whole hour; the cache key is the path plus the SAS parameters, so one blob costs one origin fetch per hour
// and edge, and a request without a SAS the storage account accepted never fills the cache. The route matches the
// content-addressed path only: staged uploads (packages/uploads/…) and every other container have no route.
resource frontDoor 'Microsoft.Cdn/profiles@2024-02-01' = {
  name: 'afd-${name}-${suffix}'
  location: 'global'
  sku: { name: 'Standard_AzureFrontDoor' }
  properties: {
    originResponseTimeoutSeconds: 60
  }
}

resource blobEndpoint 'Microsoft.Cdn/profiles/afdEndpoints@2024-02-01' = {
  parent: frontDoor
  name: 'blobs-${name}-${suffix}'
  location: 'global'
  properties: { enabledState: 'Enabled' }
}

resource blobOrigins 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: frontDoor
  name: 'blob-storage'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
    // One origin, so no health probe: a probe carries no SAS, and the private container would refuse it.
  }
}

resource blobOrigin 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = {
  parent: blobOrigins
  name: 'blob-service'
  properties: {
    hostName: blobHost
    originHostHeader: blobHost
    httpPort: 80
    httpsPort: 443
    priority: 1
    weight: 1000
    enabledState: 'Enabled'
    enforceCertificateNameCheck: true
  }
}

// The query parameters of the app's CDN download SAS (AzureBlobStore.CdnDownloadUrl): the cache key is these and the
// path, so a query parameter anyone appends cannot split the cache; each SAS field is in it, so two SAS never share
// an entry (tests check this list against the URLs the store makes).
var cdnSasParameters = [ 'sv', 'spr', 'se', 'sr', 'sp', 'rscc', 'rscd', 'rsct', 'sig' ]

resource blobRoute 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: blobEndpoint
  name: 'package-blobs'
  dependsOn: [ blobOrigin ]
  properties: {
    originGroup: { id: blobOrigins.id }
    patternsToMatch: [ '/${blobContainer}/sha256/*' ]
    supportedProtocols: [ 'Https' ]
    httpsRedirect: 'Disabled'
    forwardingProtocol: 'HttpsOnly'
    linkToDefaultDomain: 'Enabled'
    enabledState: 'Enabled'
    cacheConfiguration: {
      queryStringCachingBehavior: 'IncludeSpecifiedQueryStrings'
      queryParameters: join(cdnSasParameters, ',')
      // Package archives are compressed already.
      compressionSettings: { isCompressionEnabled: false }
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('kv-${name}-${suffix}', 24)
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

resource postgresSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'postgres-connection'
  properties: { value: postgresConnectionString }
}

// The blob store signs SAS URLs with the account key, so its connection string is a secret like the database's.
resource blobConnectionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'blob-storage-connection'
  properties: { value: storageConnection }
}

resource registryKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'registry-signing-key'
  properties: { value: registrySigningKey }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: 'plan-${name}-${suffix}'
  location: location
  kind: 'functionapp'
  sku: { name: 'Y1', tier: 'Dynamic' }
  properties: { reserved: true }
}

var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}'

var commonSettings = [
  { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
  { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
  { name: 'AzureWebJobsStorage', value: storageConnection }
  { name: 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', value: storageConnection }
  { name: 'WEBSITE_RUN_FROM_PACKAGE', value: packageUrl }
  { name: 'ConnectionStrings__Marketplace', value: '@Microsoft.KeyVault(SecretUri=${postgresSecret.properties.secretUri})' }
  { name: 'Marten__Schema', value: martenSchema }
  { name: 'Marten__ApplySchemaOnStartup', value: 'false' }
  { name: 'Marten__Daemon', value: 'Disabled' }
  // The worker sees the client's address in X-Forwarded-For from the Functions front end: the production profile.
  { name: 'Protection__Profile', value: 'production' }
  // The client is the hop the platform's front end appended to X-Forwarded-For (behind Front Door: azure-front-door).
  { name: 'Protection__ClientAddressSource', value: 'forwarded-for' }
  { name: 'Protection__TrustedProxies', value: '1' }
  { name: 'Blobs__Store', value: 'azure' }
  { name: 'Blobs__Azure__ConnectionString', value: '@Microsoft.KeyVault(SecretUri=${blobConnectionSecret.properties.secretUri})' }
  { name: 'Blobs__Azure__Container', value: packagesContainer.name }
  { name: 'Blobs__Azure__CdnBaseUrl', value: 'https://${blobEndpoint.properties.hostName}' }
  { name: 'Typesense__Url', value: typesenseUrl }
  { name: 'Typesense__Collection', value: typesenseCollection }
  { name: 'Registry__SigningKey', value: '@Microsoft.KeyVault(SecretUri=${registryKeySecret.properties.secretUri})' }
]

// Each app runs the same functions.metadata with the other app's functions disabled (AzureWebJobs.<name>.Disabled).
var httpFunctions = [ 'Publish', 'Download', 'Api' ]
var timerFunctions = [ 'Projections' ]

var apps = [
  {
    role: 'api'
    scaleLimit: 200
    settings: concat(map(timerFunctions, f => { name: 'AzureWebJobs.${f}.Disabled', value: 'true' }), [
      { name: 'Marketplace__PublicBaseUrl', value: 'https://${name}-api-${suffix}.azurewebsites.net' }
    ])
  }
  {
    role: 'projections'
    scaleLimit: 1
    settings: concat(map(httpFunctions, f => { name: 'AzureWebJobs.${f}.Disabled', value: 'true' }), [
      // Within host.json's functionTimeout (5 minutes): a run cut short keeps what it committed.
      { name: 'Projections__CatchUpDeadline', value: '00:04:30' }
    ])
  }
]

resource sites 'Microsoft.Web/sites@2023-12-01' = [for app in apps: {
  name: '${name}-${app.role}-${suffix}'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    reserved: true
    siteConfig: {
      linuxFxVersion: 'DOTNET-ISOLATED|10.0'
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      functionAppScaleLimit: app.scaleLimit
      appSettings: concat(commonSettings, app.settings, [
        { name: 'WEBSITE_CONTENTSHARE', value: toLower('${name}-${app.role}-${suffix}') }
      ])
    }
  }
}]

// Key Vault references resolve with each app's own identity, which may read secrets and nothing else.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (app, i) in apps: {
  name: guid(vault.id, app.role, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: sites[i].identity.principalId
    principalType: 'ServicePrincipal'
  }
}]

output apiUrl string = 'https://${sites[0].properties.defaultHostName}'
output projectionsApp string = sites[1].name
output cdnUrl string = 'https://${blobEndpoint.properties.hostName}'
