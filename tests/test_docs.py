"""The module README generator (ferry_dev.docs) and the CHANGELOG's version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import hcl2
import pytest

from ferry_dev import docs

REPO = Path(__file__).resolve().parents[1]

VARIABLES_TF = r"""
variable "name_prefix" {
  description = "Prefix of every name: <name_prefix>-<what>. Pipes | are escaped."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{3,32}$", var.name_prefix)) # { is no brace here
    error_message = "name_prefix must be 3-32 letters: \"}\" is not one."
  }
}

variable "settings" {
  description = <<-EOT
    Settings of the thing. The first line
    wraps onto the second.

    A second paragraph:
    - a list item
    - another, with "quotes" and $${literal}
  EOT
  type = list(object({
    mode    = optional(string, "ON") # ON | OFF
    retries = optional(number, 3)
  }))
  default = [
    {
      mode    = "OFF"
      retries = 5
    },
  ]
  nullable = false
}

/* a block comment: variable "ghost" { } is not an input */
variable "labels" {
  type      = map(string) // no description on purpose
  default   = { team = "data" }
  sensitive = true
}

variable "network" {
  description = "An object default on one line."
  type        = object({ cidr = string, azs = optional(number, 2) })
  default     = null
}

variable "region" {
  description = "Required, though declared after optional inputs."
  type        = string
}
"""

OUTPUTS_TF = r"""
output "endpoint" {
  description = "Where to connect: ${"host"} is not expanded in a description."
  value       = "${var.name_prefix}.example:${jsonencode({ port = 5432 })}"
}

output "password" {
  description = "The generated password."
  value       = "x"
  sensitive   = true
}
"""

MAIN_TF = """
locals {
  policy = <<-JSON
    {"Statement": [{"Effect": "Deny", "Resource": "}"}]}
  JSON
  nested = "${var.name_prefix}-${"}"}"
}

resource "terraform_data" "thing" {
  input = local.policy
  lifecycle {
    precondition {
      condition     = length(var.settings) > 0
      error_message = "settings must not be empty."
    }
  }
}

output "from_main" {
  description = "An output declared outside outputs.tf."
  value       = terraform_data.thing.id
}
"""

README = f"""# thing

Prose before the section stays.

## Usage

```hcl
module "thing" {{ source = "../thing" }}
```

{docs.BEGIN}
| hand | written |
{docs.END}

## Tests

Prose after the section stays.
"""


def write_module(root: Path, name: str = "thing", readme: str = README) -> Path:
    module = root / "modules" / name
    module.mkdir(parents=True)
    (module / "variables.tf").write_text(VARIABLES_TF)
    (module / "outputs.tf").write_text(OUTPUTS_TF)
    (module / "main.tf").write_text(MAIN_TF)
    (module / "README.md").write_text(readme)
    return module


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return write_module(tmp_path)


# --- reading the HCL ----------------------------------------------------------


def test_reads_inputs_as_written_required_first(module: Path) -> None:
    variables, _ = docs.read_module(module)
    by_name = {v.name: v for v in variables}

    assert [v.name for v in variables] == ["name_prefix", "region", "settings", "labels", "network"]
    assert [v.required for v in variables] == [True, True, False, False, False]
    assert by_name["name_prefix"].default is None
    assert by_name["name_prefix"].type == "string"
    assert by_name["settings"].type == (
        "list(object({\n"
        '    mode    = optional(string, "ON") # ON | OFF\n'
        "    retries = optional(number, 3)\n"
        "  }))"
    )
    assert by_name["settings"].default.startswith("[\n    {\n")
    assert by_name["labels"].type == "map(string)"  # the trailing comment is not part of it
    assert by_name["labels"].default == '{ team = "data" }'
    assert by_name["labels"].sensitive
    assert by_name["labels"].description == ""
    assert by_name["network"].default == "null"


def test_heredoc_description_is_dedented_and_unescaped(module: Path) -> None:
    variables, _ = docs.read_module(module)
    settings = next(v for v in variables if v.name == "settings")
    assert settings.description == (
        "Settings of the thing. The first line\nwraps onto the second.\n\n"
        'A second paragraph:\n- a list item\n- another, with "quotes" and ${literal}'
    )


def test_reads_outputs_from_every_file(module: Path) -> None:
    _, outputs = docs.read_module(module)
    assert [(o.name, o.sensitive) for o in outputs] == [
        ("endpoint", False),
        ("password", True),
        ("from_main", False),
    ]
    assert outputs[0].description == (
        'Where to connect: ${"host"} is not expanded in a description.'
    )


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"a \"b\" c\\d"', 'a "b" c\\d'),
        (r'"tab\there\nnew \u00e9"', "tab\there\nnew \u00e9"),
        ('"$${x} and %%{y}"', "${x} and %{y}"),
        ("<<EOT\n  kept indent\nEOT", "  kept indent\n"),
        ("<<-EOT\n    two\n      deeper\n  EOT", "two\n  deeper\n"),
    ],
)
def test_decode_string(literal: str, value: str) -> None:
    assert docs.decode_string(literal) == value


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('variable "x" {\n  description = "open\n}\n', "runs past the end of the line"),
        ('variable "x" {\n  type = list(string\n}\n', "unbalanced"),
        ('variable "x" {\n  description = <<EOT\n  never closed\n}\n', "never closed"),
        ('variable "x" {\n  description = join("", ["a"])\n}\n', "string literal"),
    ],
)
def test_broken_hcl_is_reported_with_its_place(tmp_path: Path, bad: str, message: str) -> None:
    (tmp_path / "variables.tf").write_text(bad)
    with pytest.raises(docs.DocsError, match=message) as err:
        docs.read_module(tmp_path)
    assert "variables.tf:" in str(err.value)


# --- rendering --------------------------------------------------------------


def test_section_tables(module: Path) -> None:
    section = docs.render_section(module).split("\n")
    assert section[0] == docs.BEGIN
    assert section[-1] == docs.END
    assert (
        "| `name_prefix` | Prefix of every name: \\<name_prefix>-\\<what>. Pipes \\| are escaped."
        " | `string` | n/a | yes |" in section
    )
    assert (
        "| `settings` | Settings of the thing. The first line wraps onto the second.<br><br>"
        'A second paragraph:<br>- a list item<br>- another, with "quotes" and ${literal}'
        " | `list(object({...}))`, see [below](#settings) | see [below](#settings) | no |"
        in section
    )
    assert '| `labels` (sensitive) |  | `map(string)` | `{ team = "data" }` | no |' in section
    assert (
        "| `network` | An object default on one line."
        " | `object({ cidr = string, azs = optional(number, 2) })` | `null` | no |" in section
    )
    assert "| `password` (sensitive) | The generated password. |" in section
    assert "| `from_main` | An output declared outside outputs.tf. |" in section


def test_long_types_and_defaults_are_written_out_whole(module: Path) -> None:
    section = docs.render_section(module)
    block = section.split("#### `settings`\n\n")[1].split("\n\n")[0]
    assert block == (
        "```hcl\n"
        "type = list(object({\n"
        '  mode    = optional(string, "ON") # ON | OFF\n'
        "  retries = optional(number, 3)\n"
        "}))\n"
        "default = [\n"
        "  {\n"
        '    mode    = "OFF"\n'
        "    retries = 5\n"
        "  },\n"
        "]\n"
        "```"
    )
    assert "#### `network`" not in section  # short enough for its cell


def test_module_without_inputs_or_outputs(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "terraform_data" "x" {}\n')
    section = docs.render_section(tmp_path)
    assert "This module has no inputs." in section
    assert "This module has no outputs." in section


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("<name_prefix>-<role>", "\\<name_prefix>-\\<role>"),
        ("arn:*:trail/* and GenerateDataKey*", "arn:\\*:trail/\\* and GenerateDataKey\\*"),
        ("name_prefix, _HANDLER, AWS_*", "name_prefix, \\_HANDLER, AWS\\_\\*"),
        ("in code: `a|b <c> *d*`", "in code: `a\\|b <c> *d*`"),
        ("one\ntwo\n\nthree\n1. four\n* five", "one two<br><br>three<br>1. four<br>\\* five"),
    ],
)
def test_description_cell(text: str, cell: str) -> None:
    assert docs.description_cell(text) == cell


@pytest.mark.parametrize(
    ("expression", "short"),
    [
        ("object({\n  a = string # note\n  b = optional(list(string), [])\n})", "object({...})"),
        ("map(object({ a = optional(object({ b = string }), {}) }))", "map(object({...}))"),
        ('optional(object({ x = "}" }), {})', "optional(object({...}), {})"),
    ],
)
def test_short_expression(expression: str, short: str) -> None:
    assert docs.short_expression(expression) == short


# --- the command -----------------------------------------------------------------


def test_make_docs_rewrites_only_the_section_and_is_idempotent(
    module: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = module.parents[1]
    assert docs.main(["--check", "--root", str(root)]) == 1
    assert "modules/thing/README.md" in capsys.readouterr().err

    assert docs.main(["--root", str(root)]) == 0
    first = (module / "README.md").read_text()
    before, rest = first.split(docs.BEGIN)
    section, after = rest.split(docs.END)
    assert before == README.split(docs.BEGIN, maxsplit=1)[0]
    assert after == README.split(docs.END)[1]
    assert "| hand | written |" not in section
    assert "## Inputs" in section

    assert docs.main(["--root", str(root)]) == 0
    assert (module / "README.md").read_text() == first
    assert docs.main(["--check", "--root", str(root)]) == 0


def test_check_fails_when_terraform_changes(
    module: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = module.parents[1]
    docs.main(["--root", str(root)])
    capsys.readouterr()
    with (module / "variables.tf").open("a") as f:
        f.write('\nvariable "added" {\n  description = "New."\n  type = bool\n}\n')

    assert docs.main(["--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "run `make docs`" in err
    assert "+| `added` | New. | `bool` | n/a | yes |" in err
    assert "added" not in (module / "README.md").read_text()  # --check writes nothing


def test_check_fails_on_a_hand_edit_inside_the_section(module: Path) -> None:
    root = module.parents[1]
    docs.main(["--root", str(root)])
    readme = module / "README.md"
    readme.write_text(readme.read_text().replace("Where to connect", "Where to go"))
    assert docs.main(["--check", "--root", str(root)]) == 1


def test_new_module_folders_are_picked_up(module: Path) -> None:
    root = module.parents[1]
    other = write_module(root, "bucket")
    (root / "modules" / "notes").mkdir()  # no Terraform: not a module
    assert docs.module_dirs(root) == [other, module]
    docs.main(["--root", str(root)])
    assert "## Outputs" in (other / "README.md").read_text()


@pytest.mark.parametrize(
    "readme",
    [
        "# no markers\n",
        f"# reversed\n{docs.END}\n{docs.BEGIN}\n",
        f"# twice\n{docs.BEGIN}\n{docs.END}\n{docs.BEGIN}\n{docs.END}\n",
    ],
)
def test_readme_without_usable_markers_is_an_error(
    tmp_path: Path, readme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    module = write_module(tmp_path, readme=readme)
    assert docs.main(["--root", str(tmp_path)]) == 1
    assert "run `make docs`" in capsys.readouterr().err
    assert (module / "README.md").read_text() == readme


def test_module_without_readme_is_an_error(
    module: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (module / "README.md").unlink()
    assert docs.main(["--check", "--root", str(module.parents[1])]) == 1
    assert "README.md: missing" in capsys.readouterr().err


# --- the project's own modules -------------------------------------------------


@pytest.mark.parametrize("module", docs.module_dirs(REPO), ids=lambda p: p.name)
def test_reads_the_same_blocks_as_an_hcl_parser(module: Path) -> None:
    """Cross-check the scanner on real modules against the HCL parser checkov uses:
    same inputs and outputs, same required inputs, same descriptions."""
    variables, outputs = docs.read_module(module)
    theirs_vars: dict[str, dict] = {}
    theirs_outs: dict[str, dict] = {}
    for path in module.glob("*.tf"):
        with path.open() as f:
            parsed = hcl2.load(f)
        for item in parsed.get("variable", []):
            theirs_vars.update(item)
        for item in parsed.get("output", []):
            theirs_outs.update(item)

    assert {v.name for v in variables} == set(theirs_vars)
    assert {o.name for o in outputs} == set(theirs_outs)
    for v in variables:
        assert v.required == ("default" not in theirs_vars[v.name]), v.name
        assert v.sensitive == (theirs_vars[v.name].get("sensitive") == [True]), v.name
        their_description = theirs_vars[v.name].get("description", [""])[0]
        if "\\" not in their_description:  # that parser leaves escapes in place
            assert v.description == their_description.strip(), v.name
    for o in outputs:
        their_description = theirs_outs[o.name].get("description", [""])[0]
        if "\\" not in their_description:
            assert o.description == their_description.strip(), o.name


# --- version --------------------------------------------------------------------


def test_changelog_latest_release_is_the_project_version() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", changelog, re.MULTILINE)

    assert headings[0] == ("Unreleased", "")
    releases = headings[1:]
    assert releases, "CHANGELOG.md has no released version"
    for number, date in releases:
        assert re.fullmatch(r"\d+\.\d+\.\d+", number), number
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", date), f"{number}{date}"
    assert releases[0][0] == version, "pyproject.toml's version is the latest release"
    numbers = [tuple(int(n) for n in number.split(".")) for number, _ in releases]
    assert numbers == sorted(numbers, reverse=True), "releases newest first"
