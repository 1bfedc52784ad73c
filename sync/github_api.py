"""The GitHub REST adapter: the few endpoints the pull-request flow uses, as pydantic objects.

One ``httpx.Client`` with timeouts; 5xx answers and network errors are retried with
exponential backoff, 429 and secondary rate limits wait as long as GitHub asks
(``Retry-After`` or ``X-RateLimit-Reset``) within a bound. Without a token only reads
are possible (the flow's dry run never writes).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

API_VERSION = "2022-11-28"
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
_M = TypeVar("_M", bound=BaseModel)


class GitHubError(Exception):
    """GitHub answered something we cannot use (status, body), or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GitHubUnavailableError(GitHubError):
    """Network errors, 5xx or rate limits that outlasted the retries: worth a later retry."""


class GitHubConflictError(GitHubError):
    """A ref update was refused (409/422): the branch moved under us or already exists."""


class GitHubNotFoundError(GitHubError):
    """404: the branch, file or repository does not exist (or the token cannot see it)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GitObject(_Model):
    sha: str


class GitRef(_Model):
    ref: str
    object: GitObject


class GitCommit(_Model):
    sha: str
    tree: GitObject
    parents: list[GitObject] = Field(default_factory=list)


class Blob(_Model):
    sha: str
    encoding: str = "base64"
    content: str = ""
    size: int = 0

    def raw(self) -> bytes:
        # GitHub wraps base64 at 60 columns; the decoder skips the line breaks.
        return base64.b64decode(self.content) if self.content else b""


class FileContent(Blob):
    path: str


class PullHead(_Model):
    ref: str


class PullRequest(_Model):
    number: int
    state: str
    title: str
    body: str | None = None
    html_url: str = ""
    head: PullHead


class GitHubClient:
    """Talks to one GitHub API base URL; use as a context manager."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float,
        attempts: int = 3,
        backoff_seconds: float = 1.0,
        max_wait_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, follow_redirects=True
        )
        self._attempts = max(1, attempts)
        self._backoff = backoff_seconds
        self._max_wait = max_wait_seconds
        self._sleep = sleep

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    # ------------------------------------------------------------------ transport

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds GitHub asks us to wait, for 429 and secondary rate limits (403); else None."""
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return self._backoff
        if response.headers.get("x-ratelimit-remaining") == "0":
            try:
                return max(0.0, float(response.headers.get("x-ratelimit-reset", "")) - time.time())
            except ValueError:
                return self._backoff
        return self._backoff if response.status_code == 429 else None

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        last = ""
        for attempt in range(self._attempts):
            wait = self._backoff * (2**attempt)
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:  # timeouts, refused or dropped connections
                last = f"{method} {path}: {type(error).__name__}: {error}"
            else:
                limited = self._rate_limit_wait(response)
                if limited is not None:
                    last = f"{method} {path}: rate limited ({response.status_code}), retry in {limited:.0f} s"
                    if limited > self._max_wait:
                        raise GitHubUnavailableError(last, status=response.status_code)
                    wait = limited
                elif response.status_code in _RETRYABLE_STATUS:
                    last = f"{method} {path}: HTTP {response.status_code}"
                else:
                    return self._checked(method, path, response)
            if attempt + 1 < self._attempts:
                self._sleep(wait)
        raise GitHubUnavailableError(f"gave up after {self._attempts} attempts: {last}")

    @staticmethod
    def _checked(method: str, path: str, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        message = f"{method} {path}: HTTP {status}: {response.text[:300]}"
        if status == 404:
            raise GitHubNotFoundError(message, status=status)
        if status in (409, 422):
            raise GitHubConflictError(message, status=status)
        raise GitHubError(message, status=status)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as error:
            raise GitHubError(f"{method} {path}: not JSON: {response.text[:120]!r}") from error

    def _parse(self, model: type[_M], method: str, path: str, **kwargs: Any) -> _M:
        data = self._json(method, path, **kwargs)
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise GitHubError(f"{method} {path}: unexpected answer: {error}") from error

    # ------------------------------------------------------------------ endpoints

    @staticmethod
    def _repo(repo: str) -> str:
        return f"/repos/{repo}"

    def ref_get(self, repo: str, branch: str) -> GitRef | None:
        """The head of ``branch``; None when it does not exist."""
        try:
            return self._parse(GitRef, "GET", f"{self._repo(repo)}/git/ref/heads/{quote(branch)}")
        except GitHubNotFoundError:
            return None

    def ref_create(self, repo: str, branch: str, sha: str) -> GitRef:
        body = {"ref": f"refs/heads/{branch}", "sha": sha}
        return self._parse(GitRef, "POST", f"{self._repo(repo)}/git/refs", json=body)

    def ref_update(self, repo: str, branch: str, sha: str, *, force: bool) -> GitRef:
        body = {"sha": sha, "force": force}
        return self._parse(GitRef, "PATCH", f"{self._repo(repo)}/git/refs/heads/{quote(branch)}", json=body)

    def file_get(self, repo: str, path: str, *, ref: str) -> bytes | None:
        """A file's bytes at ``ref``; None when it does not exist there."""
        try:
            found = self._json("GET", f"{self._repo(repo)}/contents/{quote(path)}", params={"ref": ref})
        except GitHubNotFoundError:
            return None
        try:
            content = FileContent.model_validate(found)
        except ValidationError as error:
            raise GitHubError(f"contents of {path}: unexpected answer: {error}") from error
        if content.encoding == "base64" and (content.content or content.size == 0):
            return content.raw()
        # Files over 1 MB come without content ("encoding": "none"): read the blob.
        blob = self._parse(Blob, "GET", f"{self._repo(repo)}/git/blobs/{content.sha}")
        return blob.raw()

    def commit_get(self, repo: str, sha: str) -> GitCommit:
        return self._parse(GitCommit, "GET", f"{self._repo(repo)}/git/commits/{sha}")

    def blob_create(self, repo: str, content: bytes) -> str:
        body = {"content": base64.b64encode(content).decode("ascii"), "encoding": "base64"}
        return self._parse(GitObject, "POST", f"{self._repo(repo)}/git/blobs", json=body).sha

    def tree_create(self, repo: str, *, base_tree: str, blobs: dict[str, str]) -> str:
        entries = [
            {"path": path, "mode": "100644", "type": "blob", "sha": sha}
            for path, sha in sorted(blobs.items())
        ]
        body = {"base_tree": base_tree, "tree": entries}
        return self._parse(GitObject, "POST", f"{self._repo(repo)}/git/trees", json=body).sha

    def commit_create(self, repo: str, *, message: str, tree: str, parent: str) -> GitCommit:
        body = {"message": message, "tree": tree, "parents": [parent]}
        return self._parse(GitCommit, "POST", f"{self._repo(repo)}/git/commits", json=body)

    def pulls_open(self, repo: str, *, head: str) -> list[PullRequest]:
        """Open pull requests from ``head`` (``owner:branch``)."""
        data = self._json("GET", f"{self._repo(repo)}/pulls", params={"head": head, "state": "open"})
        if not isinstance(data, list):
            raise GitHubError(f"pulls of {repo}: expected a list, got {type(data).__name__}")
        try:
            return [PullRequest.model_validate(item) for item in data]
        except ValidationError as error:
            raise GitHubError(f"pulls of {repo}: unexpected answer: {error}") from error

    def pull_create(self, repo: str, *, title: str, head: str, base: str, body: str) -> PullRequest:
        payload = {"title": title, "head": head, "base": base, "body": body}
        return self._parse(PullRequest, "POST", f"{self._repo(repo)}/pulls", json=payload)

    def pull_update(self, repo: str, number: int, **fields: str) -> PullRequest:
        return self._parse(PullRequest, "PATCH", f"{self._repo(repo)}/pulls/{number}", json=fields)

    def issue_comment(self, repo: str, number: int, body: str) -> None:
        self._json("POST", f"{self._repo(repo)}/issues/{number}/comments", json={"body": body})


def github_client(*, token: str | None = None) -> GitHubClient:
    """A client configured from the settings (``GITHUB_*``)."""
    return GitHubClient(
        base_url=settings.GITHUB_API_URL,
        token=settings.GITHUB_TOKEN if token is None else token,
        timeout=settings.GITHUB_TIMEOUT_SECONDS,
        attempts=settings.GITHUB_RETRY_ATTEMPTS,
        backoff_seconds=settings.GITHUB_RETRY_BACKOFF_SECONDS,
        max_wait_seconds=settings.GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS,
    )
