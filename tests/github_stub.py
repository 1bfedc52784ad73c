"""A small local stand-in for GitHub's REST API: the endpoints the pull-request flow uses.

In-memory repositories hold commits (sha -> files + parent), branches and pull
requests, in GitHub's documented JSON shapes. ``faults`` queues answers to give instead
of the real one for matching requests (``(method, path prefix)`` -> list of
``(status, headers, body bytes)`` or ``"hang"``), so tests can inject 500s, 429s,
malformed JSON and timeouts; ``before`` hooks run before a request is handled (to move
a branch under the client). Every request is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

Fault = tuple[int, dict[str, str], bytes] | str


def _sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


@dataclass
class Repo:
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # tree sha -> path -> blob sha
    commits: dict[str, tuple[str, list[str], str]] = field(
        default_factory=dict
    )  # sha -> (tree, parents, msg)
    branches: dict[str, str] = field(default_factory=dict)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)

    def tree_put(self, files: dict[str, str]) -> str:
        sha = _sha(json.dumps(sorted(files.items())).encode())
        self.trees[sha] = dict(files)
        return sha

    def blob_put(self, content: bytes) -> str:
        sha = _sha(b"blob " + content)
        self.blobs[sha] = content
        return sha

    def commit(self, branch: str, files: dict[str, bytes], message: str = "commit") -> str:
        """Commit ``files`` (path -> bytes, merged over the branch's) onto ``branch``."""
        parent = self.branches.get(branch)
        base = dict(self.trees[self.commits[parent][0]]) if parent else {}
        base.update({path: self.blob_put(content) for path, content in files.items()})
        tree = self.tree_put(base)
        sha = _sha(f"{tree}{parent}{message}{time.time_ns()}".encode())
        self.commits[sha] = (tree, [parent] if parent else [], message)
        self.branches[branch] = sha
        return sha

    def files(self, ref: str) -> dict[str, bytes]:
        sha = self.branches.get(ref, ref)
        tree = self.trees[self.commits[sha][0]]
        return {path: self.blobs[blob] for path, blob in tree.items()}


class GitHubStub:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.faults: dict[tuple[str, str], list[Fault]] = {}
        self.before: list[Callable[[str, str], None]] = []
        self.lock = threading.RLock()
        self.numbers = itertools.count(1)
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.requests if m != "GET"]

    def fault(self, method: str, path_prefix: str, *answers: Fault) -> None:
        self.faults.setdefault((method, path_prefix), []).extend(answers)

    def _fault_for(self, method: str, path: str) -> Fault | None:
        for (m, prefix), queue in self.faults.items():
            if m == method and path.startswith(prefix) and queue:
                return queue.pop(0)
        return None

    # ------------------------------------------------------------------ API

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) < 4 or parts[0] != "repos":
            return 404, {"message": "Not Found"}
        repo = self.repos.get(f"{parts[1]}/{parts[2]}")
        if repo is None:
            return 404, {"message": "Not Found"}
        rest = parts[3:]
        if rest[:3] == ["git", "ref", "heads"] and method == "GET":
            branch = "/".join(rest[3:])
            if branch not in repo.branches:
                return 404, {"message": "Not Found"}
            return 200, self._ref(branch, repo.branches[branch])
        if rest == ["git", "refs"] and method == "POST":
            branch = body["ref"].removeprefix("refs/heads/")
            if branch in repo.branches:
                return 422, {"message": "Reference already exists"}
            repo.branches[branch] = body["sha"]
            return 201, self._ref(branch, body["sha"])
        if rest[:3] == ["git", "refs", "heads"] and method == "PATCH":
            branch = "/".join(rest[3:])
            if branch not in repo.branches:
                return 422, {"message": "Reference does not exist"}
            if not body.get("force") and repo.commits[body["sha"]][1] != [repo.branches[branch]]:
                return 422, {"message": "Update is not a fast forward"}
            repo.branches[branch] = body["sha"]
            return 200, self._ref(branch, body["sha"])
        if rest[:2] == ["git", "commits"] and method == "GET":
            sha = rest[2]
            if sha not in repo.commits:
                return 404, {"message": "Not Found"}
            tree, parents, message = repo.commits[sha]
            return 200, {
                "sha": sha,
                "message": message,
                "tree": {"sha": tree},
                "parents": [{"sha": p} for p in parents],
            }
        if rest == ["git", "blobs"] and method == "POST":
            sha = repo.blob_put(base64.b64decode(body["content"]))
            return 201, {"sha": sha, "url": f"/blobs/{sha}"}
        if rest[:2] == ["git", "blobs"] and method == "GET":
            content = repo.blobs[rest[2]]
            encoded = base64.encodebytes(content).decode()
            return 200, {"sha": rest[2], "content": encoded, "encoding": "base64", "size": len(content)}
        if rest == ["git", "trees"] and method == "POST":
            files = dict(repo.trees[body["base_tree"]])
            files.update({entry["path"]: entry["sha"] for entry in body["tree"]})
            return 201, {"sha": repo.tree_put(files), "truncated": False}
        if rest == ["git", "commits"] and method == "POST":
            sha = _sha(f"{body['tree']}{body['parents']}{body['message']}{time.time_ns()}".encode())
            repo.commits[sha] = (body["tree"], list(body["parents"]), body["message"])
            return 201, {
                "sha": sha,
                "tree": {"sha": body["tree"]},
                "parents": [{"sha": p} for p in body["parents"]],
            }
        if rest[0] == "contents" and method == "GET":
            file_path = "/".join(rest[1:])
            at_ref = repo.files(query.get("ref", "main"))
            if file_path not in at_ref:
                return 404, {"message": "Not Found"}
            content = at_ref[file_path]
            sha = repo.blob_put(content)
            large = len(content) > 1024 * 1024
            return 200, {
                "type": "file",
                "path": file_path,
                "sha": sha,
                "size": len(content),
                "encoding": "none" if large else "base64",
                "content": "" if large else base64.encodebytes(content).decode(),
            }
        if rest == ["pulls"] and method == "GET":
            branch = query.get("head", ":").split(":", 1)[1]
            state = query.get("state", "open")
            return 200, [p for p in repo.pulls if p["head"]["ref"] == branch and p["state"] == state]
        if rest == ["pulls"] and method == "POST":
            if body["head"] not in repo.branches:
                return 422, {"message": "Validation Failed"}
            if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in repo.pulls):
                return 422, {"message": "A pull request already exists"}
            number = next(self.numbers)
            pull = {
                "number": number,
                "state": "open",
                "title": body["title"],
                "body": body["body"],
                "html_url": f"https://github.invalid/{parts[1]}/{parts[2]}/pull/{number}",
                "head": {"ref": body["head"], "sha": repo.branches[body["head"]]},
                "base": {"ref": body["base"]},
            }
            repo.pulls.append(pull)
            return 201, pull
        if rest[0] == "pulls" and method == "PATCH":
            pull = next(p for p in repo.pulls if p["number"] == int(rest[1]))
            pull.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
            return 200, pull
        if rest[0] == "issues" and rest[2:] == ["comments"] and method == "POST":
            repo.comments.append((int(rest[1]), body["body"]))
            return 201, {"id": len(repo.comments), "body": body["body"]}
        return 404, {"message": "Not Found"}

    @staticmethod
    def _ref(branch: str, sha: str) -> dict[str, Any]:
        return {"ref": f"refs/heads/{branch}", "object": {"sha": sha, "type": "commit"}}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                split = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(split.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with stub.lock:
                    stub.requests.append(
                        (method, split.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                    for hook in stub.before:
                        hook(method, split.path)
                    fault = stub._fault_for(method, split.path)
                    if fault is None:
                        status, answer = stub.handle(
                            method, split.path, query, json.loads(raw) if raw else None
                        )
                        data, headers = json.dumps(answer).encode(), {"Content-Type": "application/json"}
                if fault == "hang":
                    time.sleep(5)
                    return
                if fault is not None:
                    assert not isinstance(fault, str)
                    status, headers, data = fault
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

        return Handler

    @contextmanager
    def running(self) -> Iterator[GitHubStub]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        server.daemon_threads = True
        self.server = server
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
