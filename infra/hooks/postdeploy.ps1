# azd postdeploy hook (Windows twin of postdeploy.sh; same steps, same names): subscribe the app's triggers to the
# Event Grid system topics infra/main.bicep created, with the extension system keys that exist only after deploy.
$ErrorActionPreference = 'Stop'

foreach ($name in 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'STORAGE_EVENTGRID_TOPIC_NAME', 'ACS_EVENTGRID_TOPIC_NAME') {
    if (-not (Get-Item "env:$name" -ErrorAction SilentlyContinue)) {
        throw "postdeploy: $name is not set; run through azd (azd up / azd deploy)"
    }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) { throw 'postdeploy: the Azure CLI (az) is required' }
$resumes = if ($env:RESUMES_CONTAINER) { $env:RESUMES_CONTAINER } else { 'resumes' }

function Get-SystemKey([string] $keyName) {
    for ($attempt = 0; $attempt -lt 30; $attempt++) {
        $key = az functionapp keys list -g $env:AZURE_RESOURCE_GROUP -n $env:AZURE_FUNCTION_APP_NAME --query "systemKeys.$keyName" -o tsv 2>$null
        if ($key) { return $key }
        Start-Sleep -Seconds 10
    }
    throw "postdeploy: system key $keyName did not appear; is the app running with that trigger?"
}

$appHost = az functionapp show -g $env:AZURE_RESOURCE_GROUP -n $env:AZURE_FUNCTION_APP_NAME --query defaultHostName -o tsv
$blobsKey = Get-SystemKey 'blobs_extension'
$eventGridKey = Get-SystemKey 'eventgrid_extension'

Write-Host "postdeploy: subscribing resume_uploaded to BlobCreated in $resumes/"
az eventgrid system-topic event-subscription create `
    --name resumes-blob-created `
    --resource-group $env:AZURE_RESOURCE_GROUP `
    --system-topic-name $env:STORAGE_EVENTGRID_TOPIC_NAME `
    --endpoint-type webhook `
    --endpoint "https://$appHost/runtime/webhooks/blobs?functionName=Host.Functions.resume_uploaded&code=$blobsKey" `
    --included-event-types Microsoft.Storage.BlobCreated `
    --subject-begins-with "/blobServices/default/containers/$resumes/" `
    --event-delivery-schema eventgridschema `
    --output none
if ($LASTEXITCODE -ne 0) { throw 'postdeploy: creating the BlobCreated subscription failed' }

Write-Host 'postdeploy: subscribing recording_file_status_updated to RecordingFileStatusUpdated'
az eventgrid system-topic event-subscription create `
    --name recording-file-status-updated `
    --resource-group $env:AZURE_RESOURCE_GROUP `
    --system-topic-name $env:ACS_EVENTGRID_TOPIC_NAME `
    --endpoint-type webhook `
    --endpoint "https://$appHost/runtime/webhooks/eventgrid?functionName=recording_file_status_updated&code=$eventGridKey" `
    --included-event-types Microsoft.Communication.RecordingFileStatusUpdated `
    --event-delivery-schema eventgridschema `
    --output none
if ($LASTEXITCODE -ne 0) { throw 'postdeploy: creating the RecordingFileStatusUpdated subscription failed' }

Write-Host 'postdeploy: Event Grid subscriptions are in place'
