"""The deployment guide and the chart README say what the chart does.

A new user copies the values files and commands from docs/deployment.md. So every values file in
it is rendered with the chart and validated, every helm command is checked against the chart and
the schema, every Secret the values refer to is created by a command with the keys the chart
reads, and every object name a command uses is the name the chart gives that object.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.support.chart import CHART_DIR, ROOT, Rendered, render, validate_against_kubernetes

GUIDE = ROOT / "docs" / "deployment.md"
CHART_README = CHART_DIR / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(path.read_text()) if lang == language]


@cache
def values_files() -> dict[str, dict[str, Any]]:
    """The guide's values files by name (blocks that start with ``# values: NAME``)."""
    found: dict[str, dict[str, Any]] = {}
    for body in blocks(GUIDE, "yaml"):
        first = body.splitlines()[0]
        if first.startswith("# values: "):
            found[first.removeprefix("# values: ").strip()] = yaml.safe_load(body)
    return found


@cache
def commands() -> list[list[str]]:
    """Every shell command of the guide, continuation lines joined, as argv lists."""
    argvs = []
    for body in blocks(GUIDE, "sh"):
        for line in body.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                argvs.append(shlex.split(line.split(" > ")[0]))
    return argvs


def flag_values(argv: list[str], *flags: str) -> list[str]:
    """Values of ``--flag value`` and ``--flag=value`` (and short forms) in an argv."""
    out = []
    for index, word in enumerate(argv):
        for flag in flags:
            if word == flag and index + 1 < len(argv):
                out.append(argv[index + 1])
            elif word.startswith(flag + "="):
                out.append(word.split("=", 1)[1])
    return out


def test_the_guide_has_values_files_and_helm_commands() -> None:
    """The guide shows at least the basic, sharded and workload-identity values files."""
    assert {"my-values.yaml", "sharded.yaml", "workload-identity.yaml"} <= set(values_files())
    assert any(argv[:2] == ["helm", "install"] for argv in commands())


@pytest.fixture(scope="module")
def rendered_guide(chart: helm.Chart) -> dict[str, Rendered]:
    """Each values file of the guide, rendered once."""
    return {name: render(chart, values) for name, values in values_files().items()}


@pytest.mark.parametrize("name", sorted(values_files()))
def test_every_values_file_in_the_guide_renders_valid_objects(
    rendered_guide: dict[str, Rendered], name: str
) -> None:
    """Each values file passes the schema, renders, and yields valid Kubernetes objects."""
    validate_against_kubernetes(rendered_guide[name])
    report = helm.lint(CHART_DIR, values_files()[name], strict=True, kube_version="v1.30.0")
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_every_helm_command_matches_the_chart(chart: helm.Chart) -> None:
    """helm install/upgrade name this chart, a values file of the guide, and valid --set values."""
    helm_commands = [argv for argv in commands() if argv[0] == "helm"]
    assert helm_commands
    for argv in helm_commands:
        if argv[1] == "uninstall":
            continue
        assert argv[1] in {"install", "upgrade"}, argv
        assert (ROOT / argv[3]).resolve() == CHART_DIR, argv
        values: dict[str, Any] = {}
        for name in flag_values(argv, "-f", "--values"):
            assert name in values_files(), f"{name} is not shown in the guide"
            values = chart.merge_values({**values, **values_files()[name]})
        for expression in flag_values(argv, "--set"):
            values = chart.merge_values({**values, **helm.parse_set_string(expression)})
        chart.validate_schema(values)


def secrets_created() -> dict[str, set[str]]:
    """Secret name -> keys, from the guide's ``kubectl create secret generic`` commands."""
    created: dict[str, set[str]] = {}
    for argv in commands():
        if argv[:1] == ["kubectl"] and "secret" in argv and "create" in argv:
            name = argv[argv.index("generic") + 1]
            keys = {v.split("=", 1)[0] for v in flag_values(argv, "--from-file", "--from-literal")}
            created[name] = keys
    return created


@pytest.mark.parametrize("name", sorted(values_files()))
def test_secrets_the_values_name_are_created_with_the_keys_the_chart_reads(
    chart: helm.Chart, name: str
) -> None:
    """Every existingSecret in a values file is created earlier, with the keys the pod mounts."""
    values = chart.merge_values(values_files()[name])
    created = secrets_created()
    google = values["credentials"]
    if google["existingSecret"]:
        assert google["key"] in created[google["existingSecret"]]
    git = values["manifests"]["git"]["credentials"]
    if values["manifests"]["source"] == "git" and git["existingSecret"]:
        wanted = (
            {git["sshKeyKey"], git["knownHostsKey"]}
            if git["type"] == "ssh"
            else {git["usernameKey"], git["passwordKey"]}
        )
        assert wanted <= created[git["existingSecret"]]


def test_object_names_in_commands_are_the_names_the_chart_renders(
    rendered_guide: dict[str, Rendered],
) -> None:
    """kubectl targets, the port-forward Service and the workload-identity member all exist."""
    sharded = rendered_guide["sharded.yaml"]
    basic = rendered_guide["my-values.yaml"]
    identity = rendered_guide["workload-identity.yaml"]
    names = {
        f"statefulset/{sharded.one('StatefulSet')['metadata']['name']}",
        f"deploy/{basic.one('Deployment')['metadata']['name']}",
        *(f"svc/{s['metadata']['name']}" for s in basic.by_kind["Service"]),
    }
    containers = {c["name"] for c in basic.pod["containers"]}
    pod_labels = basic.workload["spec"]["template"]["metadata"]["labels"]
    for argv in commands():
        if argv[:1] != ["kubectl"]:
            continue
        if argv[3:4] in (["scale"], ["port-forward"]):
            assert argv[4] in names, argv
        for container in flag_values(argv, "-c"):
            assert container in containers, argv
        for selector in flag_values(argv, "-l"):
            key, _, value = selector.partition("=")
            assert pod_labels[key] == value, argv
    account = identity.one("ServiceAccount")["metadata"]
    member = f"[{'contacts'}/{account['name']}]"
    members = [
        v
        for argv in commands()
        for v in flag_values(argv, "--member")
        if "roles/iam.workloadIdentityUser" in flag_values(argv, "--role")
    ]
    assert members
    assert all(m.endswith(member) for m in members), members
    assert identity.pod["serviceAccountName"] == account["name"]


def test_the_guides_namespace_matches_the_commands() -> None:
    """Every kubectl and helm command of the guide works in the namespace it creates."""
    for argv in commands():
        if argv[0] in {"kubectl", "helm"} and argv[1:3] != ["create", "namespace"]:
            assert flag_values(argv, "-n") == ["contacts"], argv


def leaf_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Documented keys: nested mappings are walked, except blocks documented as one value."""
    whole = {"resources", "probes.liveness", "probes.readiness", "probes.startup"}
    whole |= {"podSecurityContext", "securityContext", "manifests.git.resources"}
    keys = []
    for key, value in values.items():
        path = prefix + key
        if isinstance(value, dict) and value and path not in whole:
            keys += leaf_keys(value, path + ".")
        else:
            keys.append(path)
    return keys


def test_the_chart_readme_documents_every_value(chart: helm.Chart) -> None:
    """Every key of values.yaml has a row in the chart README's values table, and no extra."""
    rows = re.findall(r"^\| `([^`]+)` \|", CHART_README.read_text(), re.MULTILINE)
    documented = [r for r in rows if not r.startswith("/")]
    assert sorted(documented) == sorted(leaf_keys(chart.values))
