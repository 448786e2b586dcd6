#!/bin/sh
# azd postdeploy hook: subscribe the app's triggers to the Event Grid system topics that infra/main.bicep created.
#   storage  Microsoft.Storage.BlobCreated under resumes/  -> blob trigger resume_uploaded (Event Grid source)
#   ACS      Microsoft.Communication.RecordingFileStatusUpdated -> Event Grid trigger recording_file_status_updated
# The webhook URLs carry the Functions host's extension system keys (blobs_extension, eventgrid_extension), which
# the host creates when it first loads those triggers, i.e. only after deployment. Safe to re-run: `create`
# replaces a subscription of the same name. azd passes the environment's values (Bicep outputs) as variables.
set -eu

: "${AZURE_RESOURCE_GROUP:?run through azd (azd up / azd deploy), which sets the environment}"
: "${AZURE_FUNCTION_APP_NAME:?missing Bicep output AZURE_FUNCTION_APP_NAME}"
: "${STORAGE_EVENTGRID_TOPIC_NAME:?missing Bicep output STORAGE_EVENTGRID_TOPIC_NAME}"
: "${ACS_EVENTGRID_TOPIC_NAME:?missing Bicep output ACS_EVENTGRID_TOPIC_NAME}"
RESUMES_CONTAINER="${RESUMES_CONTAINER:-resumes}"

command -v az >/dev/null 2>&1 || { echo "postdeploy: the Azure CLI (az) is required" >&2; exit 1; }

# The host writes its system keys a little after the first start; wait for them rather than fail the deploy.
system_key() {
  attempt=0
  while [ "$attempt" -lt 30 ]; do
    key=$(az functionapp keys list -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" \
      --query "systemKeys.$1" -o tsv 2>/dev/null || true)
    if [ -n "$key" ]; then
      printf '%s' "$key"
      return 0
    fi
    attempt=$((attempt + 1))
    sleep 10
  done
  echo "postdeploy: system key $1 did not appear; is the app running with that trigger?" >&2
  return 1
}

host=$(az functionapp show -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" --query defaultHostName -o tsv)
blobs_key=$(system_key blobs_extension)
eventgrid_key=$(system_key eventgrid_extension)

echo "postdeploy: subscribing resume_uploaded to BlobCreated in ${RESUMES_CONTAINER}/"
az eventgrid system-topic event-subscription create \
  --name resumes-blob-created \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --system-topic-name "$STORAGE_EVENTGRID_TOPIC_NAME" \
  --endpoint-type webhook \
  --endpoint "https://${host}/runtime/webhooks/blobs?functionName=Host.Functions.resume_uploaded&code=${blobs_key}" \
  --included-event-types Microsoft.Storage.BlobCreated \
  --subject-begins-with "/blobServices/default/containers/${RESUMES_CONTAINER}/" \
  --event-delivery-schema eventgridschema \
  --output none

echo "postdeploy: subscribing recording_file_status_updated to RecordingFileStatusUpdated"
az eventgrid system-topic event-subscription create \
  --name recording-file-status-updated \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --system-topic-name "$ACS_EVENTGRID_TOPIC_NAME" \
  --endpoint-type webhook \
  --endpoint "https://${host}/runtime/webhooks/eventgrid?functionName=recording_file_status_updated&code=${eventgrid_key}" \
  --included-event-types Microsoft.Communication.RecordingFileStatusUpdated \
  --event-delivery-schema eventgridschema \
  --output none

echo "postdeploy: Event Grid subscriptions are in place"
