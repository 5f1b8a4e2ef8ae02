"""A GitHub commit status on the manifests revision: the repo's commit page shows how it went.

Argo CD and Flux both mark the commit they deployed; reviewers see at a glance whether a merge
reached the address books. One status per account (context ``contacts-reconciler/<account>``),
``pending`` when a new revision is loaded, ``success`` once every contact matches it (or a
problem is put right), ``failure`` when a transition says something is wrong (a pass failed,
manifests broken, deletes withheld, a contact stalled, drift). Events without a
revision (the manifests are not a git checkout) have no commit to mark and are skipped.

The API base is configurable so GitHub Enterprise works, and so tests use a local receiver.
The token comes from a file or the environment, never a flag, and is never logged.
"""

from __future__ import annotations

import re

import httpx

from reconciler.controller.events import Event

__all__ = ["GitHubStatus"]

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")


class GitHubStatus:
    """Posts ``POST {api}/repos/{repo}/statuses/{revision}`` for each event with a revision."""

    name = "github"

    def __init__(self, repo: str, token: str, *, api: str = "https://api.github.com") -> None:
        if not _REPO.match(repo):
            raise ValueError(f"--github-status must be OWNER/REPO: {repo!r}")
        if not token.strip():
            raise ValueError(
                "a GitHub commit status needs a token: set RECONCILER_GITHUB_TOKEN or "
                "--github-token-file"
            )
        self.repo, self.api = repo, api.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {token.strip()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def send(self, event: Event) -> bool:
        if not event.revision or not _SHA.match(event.revision):
            return True  # nothing to mark: not a commit
        body = {
            "state": event.outcome,
            "context": f"contacts-reconciler/{event.account}",
            "description": f"{event.kind}: {event.message}"[:140],
        }
        url = f"{self.api}/repos/{self.repo}/statuses/{event.revision}"
        response = httpx.post(url, json=body, headers=self._headers, timeout=10.0)
        return response.status_code < 300
