"""`reconciler run` where the kernel gives no inotify instance at all: the failure is loud (log,
metric, readiness, status) and manifest edits are still applied, by polling.

The controller runs in a user namespace of its own whose inotify instance limit is 0 (the limit
is per user namespace), so the machine's own table, shared with everything else running, is
left alone.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.controller import Emulator, launch_controller, watching
from tests.support.eventually import eventually
from tests.support.manifests import PublishedTree, contact_yaml

NO_INOTIFY = (
    "unshare", "--user", "--map-root-user", "sh", "-c",
    'echo 0 > /proc/sys/user/max_inotify_instances && exec "$@"', "sh",
)  # fmt: skip


def _namespaces_allowed() -> bool:
    try:
        probe = subprocess.run([*NO_INOTIFY, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.mark.skipif(
    not _namespaces_allowed(),
    reason="this kernel or sandbox forbids user namespaces, or setting their inotify limit",
)
def test_a_refused_watch_is_loud_and_edits_are_still_applied(
    tmp_path: Path, emulator: Emulator, published: PublishedTree
) -> None:
    """With no inotify instance to be had, the controller logs an error naming the sysctl to
    raise, exports reconciler_manifest_watch_up 0 and a failure, answers /readyz 503 with the
    reason, shows the watch as polling in /status, and applies a manifest edit all the same."""
    controller = launch_controller(tmp_path, emulator, published, wrapper=NO_INOTIFY)
    try:
        eventually(
            lambda: emulator.given_names() == {"jane": "Jane", "joe": "Joe"}, "the first pass"
        )
        failed = eventually(
            lambda: controller.logged(
                "cannot watch the manifests with inotify; polling them instead"
            ),
            "the error line",
        )
        assert failed[0]["level"] == "error"
        assert "fs.inotify.max_user_instances" in failed[0]["hint"]
        assert controller.metric("reconciler_manifest_watch_up") == 0
        assert controller.metric("reconciler_manifest_watch_failures_total") >= 1
        readyz = controller.http.get(controller.base + "/readyz")
        assert readyz.status_code == 503
        assert "manifests watch: inotify failed" in readyz.text
        assert "fs.inotify.max_user_instances" in readyz.text
        watch = controller.http.get(controller.base + "/status").json()["watch"]
        assert watch["mode"] == "polling"
        assert "max_user_instances" in watch["message"]
        watching(controller, published)
        published.publish({"people.yaml": contact_yaml("jane", "Janet")})
        eventually(lambda: emulator.given_names().get("jane") == "Janet", "the edit, by polling")
    finally:
        controller.stop()
