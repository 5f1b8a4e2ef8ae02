"""The chart gives every replica a writable state directory on a read-only root, and hands the
controller its deletion limits and its polls' share of the read budget."""

from __future__ import annotations

import os
from typing import Any

import helm_python as helm
import pytest

from reconciler.cli.run import run
from reconciler.controller.pollschedule import POLL_SHARE
from tests.support.chart import NAMESPACE, Rendered, render, validate_against_kubernetes

MOUNT = "/var/lib/reconciler"
SHARDED: dict[str, Any] = {
    "sharding": {"enabled": True, "shards": 3},
    "accounts": [{"subject": "alice@example.com", "manifests": "alice"}],
}


def env(rendered: Rendered) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in rendered.container()["env"]}


def state_mount(rendered: Rendered) -> dict[str, Any]:
    mounts = [m for m in rendered.container()["volumeMounts"] if m["name"] == "state"]
    assert len(mounts) == 1
    return mounts[0]


def test_by_default_the_state_is_an_empty_dir_the_controller_is_pointed_at(
    chart: helm.Chart,
) -> None:
    """An emptyDir (it survives container restarts) is mounted writable, and the controller's
    state directory is it, not a folder under the read-only working directory."""
    rendered = render(chart)
    assert rendered.volume("state") == {"name": "state", "emptyDir": {"sizeLimit": "64Mi"}}
    mount = state_mount(rendered)
    assert mount["mountPath"] == MOUNT
    assert not mount.get("readOnly")
    assert rendered.args()["--state-dir"] == MOUNT
    assert env(rendered)["RECONCILER_STATE_DIR"] == MOUNT  # for commands run with kubectl exec
    assert "PersistentVolumeClaim" not in rendered.by_kind


def test_a_claim_can_hold_the_state_of_the_single_replica(chart: helm.Chart) -> None:
    """With persistence the Deployment mounts one claim, which the chart creates and keeps on
    uninstall (or an existing one it does not create)."""
    rendered = render(chart, {"state": {"persistence": {"enabled": True, "size": "2Gi"}}})
    validate_against_kubernetes(rendered)
    claim = rendered.one("PersistentVolumeClaim")
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    volume = rendered.volume("state")
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    existing = render(chart, {"state": {"persistence": {"enabled": True, "existingClaim": "mine"}}})
    assert existing.volume("state")["persistentVolumeClaim"]["claimName"] == "mine"
    assert "PersistentVolumeClaim" not in existing.by_kind


def test_every_shard_has_its_own_state(chart: helm.Chart) -> None:
    """Sharded, each replica gets its own emptyDir, or its own claim from volumeClaimTemplates."""
    ephemeral = render(chart, SHARDED)
    assert "emptyDir" in ephemeral.volume("state")
    persistent = render(chart, {**SHARDED, "state": {"persistence": {"enabled": True}}})
    validate_against_kubernetes(persistent)
    assert all(v["name"] != "state" for v in persistent.pod["volumes"])
    (template,) = persistent.workload["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "state"
    assert template["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert state_mount(persistent)["mountPath"] == MOUNT
    assert "PersistentVolumeClaim" not in persistent.by_kind


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"state": {"mountPath": "relative"}}, "/state/mountPath"),
        ({"state": {"persistence": {"size": "lots"}}}, "/state/persistence/size"),
        (
            {**SHARDED, "state": {"persistence": {"enabled": True, "existingClaim": "one"}}},
            "existingClaim",
        ),
    ],
    ids=["relative-path", "size", "one-claim-for-all-shards"],
)
def test_bad_state_values_are_refused(
    chart: helm.Chart, values: dict[str, Any], where: str
) -> None:
    """A relative mount path, a size without a unit, or one claim for every shard is refused."""
    with pytest.raises(helm.HelmValuesError) as caught:
        chart.render(values, name="contacts", namespace=NAMESPACE)
    assert where in str(caught.value)


def test_the_deletion_limits_and_the_api_grace_reach_the_controller(chart: helm.Chart) -> None:
    """The values behind a withheld deletion's override are flags of reconciler run."""
    values = {"controller": {"maxDeletes": 500, "maxDeleteShare": 0.5, "allowMassDelete": True}}
    args = render(chart, {**values}).args()
    assert args["--max-deletes"] == "500"
    assert args["--max-delete-share"] == "0.5"
    assert args["--allow-mass-delete"] == ""
    assert "--allow-mass-delete" not in render(chart).args()


def test_the_poll_share_reaches_the_controller(
    chart: helm.Chart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """controller.pollShare is run's --poll-share: the chart's default is the controller's, a
    value set reaches run as it parses it, and a share outside (0, 1] is refused."""
    for variable in [v for v in os.environ if v.startswith("RECONCILER_")]:
        monkeypatch.delenv(variable)
    assert render(chart).args()["--poll-share"] == str(POLL_SHARE)
    args = render(chart, {"controller": {"pollShare": 0.7}}).container()["args"]
    assert "--poll-share=0.7" in args
    with run.make_context("run", list(args)) as ctx:
        assert ctx.params["poll_share"] == 0.7
    for share in (0, 1.5):
        with pytest.raises(helm.HelmValuesError) as caught:
            chart.render({"controller": {"pollShare": share}}, name="c", namespace=NAMESPACE)
        assert "/controller/pollShare" in str(caught.value)
