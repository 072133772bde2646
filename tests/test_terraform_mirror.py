"""Where Terraform gets its providers when TF_MIRROR is not set: a mirror found on
the machine (one line says which), the registry, or ferry's one-line instruction.
Everything here runs on temporary folder trees; nothing reaches the network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ferry_dev import terraform as tf

PLATFORM = tf._platform()
REPO = Path(__file__).resolve().parents[1]


def _mirror(folder: Path, *, packed: bool = False, version: str = tf.AWS_PROVIDER_VERSION) -> Path:
    aws = folder / tf.AWS_PROVIDER
    if packed:  # the layout `terraform providers mirror` writes
        aws.mkdir(parents=True)
        (aws / f"terraform-provider-aws_{version}_{PLATFORM}.zip").write_bytes(b"PK")
    else:
        (aws / version / PLATFORM).mkdir(parents=True)
    return folder


@pytest.fixture
def no_discovery(monkeypatch, tmp_path):
    """TF_MIRROR unset, no CLI config, an empty machine, an unreachable registry."""
    for name in ("TF_MIRROR", "TF_CLI_CONFIG_FILE"):
        monkeypatch.setenv(name, "")  # recorded, so that what discovery sets is undone
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setattr(tf, "SEARCH_ROOTS", ((tmp_path / "machine", 2),))
    monkeypatch.setattr(tf, "plugin_dirs", lambda: [tmp_path / "plugins"])
    monkeypatch.setattr(tf, "registry_reachable", lambda: False)
    monkeypatch.setattr(tf, "_registry_checked", False)
    monkeypatch.setattr(tf, "CACHE", tmp_path / "cache")
    (tmp_path / "machine").mkdir()
    return tmp_path


def test_finds_a_mirror_as_deep_as_ci_looked_and_no_deeper(tmp_path):
    root = tmp_path / "machine"
    _mirror(root / "a" / "b" / "c")  # registry.terraform.io at depth 4: beyond the search
    assert tf.find_mirror([(root, 2)], plugins=[]) is None
    found = _mirror(root / "opt" / "tf-plugins")  # at depth 3, as `find / -maxdepth 3` sees it
    assert tf.find_mirror([(root, 2)], plugins=[]) == found


def test_skips_folders_without_the_pinned_provider_for_this_platform(tmp_path):
    root = tmp_path / "machine"
    (root / "empty" / tf.REGISTRY_HOST).mkdir(parents=True)
    _mirror(root / "old", version="4.67.0")
    (root / "other" / tf.AWS_PROVIDER / tf.AWS_PROVIDER_VERSION / "plan9_mips").mkdir(parents=True)
    assert tf.find_mirror([(root, 2)], plugins=[]) is None
    packed = _mirror(root / "zz-packed", packed=True)
    assert tf.find_mirror([(root, 2)], plugins=[]) == packed


def test_terraform_plugin_dirs_come_first_and_links_are_not_followed(tmp_path):
    root = tmp_path / "machine"
    _mirror(root / "a-mirror")
    (root / "b-link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    _mirror(tmp_path / "elsewhere" / "inside")
    plugins = _mirror(tmp_path / "home" / ".terraform.d" / "plugins")
    assert tf.find_mirror([(root, 2)], plugins=[tmp_path / "none", plugins]) == plugins
    assert tf.find_mirror([(root, 2)], plugins=[]) == root / "a-mirror"
    (root / "a-mirror").rename(tmp_path / "gone")
    assert tf.find_mirror([(root, 2)], plugins=[]) is None  # not through b-link


def test_plugin_dirs_follow_terraform_per_system(tmp_path):
    home = tmp_path / "h"
    linux = tf.plugin_dirs({"XDG_DATA_DIRS": "/x:/y"}, "linux", home)
    assert linux == [
        home / ".terraform.d/plugins",
        home / ".local/share/terraform/plugins",
        Path("/x/terraform/plugins"),
        Path("/y/terraform/plugins"),
    ]
    assert tf.plugin_dirs({}, "linux", home)[2:] == [
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]
    assert tf.plugin_dirs({"XDG_DATA_HOME": "/d"}, "linux", home)[1] == Path("/d/terraform/plugins")
    assert tf.plugin_dirs({}, "darwin", home)[1:] == [
        home / "Library/Application Support/io.terraform/plugins",
        Path("/Library/Application Support/io.terraform/plugins"),
    ]
    appdata = tmp_path / "appdata"
    assert tf.plugin_dirs({"APPDATA": str(appdata)}, "win32", home) == [
        appdata / "terraform.d/plugins",
        appdata / "HashiCorp/Terraform/plugins",
    ]


def test_found_mirror_is_used_and_named_once(no_discovery, capsys):
    found = _mirror(no_discovery / "machine" / "srv" / "providers")
    rc = tf.cli_config()
    assert rc is not None
    assert f'path    = "{found}"' in rc.read_text()
    assert os.environ["TF_MIRROR"] == str(found)  # children inherit it
    tf.cli_config()
    err = capsys.readouterr().err
    assert err == (
        f"using Terraform provider mirror {found} (found on this machine; "
        "set TF_MIRROR to use another)\n"
    )


def test_tf_mirror_wins_over_a_found_one(no_discovery, monkeypatch, capsys):
    _mirror(no_discovery / "machine" / "srv" / "providers")
    chosen = _mirror(no_discovery / "chosen")
    monkeypatch.setenv("TF_MIRROR", str(chosen))
    assert tf.provider_source() == chosen
    assert capsys.readouterr().err == ""


def test_no_mirror_and_no_registry_is_one_line_naming_tf_mirror(no_discovery):
    with pytest.raises(tf.TerraformError) as err:
        tf.cli_config()
    message = str(err.value)
    assert message == tf.NO_PROVIDER_SOURCE
    assert "\n" not in message
    assert "set TF_MIRROR to a folder" in message


def test_registry_users_without_a_mirror_are_unchanged(no_discovery, monkeypatch, capsys):
    checks = []
    monkeypatch.setattr(tf, "registry_reachable", lambda: checks.append(1) or True)
    assert tf.cli_config() is None
    assert tf.cli_config() is None
    assert "TF_MIRROR" not in os.environ
    assert "TF_CLI_CONFIG_FILE" not in tf.base_env()
    assert checks == [1]  # asked once per process
    assert capsys.readouterr().err == ""


def test_an_own_cli_config_is_left_alone(no_discovery, monkeypatch):
    _mirror(no_discovery / "machine" / "srv" / "providers")
    own = no_discovery / "terraformrc"
    own.write_text("provider_installation {\n  direct {}\n}\n")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(own))
    assert tf.cli_config() is None
    assert tf.base_env()["TF_CLI_CONFIG_FILE"] == str(own)
    assert "TF_MIRROR" not in os.environ


def test_a_proxy_counts_as_reachable(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert tf.registry_reachable()


REGISTRY_ERROR = """
Error: Failed to query available provider packages

Could not retrieve the list of available versions for provider hashicorp/aws:
could not connect to registry.terraform.io: failed to request discovery
document: Get "https://registry.terraform.io/.well-known/terraform.json":
dial tcp: lookup registry.terraform.io: no such host
"""


def test_init_failing_on_the_registry_is_the_same_one_line(no_discovery, monkeypatch):
    """The registry looked reachable, but Terraform's init could not use it."""
    monkeypatch.setattr(tf, "registry_reachable", lambda: True)
    bin_dir = no_discovery / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "terraform"
    fake.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{REGISTRY_ERROR}\nEOF\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    root_dir = no_discovery / "root"
    root_dir.mkdir()
    root = tf.Root(root_dir, data_dir=no_discovery / "data")
    with pytest.raises(tf.TerraformError) as err:
        root.init()
    assert str(err.value) == tf.NO_PROVIDER_SOURCE
    fake.write_text("#!/bin/sh\necho 'Error: Unsupported argument' >&2\nexit 1\n")
    with pytest.raises(tf.TerraformError, match="Unsupported argument"):
        root.init()


def test_cli_prints_the_mirror_for_ci_or_the_instruction(no_discovery):
    machine = no_discovery / "machine"
    code = (
        "import sys; from pathlib import Path; from ferry_dev import terraform as tf\n"
        f"tf.SEARCH_ROOTS = ((Path({str(machine)!r}), 2),)\n"
        "tf.plugin_dirs = lambda: []\n"
        "tf.registry_reachable = lambda: False\n"
        "sys.exit(tf._main(['mirror']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "lambda_src")}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )

    failed = run()
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr == f"error: {tf.NO_PROVIDER_SOURCE}\n"
    found = _mirror(machine / "opt" / "mirror")
    ok = run()
    assert ok.returncode == 0
    assert ok.stdout == f"{found}\n"
    assert ok.stderr.count("\n") == 1
    assert str(found) in ok.stderr
