"""A stand-in for the Azure CLI used by test_deploy_script.py.

Installed as `az` (and `func`) on PATH by a launcher that sets FAKE_AZ_PROG to its name.
Appends one JSON line per call to $FAKE_AZ_LOG: {"prog": "az", "args": [...]}, plus "stdin"
for --file /dev/stdin, "files" for @FILE arguments and "zip" (entry names) for --src; answers
the queries infra/deploy.sh makes. Knobs (environment):
  FAKE_AZ_LOGGED_IN=0        `az account show` fails
  FAKE_AZ_GROUP_EXISTS=false `az group exists` says false
  FAKE_AZ_SECRETS='{...}'    current secret values for `az keyvault secret show`
  FAKE_AZ_SET_FAILURES=N     the first N `az keyvault secret set` calls fail
  FAKE_AZ_NO_GRAPH=1         `az ad ...` fails
  FAKE_AZ_NO_DEPLOYMENT=1    `az deployment group show` fails (no earlier deployment)
  FAKE_AZ_FIRST_DEPLOYMENT=1 `az deployment group show` fails until this run has logged a
                             `deployment group create` without --what-if
  FAKE_AZ_APP_CONFIG='"..."' JSON the app's CHARGEOPS_CONFIG query answers (default null:
                             the setting is absent)
  FAKE_AZ_APPSETTINGS_FAIL=1 `az functionapp config appsettings list` fails
  FAKE_AZ_KEEP_ZIP=PATH      copy the --src package there (to inspect it whole)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

OUTPUTS = {
    "functionAppName.value": "chargeops-func-abc",
    "functionAppId.value": (
        "/subscriptions/0000/resourceGroups/rg-test/providers/Microsoft.Web/sites/chargeops-func-abc"
    ),
    "keyVaultName.value": "chargeops-kv-abc",
    "keyVaultTargets.value[].[setting, secret]": (
        "PD_ROUTING_KEY\tpd-routing-key\nBILLING_SECRET\tbilling-secret"
    ),
}


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def _deployed() -> bool:
    """Whether this log already holds a real (not what-if) deployment."""
    with open(os.environ["FAKE_AZ_LOG"], encoding="utf-8") as log:
        calls = [json.loads(line)["args"] for line in log]
    return any(a[:3] == ["deployment", "group", "create"] and "--what-if" not in a for a in calls)


def main() -> int:
    prog = os.environ.get("FAKE_AZ_PROG", Path(sys.argv[0]).name)
    args = sys.argv[1:]
    entry: dict[str, object] = {"prog": prog, "args": args}
    if option(args, "--file") == "/dev/stdin":
        entry["stdin"] = sys.stdin.read()
    for arg in args:
        if arg.startswith("@") and Path(arg[1:]).is_file():
            files = entry.setdefault("files", {})
            assert isinstance(files, dict)
            files[Path(arg[1:]).name] = json.loads(Path(arg[1:]).read_text(encoding="utf-8"))
    src = option(args, "--src")
    if src:
        with zipfile.ZipFile(src) as zf:
            entry["zip"] = sorted(zf.namelist())
        if os.environ.get("FAKE_AZ_KEEP_ZIP"):
            shutil.copyfile(src, os.environ["FAKE_AZ_KEEP_ZIP"])
    with open(os.environ["FAKE_AZ_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")

    if prog != "az":
        return 0
    words = [a for a in args if not a.startswith("-")]
    if args[:2] == ["account", "show"]:
        if os.environ.get("FAKE_AZ_LOGGED_IN", "1") != "1":
            print("Please run 'az login' to setup account.", file=sys.stderr)
            return 1
        print("Test Subscription\t0000\tuser\tops@example.com")
    elif args[:2] == ["group", "exists"]:
        print(os.environ.get("FAKE_AZ_GROUP_EXISTS", "true"))
    elif args[:1] == ["ad"]:
        if os.environ.get("FAKE_AZ_NO_GRAPH") == "1":
            return 1
        print("11111111-2222-3333-4444-555555555555")
    elif words[:3] == ["deployment", "group", "show"]:
        query = option(args, "--query") or ""
        key = query.removeprefix("properties.outputs.")
        if os.environ.get("FAKE_AZ_NO_DEPLOYMENT") == "1" or (
            os.environ.get("FAKE_AZ_FIRST_DEPLOYMENT") == "1" and not _deployed()
        ):
            print("DeploymentNotFound", file=sys.stderr)
            return 3
        print(OUTPUTS[key])
    elif words[:3] == ["keyvault", "secret", "show"]:
        secrets = json.loads(os.environ.get("FAKE_AZ_SECRETS", "{}"))
        name = option(args, "-n") or option(args, "--name")
        if name not in secrets:
            print("SecretNotFound", file=sys.stderr)
            return 3
        print(secrets[name])
    elif words[:4] == ["functionapp", "config", "appsettings", "list"]:
        if os.environ.get("FAKE_AZ_APPSETTINGS_FAIL") == "1":
            print("(AuthorizationFailed)", file=sys.stderr)
            return 1
        print(os.environ.get("FAKE_AZ_APP_CONFIG", "null"))
    elif words[:3] == ["keyvault", "secret", "set"]:
        counter = Path(os.environ["FAKE_AZ_LOG"] + ".set-failures")
        failed = int(counter.read_text()) if counter.exists() else 0
        if failed < int(os.environ.get("FAKE_AZ_SET_FAILURES", "0")):
            counter.write_text(str(failed + 1))
            print("(Forbidden) Caller is not authorized", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
