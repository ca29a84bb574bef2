"""CI checks of ansible/: ansible-lint's production profile, every playbook's syntax, and the
example inventory rendered into agent configs that the agent accepts."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import yaml

from .test_ansible_support import ANSIBLE_DIR, ansible_env, ansible_tool, run_playbook

PLAYBOOKS = sorted(p.name for p in (ANSIBLE_DIR / "playbooks").glob("*.yml"))


def test_ansible_lint_production_profile_passes() -> None:
    proc = subprocess.run(
        [ansible_tool("ansible-lint"), "--nocolor", "--profile", "production", "--offline"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Profile 'production' was required, and it passed" in output, output


def test_every_playbook_is_there() -> None:
    assert {"site.yml", "upgrade.yml", "rollback.yml"} <= set(PLAYBOOKS)


def test_every_playbook_passes_the_syntax_check() -> None:
    paths = [f"playbooks/{name}" for name in PLAYBOOKS]
    proc = subprocess.run(  # one ansible-playbook process checks them all
        [ansible_tool("ansible-playbook"), "--syntax-check", *paths],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    for playbook in PLAYBOOKS:
        assert f"playbook: playbooks/{playbook}" in output, output


def test_example_inventory_groups_the_pis_by_city_and_lab() -> None:
    proc = subprocess.run(
        [ansible_tool("ansible-inventory"), "--list"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    inventory = yaml.safe_load(proc.stdout)  # JSON is YAML
    cities = inventory["edge_agents"]["children"]
    assert {"bretten", "bruchsal", "buehl", "ettlingen", "gaggenau", "rastatt"} <= set(cities)
    assert {"rheinstetten", "stutensee", "baden_baden"} <= set(cities)
    hostvars = inventory["_meta"]["hostvars"]
    assert hostvars["buehl-dl-01"]["edge_agent_city"] == "Bühl"
    assert hostvars["buehl-dl-01"]["edge_agent_lab"] == "digitallabor-buehl"
    for lab in inventory["bruchsal"]["children"]:
        assert inventory[lab]["hosts"], f"lab group {lab} has no Pi"


def test_vault_holds_the_secrets_encrypted() -> None:
    vault = (ANSIBLE_DIR / "inventory" / "example" / "group_vars" / "all" / "vault.yml").read_text()
    assert vault.startswith("$ANSIBLE_VAULT;1.1;AES256")
    assert "PRIVATE KEY" not in vault


def test_preview_renders_configs_the_agent_accepts(tmp_path: Path) -> None:
    """Three Pis with different sensors, an umlaut in the city and an uplink cap."""
    hosts = ["buehl-dl-01", "bruchsal-bhf-01", "rastatt-b36-01"]
    result = run_playbook(
        "preview-config.yml",
        "--limit",
        ",".join(hosts),
        "-e",
        f"edge_agent_preview_dir={tmp_path}",
        timeout=300,
    )
    assert result.returncode == 0, result.output  # includes `edge-agent config check` per Pi
    configs = {host: tomllib.loads((tmp_path / f"{host}.toml").read_text()) for host in hosts}
    assert configs["buehl-dl-01"]["device"] == {
        "id": "buehl-dl-01",
        "city": "Bühl",
        "lab": "digitallabor-buehl",
        "trust_clock": False,
    }
    uplink = configs["bruchsal-bhf-01"]["uplink"]
    assert uplink["username"] == "bruchsal-bhf-01"
    assert uplink["password_file"] == "/etc/edge-agent/credentials/uplink.password"
    assert uplink["max_bandwidth"] == "20kB"
    road = configs["rastatt-b36-01"]
    assert [s["name"] for s in road["sensor"]] == ["pi", "road-b36", "cabinet"]
    assert road["sensor"][1]["options"]["channels"][0] == "surface_temperature"
    assert road["experiment"] == [{"name": "road-icing"}]
    for host in hosts:  # the password stays in its own file, never in the config
        assert "password =" not in (tmp_path / f"{host}.toml").read_text()
