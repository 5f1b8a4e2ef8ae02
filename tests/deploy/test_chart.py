"""The Helm chart renders valid, hardened Kubernetes objects for every supported way to run it.

Each value set below is rendered once (module-scoped fixtures) with Helm's own SDK; the tests
then read the objects. Every object is validated against the Kubernetes API schemas.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import helm_python as helm
import pytest
import yaml

from reconciler.cli.run import run
from reconciler.controller.accounts import DriftPolicy, load_accounts
from reconciler.controller.sharding import parse_shard
from tests.support.chart import CHART_DIR, NAMESPACE, Rendered, render, validate_against_kubernetes

FULLNAME = "contacts-contacts-reconciler"

GIT_HTTPS: dict[str, Any] = {
    "accounts": [
        {
            "subject": "alice@example.com",
            "manifests": ["people/alice", "./shared/../common"],
            "owner": "repo-x",
        },
        {
            "subject": "bob@example.com",
            "manifests": "/srv/bob",
            "suspend": True,
            "driftPolicy": "report",
        },
    ],
    "credentials": {"existingSecret": "google-key"},
    "manifests": {
        "source": "git",
        "git": {
            "repo": "https://git.example.com/team/contacts.git",
            "ref": "release",
            "period": "2m",
            "credentials": {"existingSecret": "git-token", "type": "https"},
        },
    },
    "controller": {"driftPolicy": "report", "resyncInterval": "5m", "owner": "team-contacts"},
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
    "networkPolicy": {"enabled": True},
}

SHARDED_SSH: dict[str, Any] = {
    "sharding": {"enabled": True, "shards": 4},
    "accounts": [{"subject": f"user{n}@example.com", "manifests": f"users/{n}"} for n in range(8)],
    "serviceAccount": {
        "annotations": {"iam.gke.io/gcp-service-account": "rec@proj.iam.gserviceaccount.com"},
        "automountToken": True,
    },
    "manifests": {
        "source": "git",
        "git": {
            "repo": "git@git.example.com:team/contacts.git",
            "credentials": {"existingSecret": "git-ssh", "type": "ssh"},
        },
    },
    "networkPolicy": {"enabled": True},
}

CONFIGMAP_FILES: dict[str, Any] = {
    "controller": {
        "target": "http://people-emulator:8765",
        "logFormat": "console",
        "prune": True,
        "suspend": True,
    },
    "credentials": {"existingSecret": "emulator", "key": "unused.json"},
    "accounts": [{"subject": "alice@example.com", "manifests": "alice"}],
    "manifests": {
        "source": "configMap",
        "configMap": {
            "files": {
                "alice/contacts.yaml": "apiVersion: reconciler/v1\nkind: Contact\n",
                "alice/groups/team.yaml": "apiVersion: reconciler/v1\nkind: ContactGroup\n",
            }
        },
    },
    "podDisruptionBudget": {"enabled": False},
}

EXISTING_CONFIGMAP: dict[str, Any] = {
    "accounts": [{"subject": "carol@example.com", "manifests": "."}],
    "manifests": {"source": "configMap", "configMap": {"existing": "my-manifests"}},
    "image": {"repository": "registry.example.com/rec", "digest": "sha256:" + "a" * 64},
    "serviceAccount": {"create": False, "name": "shared"},
}

DIRECTORY_SHARDED: dict[str, Any] = {
    "sharding": {"enabled": True, "shards": 2},
    "directory": [
        {
            "name": "sales",
            "admin": "admin@example.com",
            "orgUnitPath": "/Sales",
            "manifests": "people/{user}",
            "refreshInterval": "5m",
        },
        {"admin": "admin@example.com", "group": "all@example.com", "manifests": ["common"]},
    ],
    "manifests": {"source": "configMap", "configMap": {"existing": "my-manifests"}},
}
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "directory-sharded": DIRECTORY_SHARDED,
    "git-https": GIT_HTTPS,
    "sharded-ssh": SHARDED_SSH,
    "configmap-files": CONFIGMAP_FILES,
    "existing-configmap": EXISTING_CONFIGMAP,
}


@pytest.fixture(scope="module")
def renders(chart: helm.Chart) -> dict[str, Rendered]:
    """Each value set rendered once for the whole module."""
    return {name: render(chart, values) for name, values in VALUE_SETS.items()}


@pytest.fixture(scope="module")
def defaults(renders: dict[str, Rendered]) -> Rendered:
    return renders["defaults"]


@pytest.fixture(scope="module")
def git(renders: dict[str, Rendered]) -> Rendered:
    return renders["git-https"]


@pytest.fixture(scope="module")
def sharded(renders: dict[str, Rendered]) -> Rendered:
    return renders["sharded-ssh"]


@pytest.mark.parametrize("name", VALUE_SETS)
def test_every_object_is_valid_kubernetes(renders: dict[str, Rendered], name: str) -> None:
    """Every rendered object passes the Kubernetes API schemas, with unknown fields rejected."""
    rendered = renders[name]
    assert rendered.objects
    validate_against_kubernetes(rendered)
    for obj in rendered.objects:
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "contacts"


@pytest.mark.parametrize("name", VALUE_SETS)
def test_lint_is_clean(name: str) -> None:
    """helm lint --strict reports no warning and no error for any value set."""
    report = helm.lint(
        CHART_DIR, VALUE_SETS[name], strict=True, namespace=NAMESPACE, kube_version="v1.30.0"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [], problems
    assert report["errors"] == []


def test_kubernetes_validation_is_not_vacuous() -> None:
    """The validator used above rejects an unknown field and a wrong type."""
    import kubernetes_validate

    broken = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "labelz": {}},
        "data": {"a": "b"},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30", strict=True)


def test_defaults_run_one_replica_with_the_recreate_strategy(defaults: Rendered) -> None:
    """By default: a Deployment of exactly one replica that is stopped before it is replaced."""
    deployment = defaults.one("Deployment")
    assert "StatefulSet" not in defaults.by_kind
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert defaults.args()["--shard"] == "0/1"


def test_controller_gets_exactly_the_documented_flags(git: Rendered) -> None:
    """reconciler run gets the config, shard, addresses, intervals, policy, format and target."""
    assert git.container()["image"] == "contacts-reconciler:0.1.0"
    assert git.args() == {
        "--config": "/etc/reconciler/config.yaml",
        "--shard": "0/1",
        "--state-dir": "/var/lib/reconciler",
        "--health-addr": ":8081",
        "--metrics-addr": ":8080",
        "--resync-interval": "5m",
        "--poll-interval": "30s",
        "--poll-share": "0.1",
        "--drift-policy": "report",
        "--log-format": "json",
        "--target": "google",
        "--credentials": "/var/run/secrets/reconciler/credentials.json",
        "--owner": "team-contacts",
        "--max-deletes": "100",
        "--max-delete-share": "0.25",
        "--api-grace": "20s",
    }


@pytest.mark.parametrize("name", VALUE_SETS)
def test_reconciler_run_accepts_the_arguments_the_chart_passes(
    renders: dict[str, Rendered], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real `reconciler run` command parses the container's arguments without complaint."""
    for variable in [v for v in os.environ if v.startswith("RECONCILER_")]:
        monkeypatch.delenv(variable)
    rendered = renders[name]
    args = rendered.container()["args"]
    with run.make_context("run", list(args)) as ctx:
        params = ctx.params
    assert params["health_addr"] == ":8081"
    assert params["metrics_addr"] == ":8080"
    assert params["log_format"] in {"json", "console"}
    assert params["target"] == VALUE_SETS[name].get("controller", {}).get("target", "google")
    assert params["prune"] is params["suspend"] is (name == "configmap-files")
    listed = VALUE_SETS[name].get("accounts") or VALUE_SETS[name].get("directory")
    assert (params["config_file"] is None) is (not listed)
    pod = f"{rendered.workload['metadata']['name']}-0"
    assert parse_shard(params["shard"], pod_name=pod).index == 0
    flags = {p.envvar for p in run.params if isinstance(p, click.Option)}
    for variable in rendered.container()["env"]:
        if variable["name"].startswith("RECONCILER_"):
            assert variable["name"] in flags, f"{variable['name']} sets no flag of run"


def test_accounts_config_comes_from_values_through_a_configmap(
    git: Rendered, tmp_path: Path
) -> None:
    """The accounts list lands in config.yaml; relative manifest paths resolve in the checkout."""
    config_map = git.named("ConfigMap", f"{FULLNAME}-config")
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    assert config == {
        "accounts": [
            {
                "subject": "alice@example.com",
                "manifests": ["/manifests/current/people/alice", "/manifests/current/common"],
                "owner": "repo-x",
            },
            {
                "subject": "bob@example.com",
                "manifests": "/srv/bob",
                "suspend": True,
                "driftPolicy": "report",
            },
        ],
    }
    mount = next(m for m in git.container()["volumeMounts"] if m["name"] == "config")
    assert mount == {"name": "config", "mountPath": "/etc/reconciler", "readOnly": True}
    assert git.volume("config")["configMap"]["name"] == f"{FULLNAME}-config"
    annotations = git.workload["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations["checksum/config"]) == 64
    # The controller reads the file the chart writes, exactly as `reconciler run --config` does.
    (tmp_path / "config.yaml").write_text(config_map["data"]["config.yaml"])
    loaded = load_accounts(
        tmp_path / "config.yaml", default_owner="default", drift_policy=DriftPolicy.CORRECT
    )
    assert [(a.subject, a.owner, a.drift_policy, a.suspend) for a in loaded.accounts] == [
        ("alice@example.com", "repo-x", DriftPolicy.CORRECT, False),
        ("bob@example.com", "default", DriftPolicy.REPORT, True),
    ]
    assert loaded.accounts[0].manifests == (
        Path("/manifests/current/people/alice"),
        Path("/manifests/current/common"),
    )


def test_directory_entries_alone_make_the_accounts_file(
    renders: dict[str, Rendered], tmp_path: Path
) -> None:
    """Directory entries without listed accounts still give every shard the accounts file,
    their manifests resolved in the checkout with the placeholders kept for the controller."""
    rendered = renders["directory-sharded"]
    config_map = rendered.named("ConfigMap", f"{FULLNAME}-config")
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    assert set(config) == {"directory"}
    assert config["directory"][0]["manifests"] == "/manifests/current/people/{user}"
    assert config["directory"][1]["manifests"] == ["/manifests/current/common"]
    assert "--config=/etc/reconciler/config.yaml" in rendered.container()["args"]
    assert "/manifests/current" not in rendered.container()["args"]
    (tmp_path / "config.yaml").write_text(config_map["data"]["config.yaml"])
    loaded = load_accounts(
        tmp_path / "config.yaml", default_owner="default", drift_policy=DriftPolicy.CORRECT
    )
    sales, everyone = loaded.directory
    assert (sales.name, sales.org_unit_path, sales.refresh) == ("sales", "/Sales", 300.0)
    assert sales.account("ann@example.com").manifests == (  # type: ignore[union-attr]
        Path("/manifests/current/people/ann"),
    )
    assert (everyone.name, everyone.group) == ("directory-1", "all@example.com")


def test_without_accounts_one_address_book_is_reconciled(defaults: Rendered) -> None:
    """No accounts: no --config, and the whole checkout is the manifests of the token's user."""
    args = defaults.container()["args"]
    assert not any(a.startswith("--config") for a in args)
    assert args[-1] == "/manifests/current"
    assert [c["metadata"]["name"] for c in defaults.by_kind["ConfigMap"]] == [
        f"{FULLNAME}-manifests"
    ]
    assert "credentials' own" in defaults.notes


def test_config_changes_roll_the_pods(chart: helm.Chart, git: Rendered) -> None:
    """A different accounts list changes the pod template, so the controller restarts with it."""
    other = render(chart, {**GIT_HTTPS, "accounts": GIT_HTTPS["accounts"][:1]})
    key = "checksum/config"
    before = git.workload["spec"]["template"]["metadata"]["annotations"][key]
    after = other.workload["spec"]["template"]["metadata"]["annotations"][key]
    assert before != after


@pytest.mark.parametrize("name", VALUE_SETS)
def test_pods_are_hardened(renders: dict[str, Rendered], name: str) -> None:
    """Non-root, read-only root, no capabilities, RuntimeDefault seccomp, no SA token by default."""
    rendered = renders[name]
    pod = rendered.pod
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    expected_token = name == "sharded-ssh"  # the only set that asks for it (workload identity)
    assert pod["automountServiceAccountToken"] is expected_token
    assert pod["enableServiceLinks"] is False
    containers = pod["containers"] + pod.get("initContainers", [])
    for container in containers:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["runAsNonRoot"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["limits"]["memory"]
        writable = [m for m in container["volumeMounts"] if not m.get("readOnly")]
        for mount in writable:
            volume = rendered.volume(mount["name"])
            assert "emptyDir" in volume, f"{container['name']} writes to {mount['name']}"


def test_probes_hit_healthz_and_readyz(defaults: Rendered) -> None:
    """Liveness and startup probe /healthz, readiness probes /readyz, on the health port."""
    container = defaults.container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}


def test_credentials_are_mounted_from_the_existing_secret(git: Rendered) -> None:
    """The Google key is a read-only mount of the named Secret; the chart creates no Secret."""
    assert "Secret" not in git.by_kind
    volume = git.volume("credentials")
    assert volume["secret"] == {"secretName": "google-key", "defaultMode": 0o440}
    mount = next(m for m in git.container()["volumeMounts"] if m["name"] == "credentials")
    assert mount == {
        "name": "credentials",
        "mountPath": "/var/run/secrets/reconciler",
        "readOnly": True,
    }
    assert git.args()["--credentials"].startswith(mount["mountPath"] + "/")


def test_a_token_for_an_http_target_comes_from_the_secret(chart: helm.Chart) -> None:
    """For an emulator target and one address book (no accounts: with accounts each account is
    its own user) the bearer token is RECONCILER_TOKEN from a secretKeyRef."""
    values = {**CONFIGMAP_FILES, "accounts": []}
    values["credentials"] = {**CONFIGMAP_FILES["credentials"], "tokenKey": "token"}
    rendered = render(chart, values)
    env = {e["name"]: e for e in rendered.container()["env"]}
    assert env["RECONCILER_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": "emulator", "key": "token"}
    }
    assert rendered.args()["--target"] == "http://people-emulator:8765"


def test_no_credentials_means_no_secret_and_a_warning(defaults: Rendered) -> None:
    """Without a Secret nothing is mounted and NOTES says the controller cannot authenticate."""
    assert "--credentials" not in defaults.args()
    assert all("secret" not in v for v in defaults.pod["volumes"])
    assert "will not be able to authenticate" in defaults.notes


def test_git_sync_keeps_the_checkout_current(git: Rendered) -> None:
    """A git-sync sidecar (and a one-shot init copy) publish the repo at /manifests/current."""
    args = git.args("git-sync")
    assert args["--repo"] == "https://git.example.com/team/contacts.git"
    assert args["--ref"] == "release"
    assert args["--period"] == "2m"
    assert args["--root"] == "/manifests"
    assert args["--link"] == "current"
    assert args["--max-failures"] == "-1"
    assert args["--password-file"] == "/etc/git-secret/password"
    init_args = git.args("git-sync-init")
    assert "--one-time" in init_args
    assert init_args["--repo"] == args["--repo"]
    env = {e["name"]: e for e in git.container("git-sync")["env"]}
    assert env["GITSYNC_USERNAME"]["valueFrom"]["secretKeyRef"] == {
        "name": "git-token",
        "key": "username",
    }
    assert git.volume("git-credentials")["secret"]["secretName"] == "git-token"
    assert "emptyDir" in git.volume("manifests")
    sidecar_mount = next(
        m for m in git.container("git-sync")["volumeMounts"] if m["name"] == "manifests"
    )
    controller_mount = next(m for m in git.container()["volumeMounts"] if m["name"] == "manifests")
    assert sidecar_mount["mountPath"] == controller_mount["mountPath"] == "/manifests"
    assert controller_mount["readOnly"] is True
    assert git.container("git-sync")["securityContext"]["runAsUser"] == 65533


def test_git_over_ssh_uses_the_key_and_known_hosts(sharded: Rendered) -> None:
    """With an ssh Secret, git-sync verifies the host against known_hosts and uses the key."""
    args = sharded.args("git-sync")
    assert args["--ssh-key-file"] == "/etc/git-secret/ssh"
    assert args["--ssh-known-hosts"] == "true"
    assert args["--ssh-known-hosts-file"] == "/etc/git-secret/known_hosts"
    assert "--password-file" not in args
    policy = sharded.one("NetworkPolicy")
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert ports == {53, 443, 22}


def test_configmap_manifests_keep_their_folders(renders: dict[str, Rendered]) -> None:
    """Inline manifest files become a ConfigMap whose items restore the folder layout."""
    rendered = renders["configmap-files"]
    assert not [c for c in rendered.pod["containers"] if c["name"] == "git-sync"]
    assert "initContainers" not in rendered.pod
    data = rendered.named("ConfigMap", f"{FULLNAME}-manifests")["data"]
    items = rendered.volume("manifests")["configMap"]["items"]
    assert {item["path"]: data[item["key"]] for item in items} == {
        "alice/contacts.yaml": "apiVersion: reconciler/v1\nkind: Contact\n",
        "alice/groups/team.yaml": "apiVersion: reconciler/v1\nkind: ContactGroup\n",
    }
    mount = next(m for m in rendered.container()["volumeMounts"] if m["name"] == "manifests")
    assert mount["mountPath"] == "/manifests/current"
    config = yaml.safe_load(
        rendered.named("ConfigMap", f"{FULLNAME}-config")["data"]["config.yaml"]
    )
    assert config["accounts"][0]["manifests"] == "/manifests/current/alice"
    assert "PodDisruptionBudget" not in rendered.by_kind


def test_an_existing_configmap_is_mounted_whole(renders: dict[str, Rendered]) -> None:
    """manifests.configMap.existing mounts that ConfigMap; the chart creates no manifests map."""
    rendered = renders["existing-configmap"]
    assert rendered.volume("manifests")["configMap"] == {"name": "my-manifests"}
    assert [c["metadata"]["name"] for c in rendered.by_kind["ConfigMap"]] == [f"{FULLNAME}-config"]
    assert rendered.container()["image"] == "registry.example.com/rec@sha256:" + "a" * 64
    assert "ServiceAccount" not in rendered.by_kind
    assert rendered.pod["serviceAccountName"] == "shared"


def test_sharded_mode_is_a_statefulset_of_n_shards(sharded: Rendered) -> None:
    """Each StatefulSet pod gets --shard auto/N and POD_NAME, which resolve to its ordinal."""
    statefulset = sharded.one("StatefulSet")
    assert "Deployment" not in sharded.by_kind
    spec = statefulset["spec"]
    assert spec["replicas"] == 4
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}
    governing = sharded.named("Service", spec["serviceName"])
    assert governing["spec"]["clusterIP"] == "None"
    assert sharded.args()["--shard"] == "auto/4"
    env = {e["name"]: e for e in sharded.container()["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # The pods a StatefulSet creates are <name>-0 .. <name>-(N-1): one per shard, all shards.
    pods = [f"{statefulset['metadata']['name']}-{ordinal}" for ordinal in range(4)]
    shards = [parse_shard(sharded.args()["--shard"], pod_name=pod) for pod in pods]
    assert [(s.index, s.count) for s in shards] == [(0, 4), (1, 4), (2, 4), (3, 4)]


def test_workload_identity_goes_through_the_service_account(sharded: Rendered) -> None:
    """ServiceAccount annotations carry workload identity; no key Secret is mounted then."""
    account = sharded.one("ServiceAccount")
    assert account["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": "rec@proj.iam.gserviceaccount.com"
    }
    assert sharded.pod["serviceAccountName"] == account["metadata"]["name"]
    assert "--credentials" not in sharded.args()
    assert "workload identity" in sharded.notes


def test_metrics_service_and_service_monitor_select_the_pods(git: Rendered) -> None:
    """The metrics Service targets the pods' metrics port; the ServiceMonitor selects it."""
    service = git.named("Service", f"{FULLNAME}-metrics")
    selector = git.workload["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]
    monitor = git.one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    wanted = monitor["spec"]["selector"]["matchLabels"]
    assert wanted.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


def test_network_policy_allows_only_dns_and_https_out(git: Rendered) -> None:
    """Egress is DNS and HTTPS only; ingress is the metrics and health ports."""
    policy = git.one("NetworkPolicy")
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"] == git.workload["spec"]["selector"]["matchLabels"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    egress = [(p["port"], p["protocol"]) for rule in spec["egress"] for p in rule["ports"]]
    assert sorted(egress) == [(53, "TCP"), (53, "UDP"), (443, "TCP")]
    assert all("to" not in rule for rule in spec["egress"])
    ingress = [p["port"] for rule in spec["ingress"] for p in rule["ports"]]
    assert ingress == ["metrics", "health"]


def test_pod_disruption_budget_allows_one_at_a_time(defaults: Rendered) -> None:
    """The PDB lets drains take one replica at a time and never blocks a single replica."""
    budget = defaults.one("PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    selector = defaults.workload["spec"]["selector"]["matchLabels"]
    assert budget["spec"]["selector"]["matchLabels"] == selector


def test_no_optional_objects_by_default(defaults: Rendered) -> None:
    """Defaults render no ServiceMonitor (needs the CRD), no NetworkPolicy and no Secret."""
    kinds = sorted(defaults.by_kind)
    assert kinds == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]


BAD_VALUES = [
    pytest.param({"credentials": {"json": '{"private_key": "x"}'}}, "credentials", id="inline-key"),
    pytest.param({"manifests": {"source": "git"}}, "/manifests/git/repo", id="git-without-repo"),
    pytest.param({"manifests": {"source": "svn"}}, "/manifests/source", id="unknown-source"),
    pytest.param({"sharding": {"enabled": True, "shards": 0}}, "/sharding/shards", id="no-shards"),
    pytest.param({"sharding": {"enabled": True}}, "/accounts", id="shards-without-accounts"),
    pytest.param({"controller": {"driftPolicy": "fix"}}, "/controller/driftPolicy", id="drift"),
    pytest.param({"controller": {"pollInterval": "30"}}, "/controller/pollInterval", id="unit"),
    pytest.param({"controller": {"logFormat": "xml"}}, "/controller/logFormat", id="format"),
    pytest.param({"accounts": [{"subject": "alice@example.com"}]}, "manifests", id="no-path"),
    pytest.param(
        {"accounts": [{"subject": "a@b.c", "manifests": "x", "drift": "report"}]},
        "drift",
        id="account-typo",
    ),
    pytest.param({"securityContext": {"readOnlyRootFilesystem": False}}, "readOnly", id="rw-root"),
    pytest.param({"securityContext": {"privileged": True}}, "privileged", id="privileged"),
    pytest.param({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot", id="root"),
    pytest.param(
        {"manifests": {"configMap": {"files": {"../etc/passwd": "x"}}}}, "../etc", id="escape"
    ),
    pytest.param({"replicaCount": 3}, "replicaCount", id="replicas-typo"),
    pytest.param(
        {
            "accounts": [{"subject": "a@example.com", "manifests": "a"}],
            "credentials": {"existingSecret": "s", "tokenKey": "token"},
        },
        "tokenKey",
        id="one-token-for-every-account",
    ),
    pytest.param({"image": {"digest": "latest"}}, "/image/digest", id="digest"),
    pytest.param(
        {"directory": [{"admin": "a@example.com", "manifests": "m"}]},
        "/directory/0",
        id="directory-selects-nobody",
    ),
    pytest.param(
        {
            "directory": [
                {
                    "admin": "a@example.com",
                    "manifests": "m",
                    "group": "g",
                    "customer": "c",
                    "domain": "d",
                }
            ]
        },
        "/directory/0",
        id="directory-customer-and-domain",
    ),
    pytest.param(
        {
            "directory": [{"admin": "a@example.com", "manifests": "m", "orgUnitPath": "/"}],
            "credentials": {"existingSecret": "s", "tokenKey": "token"},
        },
        "tokenKey",
        id="one-token-for-every-directory-user",
    ),
]


@pytest.mark.parametrize(("values", "where"), BAD_VALUES)
def test_bad_values_are_rejected_by_the_schema(
    chart: helm.Chart, values: dict[str, Any], where: str
) -> None:
    """values.schema.json refuses values that are wrong, unsafe or misspelt, naming the key."""
    with pytest.raises(helm.HelmValuesError) as caught:
        chart.validate_schema(values)
    assert where in str(caught.value)
    with pytest.raises(helm.HelmValuesError):
        chart.render(values, name="contacts", namespace=NAMESPACE)


def test_notifications_come_from_an_existing_secret(
    chart: helm.Chart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apprise URLs and the GitHub token are optional keys of the named Secret, never values;
    the repository to mark is a flag the real command accepts."""
    rendered = render(
        chart,
        {
            "notifications": {
                "existingSecret": "contacts-notify",
                "githubStatus": "acme/address-book",
            }
        },
    )
    env = {e["name"]: e for e in rendered.container()["env"]}
    for name, key in (("RECONCILER_NOTIFY", "notify"), ("RECONCILER_GITHUB_TOKEN", "githubToken")):
        assert env[name]["valueFrom"] == {
            "secretKeyRef": {"name": "contacts-notify", "key": key, "optional": True}
        }
    assert rendered.args()["--github-status"] == "acme/address-book"
    for variable in [v for v in os.environ if v.startswith("RECONCILER_")]:
        monkeypatch.delenv(variable)
    with run.make_context("run", list(rendered.container()["args"])) as ctx:
        assert ctx.params["github_status"] == "acme/address-book"
    defaults = render(chart, {})
    assert not {"RECONCILER_NOTIFY", "RECONCILER_GITHUB_TOKEN"} & {
        e["name"] for e in defaults.container()["env"]
    }
