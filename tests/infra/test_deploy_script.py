"""infra/deploy.sh and scripts/tools/iac.sh: syntax, shellcheck, and deploy.sh's az command
sequence, run against a fake `az` that records its calls (tests/infra/fake_az.py).

What must hold across re-runs: a run without --config never changes CHARGEOPS_CONFIG (the
template rewrites every app setting, so the script hands back the deployed value);
--config-only touches that one setting and restarts; secrets are in Key Vault before the new
code is published."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._iac import INFRA, REPO, SHELLCHECK, require_tool

DEPLOY = INFRA / "deploy.sh"
IAC = REPO / "scripts" / "tools" / "iac.sh"
FAKE_AZ = Path(__file__).with_name("fake_az.py")

SECRET_VALUES = {
    "ZAPTEC_USERNAME": "ops@example.com-Zu1",
    "ZAPTEC_PASSWORD": "pw-Zp2-s3cr3t",
    "ZAPTEC_SERVICEBUS_CONNECTION": (
        "Endpoint=sb://zap.servicebus.windows.net/;SharedAccessKeyName=u;SharedAccessKey=k3y"
    ),
    "PD_ROUTING_KEY": "pd-R0uting-Key",
    "BILLING_SECRET": "whsec_B1lling",
}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[dict[str, Any]]

    def az(self, *prefix: str) -> list[list[str]]:
        """Args of the az calls whose non-option words start with prefix."""
        found = []
        for call in self.calls:
            if call["prog"] != "az":
                continue
            words = [a for a in call["args"] if not a.startswith("-")]
            if tuple(words[: len(prefix)]) == prefix:
                found.append(call["args"])
        return found

    def index(self, *prefix: str, prog: str = "az") -> int:
        for i, call in enumerate(self.calls):
            words = [a for a in call["args"] if not a.startswith("-")]
            if call["prog"] == prog and tuple(words[: len(prefix)]) == prefix:
                return i
        raise AssertionError(f"no {prog} {' '.join(prefix)} call")

    def config_writes(self) -> list[str]:
        """Every value a call would give the app setting CHARGEOPS_CONFIG: app-setting writes,
        and for each real deployment the chargeopsConfig it deploys (the template writes the
        whole app-settings collection, so a deployment always writes it)."""
        values: list[str] = []
        for call in self.calls:
            args = call["args"]
            files = call.get("files", {})
            if args[:4] == ["functionapp", "config", "appsettings", "set"]:
                text = json.dumps({"args": args, "files": files})
                assert "CHARGEOPS_CONFIG" in text, "an app-setting write that is not the config"
                for setting in files.get("config.settings.json", []):
                    if setting["name"] == "CHARGEOPS_CONFIG":
                        values.append(setting["value"])
            if args[:3] == ["deployment", "group", "create"] and "--what-if" not in args:
                value = files["main.parameters.json"]["parameters"]["chargeopsConfig"]["value"]
                for name, doc in files.items():
                    if name != "main.parameters.json":
                        value = doc["parameters"].get("chargeopsConfig", {}).get("value", value)
                for arg in args:
                    if arg.startswith("chargeopsConfig="):
                        value = arg.split("=", 1)[1]
                values.append(value)
        return values


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    (app / "shared" / "__pycache__").mkdir(parents=True)
    (app / "functions").mkdir()
    (app / "tests").mkdir()
    (app / "function_app.py").write_text("import azure.functions as func\n")
    (app / "host.json").write_text('{"version": "2.0"}\n')
    (app / "requirements.txt").write_text("azure-functions\n")
    (app / "shared" / "__init__.py").write_text("")
    (app / "shared" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (app / "functions" / "timers.py").write_text("")
    (app / "tests" / "test_x.py").write_text("")
    (app / ".funcignore").write_text((REPO / ".funcignore").read_text(encoding="utf-8"))
    return app


@pytest.fixture
def deploy(tmp_path: Path, app_dir: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for prog in ("az", "func"):
        path = bin_dir / prog
        path.write_text(
            f'#!/bin/sh\nFAKE_AZ_PROG={prog} exec "{sys.executable}" "{FAKE_AZ}" "$@"\n'
        )
        path.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    log = tmp_path / "az.log"

    def run(*args: str, env: dict[str, str] | None = None, with_func: bool = False) -> Run:
        if not with_func:
            (bin_dir / "func").unlink(missing_ok=True)
        environment = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "FAKE_AZ_LOG": str(log),
            "CHARGEOPS_RBAC_DELAY": "0",
            "CHARGEOPS_RBAC_RETRIES": "3",
            "ZAPTEC_TOPIC": "zaptec-installations",
            **(env or {}),
        }
        log.unlink(missing_ok=True)
        proc = subprocess.run(
            ["bash", str(DEPLOY), "-g", "rg-test", "--app-dir", str(app_dir), *args],
            capture_output=True,
            text=True,
            env=environment,
            check=False,
            timeout=120,
        )
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return Run(proc.returncode, proc.stdout, proc.stderr, calls)

    return run


# --- static checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("script", [DEPLOY, IAC], ids=["deploy.sh", "iac.sh"])
def test_script_is_strict_bash(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert "set -x" not in text  # would echo secret values
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_deploy_script_is_executable() -> None:
    assert DEPLOY.stat().st_mode & stat.S_IXUSR


@pytest.mark.parametrize("script", [DEPLOY, IAC], ids=["deploy.sh", "iac.sh"])
def test_shellcheck_is_clean(script: Path) -> None:
    shellcheck = require_tool(SHELLCHECK)
    proc = subprocess.run(
        [str(shellcheck), "--shell=bash", "--severity=style", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout


def test_help_lists_every_secret_variable(deploy) -> None:
    run = deploy("--help")
    assert run.returncode == 0
    for name in SECRET_VALUES:
        assert name in run.stdout
    assert run.calls == []


# --- command sequences -------------------------------------------------------------------------


def test_what_if_previews_and_changes_nothing(deploy) -> None:
    run = deploy("--what-if", env=SECRET_VALUES)
    assert run.returncode == 0, run.stderr
    creates = run.az("deployment", "group", "create")
    assert len(creates) == 1
    args = creates[0]
    assert "--what-if" in args
    assert args[args.index("--template-file") + 1] == str(INFRA / "main.bicep")
    assert f"@{INFRA / 'main.parameters.json'}" in args
    assert "zaptecTopic=zaptec-installations" in args
    assert "deployerPrincipalId=11111111-2222-3333-4444-555555555555" in args
    assert "deployerPrincipalType=User" in args
    changed = [
        c for c in run.calls if c["args"][:2] in (["group", "create"], ["keyvault", "secret"])
    ]
    assert changed == []
    # Only the read of the configuration it keeps (see test_what_if_without_config_...).
    assert [a[:4] for a in run.az("functionapp")] == [
        ["functionapp", "config", "appsettings", "list"]
    ]
    assert not run.az("rest")
    assert "What-if only" in run.stderr


def test_full_run_deploys_infra_then_secrets_then_code(deploy) -> None:
    given = {k: SECRET_VALUES[k] for k in ("ZAPTEC_USERNAME", "PD_ROUTING_KEY")}
    run = deploy(env=given)
    assert run.returncode == 0, run.stderr

    create = run.az("deployment", "group", "create")
    assert len(create) == 1
    assert "--what-if" not in create[0]
    zip_deploy = run.az("functionapp", "deployment", "source", "config-zip")
    assert len(zip_deploy) == 1
    assert zip_deploy[0][zip_deploy[0].index("-n") + 1] == "chargeops-func-abc"
    assert "--build-remote" in zip_deploy[0]

    sets = [c for c in run.calls if c["args"][:3] == ["keyvault", "secret", "set"]]
    assert {c["args"][c["args"].index("-n") + 1]: c["stdin"] for c in sets} == {
        "zaptec-username": given["ZAPTEC_USERNAME"],
        "pd-routing-key": given["PD_ROUTING_KEY"],
    }
    for call in sets:
        assert call["args"][call["args"].index("--vault-name") + 1] == "chargeops-kv-abc"
        assert "--value" not in call["args"]
        assert call["args"][call["args"].index("-o") + 1] == "none"

    # Secrets first: the new code starts with every secret it references in place.
    assert (
        run.index("deployment", "group", "create")
        < run.index("keyvault", "secret", "set")
        < run.index("rest")
        < run.index("functionapp", "deployment")
    )
    refresh = run.az("rest")[0]
    assert refresh[refresh.index("--url") + 1].endswith(
        "/sites/chargeops-func-abc/config/configreferences/appsettings/refresh?api-version=2022-03-01"
    )


def test_secret_values_never_reach_argv_or_output(deploy) -> None:
    run = deploy(env=SECRET_VALUES)
    assert run.returncode == 0, run.stderr
    written = {c["args"][c["args"].index("-n") + 1] for c in run.calls if c.get("stdin")}
    assert written == {
        "zaptec-username",
        "zaptec-password",
        "zaptec-servicebus-connection",
        "pd-routing-key",
        "billing-secret",
    }
    for value in SECRET_VALUES.values():
        assert value not in run.stdout
        assert value not in run.stderr
        for call in run.calls:
            assert all(value not in arg for arg in call["args"]), call["args"]


def test_no_secret_variables_means_no_secret_writes(deploy) -> None:
    run = deploy(env={"ZAPTEC_PASSWORD": ""})
    assert run.returncode == 0, run.stderr
    assert not run.az("keyvault", "secret", "set")
    assert not run.az("rest")
    assert "not set, left as is" in run.stderr


def test_unchanged_secret_is_not_rewritten(deploy) -> None:
    env = {
        "ZAPTEC_USERNAME": SECRET_VALUES["ZAPTEC_USERNAME"],
        "FAKE_AZ_SECRETS": json.dumps({"zaptec-username": SECRET_VALUES["ZAPTEC_USERNAME"]}),
    }
    run = deploy(env=env)
    assert run.returncode == 0, run.stderr
    assert not run.az("keyvault", "secret", "set")
    assert "zaptec-username: unchanged" in run.stderr


def test_secret_write_is_retried_while_the_role_propagates(deploy) -> None:
    run = deploy("--secrets-only", env={"ZAPTEC_PASSWORD": "x1", "FAKE_AZ_SET_FAILURES": "2"})
    assert run.returncode == 0, run.stderr
    assert len(run.az("keyvault", "secret", "set")) == 3


def test_secret_write_gives_up_with_the_needed_role(deploy) -> None:
    run = deploy("--secrets-only", env={"ZAPTEC_PASSWORD": "x1", "FAKE_AZ_SET_FAILURES": "9"})
    assert run.returncode != 0
    assert "Key Vault Secrets Officer" in run.stderr


def test_secrets_only_skips_infra_and_code(deploy) -> None:
    run = deploy("--secrets-only", env={"BILLING_SECRET": SECRET_VALUES["BILLING_SECRET"]})
    assert run.returncode == 0, run.stderr
    assert not run.az("deployment", "group", "create")
    assert not run.az("functionapp")
    assert [c["args"][c["args"].index("-n") + 1] for c in run.calls if c.get("stdin")] == [
        "billing-secret"
    ]


def test_zip_package_holds_the_app_only(deploy) -> None:
    run = deploy("--skip-secrets")
    assert run.returncode == 0, run.stderr
    (zipped,) = [c["zip"] for c in run.calls if "zip" in c]
    assert zipped == [
        "function_app.py",
        "functions/timers.py",
        "host.json",
        "requirements.txt",
        "shared/__init__.py",
    ]


def test_core_tools_publish_when_func_is_present(deploy) -> None:
    run = deploy("--skip-secrets", with_func=True)
    assert run.returncode == 0, run.stderr
    funcs = [c["args"] for c in run.calls if c["prog"] == "func"]
    assert funcs == [["azure", "functionapp", "publish", "chargeops-func-abc", "--python"]]
    assert not run.az("functionapp", "deployment", "source", "config-zip")


def test_missing_resource_group_is_created_with_location(deploy) -> None:
    run = deploy("-l", "swedencentral", "--skip-code", env={"FAKE_AZ_GROUP_EXISTS": "false"})
    assert run.returncode == 0, run.stderr
    assert run.az("group", "create") == [
        ["group", "create", "-n", "rg-test", "-l", "swedencentral", "-o", "none"]
    ]
    assert run.index("group", "create") < run.index("deployment", "group", "create")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"FAKE_AZ_GROUP_EXISTS": "false"}, "pass -l REGION"),
        (("--what-if",), {"FAKE_AZ_GROUP_EXISTS": "false"}, "what-if needs it"),
        ((), {"ZAPTEC_TOPIC": ""}, "zaptecTopic is empty"),
        ((), {"FAKE_AZ_LOGGED_IN": "0"}, "az login"),
        (("--secrets-only",), {"FAKE_AZ_NO_DEPLOYMENT": "1"}, "run without --skip-infra"),
        (("--bogus",), {}, "unknown option"),
    ],
)
def test_clear_errors(deploy, args: tuple[str, ...], env: dict[str, str], message: str) -> None:
    run = deploy(*args, env=env)
    assert run.returncode != 0
    assert message in run.stderr
    assert not run.az("deployment", "group", "create") or "--what-if" in args
    assert not run.az("keyvault", "secret", "set")


def test_topic_can_come_from_set_override(deploy) -> None:
    run = deploy("--skip-code", "--set", "zaptecTopic=from-set", env={"ZAPTEC_TOPIC": ""})
    assert run.returncode == 0, run.stderr
    assert "zaptecTopic=from-set" in run.az("deployment", "group", "create")[0]


def test_config_file_becomes_the_inline_config_parameter(deploy, tmp_path: Path) -> None:
    yaml_text = "version: 1\ntargets:\n  ops: {kind: pagerduty, routing_key: ${PD_ROUTING_KEY}}\n"
    config = tmp_path / "chargeops.yaml"
    config.write_text(yaml_text)
    run = deploy("--skip-code", "--config", str(config))
    assert run.returncode == 0, run.stderr
    (create,) = [c for c in run.calls if c["args"][:3] == ["deployment", "group", "create"]]
    files = create["files"]
    assert files["config.parameters.json"]["parameters"] == {
        "chargeopsConfig": {"value": yaml_text}
    }
    assert files["main.parameters.json"]["parameters"]["zaptecSubscription"] == {"value": "default"}
    assert create["args"].index("@" + str(INFRA / "main.parameters.json")) < next(
        i for i, a in enumerate(create["args"]) if a.endswith("config.parameters.json")
    )


def test_no_deployer_role_and_missing_graph(deploy) -> None:
    run = deploy("--skip-code", "--no-deployer-role")
    assert not run.az("ad")
    assert not any(
        a.startswith("deployerPrincipalId=") for a in run.az("deployment", "group", "create")[0]
    )
    run = deploy("--skip-code", env={"FAKE_AZ_NO_GRAPH": "1"})
    assert run.returncode == 0, run.stderr
    assert "DEPLOYER_PRINCIPAL_ID" in run.stderr


def test_missing_app_code_is_a_clear_error(deploy, tmp_path: Path) -> None:
    run = deploy("--app-dir", str(tmp_path / "nowhere"))
    assert run.returncode != 0
    assert "function_app.py" in run.stderr
    assert "--skip-code" in run.stderr


def test_iac_setup_is_fast_when_tools_are_present() -> None:
    require_tool(SHELLCHECK)
    env = {**os.environ}
    proc = subprocess.run(
        ["bash", str(IAC)], capture_output=True, text=True, env=env, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "installing" not in proc.stderr


def test_secrets_are_in_key_vault_before_core_tools_publishes(deploy) -> None:
    run = deploy(
        env={"ZAPTEC_SERVICEBUS_CONNECTION": SECRET_VALUES["ZAPTEC_SERVICEBUS_CONNECTION"]},
        with_func=True,
    )
    assert run.returncode == 0, run.stderr
    publish = run.index("azure", "functionapp", "publish", prog="func")
    assert run.index("keyvault", "secret", "set") < publish
    assert run.index("rest") < publish


def test_missing_funcignore_stops_before_any_change(deploy, app_dir: Path) -> None:
    (app_dir / ".funcignore").unlink()
    run = deploy()
    assert run.returncode != 0
    assert ".funcignore" in run.stderr
    assert not run.az("deployment", "group", "create")
    assert not run.az("keyvault", "secret", "set")


# --- the configuration setting -----------------------------------------------------------------

DEPLOYED_CONFIG = "version: 1\ntargets:\n  ops: {kind: pagerduty, routing_key: ${PD_ROUTING_KEY}}\n"


def test_rerun_without_config_keeps_the_deployed_config(deploy) -> None:
    run = deploy("--skip-code", env={"FAKE_AZ_APP_CONFIG": json.dumps(DEPLOYED_CONFIG)})
    assert run.returncode == 0, run.stderr
    # It read the setting (output to a file, not printed) ...
    (read,) = run.az("functionapp", "config", "appsettings", "list")
    assert read[read.index("-n") + 1] == "chargeops-func-abc"
    assert run.index("functionapp", "config", "appsettings", "list") < run.index(
        "deployment", "group", "create"
    )
    assert DEPLOYED_CONFIG.splitlines()[1] not in run.stdout + run.stderr
    # ... and no call gives CHARGEOPS_CONFIG anything but the value it has.
    assert run.config_writes() == [DEPLOYED_CONFIG]
    assert not run.az("functionapp", "config", "appsettings", "set")


def test_what_if_without_config_previews_the_deployed_config(deploy) -> None:
    run = deploy("--what-if", env={"FAKE_AZ_APP_CONFIG": json.dumps(DEPLOYED_CONFIG)})
    assert run.returncode == 0, run.stderr
    (create,) = [c for c in run.calls if c["args"][:3] == ["deployment", "group", "create"]]
    assert create["files"]["config.parameters.json"]["parameters"] == {
        "chargeopsConfig": {"value": DEPLOYED_CONFIG}
    }


def test_unreadable_config_stops_before_deploying(deploy) -> None:
    run = deploy("--skip-code", env={"FAKE_AZ_APPSETTINGS_FAIL": "1"})
    assert run.returncode != 0
    assert "--config FILE" in run.stderr
    assert not run.az("deployment", "group", "create")
    assert run.config_writes() == []


def test_app_without_the_setting_gets_the_parameters_file_value(deploy) -> None:
    run = deploy("--skip-code")
    assert run.returncode == 0, run.stderr
    assert "has no CHARGEOPS_CONFIG" in run.stderr
    assert run.config_writes() == [""]


def test_first_deployment_uses_the_parameters_file(deploy) -> None:
    run = deploy("--skip-code", env={"FAKE_AZ_FIRST_DEPLOYMENT": "1"})
    assert run.returncode == 0, run.stderr
    assert not run.az("functionapp", "config", "appsettings", "list")
    assert "first deployment" in run.stderr
    assert run.config_writes() == [""]


def test_config_flag_replaces_the_deployed_config(deploy, tmp_path: Path) -> None:
    config = tmp_path / "new.yaml"
    config.write_text("version: 1\n")
    run = deploy(
        "--skip-code", "--config", str(config), env={"FAKE_AZ_APP_CONFIG": json.dumps("old")}
    )
    assert run.returncode == 0, run.stderr
    assert not run.az("functionapp", "config", "appsettings", "list")
    assert run.config_writes() == ["version: 1\n"]


def test_config_only_sets_the_one_setting_and_restarts(deploy, tmp_path: Path) -> None:
    yaml_text = "version: 1\nroutes: []\n"
    config = tmp_path / "chargeops.yaml"
    config.write_text(yaml_text)
    run = deploy("--config-only", str(config), env=SECRET_VALUES, with_func=True)
    assert run.returncode == 0, run.stderr
    changing = [
        c["args"]
        for c in run.calls
        if not (
            c["args"][:2] == ["account", "show"] or c["args"][:3] == ["deployment", "group", "show"]
        )
    ]
    assert [a[:4] for a in changing] == [
        ["functionapp", "config", "appsettings", "set"],
        ["functionapp", "restart", "-g", "rg-test"],
    ]
    settings = changing[0]
    assert settings[settings.index("-n") + 1] == "chargeops-func-abc"
    assert settings[settings.index("-o") + 1] == "none"  # az would print every setting
    (write,) = [c for c in run.calls if c["args"] == settings]
    assert write["files"]["config.settings.json"] == [
        {"name": "CHARGEOPS_CONFIG", "value": yaml_text, "slotSetting": False}
    ]
    assert all(yaml_text.splitlines()[1] not in a for a in settings)
    assert run.config_writes() == [yaml_text]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--config-only", "/nonexistent.yaml"), "config file not found"),
        (("--config-only", "EMPTY", "--what-if"), "--what-if"),
        (("--config-only", "EMPTY"), "config file is empty"),
    ],
)
def test_config_only_errors(deploy, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    if "--what-if" in args:
        empty.write_text("version: 1\n")
    run = deploy(*[str(empty) if a == "EMPTY" else a for a in args])
    assert run.returncode != 0
    assert message in run.stderr
    assert run.config_writes() == []


def test_config_only_needs_an_earlier_deployment(deploy, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("version: 1\n")
    run = deploy("--config-only", str(config), env={"FAKE_AZ_NO_DEPLOYMENT": "1"})
    assert run.returncode != 0
    assert "--config-only" in run.stderr
    assert run.config_writes() == []
