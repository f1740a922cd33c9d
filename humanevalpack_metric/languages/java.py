"""Java: the harness' ``Main`` handling, a warm compile server, and one fresh JVM per program.

Assembly (bigcode-evaluation-harness ``humanevalpack``): remove the literal
``public class Main {\\n    }`` from the generation and strip it. The reference metric then
writes ``candidate + "\\n" + reference`` (``reference = "\\n" + test``, the ``public class Main``
test driver) to ``Main.java``, compiles it with ``javac Main.java`` (5 s timeout, retried up to
5 times) and runs ``java -cp . Main``: exit 0 passed; exit 1 with ``AssertionError`` on stderr
"wrong answer"; exit 1 otherwise the stderr; any other exit code "unknown error".

Speed: the reference pays two JVM start-ups per program, and javac's is the expensive one
(about 1.1 s cold). Here each worker thread keeps a long-lived compile server
(``assets/java/CompileServer.java``, built by :meth:`Java.prepare`) that compiles with the
in-process ``javax.tools`` compiler, warm after a few programs (about 0.05 s per compile). It
runs inside the sandbox like everything else, receives the source over a Unix socket in its own
work directory, and sends the class files back; the program then runs in a fresh sandboxed
JVM tuned for start-up (``-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto``, explicit
``-Xmx``). javac options are the reference's plus ``-proc:none`` (no processors exist on that
class path) and ``-encoding UTF-8`` (the default since JDK 18, the paper's JDK). Without the
server (``compile_server=False``, or when it cannot start) each program gets a plain sandboxed
``javac`` with the same options.

Deviations: a compile that exceeds ``compile_timeout`` (25 s, the reference's 5 x 5 s) is a
``TIMEOUT`` here, a compilation error there; both fail. The JIT tier cap only changes speed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from pathlib import Path

from octopack_common import run_checked

from ..outcome import Status
from ..sandbox import GiB, Limits, RunResult, Sandbox, make_world_readable
from .base import Tool, sandbox_hidden
from .compiled import CompiledLanguage, tool_version, tree_digest

log = logging.getLogger(__name__)

TASKS = ("fixtests", "fixdocs", "explainsynthesize", "synthesize")
SERVER_SOURCE = Path(__file__).resolve().parent.parent / "assets" / "java"
JAVAC_OPTIONS = ("-proc:none", "-encoding", "UTF-8")
_JDK_HINT = "install a JDK: `apt-get install openjdk-17-jdk-headless`"


class CompileServerError(RuntimeError):
    """The compile server died or could not start (not the program's fault)."""


class _CompileServer:
    """One ``CompileServer`` JVM in the sandbox, serving one worker thread over a Unix socket."""

    LIFETIME = 7 * 24 * 3600.0  # the sandbox run of a server lasts as long as its worker

    def __init__(self, sandbox: Sandbox, java: str, classes: Path, heap: str):
        self._stack = contextlib.ExitStack()
        self.spool = self._stack.enter_context(sandbox.workdir())
        argv = [java, "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto", f"-Xmx{heap}",
                "-cp", str(classes), "CompileServer", str(self.spool)]
        self.result = None
        self._thread = threading.Thread(
            target=self._serve, args=(sandbox, argv), name="java-compile-server", daemon=True)
        self._thread.start()
        self._sock = self._connect(self.spool / "server.sock", deadline=time.monotonic() + 60)
        self._stream = self._sock.makefile("rb")

    def _serve(self, sandbox: Sandbox, argv: list[str]) -> None:
        self.result = sandbox.run(argv, self.spool, timeout=self.LIFETIME,
                                  limits=Limits.managed(data=4 * GiB, disk=256 * 1024 * 1024))

    def _connect(self, path: Path, deadline: float) -> socket.socket:
        while time.monotonic() < deadline and self._thread.is_alive():
            if path.exists():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(path))
                    return sock
                except OSError:
                    sock.close()
            time.sleep(0.01)
        self._thread.join(timeout=1)
        detail = f": {self.result.stderr[-2000:]}" if self.result else ""
        self._stack.close()
        raise CompileServerError(f"the Java compile server did not start{detail}")

    def compile(self, source: str, timeout: float) -> tuple[int, str, dict[str, bytes]]:
        """``(code, diagnostics, {relative path: class bytes})``; see CompileServer.java."""
        data = source.encode("utf-8")
        try:
            self._sock.sendall(f"COMPILE {len(data)} {timeout:g}\n".encode() + data)
            code, size = map(int, self._stream.readline().split())
            diagnostics = self._read(size).decode("utf-8", "replace")
            classes: dict[str, bytes] = {}
            if code == 0:
                for _ in range(int(self._stream.readline())):
                    header = self._stream.readline().decode("utf-8").rstrip("\n")
                    length, name = header.split(" ", 1)
                    classes[name] = self._read(int(length))
        except (OSError, ValueError) as exc:
            raise CompileServerError(f"the Java compile server stopped answering: {exc}") from exc
        return code, diagnostics, classes

    def _read(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise OSError("short read")
        return data

    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(b"QUIT\n")
        with contextlib.suppress(OSError):
            self._stream.close()
            self._sock.close()
        self._thread.join(timeout=10)
        self._stack.close()


class Java(CompiledLanguage):
    """HumanEvalPack Java. ``compile_server=False`` compiles each program with its own javac."""

    name = "java"
    display_name = "Java"
    task_prefix = "Java"
    default_timeout = 10.0  # harness LANGUAGE_TO_TIMEOUT["java"], the run of `java Main`
    compile_timeout = 25.0  # the reference's javac: 5 s, retried up to 5 times on timeout
    heap = "1g"  # -Xmx of each program (the reference's default is a quarter of the host RAM)
    tools = (Tool("javac", _JDK_HINT), Tool("java", _JDK_HINT))

    def __init__(self, corrected: bool = False, compile_server: bool = True):
        super().__init__(corrected=corrected)
        self.compile_server = compile_server
        self._local = threading.local()
        self._servers: list[_CompileServer] = []
        self._servers_lock = threading.Lock()

    # -- toolchain ------------------------------------------------------------------------
    def _java_home(self) -> Path:
        return Path(self.tools[1].path()).resolve().parent.parent

    def prepare(self, cache_dir: Path) -> None:
        self.check_toolchain()
        javac = self.tools[0].path()
        key = {
            "recipe": 1,
            "javac": tool_version([javac, "-version"]),
            "java": tool_version([self.tools[1].path(), "-version"]),
            "server": tree_digest(SERVER_SOURCE),
        }

        def build(directory: Path) -> dict:
            classes = directory / "classes"
            run_checked([javac, "-d", str(classes), str(SERVER_SOURCE / "CompileServer.java")],
                        "compiling the Java compile server", timeout=300)
            make_world_readable(directory)  # runs use unprivileged slot uids
            return {"classes": str(classes)}

        self.build_toolchain(cache_dir, key, build)

    def sandbox_ro_paths(self, cache_dir: Path) -> list[Path]:
        return sandbox_hidden([cache_dir, self._java_home()])

    # -- programs -------------------------------------------------------------------------
    def assemble(self, generation: str, problem: dict, task: str) -> str:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
        return generation.replace("public class Main {\n    }", "").strip()

    def compile(self, program: str, workdir: Path, sandbox: Sandbox) -> tuple[Status, str] | None:
        """With this thread's compile server, else with a sandboxed javac."""
        (workdir / "Main.java").write_text(program, encoding="utf-8")
        if self.compile_server and not getattr(self._local, "unavailable", False):
            try:
                code, diagnostics, classes = self._server(sandbox).compile(
                    program, self.compile_timeout)
            except CompileServerError as exc:
                log.warning("java: %s; compiling with javac instead", exc)
                self._drop_server()
            else:
                if code == 0:
                    for name, data in classes.items():
                        target = workdir / name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                    return None
                if code == 1:
                    return Status.COMPILE_ERROR, diagnostics
                self._drop_server()  # it exits after a timeout or a crash
                if code == 3:
                    return Status.TIMEOUT, "compilation timed out"
                log.warning("java: compile server crashed: %s", diagnostics[-500:])
        compiled = sandbox.run(
            [self.tools[0].path(), "-J-Xshare:auto", "-J-XX:TieredStopAtLevel=1",
             "-J-XX:+UseSerialGC", "-J-Xmx512m", *JAVAC_OPTIONS, "Main.java"],
            workdir, timeout=self.compile_timeout, limits=Limits.managed(data=3 * GiB),
        )
        return self.compile_failure(compiled)

    def run(self, workdir: Path, sandbox: Sandbox, timeout: float) -> RunResult:
        return sandbox.run(
            [self.tools[1].path(), "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
             "-XX:-UsePerfData", f"-Xmx{self.heap}", "-cp", ".", "Main"],
            workdir, timeout=timeout, limits=Limits.managed(data=3 * GiB),
        )

    def failure_detail(self, ran: RunResult) -> str:
        """The reference's: exit 1 is an assertion ("wrong answer") or an exception (its
        stderr); any other exit code is "unknown error"."""
        if ran.returncode == 1:
            return "wrong answer" if "AssertionError" in ran.stderr else ran.stderr
        return "unknown error"

    def _server(self, sandbox: Sandbox) -> _CompileServer:
        server = getattr(self._local, "server", None)
        if server is not None and (not server.alive() or self._local.sandbox is not sandbox):
            self._drop_server()
            server = None
        if server is None:
            try:
                server = _CompileServer(sandbox, self.tools[1].path(),
                                        Path(self.stamp["classes"]), heap="768m")
            except CompileServerError:
                self._local.unavailable = True  # this thread compiles with javac from now on
                raise
            self._local.server, self._local.sandbox = server, sandbox
            with self._servers_lock:
                self._servers.append(server)
        return server

    def _drop_server(self) -> None:
        server = getattr(self._local, "server", None)
        self._local.server = None
        if server is not None:
            with self._servers_lock:
                if server in self._servers:
                    self._servers.remove(server)
            server.close()

    def close(self) -> None:
        with self._servers_lock:
            servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        self._local = threading.local()
