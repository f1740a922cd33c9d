"""JavaScript: ``node test.js`` with the reference metric's pass-on-silence rule.

**Assembly**: the harness passes the generation unchanged, whatever the task; the reference runs
``candidate + "\\n" + "\\n" + test`` (the test defines a function of ``console.assert`` calls
and invokes it).

**Verdict** (``code_eval_octopack``): any stderr -> ``failed: <stderr>``; else any stdout ->
``failed: <stdout>``; else ``passed``. The exit code is ignored: on Node >= 10 a failing
``console.assert`` only prints "Assertion failed" to stderr, and a program that prints anything
fails. A run the sandbox had to stop for a resource limit (memory, output, disk) fails even if
it was silent. Timeout -> ``timed out``.

JavaScript/162 needs ``js-md5`` 0.7.3 through ``NODE_PATH``; :meth:`JavaScript.prepare`
installs it into the cache directory with npm once.

Speed: one node process per program (start-up about 0.1 s) -- node cannot fork a warm
interpreter, and running programs inside one long-lived node would change their globals,
``process`` and output behaviour.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from octopack_common import CommandFailed, ensure_built, run_checked

from ..outcome import Outcome, Status
from ..sandbox import Limits, Sandbox, make_world_readable
from .base import Language, Tool, ToolchainMissing, sandbox_hidden

MD5_PACKAGE = "js-md5"
MD5_VERSION = "0.7.3"
NPM_TIMEOUT = 300.0


class JavaScript(Language):
    name = "js"
    display_name = "JavaScript"
    task_prefix = "JavaScript"
    aliases = ("javascript",)
    default_timeout = 10.0
    stop_words = ()
    tools = (Tool("node", "Install Node.js (e.g. `apt-get install nodejs`; the paper used "
                          "Node 16, this metric is tested with Node 20)."),
             Tool("npm", f"npm installs {MD5_PACKAGE}@{MD5_VERSION} (JavaScript/162) from the npm "
                         "registry at `humanevalpack-toolchains prepare`: `apt-get install npm`"))

    def prepare(self, cache_dir: Path) -> None:
        """Make ``js-md5@0.7.3`` available under ``cache_dir/js-md5/node_modules`` (npm, once)."""
        self.cache_dir = cache_dir
        self.node = self.tools[0].path()
        directory = cache_dir / "js-md5"
        stamp = ensure_built(directory, {"package": f"{MD5_PACKAGE}@{MD5_VERSION}"},
                             _install_js_md5)
        self.node_modules = directory / stamp["node_modules"]

    def sandbox_ro_paths(self, cache_dir: Path) -> list[Path]:
        node = shutil.which("node")
        prefix = [Path(node).resolve().parent.parent] if node else []
        return sandbox_hidden([cache_dir, *prefix])

    def assemble(self, generation: str, problem: dict, task: str) -> str:
        return generation

    def execute(self, program: str, workdir: Path, sandbox: Sandbox, timeout: float) -> Outcome:
        (workdir / "test.js").write_text(program, encoding="utf-8")
        result = sandbox.run([self.node, "test.js"], workdir, timeout=timeout,
                             limits=Limits.managed(), env={"NODE_PATH": str(self.node_modules)})
        if result.timed_out:
            return Outcome(Status.TIMEOUT, duration=result.duration)
        if f"Cannot find module '{MD5_PACKAGE}'" in result.stderr:  # prepare() installed it
            return Outcome(Status.ERROR, f"{MD5_PACKAGE} is not readable inside the sandbox "
                           f"(NODE_PATH={self.node_modules}): expose sandbox_ro_paths() to it",
                           result.duration)
        if result.stderr:
            return Outcome(Status.FAILED, result.stderr, result.duration)
        if result.stdout:
            return Outcome(Status.FAILED, result.stdout, result.duration)
        if result.limit:
            return Outcome(Status.FAILED, f"stopped by the sandbox's {result.limit} limit",
                           result.duration)
        return Outcome(Status.PASSED, duration=result.duration)


def _installed_version(node_modules: Path) -> str | None:
    try:
        manifest = json.loads((node_modules / MD5_PACKAGE / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest.get("version")


def _install_js_md5(directory: Path) -> dict:
    """``npm install`` js-md5 with ``directory`` as the prefix."""
    manual = (f"Install it yourself with `npm install --prefix {directory} "
              f"{MD5_PACKAGE}@{MD5_VERSION}` (JavaScript/162 needs it).")
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainMissing(f"`npm` not found, so {MD5_PACKAGE}@{MD5_VERSION} cannot be "
                               f"installed. {manual}")
    try:
        proc = run_checked(
            [npm, "install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
             "--prefix", str(directory), f"{MD5_PACKAGE}@{MD5_VERSION}"],
            f"npm install {MD5_PACKAGE}@{MD5_VERSION}", timeout=NPM_TIMEOUT, cwd=directory)
    except subprocess.TimeoutExpired:
        raise ToolchainMissing(f"`npm install {MD5_PACKAGE}@{MD5_VERSION}` timed out "
                               f"(no registry access?). {manual}") from None
    except CommandFailed as failed:
        raise ToolchainMissing(f"`npm install {MD5_PACKAGE}@{MD5_VERSION}` failed: "
                               f"{failed.stderr.strip()[-1500:]}\n{manual}") from None
    if _installed_version(directory / "node_modules") != MD5_VERSION:
        raise ToolchainMissing(f"`npm install {MD5_PACKAGE}@{MD5_VERSION}` failed: "
                               f"{proc.stderr.strip()[-1500:]}\n{manual}")
    make_world_readable(directory)  # the sandbox's slot uids read it
    return {"node_modules": "node_modules"}
