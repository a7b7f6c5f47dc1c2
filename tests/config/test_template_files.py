"""User templates as the docs promise them (issue 17, finding 15): a template file is
named relative to the config's own folder and must stay inside it, and every template
is tried on samples of the event types its routes bring before anything is sent, so one
that breaks, produces no JSON, or exhausts the sandbox is exit 2 naming target and type."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.config.loader import ConfigError, load_config
from shared.consumers.tickets.samples import sample_notice
from shared.consumers.tickets.template_trial import template_problems
from shared.notify.targets import build_targets
from tests.support.cli import RunCli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "sample-day.jsonl"


def config_text(template: str, types: list[str] | None = None, outbox: Path | None = None) -> str:
    url = outbox.resolve().as_uri() + "/" if outbox else "https://hooks.example.com/ev"
    match = {"types": types} if types else {}
    document = {
        "version": 1,
        "targets": {"hook": {"kind": "webhook", "url": url, "template": template}},
        "routes": [{"match": match, "targets": ["hook"]}],
    }
    return json.dumps(document)  # JSON is YAML


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "chargeops.yaml"
    path.write_text(text, "utf-8")
    return path


def test_a_template_file_is_found_beside_its_config_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    write(folder, config_text("templates/body.j2"))
    (folder / "templates").mkdir()
    (folder / "templates" / "body.j2").write_text('{"what": {{ event.type | json }}}\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(folder / "chargeops.yaml")
    target = build_targets(config)["hook"]
    [request] = target.preview(sample_notice("hook", "webhook", "charger.offline"))
    assert json.loads(request.body or b"") == {"what": "charger.offline"}


@pytest.mark.parametrize("template", ["/etc/passwd", "../secret.j2", "link.j2"])
def test_a_file_outside_the_config_folder_is_refused_however_named(
    tmp_path: Path, template: str
) -> None:
    """An absolute path, ``..`` and a symbolic link out of the folder all resolve outside."""
    (tmp_path / "secret.j2").write_text('{"a": 1}')
    folder = tmp_path / "conf"
    path = write(folder, config_text(template))
    os.symlink(tmp_path / "secret.j2", folder / "link.j2")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "targets.hook.template" in message
    assert "outside the config's folder" in message


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("not json {{ event.type }}", "did not produce JSON"),
        ("{% for i in range(10**9) %}{% endfor %}", "range"),
        ('{"since": {{ event.data.offline_since | json }}}', "offline_since"),
    ],
)
def test_config_check_refuses_a_template_that_fails_on_a_sample(
    cli_main: RunCli, tmp_path: Path, template: str, said: str
) -> None:
    path = write(tmp_path, config_text(template))
    result = cli_main("config", "check", str(path))
    assert result.returncode == 2, result.stdout
    assert str(path) in result.stderr
    assert "targets.hook.template" in result.stderr
    assert said in result.stderr
    assert "Traceback" not in result.stderr


def test_only_the_types_routed_to_a_target_are_tried(tmp_path: Path) -> None:
    """``offline_since`` exists on offline and online events only: fine when only they go there."""
    template = '{"since": {{ event.data.offline_since | json }}}'
    narrow = load_config(
        write(tmp_path / "a", config_text(template, ["charger.offline", "charger.online"]))
    )
    assert template_problems(narrow) == []
    wide = load_config(write(tmp_path / "b", config_text(template)))
    problems = template_problems(wide)
    assert problems, "a template that breaks on other routed types must be reported"
    assert all(p.startswith("targets.hook.template: ") for p in problems)
    assert not any("of charger.offline:" in p for p in problems)


def test_replay_stops_before_sending_anything_with_a_broken_template(
    cli_main: RunCli, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    path = write(tmp_path / "conf", config_text("not json", outbox=outbox))
    out = tmp_path / "out"
    result = cli_main("replay", str(SAMPLE), "--config", str(path), "--out", str(out))
    assert result.returncode == 2
    assert "targets.hook.template" in result.stderr
    assert not outbox.exists() or not any(outbox.iterdir())
