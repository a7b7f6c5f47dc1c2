"""Configuration an attacker (or a slip) writes: every problem is a ConfigError naming the
file and the key, bounded in time and memory, and no error echoes a value that came from
the environment (issue 17, findings 10, 12 and 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config.loader import ConfigError, load_config
from shared.notify.render import TemplateProblem, render

WEBHOOK = "targets:\n  hook:\n    kind: webhook\n    url: https://hooks.example.com/x\n"


def _error(tmp_path: Path, text: str | bytes, env: dict[str, str] | None = None) -> str:
    path = tmp_path / "chargeops.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env or {})
    message = str(caught.value)
    assert message.startswith(str(path))  # every error names the file
    return message


def test_a_key_written_twice_is_an_error_with_both_lines(tmp_path: Path) -> None:
    message = _error(tmp_path, WEBHOOK + "targets:\n  other:\n    kind: webhook\n")
    assert "line 5" in message
    assert "'targets' also on line 1" in message
    nested = "targets:\n  hook:\n    kind: webhook\n    url: https://a.example\n    url: https://b.example\n"
    assert "'url' also on line 4" in _error(tmp_path, nested)


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        "x-defaults: &d\n  kind: webhook\n"
        "targets:\n  hook:\n    <<: *d\n    url: https://hooks.example.com/x\n"
    )
    with pytest.raises(ConfigError) as caught:  # the anchor's own key is unknown, nothing else
        load_config(path, env={})
    assert "x-defaults: unknown key" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (b"\x00\x01\x02\xff\xfe binary", "not UTF-8 text"),
        (b"\x00\x01\x02 binary", "not valid YAML"),
        ("x: " + "[" * 100_000 + "]" * 100_000, "nested too deep"),
        (
            "detection:\n  silence_after: [1, 2]\n",
            "detection.silence_after: a duration is expected",
        ),
        (
            "detection:\n  silence_after: {a: 1}\n",
            "detection.silence_after: a duration is expected",
        ),
        ("a: " + "x" * (1 << 20), "larger than 1,048,576 bytes"),
    ],
)
def test_hostile_documents_are_config_errors(tmp_path: Path, text: str | bytes, says: str) -> None:
    assert says in _error(tmp_path, text)


def test_an_alias_bomb_is_refused(tmp_path: Path) -> None:
    """9**10 values once expanded: refused by counting, before they are built."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    message = _error(tmp_path, "\n".join(levels) + "\n")
    assert "aliases are expanded" in message


@pytest.mark.parametrize(
    ("text", "env", "secret", "names"),
    [
        (
            "targets:\n  t:\n    kind: teams\n    url: http://x.example/w?sig=${TEAMS_SIG}\n",
            {"TEAMS_SIG": "SIGSECRET0123456789"},
            "SIGSECRET",
            "${TEAMS_SIG}",
        ),
        (
            WEBHOOK.replace("hook:\n", "hook:\n    timeout: '${PASS}'\n"),
            {"PASS": "hunter2-correct-horse-battery-staple-and-then-some-more"},
            "hunter",
            "${PASS}",
        ),
        (
            "detection:\n  silence_after: '${PASS}'\n",
            {"PASS": "p4ssw0rd!"},
            "p4ss",
            "${PASS}",
        ),
    ],
)
def test_errors_name_the_variable_never_its_value(
    tmp_path: Path, text: str, env: dict[str, str], secret: str, names: str
) -> None:
    message = _error(tmp_path, text, env)
    assert secret not in message
    assert names in message


def test_a_file_url_with_a_host_is_refused(tmp_path: Path) -> None:
    text = "targets:\n  o:\n    kind: webhook\n    url: file://evil.example/tmp/x\n"
    assert "targets.o.url" in _error(tmp_path, text)
    local = tmp_path / "ok.yaml"
    local.write_text(
        f"targets:\n  o:\n    kind: webhook\n    url: {(tmp_path / 'box').as_uri()}/\n"
    )
    assert load_config(local, env={}).targets["o"].url.startswith("file:///")


PAGERDUTY_AND_ZAPTEC = """\
targets:
  pd:
    kind: pagerduty
    routing_key: ${PD_KEY}
zaptec:
  username: ${ZAPTEC_USER}
  password: ${ZAPTEC_PASSWORD}
"""


def test_only_the_sections_a_command_needs_must_resolve(tmp_path: Path) -> None:
    env = {"PD_KEY": "0123456789abcdef0123456789abcdef", "ZAPTEC_USER": "ops@example.com"}
    assert "ZAPTEC_PASSWORD is not set" in _error(tmp_path, PAGERDUTY_AND_ZAPTEC, env)
    config = load_config(text=PAGERDUTY_AND_ZAPTEC, env=env, needs={"targets", "routes"})
    assert "pd" in config.targets
    del env["PD_KEY"]
    with pytest.raises(ConfigError, match=r"targets\.pd\.routing_key: .*PD_KEY is not set"):
        load_config(text=PAGERDUTY_AND_ZAPTEC, env=env, needs={"targets", "routes"})


@pytest.mark.parametrize("path", ["../x.j2", "sub/../../x.j2", "/tmp/../etc/passwd"])
def test_a_template_outside_the_config_folder_is_refused(tmp_path: Path, path: str) -> None:
    """Finding 15: ``template: /etc/passwd`` read the file into a webhook body."""
    message = _error(tmp_path, WEBHOOK + f"    template: {path}\n")
    assert "targets.hook.template" in message
    assert "outside" in message


@pytest.mark.parametrize(
    "template",
    [
        '{{ "x" * 10**9 }}',
        "{{ [1] * 10**8 }}",
        "{% for i in range(10**9) %}{% endfor %}",
        "{{ 2 ** 1000000 }}",
    ],
)
def test_resource_abuse_in_a_template_is_a_template_problem(template: str) -> None:
    """Finding 15: ``range(10**9)`` in a template; the sandbox bounds it and says so."""
    with pytest.raises(TemplateProblem, match=r"too large|longer than|range"):
        render("", template, {})


def test_ordinary_arithmetic_still_renders() -> None:
    assert render("", '{{ "ab" * 3 }} {{ 2 ** 10 }}', {}) == "ababab 1024"
