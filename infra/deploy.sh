#!/usr/bin/env bash
# Deploy chargeops to Azure: infrastructure (infra/main.bicep), Key Vault secrets, app package.
# Idempotent: run it again after any change. See docs/deploy.md for the full walk-through.
# Order matters: secrets are written before the new code starts, and without --config the
# configuration the app runs with (CHARGEOPS_CONFIG) is kept as deployed.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: infra/deploy.sh -g RESOURCE_GROUP [options]

  -g, --resource-group NAME  Resource group to deploy into ($CHARGEOPS_RESOURCE_GROUP).
  -l, --location REGION      Region for a resource group that does not exist yet
                             ($CHARGEOPS_LOCATION). Must offer Flex Consumption.
  -p, --parameters FILE      Parameters file (default: infra/main.parameters.json).
      --set NAME=VALUE       Override one template parameter (repeatable).
      --config FILE          chargeops YAML config to install as parameter chargeopsConfig
                             (app setting CHARGEOPS_CONFIG). Secrets in it as ${NAME} only.
                             Without it the app keeps the configuration it runs with.
      --config-only FILE     Only replace the app setting CHARGEOPS_CONFIG with FILE and
                             restart the app: no infrastructure, secrets or code.
      --what-if              Preview the infrastructure changes; change nothing.
      --skip-infra           Do not run the Bicep deployment (reuse the last one's outputs).
      --skip-code            Do not deploy the app package.
      --skip-secrets         Do not write Key Vault secrets.
      --secrets-only         Same as --skip-infra --skip-code (secret rotation).
      --app-dir DIR          Folder holding function_app.py (default: the repository root).
      --no-deployer-role     Do not grant the signed-in principal Key Vault Secrets Officer.
  -h, --help                 Show this help.

Parameters from the environment (when set): ZAPTEC_TOPIC -> zaptecTopic,
ZAPTEC_SUBSCRIPTION -> zaptecSubscription, DEPLOYER_PRINCIPAL_ID (+ DEPLOYER_PRINCIPAL_TYPE).

Secrets from the environment (each written only when its variable is set and non-empty):
  ZAPTEC_USERNAME               -> secret zaptec-username
  ZAPTEC_PASSWORD               -> secret zaptec-password
  ZAPTEC_SERVICEBUS_CONNECTION  -> secret zaptec-servicebus-connection
  <setting> of each targetSecrets entry (default PD_ROUTING_KEY, BILLING_SECRET)
                                -> its secret (default pd-routing-key, billing-secret)
Secret values are passed to az on standard input, never on the command line or in output.
EOF
}

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)

resource_group=${CHARGEOPS_RESOURCE_GROUP:-}
location=${CHARGEOPS_LOCATION:-}
parameters_file="$script_dir/main.parameters.json"
template_file="$script_dir/main.bicep"
deployment_name=${CHARGEOPS_DEPLOYMENT_NAME:-chargeops}
app_dir=$repo_dir
config_file=
config_only=false
what_if=false
do_infra=true
do_code=true
do_secrets=true
deployer_role=true
rbac_retries=${CHARGEOPS_RBAC_RETRIES:-12}
rbac_delay=${CHARGEOPS_RBAC_DELAY:-10}
overrides=()

while [ $# -gt 0 ]; do
  case $1 in
    -g | --resource-group)
      [ $# -ge 2 ] || die "$1 needs a value"
      resource_group=$2
      shift 2
      ;;
    -l | --location)
      [ $# -ge 2 ] || die "$1 needs a value"
      location=$2
      shift 2
      ;;
    -p | --parameters)
      [ $# -ge 2 ] || die "$1 needs a value"
      parameters_file=$2
      shift 2
      ;;
    --set)
      [ $# -ge 2 ] || die "$1 needs NAME=VALUE"
      case $2 in
        *=*) overrides+=("$2") ;;
        *) die "--set needs NAME=VALUE, got: $2" ;;
      esac
      shift 2
      ;;
    --app-dir)
      [ $# -ge 2 ] || die "$1 needs a value"
      app_dir=$2
      shift 2
      ;;
    --config)
      [ $# -ge 2 ] || die "$1 needs a value"
      config_file=$2
      shift 2
      ;;
    --config-only)
      [ $# -ge 2 ] || die "$1 needs a value"
      config_file=$2
      config_only=true
      shift 2
      ;;
    --what-if) what_if=true; shift ;;
    --skip-infra) do_infra=false; shift ;;
    --skip-code) do_code=false; shift ;;
    --skip-secrets) do_secrets=false; shift ;;
    --secrets-only) do_infra=false; do_code=false; shift ;;
    --no-deployer-role) deployer_role=false; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[ -n "$resource_group" ] || { usage >&2; die "missing -g RESOURCE_GROUP"; }
[ -f "$parameters_file" ] || die "parameters file not found: $parameters_file"
command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed: https://aka.ms/azcli"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (reads the parameters file, zips the app)"
[ -z "$config_file" ] || [ -f "$config_file" ] || die "config file not found: $config_file"
[ -z "$config_file" ] || [ -s "$config_file" ] || die "config file is empty: $config_file"
if $config_only; then
  $what_if && die "--config-only changes one app setting: do not combine it with --what-if"
  do_infra=false
  do_code=false
  do_secrets=false
fi

if $do_code && ! $what_if; then
  [ -f "$app_dir/function_app.py" ] ||
    die "no function_app.py in $app_dir: pass --app-dir DIR, or --skip-code to deploy infrastructure only"
  [ -f "$app_dir/.funcignore" ] ||
    die "no .funcignore in $app_dir: the package would hold everything there (.venv, tests, tools); see docs/deploy.md"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Azure context -------------------------------------------------------------------------
account=$(az account show --query "[name, id, user.type, user.name]" -o tsv 2>/dev/null) ||
  die "not logged in to Azure: run 'az login' (and 'az account set -s SUBSCRIPTION')"
IFS=$'\t' read -r sub_name sub_id user_type user_name <<<"$(printf '%s' "$account" | tr '\n' '\t')"
log "Subscription: $sub_name ($sub_id), signed in as $user_type $user_name"

deployment_outputs() {
  # deployment_outputs QUERY -> value of the last deployment's output (tsv)
  az deployment group show -g "$resource_group" -n "$deployment_name" \
    --query "properties.outputs.$1" -o tsv
}

config_parameters() {
  # config_parameters SOURCE TARGET: a parameters file carrying chargeopsConfig verbatim
  # (newlines, quotes, braces). SOURCE is the YAML file, or a JSON string/null (from az).
  python3 - "$@" <<'PY'
import json
import sys

source, target, kind = sys.argv[1], sys.argv[2], sys.argv[3]
with open(source, encoding="utf-8") as f:
    value = f.read() if kind == "yaml" else json.load(f)
if value is None:  # the app has no such setting: leave the parameter to the parameters file
    sys.exit(3)
doc = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"chargeopsConfig": {"value": value}},
}
with open(target, "w", encoding="utf-8") as f:
    json.dump(doc, f)
PY
}

# --- Infrastructure ------------------------------------------------------------------------
if $do_infra; then
  # zaptecTopic has no default: fail early with a useful message instead of an ARM error.
  topic=$(python3 -c 'import json, sys
p = json.load(open(sys.argv[1])).get("parameters", {})
print(p.get("zaptecTopic", {}).get("value", ""))' "$parameters_file")
  [ -n "${ZAPTEC_TOPIC:-}" ] && topic=$ZAPTEC_TOPIC
  for override in ${overrides[@]+"${overrides[@]}"}; do
    case $override in zaptecTopic=*) topic=${override#zaptecTopic=} ;; esac
  done
  [ -n "$topic" ] ||
    die "zaptecTopic is empty: set it in $parameters_file, or export ZAPTEC_TOPIC (the Topic from Zaptec's messagingConnectionDetails, see docs/deploy.md)"

  if [ "$(az group exists -n "$resource_group" -o tsv)" != true ]; then
    if $what_if; then
      die "resource group '$resource_group' does not exist: what-if needs it (create it with 'az group create -n $resource_group -l REGION', or run without --what-if and with -l REGION)"
    fi
    [ -n "$location" ] || die "resource group '$resource_group' does not exist: pass -l REGION to create it"
    log "Creating resource group $resource_group in $location"
    az group create -n "$resource_group" -l "$location" -o none
  fi

  # Template parameters: the file, then the environment, then --set (later ones win).
  params=(--parameters "@$parameters_file")
  [ -n "${ZAPTEC_TOPIC:-}" ] && params+=(--parameters "zaptecTopic=$ZAPTEC_TOPIC")
  [ -n "${ZAPTEC_SUBSCRIPTION:-}" ] && params+=(--parameters "zaptecSubscription=$ZAPTEC_SUBSCRIPTION")
  if [ -n "$config_file" ]; then
    config_parameters "$config_file" "$work/config.parameters.json" yaml
    params+=(--parameters "@$work/config.parameters.json")
  elif existing_app=$(deployment_outputs functionAppName.value 2>/dev/null) && [ -n "$existing_app" ]; then
    # Re-run without --config: the template writes every app setting, so hand it back the
    # configuration the app runs with (it may come from --config-only); never silently "".
    log "No --config: keeping the configuration $existing_app runs with (CHARGEOPS_CONFIG)"
    az functionapp config appsettings list -g "$resource_group" -n "$existing_app" \
      --query "[?name=='CHARGEOPS_CONFIG'].value | [0]" -o json >"$work/current-config.json" ||
      die "could not read CHARGEOPS_CONFIG of $existing_app: pass --config FILE (or fix access and retry)"
    rc=0
    config_parameters "$work/current-config.json" "$work/config.parameters.json" json || rc=$?
    case $rc in
      0) params+=(--parameters "@$work/config.parameters.json") ;;
      3) warn "$existing_app has no CHARGEOPS_CONFIG: chargeopsConfig comes from the parameters (empty = built-in default)" ;;
      *) die "could not read CHARGEOPS_CONFIG of $existing_app: pass --config FILE" ;;
    esac
  else
    warn "no --config (first deployment): CHARGEOPS_CONFIG gets chargeopsConfig from the parameters (empty = built-in default)"
  fi

  deployer_id=${DEPLOYER_PRINCIPAL_ID:-}
  deployer_type=${DEPLOYER_PRINCIPAL_TYPE:-}
  if $deployer_role && [ -z "$deployer_id" ]; then
    if [ "$user_type" = user ]; then
      deployer_id=$(az ad signed-in-user show --query id -o tsv 2>/dev/null) || deployer_id=
      deployer_type=User
    else
      deployer_id=$(az ad sp show --id "$user_name" --query id -o tsv 2>/dev/null) || deployer_id=
      deployer_type=ServicePrincipal
    fi
    [ -n "$deployer_id" ] ||
      warn "could not look up your object id: no Key Vault Secrets Officer grant (set DEPLOYER_PRINCIPAL_ID to fix)"
  fi
  if $deployer_role && [ -n "$deployer_id" ]; then
    params+=(--parameters "deployerPrincipalId=$deployer_id" "deployerPrincipalType=${deployer_type:-User}")
  fi
  for override in ${overrides[@]+"${overrides[@]}"}; do
    params+=(--parameters "$override")
  done

  if $what_if; then
    log "What-if: previewing deployment '$deployment_name' into $resource_group (nothing changes)"
    az deployment group create -g "$resource_group" -n "$deployment_name" \
      --template-file "$template_file" "${params[@]}" --what-if
    log "What-if only: no resources, code or secrets were changed."
    exit 0
  fi

  log "Deploying infrastructure ($deployment_name -> $resource_group); this takes a few minutes"
  az deployment group create -g "$resource_group" -n "$deployment_name" \
    --template-file "$template_file" "${params[@]}" -o none
elif $what_if; then
  die "--what-if previews the infrastructure: do not combine it with --skip-infra/--secrets-only"
fi

app_name=$(deployment_outputs functionAppName.value) ||
  die "no deployment '$deployment_name' in resource group '$resource_group': run without --skip-infra/--secrets-only/--config-only first"
app_id=$(deployment_outputs functionAppId.value)
vault_name=$(deployment_outputs keyVaultName.value)
log "Function app: $app_name; Key Vault: $vault_name"

# --- Configuration only ----------------------------------------------------------------------
if $config_only; then
  # One app setting, read-modify-write by az (the others stay), then a restart so every
  # instance loads it. The YAML travels in a file: never on a command line or in output.
  python3 - "$config_file" "$work/config.settings.json" <<'PY'
import json
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    value = f.read()
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump([{"name": "CHARGEOPS_CONFIG", "value": value, "slotSetting": False}], f)
PY
  log "Replacing CHARGEOPS_CONFIG of $app_name with $config_file (infrastructure, secrets and code untouched)"
  az functionapp config appsettings set -g "$resource_group" -n "$app_name" \
    --settings "@$work/config.settings.json" -o none
  log "Restarting $app_name"
  az functionapp restart -g "$resource_group" -n "$app_name" -o none
  log "Done. $app_name runs with $config_file; roll back with the previous file the same way."
  exit 0
fi

# --- Key Vault secrets (before the code: a new version starts with its secrets in place) -------
set_secret() {
  # set_secret ENV_VAR SECRET_NAME: write $ENV_VAR to the vault when it is set; never print it.
  local var=$1 secret=$2 value current attempt
  if ! [[ $var =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    warn "skipping target setting '$var': not a valid environment variable name"
    return 0
  fi
  if ! [[ $secret =~ ^[0-9A-Za-z-]{1,127}$ ]]; then
    warn "skipping secret '$secret': Key Vault names use letters, digits and hyphens only"
    return 0
  fi
  value=${!var:-}
  if [ -z "$value" ]; then
    log "Secret $secret: \$$var not set, left as is"
    return 0
  fi
  current=$(az keyvault secret show --vault-name "$vault_name" -n "$secret" \
    --query value -o tsv 2>/dev/null) || current=
  if [ -n "$current" ] && [ "$current" = "$value" ]; then
    log "Secret $secret: unchanged"
    return 0
  fi
  attempt=1
  # A fresh role assignment takes a few minutes to reach Key Vault: retry on failure.
  until printf '%s' "$value" | az keyvault secret set --vault-name "$vault_name" -n "$secret" \
    --file /dev/stdin --encoding utf-8 --content-type text/plain -o none; do
    if [ "$attempt" -ge "$rbac_retries" ]; then
      die "could not write secret $secret: you need 'Key Vault Secrets Officer' on $vault_name (see docs/deploy.md)"
    fi
    log "Secret $secret: not writable yet (role assignment propagating?), retry $attempt/$rbac_retries in ${rbac_delay}s"
    attempt=$((attempt + 1))
    sleep "$rbac_delay"
  done
  log "Secret $secret: updated from \$$var"
  changed=$((changed + 1))
}

if $do_secrets; then
  changed=0
  set_secret ZAPTEC_USERNAME zaptec-username
  set_secret ZAPTEC_PASSWORD zaptec-password
  set_secret ZAPTEC_SERVICEBUS_CONNECTION zaptec-servicebus-connection
  targets=$(deployment_outputs "keyVaultTargets.value[].[setting, secret]")
  while IFS=$'\t' read -r setting secret; do
    [ -n "$setting" ] || continue
    set_secret "$setting" "$secret"
  done <<<"$targets"
  if [ "$changed" -gt 0 ]; then
    log "Asking the app to re-read its Key Vault references"
    az rest --method post \
      --url "$app_id/config/configreferences/appsettings/refresh?api-version=2022-03-01" -o none ||
      warn "refresh failed: the app picks up new secret versions within 24 hours, or at its next restart"
  fi
fi

# --- App package ---------------------------------------------------------------------------
if $do_code; then
  if command -v func >/dev/null 2>&1; then
    log "Publishing $app_dir with Azure Functions Core Tools (remote build; .funcignore applies)"
    (cd "$app_dir" && func azure functionapp publish "$app_name" --python)
  else
    package="$work/chargeops.zip"
    log "Core Tools (func) not found: zipping $app_dir as Core Tools would and deploying it with az (remote build)"
    python3 - "$app_dir" "$package" <<'PY'
from __future__ import annotations

import os
import re
import sys
import zipfile

# What `func azure functionapp publish` uploads: every file under the app folder except the
# .git/.vscode folders, a few local files, and what .funcignore denies, read the way Core
# Tools' GitIgnoreParser reads it (each pattern matched against the start of the path relative
# to the folder; "**" -> ".+", "*" -> one path segment; "!" lines re-include).
root, target = sys.argv[1], sys.argv[2]
SKIP_DIRS = {".git", ".vscode"}
SKIP_FILES = {".funcignore", ".gitignore", "appsettings.json", "local.settings.json", "project.lock.json"}


def pattern(line: str) -> str:
    escaped = re.sub(r"[\-\[\]/{}()+?.\\^$|]", lambda m: "\\" + m.group(0), line)
    return escaped.replace("**", "(.+)").replace("*", "([^/]+)")


def compile_rules(lines: list[str]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    deny: list[str] = []
    allow: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negative = line.startswith("!")
        line = line[1:] if negative else line
        line = line[1:] if line.startswith("/") else line
        (allow if negative else deny).append(line)

    def join(items: list[str]) -> re.Pattern[str] | None:
        if not items:
            return None
        return re.compile("^((" + ")|(".join(pattern(i) for i in sorted(items)) + "))")

    return join(deny), join(allow)


with open(os.path.join(root, ".funcignore"), encoding="utf-8") as f:
    deny, allow = compile_rules(f.read().split("\n"))


def denied(rel: str) -> bool:
    return bool(deny and deny.match(rel)) and not (allow and allow.match(rel))


names = []
for folder, dirs, files in os.walk(root):
    rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
    prefix = "" if rel_folder == "." else rel_folder + "/"
    # Prune folders whose every path is denied (no "!" rule could bring a file back).
    dirs[:] = sorted(
        d for d in dirs if d not in SKIP_DIRS and (allow is not None or not denied(prefix + d))
    )
    names += [prefix + n for n in files if n not in SKIP_FILES and not denied(prefix + n)]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
    for name in sorted(names):
        zf.write(os.path.join(root, name), name)
PY
    az functionapp deployment source config-zip -g "$resource_group" -n "$app_name" \
      --src "$package" --build-remote true -o none
  fi
  log "App package deployed"
fi

log "Done. Function app $app_name in $resource_group."
