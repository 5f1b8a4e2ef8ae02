"""Render the chart with Helm's own Go SDK (through helm-python) and validate what comes out.

Shared by the chart and documentation tests; their fixtures live in ``tests/deploy/conftest.py``.

Rendering goes through the same code path as ``helm template``/``helm install``: values are
coalesced with the chart's defaults and checked against ``values.schema.json`` before any
template runs. Every rendered object is then validated against the Kubernetes API's OpenAPI
schemas in strict mode (unknown fields are errors), offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]  # the repository
CHART_DIR = ROOT / "charts" / "contacts-reconciler"
RELEASE = "contacts"
NAMESPACE = "reconciler"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas shipped.
KUBE_VERSIONS = ("1.25", kubernetes_validate.latest_version())
# Custom resources have no schema in the Kubernetes API; tests check them by hand.
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}


@dataclass
class Rendered:
    """One rendering of the chart: its objects by (kind, name) and the NOTES text."""

    objects: list[dict[str, Any]]
    notes: str
    by_kind: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for obj in self.objects:
            self.by_kind.setdefault(obj["kind"], []).append(obj)

    def one(self, kind: str) -> dict[str, Any]:
        """The only object of ``kind``; fails when there is none or several."""
        found = self.by_kind.get(kind, [])
        assert len(found) == 1, f"expected one {kind}, found {len(found)}"
        return found[0]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        for obj in self.by_kind.get(kind, []):
            if obj["metadata"]["name"] == name:
                return obj
        raise AssertionError(f"no {kind} named {name}")

    @property
    def workload(self) -> dict[str, Any]:
        """The Deployment or the StatefulSet: exactly one of them is rendered."""
        workloads = self.by_kind.get("Deployment", []) + self.by_kind.get("StatefulSet", [])
        assert len(workloads) == 1, [w["kind"] for w in workloads]
        return workloads[0]

    @property
    def pod(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.workload["spec"]["template"]["spec"]
        return spec

    def container(self, name: str = "reconciler") -> dict[str, Any]:
        for container in self.pod["containers"] + self.pod.get("initContainers", []):
            if container["name"] == name:
                return container
        raise AssertionError(f"no container {name}")

    def args(self, name: str = "reconciler") -> dict[str, str]:
        """``--flag=value`` arguments of a container as a dict (bare flags map to '')."""
        parsed: dict[str, str] = {}
        for arg in self.container(name)["args"]:
            flag, _, value = arg.partition("=")
            assert flag not in parsed, f"{flag} passed twice"
            parsed[flag] = value
        return parsed

    def volume(self, name: str) -> dict[str, Any]:
        for volume in self.pod["volumes"]:
            if volume["name"] == name:
                return volume
        raise AssertionError(f"no volume {name}")


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> Rendered:
    """Render like ``helm install contacts . -n reconciler -f values``; parse every document."""
    manifests = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(objects=objects, notes=notes)


def validate_against_kubernetes(rendered: Rendered) -> None:
    """Every built-in object is valid for every supported Kubernetes version, strictly."""
    for obj in rendered.objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = ".".join(str(p) for p in error.path)
                name = f"{obj['kind']}/{obj['metadata']['name']}"
                pytest.fail(
                    f"{name} is invalid for Kubernetes {version} at {where}: {error.message}"
                )
