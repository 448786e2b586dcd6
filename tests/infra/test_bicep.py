"""Offline validation of the azd deployment: Bicep parses, layout coherent, settings and roles complete.

What only a real ``azd up`` proves (the ARM API accepting every property, quota, the Functions host starting)
is listed in docs/DEPLOY.md; everything that can be checked without Azure is checked here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.settings import setting_keys
from tests.infra.bicep import INFRA, REPO, app_settings, bicep_files, parse, role_assignments

# Settings the code reads that Azure must NOT get, and why: on Azure everything authenticates with the app's
# managed identity, and the emulator plumbing does not exist there.
LOCAL_ONLY_SETTINGS = {
    "AzureWebJobsStorage": "a connection string (Azurite); on Azure AzureWebJobsStorage__* name the account",
    "AZURE_OPENAI_API_KEY": "a key for the emulator; on Azure the account has local auth disabled",
    "DOCUMENT_INTELLIGENCE_API_KEY": "a key for the emulator; on Azure the account has local auth disabled",
    "ACS_CONNECTION_STRING": "holds an access key; on Azure ACS_ENDPOINT + managed identity",
    "ACS_RECORDING_PROXY_URL": "routes recording hosts to the local ACS emulator",
    "CA_BUNDLE": "trusts the local ACS emulator's own CA",
    "HIREFLOW_TRACE_FILE": "local span export to JSON lines; on Azure spans go to Application Insights",
    # Flex Consumption takes the language from functionAppConfig.runtime and refuses this app setting.
    "FUNCTIONS_WORKER_RUNTIME": "set by functionAppConfig.runtime.name on Flex Consumption",
    "DEVHOST_ADMIN_KEY": "the local devhost's master key, for the dashboard's clock panel",
}

# Settings the code reads that the platform injects itself, and that an app setting must never fake.
PLATFORM_SETTINGS = {
    "WEBSITE_AUTH_ENABLED": "set by App Service while its authentication runs in front of the app",
}

# Settings the Functions host or an SDK reads (not the Settings class), which Azure needs.
HOST_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AZURE_CLIENT_ID",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "PYTHON_ENABLE_OPENTELEMETRY",
    "RESUME_TRIGGER_SOURCE",
}

# Flex Consumption rejects an app whose settings contain these (the plan manages them itself).
FLEX_REFUSED_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
}

# Every role the code needs: service -> (role definition id, scope symbol in rbac.bicep, backend, why).
REQUIRED_ROLES = {
    "Storage Blob Data Owner": (
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "storage",
        None,
        "Flex deployment package, host leases and blob-trigger receipts, the pipeline's containers",
    ),
    "Storage Queue Data Contributor": (
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "storage",
        None,
        "Durable Functions' Azure Storage queues and the blob trigger's poison queue",
    ),
    "Storage Table Data Contributor": (
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        "storage",
        "AzureStorage",
        "Durable Functions' instance and history tables (Azure Storage backend only)",
    ),
    "Monitoring Metrics Publisher": (
        "3913510d-42f4-4e42-8a64-420c390055eb",
        "applicationInsights",
        None,
        "Entra ID telemetry ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)",
    ),
    "Cognitive Services OpenAI User": (
        "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
        "openAi",
        None,
        "chat completions (parse, screen, score) and audio transcriptions",
    ),
    "Cognitive Services User": (
        "a97b65f3-24c7-4388-baec-2e87135dc908",
        "documentIntelligence",
        None,
        "Document Intelligence analyze (resume text)",
    ),
    "Communication and Email Service Owner": (
        "09976791-48a7-449e-bb21-39d1a415f350",
        "communication",
        None,
        "Call Automation: create call, start recording, hang up, download recording",
    ),
    "Durable Task Data Contributor": (
        "0ad04412-c4d5-4796-b79c-f76d14c8d402",
        "taskHub",
        "DurableTaskScheduler",
        "the Durable Task Scheduler backend's task hub (when chosen)",
    ),
}


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path) -> None:
    tree = parse(str(path.relative_to(INFRA)))
    assert tree["resources"] or tree.get("modules"), f"{path.name} declares nothing"


def test_main_wires_modules_that_exist() -> None:
    modules = parse("main.bicep")["modules"]
    assert len(modules) >= 8
    for module in modules.values():
        assert (INFRA / module["detail"]["path"]).is_file(), module["detail"]["path"]
    assert len(bicep_files()) == len({m["detail"]["path"] for m in modules.values()}) + 1


def test_azd_layout_is_coherent() -> None:
    project = yaml.safe_load((REPO / "azure.yaml").read_text())
    assert project["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert (INFRA / "main.bicep").is_file()
    [(name, service)] = project["services"].items()
    assert service["language"] == "python"
    assert service["host"] == "function"
    root = (REPO / service["project"]).resolve()
    for required in ("function_app.py", "host.json", "requirements.txt"):
        assert (root / required).is_file(), required
    # azd finds the Function App by this tag; the service name and the tag must agree.
    site_tags = parse("modules/function-app.bicep")["resources"]["site"]["config"]["tags"]
    assert site_tags["function"]["parameters"]["arg_2"] == {"'azd-service-name'": name}
    for shell in project["hooks"]["postdeploy"].values():
        assert (REPO / shell["run"]).is_file(), shell["run"]
        assert shell["continueOnError"] is False


def test_parameters_file_uses_azd_conventions_and_fills_every_required_parameter() -> None:
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert values["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert values["location"]["value"] == "${AZURE_LOCATION}"
    declared = parse("main.bicep")["parameters"]
    assert set(values) <= set(declared), set(values) - set(declared)
    # Parameters azd generates itself (metadata azd.type = generate) need no value in the file.
    generated = {name for name, param in declared.items() if '"type": "generate"' in json.dumps(param)}
    assert generated == {"acsCallbackSecret", "dashboardSigningSecret"}
    required = {name for name, param in declared.items() if param.get("default") is None} - generated
    assert required <= set(values), required - set(values)
    outputs = parse("main.bicep")["outputs"]
    for name in ("AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP"):
        assert name in outputs


def test_every_setting_the_code_reads_is_set_on_azure() -> None:
    declared = app_settings()
    reads = set(setting_keys())
    assert set(LOCAL_ONLY_SETTINGS) <= reads
    assert set(PLATFORM_SETTINGS) <= reads
    missing = reads - set(LOCAL_ONLY_SETTINGS) - set(PLATFORM_SETTINGS) - declared
    assert not missing, f"app settings shared/settings.py reads but the Bicep does not set: {sorted(missing)}"
    assert not HOST_SETTINGS - declared, sorted(HOST_SETTINGS - declared)
    assert not declared & set(LOCAL_ONLY_SETTINGS), sorted(declared & set(LOCAL_ONLY_SETTINGS))
    assert not declared & FLEX_REFUSED_SETTINGS
    assert not declared & set(PLATFORM_SETTINGS), sorted(declared & set(PLATFORM_SETTINGS))


def test_profile_and_sources_are_the_azure_ones() -> None:
    settings = parse("main.bicep")["modules"]["functionApp"]["config"]["params"]["appSettings"]
    assert settings["HIREFLOW_PROFILE"] == "azure"
    assert settings["RESUME_TRIGGER_SOURCE"] == "EventGrid"
    host_settings = parse("modules/function-app.bicep")["variables"]["hostSettings"]["value"]
    assert host_settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert host_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )


def test_function_app_runs_on_flex_consumption_python_311_with_identity_deployment() -> None:
    module = parse("modules/function-app.bicep")["resources"]
    assert module["plan"]["config"]["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    site = module["site"]["config"]
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["httpsOnly"] is True
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"]["type"] == "UserAssignedIdentity"


def test_app_service_authentication_is_always_on_and_lets_unauthenticated_requests_through() -> None:
    module = parse("modules/function-app.bicep")
    auth = module["resources"]["authSettings"]
    # Unconditional: only a running auth module strips x-ms-client-principal headers a caller forges.
    assert "condition" not in auth["config"]
    assert auth["config"]["name"] == "authsettingsV2"
    properties = auth["config"]["properties"]
    assert properties["platform"] == {"enabled": True}
    assert properties["globalValidation"] == {
        "requireAuthentication": False,
        "unauthenticatedClientAction": "AllowAnonymous",
    }
    assert properties["identityProviders"] == "entraIdProvider"
    provider = module["variables"]["entraIdProvider"]["value"]["operator"]["operands"]
    assert provider["condition"] == {
        "function": {"type": "empty", "parameters": {"item_to_test": "dashboardAuthClientId"}}
    }
    assert provider["true_value"] == {}
    entra = provider["false_value"]["azureActiveDirectory"]
    assert entra["enabled"] is True
    assert entra["registration"]["clientId"] == "dashboardAuthClientId"


def test_no_service_accepts_keys() -> None:
    storage = parse("modules/storage.bicep")["resources"]["storage"]["config"]["properties"]
    assert storage["allowSharedKeyAccess"] is False
    assert storage["allowBlobPublicAccess"] is False
    insights = parse("modules/monitoring.bicep")["resources"]
    assert insights["applicationInsights"]["config"]["properties"]["DisableLocalAuth"] is True
    assert insights["logAnalytics"]["config"]["properties"]["features"]["disableLocalAuth"] is True
    ai = parse("modules/ai.bicep")["resources"]
    assert ai["openAi"]["config"]["kind"] == "OpenAI"
    assert ai["documentIntelligence"]["config"]["kind"] == "FormRecognizer"
    for account in ("openAi", "documentIntelligence"):
        assert ai[account]["config"]["properties"]["disableLocalAuth"] is True


def test_openai_has_a_chat_and_a_transcription_deployment() -> None:
    ai = parse("modules/ai.bicep")["resources"]
    deployments = {
        symbol: resource["config"]["name"]
        for symbol, resource in ai.items()
        if resource["type"] == "Microsoft.CognitiveServices/accounts/deployments"
    }
    assert deployments == {"chatDeployment": "chatModel", "transcriptionDeployment": "transcriptionModel"}
    outputs = parse("modules/ai.bicep")["outputs"]
    assert {"chatDeploymentName", "transcriptionDeploymentName"} <= set(outputs)


def test_every_role_the_code_needs_is_assigned_at_its_resource_and_nothing_more() -> None:
    assigned = sorted(role_assignments().values())
    needed = sorted((role_id, scope, backend) for role_id, scope, backend, _ in REQUIRED_ROLES.values())
    assert assigned == needed


def _function_names() -> set[str]:
    # A fresh interpreter: importing function_app again where tests already loaded its blueprints would
    # register their functions twice.
    script = "import function_app\nfor f in function_app.app.get_functions(): print(f.get_function_name())"
    listed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    )
    return set(listed.stdout.split())


def test_event_grid_topics_and_post_deploy_subscriptions_match_the_app() -> None:
    topics = parse("modules/event-grid.bicep")["resources"]
    assert topics["storageTopic"]["config"]["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert topics["communicationTopic"]["config"]["properties"]["topicType"] == (
        "Microsoft.Communication.CommunicationServices"
    )
    names = _function_names()
    for hook in ("postdeploy.sh", "postdeploy.ps1"):
        script = (INFRA / "hooks" / hook).read_text()
        webhooks = set(re.findall(r"/runtime/webhooks/(\w+)\?functionName=([\w.]+)&code=", script))
        assert webhooks == {
            ("blobs", "Host.Functions.resume_uploaded"),
            ("eventgrid", "recording_file_status_updated"),
        }, hook
        assert {"resume_uploaded", "recording_file_status_updated"} <= names
        assert "Microsoft.Storage.BlobCreated" in script
        assert "Microsoft.Communication.RecordingFileStatusUpdated" in script
        assert "systemKeys.$" in script or "systemKeys.$keyName" in script
        assert "blobs_extension" in script
        assert "eventgrid_extension" in script


def test_post_deploy_shell_hook_is_valid_posix_sh_that_stops_on_errors() -> None:
    script = INFRA / "hooks" / "postdeploy.sh"
    checked = subprocess.run(
        ["sh", "-n", str(script)], capture_output=True, text=True, check=False, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    assert "\nset -eu\n" in script.read_text()
    assert "$ErrorActionPreference = 'Stop'" in (INFRA / "hooks" / "postdeploy.ps1").read_text()


def test_vnet_option_puts_every_data_service_behind_a_private_endpoint() -> None:
    endpoints = []
    for module in parse("main.bicep")["modules"].values():
        if module["detail"]["path"] != "modules/private-endpoint.bicep":
            continue
        assert module["config"]["condition"] == "vnetEnabled"
        params = module["config"]["config"]["params"]
        target = params["targetId"]["operator"]["operands"]["operand_2"]["operator"]["operands"]["operand_2"]
        endpoints.append((target, params["groupId"], params["dnsZoneName"]))
    storage_zone = "privatelink.{}.${{environment().suffixes.storage}}"
    assert sorted(endpoints) == sorted(
        [
            ("id", "blob", storage_zone.format("blob")),
            ("id", "queue", storage_zone.format("queue")),
            ("id", "table", storage_zone.format("table")),
            ("openAiId", "account", "privatelink.openai.azure.com"),
            ("documentIntelligenceId", "account", "privatelink.cognitiveservices.azure.com"),
        ]
    )
    # With the VNet the services refuse public traffic; the app's outbound traffic goes through the subnet.
    storage = parse("modules/storage.bicep")["resources"]["storage"]["config"]["properties"]
    ai = parse("modules/ai.bicep")["resources"]
    accounts = [ai["openAi"]["config"]["properties"], ai["documentIntelligence"]["config"]["properties"]]
    for properties in [storage, *accounts]:
        access = properties["publicNetworkAccess"]["operator"]["operands"]
        assert (access["condition"], access["true_value"]) == ("privateOnly", "Disabled")
    app_subnet = parse("modules/network.bicep")["resources"]["vnet"]["config"]["properties"]["subnets"][0]
    assert app_subnet["properties"]["delegations"][0]["properties"]["serviceName"] == (
        "Microsoft.App/environments"
    )
    site = parse("modules/function-app.bicep")["resources"]["site"]["config"]["properties"]
    assert "virtualNetworkSubnetId" in site
