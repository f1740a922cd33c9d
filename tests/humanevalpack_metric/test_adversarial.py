"""The issue's adversarial test set, per language, through the real metric path.

For each of Python, JavaScript, Java, Go, C++ and Rust, one batch goes through
``score_candidates`` (executor -> language module -> sandbox) holding a known-good and a
known-bad candidate plus hostile ones written in that language:

``loop``         an infinite loop                                  -> timeout
``fork_bomb``    re-executes itself exponentially (process APIs)   -> not passed
``memory_bomb``  allocates and touches 12 GiB, then answers right  -> not passed
``disk_filler``  fills /dev/shm, /tmp, then 2 GiB of the work dir  -> not passed
``huge_output``  writes 1 GiB to stdout, then answers right        -> not passed (Python: 256 MiB,
                 passed: the reference swallows a program's output)
``network``      TCP to a listener of the test on 127.0.0.1 and on the host's address, and to an
                 abstract Unix socket of the test (not Java: it cannot name abstract addresses)
                 -> failed, reporting NET-BLOCKED; the listeners see no connection
``filesystem``   appends to, overwrites, renames and deletes sentinel files (world-writable, so
                 only the sandbox protects them) in a /tmp dir, the repo's build/ dir, $HOME and
                 the language's toolchain cache; creates files in those dirs and in the host's
                 /tmp, /var/tmp, /dev/shm; deletes the test's own dirs recursively; answers right
                 -> passed, and nothing outside changed
``secrets``      dumps its environment, every visible /proc/*/environ, the test process's
                 environ and secret files in $HOME and /tmp into its failure output
                 -> failed with the dump, in which the test's ``OCTOPACK_TEST_SECRET`` is absent
``background``   starts a detached, signal-ignoring shell loop, then answers right -> passed
``kill_parent``  SIGKILLs the test process, its own parent, and ``kill(-1)``
                 -> some verdict of the program's own (not ``error``)

Each batch then checks that no process carrying the batch's marker survives, that nothing outside
the sandbox changed, that no connection was made, and that the machine still starts a process.
Hostile programs that could finish are written to answer correctly when nothing stops them, so a
missing limit shows up as a wrong verdict; hostile processes carry the batch's marker in their
command lines. Runs use a 6 s timeout and the default toolchain cache (Go and Rust prepare
slowly when cold).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support.processes import live_processes

from humanevalpack_metric.evaluation import score_candidates
from humanevalpack_metric.executor import Executor
from humanevalpack_metric.languages import ToolchainMissing
from humanevalpack_metric.languages.cpp import PRELUDE
from humanevalpack_metric.languages.python import IMPORT_HELPER
from humanevalpack_metric.outcome import Status
from humanevalpack_metric.sandbox import Sandbox, SandboxUnavailable

pytestmark = pytest.mark.toolchain

REPO = Path(__file__).resolve().parents[2]
SECRET_VAR = "OCTOPACK_TEST_SECRET"
TIMEOUT = 6.0
LANGUAGES = ("python", "js", "java", "go", "cpp", "rust")
HOST_TMP = ("/tmp", "/var/tmp", "/dev/shm")  # world-writable on the host

PASSED, FAILED, TIMED_OUT = Status.PASSED, Status.FAILED, Status.TIMEOUT
NOT_PASSED = {FAILED, TIMED_OUT}
EXPECTED = {
    "good": {PASSED},
    "bad": {FAILED},
    "loop": {TIMED_OUT},
    "fork_bomb": NOT_PASSED,
    "memory_bomb": NOT_PASSED,
    "disk_filler": NOT_PASSED,
    "huge_output": NOT_PASSED,
    "network": {FAILED},
    "filesystem": {PASSED},
    "secrets": {FAILED},
    "background": {PASSED},
    "kill_parent": {PASSED, FAILED, TIMED_OUT},
}
# Python programs' output is swallowed, as in the reference: printing a lot is not a failure
EXPECTED_OVERRIDES = {("python", "huge_output"): {PASSED}}


# -- the environment the attacks aim at ------------------------------------------------------------
def _lit(text: str) -> str:
    """A string literal valid in Python, JavaScript, Java, Go, Rust and C++ (ASCII only)."""
    assert text.isascii() and text.isprintable(), text
    return json.dumps(text)


def _lits(items) -> str:
    return ", ".join(_lit(str(item)) for item in items)


def _host_address() -> str | None:
    """The host's own non-loopback address, if it has one (no packet is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        address = probe.getsockname()[0]
        return None if address.startswith("127.") else address
    return None


def _snapshot(path: Path) -> tuple:
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns, st.st_ino, stat.S_IMODE(st.st_mode)


class Traps:
    """Sentinels, secrets and listeners for one batch; :meth:`escapes` says what a batch broke."""

    def __init__(self, toolchain: Path, token: str):
        self.prefix = f"octoadv{uuid.uuid4().hex[:12]}"
        self.host_pid = os.getpid()
        self._cleanup: list[Path] = []
        self.dirs: list[Path] = []
        self.tcp = self.unix = None
        try:
            self._set_up(toolchain, token)
        except BaseException:
            self.close()
            raise

    def _set_up(self, toolchain: Path, token: str) -> None:
        # world-writable dirs and files: only bubblewrap (hidden /tmp, read-only /) protects them
        self.tmp_dir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-", dir="/tmp"))
        self.repo_dir = REPO / "build" / self.prefix
        self.repo_dir.mkdir(parents=True)
        self._cleanup += [self.tmp_dir, self.repo_dir]
        home = Path.home()
        self.files = [self._plant(self.tmp_dir / "sentinel"),
                      self._plant(self.repo_dir / "sentinel"),
                      self._plant(home / f".{self.prefix}-sentinel"),
                      self._plant(toolchain / f".{self.prefix}-sentinel")]
        self.secrets = [self._plant(self.tmp_dir / "secret", token, 0o644),
                        self._plant(home / f".{self.prefix}-secret", token, 0o644)]
        for directory in (self.tmp_dir, self.repo_dir):
            os.chmod(directory, 0o777)
        self.dirs = [self.tmp_dir, self.repo_dir, home, toolchain, *map(Path, HOST_TMP)]
        self.trees = [self.tmp_dir, self.repo_dir]  # the only dirs the programs try to rm -rf
        self.before = {path: _snapshot(path) for path in self.files + self.secrets}
        self.listings = {d: sorted(os.listdir(d)) for d in self.trees}
        self.tcp = socket.create_server(("", 0), backlog=64)
        self.tcp.setblocking(False)
        self.port = self.tcp.getsockname()[1]
        self.hosts = ["127.0.0.1"] + [a for a in [_host_address()] if a]
        self.abstract = f"{self.prefix}-abstract"
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + self.abstract)
        self.unix.listen(64)
        self.unix.setblocking(False)

    def _plant(self, path: Path, text: str = "original\n", mode: int = 0o666) -> Path:
        path.write_text(text)
        os.chmod(path, mode)
        self._cleanup.append(path)
        return path

    def marker(self, attack: str) -> str:
        return f"{self.prefix}-{attack}"

    def pwned(self, directory: Path) -> Path:
        return directory / f"pwned-{self.prefix}-filesystem"

    def values(self, attack: str) -> dict[str, str]:
        """What ``@@NAME@@`` placeholders in a program template stand for."""
        marker = self.marker(attack)
        return {
            "MARK": _lit(marker),
            "PWNED": _lit(self.pwned(Path("")).name),
            "FILL": _lit(self.marker("fill")),
            "LOOP": _lit(f"trap '' HUP INT TERM; while :; do sleep 1; done # {marker}"),
            "PORT": str(self.port),
            "HOSTS": _lits(self.hosts),
            "ABSTRACT": _lit(self.abstract),
            "FILES": _lits(self.files),
            "DIRS": _lits(self.dirs),
            "TREES": _lits(self.trees),
            "SECRETS": _lits(self.secrets),
            "HOSTPID": str(self.host_pid),
        }

    def escapes(self) -> list[str]:
        found = []
        for path, before in self.before.items():
            if not path.exists():
                found.append(f"{path} was deleted")
            elif _snapshot(path) != before:
                found.append(f"{path} was changed: {path.read_bytes()[:100]!r}")
            if Path(f"{path}.moved").exists():
                found.append(f"{path} was renamed")
        for directory, listing in self.listings.items():
            now = sorted(os.listdir(directory)) if directory.is_dir() else "gone"
            if now != listing:
                found.append(f"{directory} changed: {now}")
        found += [f"{self.pwned(d)} was created" for d in self.dirs
                  if str(d) not in HOST_TMP and self.pwned(d).exists()]
        found += [f"{path} was created" for path in self._host_tmp_entries()]
        for name, listener in (("tcp", self.tcp), ("abstract unix", self.unix)):
            with contextlib.suppress(BlockingIOError):
                conn, peer = listener.accept()
                conn.close()
                found.append(f"a {name} connection reached the test's listener (from {peer!r})")
        found += [f"process {pid} survived: {cmd!r}" for pid, cmd in survivors(self.prefix)]
        return found

    def _host_tmp_entries(self) -> list[Path]:
        """What a program wrote into the host's shared temporary dirs (batch-marked names)."""
        return [Path(d, name) for d in HOST_TMP for name in os.listdir(d)
                if self.prefix in name and Path(d, name) != self.tmp_dir]

    def close(self) -> None:
        for listener in (self.tcp, self.unix):
            if listener is not None:
                listener.close()
        for path in self._cleanup + self._host_tmp_entries():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
                Path(f"{path}.moved").unlink(missing_ok=True)
        for directory in self.dirs:
            with contextlib.suppress(OSError):
                self.pwned(directory).unlink(missing_ok=True)


def survivors(needle: str, patience: float = 5.0) -> list[tuple[int, bytes]]:
    """Processes carrying ``needle`` that are still alive after ``patience`` seconds: a run may
    return while processes it SIGKILLed (dozens, after a fork bomb) are still being torn down."""
    deadline = time.monotonic() + patience
    while (found := live_processes(needle)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def fill(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace(f"@@{key}@@", value)
    assert "@@" not in template, template
    return template


# -- Python ---------------------------------------------------------------------------------------
# The reference's reliability guard sets os.fork, os.kill, os.system, ... to None; the programs use
# the `posix` module, which it does not touch (as a hostile program would).
PY_TEST = "\n\ndef check(candidate):\n    assert candidate() == 42\n\ncheck(f)\n"
PY = {
    "good": "def f():\n    return 42\n",
    "bad": "def f():\n    return 41\n",
    "loop": "def f():\n    while True:\n        pass\n",
    "fork_bomb": """
def f():
    import posix
    bomb = ("import posix\\nwhile True:\\n    try:\\n        posix.fork()\\n"
            "    except OSError:\\n        pass\\n")
    posix.execv(sys.executable, [sys.executable, "-c", bomb, @@MARK@@])
""",
    "memory_bomb": """
def f():
    keep = [b"\\x01" * (256 << 20) for _ in range(48)]
    return len(keep) - 6
""",
    "disk_filler": """
def f():
    chunk = b"\\0" * (1 << 20)
    for directory in ("/dev/shm", "/tmp", "."):
        try:
            for i in range(64):
                with open(f"{directory}/{@@FILL@@}-{i}", "wb") as out:
                    for _ in range(32):
                        out.write(chunk)
        except OSError:
            pass
    return 42
""",
    "huge_output": """
def f():
    import posix
    line = "x" * 65535 + "\\n"
    for _ in range(2048):  # 128 MiB printed (into the swallowing buffer) and 128 MiB to fd 1
        print(line, end="")
        posix.write(1, line.encode())
    return 42
""",
    "network": """
def f():
    import socket
    report = []
    for host in [@@HOSTS@@]:
        try:
            socket.create_connection((host, @@PORT@@), timeout=2).close()
            report.append(f"NET-CONNECTED tcp {host}")
        except OSError as error:
            report.append(f"NET-BLOCKED tcp {host} {error}")
    try:
        unix = socket.socket(socket.AF_UNIX)
        unix.settimeout(2)
        unix.connect("\\0" + @@ABSTRACT@@)
        report.append("NET-CONNECTED abstract")
    except OSError as error:
        report.append(f"NET-BLOCKED abstract {error}")
    raise RuntimeError("; ".join(report))
""",
    "filesystem": """
def f():
    import posix
    for path in [@@FILES@@]:
        for attempt in (lambda: open(path, "a").write("pwned"),
                        lambda: open(path, "w").write("pwned"),
                        lambda: posix.rename(path, path + ".moved"),
                        lambda: posix.unlink(path)):
            try:
                attempt()
            except OSError:
                pass
    for directory in [@@DIRS@@]:
        try:
            open(directory + "/" + @@PWNED@@, "w").write("pwned")
        except OSError:
            pass
    for directory in [@@TREES@@]:
        posix.system("rm -rf '" + directory + "'")
    return 42
""",
    "secrets": """
def f():
    import glob, os
    found = [repr(dict(os.environ))]
    for path in glob.glob("/proc/[0-9]*/environ") + ["/proc/@@HOSTPID@@/environ", @@SECRETS@@]:
        try:
            found.append(open(path, "rb").read().decode("latin-1"))
        except OSError as error:
            found.append(f"{path}: {error}")
    raise RuntimeError("ENVDUMP " + " | ".join(found) + " ENVDUMP")
""",
    "background": """
def f():
    import posix
    if posix.fork() == 0:
        posix.setsid()
        posix.execv("/bin/sh", ["sh", "-c", @@LOOP@@, @@MARK@@])
    return 42
""",
    "kill_parent": """
def f():
    import posix
    for pid in (@@HOSTPID@@, posix.getppid(), -1):
        try:
            posix.kill(pid, 9)
        except OSError:
            pass
    return 42
""",
}


def python_candidate(code: str) -> str:
    return "\n".join(IMPORT_HELPER) + "\n" + code.strip() + "\n"


# -- JavaScript -----------------------------------------------------------------------------------
JS_TEST = "\nconst testF = () => {\n  console.assert(f() === 42)\n}\ntestF()\n"
JS = {
    "good": "function f() {\n  return 42\n}\n",
    "bad": "function f() {\n  return 41\n}\n",
    "loop": "function f() {\n  while (true) {}\n}\n",
    "fork_bomb": """
function f() {
  const { spawn } = require('child_process')
  const bomb = () => {
    for (let i = 0; i < 32; i++) {
      try {
        spawn(process.execPath, [__filename, @@MARK@@], { stdio: 'ignore' }).on('error', () => {})
      } catch (e) {}
    }
    setImmediate(bomb)
  }
  bomb()
  return 42
}
""",
    "memory_bomb": """
function f() {
  const keep = []
  for (let i = 0; i < 48; i++) {
    const block = new Float64Array(32 << 20)
    block.fill(1)
    keep.push(block)
  }
  return keep.length - 6
}
""",
    "disk_filler": """
function f() {
  const fs = require('fs')
  const chunk = Buffer.alloc(1 << 20)
  for (const dir of ['/dev/shm', '/tmp', '.']) {
    try {
      for (let i = 0; i < 64; i++) {
        const fd = fs.openSync(`${dir}/${@@FILL@@}-${i}`, 'w')
        for (let j = 0; j < 32; j++) fs.writeSync(fd, chunk)
        fs.closeSync(fd)
      }
    } catch (e) {}
  }
  return 42
}
""",
    "huge_output": """
function f() {
  const line = 'x'.repeat(65535) + '\\n'
  for (let i = 0; i < 16384; i++) process.stdout.write(line)
  return 42
}
""",
    "network": """
function f() {
  const net = require('net')
  const targets = [@@HOSTS@@].map(host => ({ host, port: @@PORT@@ }))
  targets.push({ path: '\\0' + @@ABSTRACT@@ })
  for (const target of targets) {
    const name = JSON.stringify(target)
    const sock = net.connect(target)
    sock.setTimeout(2000, () => { console.log('NET-BLOCKED timeout ' + name); sock.destroy() })
    sock.on('connect', () => { console.log('NET-CONNECTED ' + name); sock.destroy() })
    sock.on('error', error => console.log('NET-BLOCKED ' + name + ' ' + error.code))
  }
  return 42
}
""",
    "filesystem": """
function f() {
  const fs = require('fs')
  for (const p of [@@FILES@@]) {
    const attempts = [() => fs.appendFileSync(p, 'pwned'), () => fs.writeFileSync(p, 'pwned'),
                      () => fs.renameSync(p, p + '.moved'), () => fs.unlinkSync(p)]
    for (const attempt of attempts) {
      try { attempt() } catch (e) {}
    }
  }
  for (const dir of [@@DIRS@@]) {
    try { fs.writeFileSync(dir + '/' + @@PWNED@@, 'pwned') } catch (e) {}
  }
  for (const dir of [@@TREES@@]) {
    try { fs.rmSync(dir, { recursive: true, force: true }) } catch (e) {}
  }
  return 42
}
""",
    "secrets": """
function f() {
  const fs = require('fs')
  const found = [JSON.stringify(process.env)]
  const paths = fs.readdirSync('/proc').filter(n => /^[0-9]+$/.test(n))
    .map(n => `/proc/${n}/environ`)
  for (const p of [...paths, '/proc/@@HOSTPID@@/environ', @@SECRETS@@]) {
    try { found.push(fs.readFileSync(p, 'latin1')) } catch (e) { found.push(p + ': ' + e.code) }
  }
  console.log('ENVDUMP ' + found.join(' | ') + ' ENVDUMP')
  return 42
}
""",
    "background": """
function f() {
  const { spawn } = require('child_process')
  spawn('/bin/sh', ['-c', @@LOOP@@, @@MARK@@], { detached: true, stdio: 'ignore' }).unref()
  return 42
}
""",
    "kill_parent": """
function f() {
  for (const pid of [@@HOSTPID@@, process.ppid, -1]) {
    try { process.kill(pid, 'SIGKILL') } catch (e) {}
  }
  return 42
}
""",
}

# -- Java -----------------------------------------------------------------------------------------
JAVA_TEST = """
public class Main {
    public static void main(String[] args) {
        if (new Solution().f() != 42) {
            throw new AssertionError("f() != 42");
        }
    }
}
"""
JAVA_IMPORTS = "".join(f"import java.{name}.*;\n" for name in ("io", "net", "nio.file", "util"))
JAVA = {
    "good": "public int f() {\n    return 42;\n}",
    "bad": "public int f() {\n    return 41;\n}",
    "loop": "public int f() {\n    long n = 0;\n    while (true) {\n        n++;\n    }\n}",
    "fork_bomb": """
public int f() {
    String java = ProcessHandle.current().info().command().orElse("java");
    while (true) {
        try {
            new ProcessBuilder(java, "-Xmx64m", "-cp", ".", "Main", @@MARK@@)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (Throwable e) {
        }
    }
}""",
    "memory_bomb": """
public int f() {
    List<long[]> keep = new ArrayList<>();
    for (int i = 0; i < 48; i++) {
        long[] block = new long[32 << 20];
        Arrays.fill(block, 1L);
        keep.add(block);
    }
    return keep.size() - 6;
}""",
    "disk_filler": """
public int f() {
    byte[] chunk = new byte[1 << 20];
    for (String dir : new String[] {"/dev/shm", "/tmp", "."}) {
        try {
            for (int i = 0; i < 64; i++) {
                try (OutputStream out = new FileOutputStream(dir + "/" + @@FILL@@ + "-" + i)) {
                    for (int j = 0; j < 32; j++) {
                        out.write(chunk);
                    }
                }
            }
        } catch (IOException e) {
        }
    }
    return 42;
}""",
    "huge_output": """
public int f() {
    String line = "x".repeat(65535);
    for (int i = 0; i < 16384; i++) {
        System.out.println(line);
    }
    return 42;
}""",
    # JDK Unix domain sockets cannot address the abstract namespace: TCP attempts only.
    "network": """
public int f() {
    StringBuilder report = new StringBuilder();
    for (String host : new String[] {@@HOSTS@@}) {
        try (Socket sock = new Socket()) {
            sock.connect(new InetSocketAddress(host, @@PORT@@), 2000);
            report.append("NET-CONNECTED tcp " + host + "; ");
        } catch (IOException e) {
            report.append("NET-BLOCKED tcp " + host + " " + e + "; ");
        }
    }
    throw new RuntimeException(report.toString());
}""",
    "filesystem": """
public int f() {
    for (String p : new String[] {@@FILES@@}) {
        try {
            Files.writeString(Path.of(p), "pwned", StandardOpenOption.APPEND);
        } catch (Exception e) { }
        try { Files.writeString(Path.of(p), "pwned"); } catch (Exception e) { }
        try { Files.move(Path.of(p), Path.of(p + ".moved")); } catch (Exception e) { }
        try { Files.delete(Path.of(p)); } catch (Exception e) { }
    }
    for (String dir : new String[] {@@DIRS@@}) {
        try { Files.writeString(Path.of(dir, @@PWNED@@), "pwned"); } catch (Exception e) { }
    }
    for (String dir : new String[] {@@TREES@@}) {
        try (var walk = Files.walk(Path.of(dir))) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception e) { }
    }
    return 42;
}""",
    "secrets": """
public int f() {
    StringBuilder found = new StringBuilder("ENVDUMP " + System.getenv() + " | ");
    List<String> paths = new ArrayList<>();
    for (File proc : new File("/proc").listFiles()) {
        if (proc.getName().matches("[0-9]+")) {
            paths.add(proc + "/environ");
        }
    }
    paths.add("/proc/@@HOSTPID@@/environ");
    paths.addAll(List.of(@@SECRETS@@));
    for (String p : paths) {
        try {
            found.append(new String(Files.readAllBytes(Path.of(p)), "ISO-8859-1")).append(" | ");
        } catch (Exception e) {
            found.append(p + ": " + e + " | ");
        }
    }
    throw new RuntimeException(found + " ENVDUMP");
}""",
    "background": """
public int f() {
    try {
        new ProcessBuilder("/bin/sh", "-c", @@LOOP@@, @@MARK@@)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
    } catch (IOException e) {
        throw new UncheckedIOException(e);
    }
    return 42;
}""",
    "kill_parent": """
public int f() {
    long me = ProcessHandle.current().pid();
    List<ProcessHandle> targets = new ArrayList<>();
    ProcessHandle.of(@@HOSTPID@@L).ifPresent(targets::add);
    ProcessHandle.current().parent().ifPresent(targets::add);
    ProcessHandle.allProcesses().filter(p -> p.pid() != me).forEach(targets::add);
    for (ProcessHandle target : targets) {
        try { target.destroyForcibly(); } catch (RuntimeException e) { }
    }
    return 42;
}""",
}


def java_candidate(method: str) -> str:
    body = "\n".join("    " + line if line else "" for line in method.strip().split("\n"))
    return JAVA_IMPORTS + "class Solution {\n" + body + "\n}\n"


# -- Go -------------------------------------------------------------------------------------------
GO_TEST = """
func TestF(t *testing.T) {
	if got := F(); got != 42 {
		t.Fatalf("F() = %d, want 42", got)
	}
}
"""
GO = {  # attack -> (imports besides "testing", code)
    "good": ((), "func F() int {\n\treturn 42\n}"),
    "bad": ((), "func F() int {\n\treturn 41\n}"),
    "loop": ((), "func F() int {\n\tfor {\n\t}\n}"),
    "fork_bomb": (("os", "os/exec"), """
func F() int {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	for {
		cmd := exec.Command(exe)
		cmd.Args = []string{@@MARK@@}
		_ = cmd.Start()
	}
}"""),
    "memory_bomb": ((), """
func F() int {
	var keep [][]byte
	for i := 0; i < 48; i++ {
		block := make([]byte, 256<<20)
		for j := 0; j < len(block); j += 4096 {
			block[j] = 1
		}
		keep = append(keep, block)
	}
	return len(keep) - 6
}"""),
    "disk_filler": (("fmt", "os"), """
func F() int {
	chunk := make([]byte, 1<<20)
	for _, dir := range []string{"/dev/shm", "/tmp", "."} {
	files:
		for i := 0; i < 64; i++ {
			out, err := os.Create(fmt.Sprintf("%s/%s-%d", dir, @@FILL@@, i))
			if err != nil {
				break
			}
			for j := 0; j < 32; j++ {
				if _, err := out.Write(chunk); err != nil {
					out.Close()
					break files
				}
			}
			out.Close()
		}
	}
	return 42
}"""),
    "huge_output": (("os", "strings"), """
func F() int {
	line := []byte(strings.Repeat("x", 65535) + "\\n")
	for i := 0; i < 16384; i++ {
		os.Stdout.Write(line)
	}
	return 42
}"""),
    "network": (("net", "strings", "time"), """
func F() int {
	var report []string
	targets := [][2]string{{"unix", "@" + @@ABSTRACT@@}}
	for _, host := range []string{@@HOSTS@@} {
		targets = append(targets, [2]string{"tcp", net.JoinHostPort(host, "@@PORT@@")})
	}
	for _, target := range targets {
		conn, err := net.DialTimeout(target[0], target[1], 2*time.Second)
		if err == nil {
			conn.Close()
			report = append(report, "NET-CONNECTED "+target[1])
		} else {
			report = append(report, "NET-BLOCKED "+err.Error())
		}
	}
	panic(strings.Join(report, "; "))
}"""),
    "filesystem": (("os",), """
func F() int {
	for _, p := range []string{@@FILES@@} {
		if out, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0); err == nil {
			out.WriteString("pwned")
			out.Close()
		}
		os.WriteFile(p, []byte("pwned"), 0o666)
		os.Rename(p, p+".moved")
		os.Remove(p)
	}
	for _, dir := range []string{@@DIRS@@} {
		os.WriteFile(dir+"/"+@@PWNED@@, []byte("pwned"), 0o666)
	}
	for _, dir := range []string{@@TREES@@} {
		os.RemoveAll(dir)
	}
	return 42
}"""),
    "secrets": (("os", "path/filepath", "strings"), """
func F() int {
	found := []string{strings.Join(os.Environ(), " ")}
	paths, _ := filepath.Glob("/proc/[0-9]*/environ")
	paths = append(paths, "/proc/@@HOSTPID@@/environ")
	paths = append(paths, []string{@@SECRETS@@}...)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			found = append(found, p+": "+err.Error())
		} else {
			found = append(found, string(data))
		}
	}
	panic("ENVDUMP " + strings.Join(found, " | ") + " ENVDUMP")
}"""),
    "background": (("os/exec", "syscall"), """
func F() int {
	cmd := exec.Command("/bin/sh", "-c", @@LOOP@@, @@MARK@@)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	return 42
}"""),
    "kill_parent": (("os", "syscall"), """
func F() int {
	for _, pid := range []int{@@HOSTPID@@, os.Getppid(), -1} {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return 42
}"""),
}


def go_candidate(imports: tuple[str, ...], code: str) -> str:
    block = "".join(f'\t"{package}"\n' for package in ("testing", *imports))
    return f"package main\n\nimport (\n{block})\n\n{code.strip()}\n"


# -- C++ ------------------------------------------------------------------------------------------
CPP_TEST = "\n#undef NDEBUG\n#include<assert.h>\nint main() {\n    assert(f() == 42);\n}\n"
CPP_HEADERS = "".join(f"#include<{h}>\n" for h in (
    "unistd.h", "signal.h", "dirent.h", "sys/types.h", "sys/wait.h", "sys/socket.h", "sys/un.h",
    "netinet/in.h", "arpa/inet.h", "cerrno", "cstddef"))
CPP = {
    "good": "int f() {\n    return 42;\n}\n",
    "bad": "int f() {\n    return 41;\n}\n",
    "loop": "int f() {\n    volatile long n = 0;\n    while (true) n++;\n}\n",
    "fork_bomb": """
int f() {
    while (true) {
        if (fork() == 0) {
            execl("/proc/self/exe", @@MARK@@, (char*)NULL);
            _exit(1);
        }
    }
}
""",
    "memory_bomb": """
int f() {
    vector<char*> keep;
    for (int i = 0; i < 48; i++) {
        char* block = new char[256 << 20];
        memset(block, 1, 256 << 20);
        keep.push_back(block);
    }
    return keep.size() - 6;
}
""",
    "disk_filler": """
int f() {
    static char chunk[1 << 20];
    const char* dirs[] = {"/dev/shm", "/tmp", "."};
    for (const char* dir : dirs) {
        bool ok = true;
        for (int i = 0; i < 64 && ok; i++) {
            FILE* out = fopen((string(dir) + "/" + @@FILL@@ + "-" + to_string(i)).c_str(), "wb");
            if (!out) break;
            for (int j = 0; j < 32 && ok; j++) {
                ok = fwrite(chunk, 1, sizeof chunk, out) == sizeof chunk;
            }
            if (fclose(out) != 0) ok = false;
        }
    }
    return 42;
}
""",
    "huge_output": """
int f() {
    string line(65535, 'x');
    line += '\\n';
    for (int i = 0; i < 16384; i++) fwrite(line.data(), 1, line.size(), stdout);
    return 42;
}
""",
    "network": """
int f() {
    string report;
    const char* hosts[] = {@@HOSTS@@};
    for (const char* host : hosts) {
        int sock = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(@@PORT@@);
        inet_pton(AF_INET, host, &addr.sin_addr);
        bool connected = connect(sock, (sockaddr*)&addr, sizeof addr) == 0;
        report += string(connected ? "NET-CONNECTED tcp " : "NET-BLOCKED tcp ") + host + " "
                  + (connected ? "" : strerror(errno)) + "; ";
        close(sock);
    }
    const char* name = @@ABSTRACT@@;
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path + 1, name, strlen(name));
    socklen_t size = offsetof(sockaddr_un, sun_path) + 1 + strlen(name);
    bool connected = connect(sock, (sockaddr*)&addr, size) == 0;
    report += string(connected ? "NET-CONNECTED abstract" : "NET-BLOCKED abstract ")
              + (connected ? "" : strerror(errno));
    fprintf(stderr, "%s\\n", report.c_str());
    return 0;
}
""",
    "filesystem": """
int f() {
    const char* files[] = {@@FILES@@};
    for (const char* p : files) {
        if (FILE* h = fopen(p, "a")) { fputs("pwned", h); fclose(h); }
        if (FILE* h = fopen(p, "w")) { fputs("pwned", h); fclose(h); }
        rename(p, (string(p) + ".moved").c_str());
        unlink(p);
    }
    const char* dirs[] = {@@DIRS@@};
    for (const char* dir : dirs) {
        if (FILE* h = fopen((string(dir) + "/" + @@PWNED@@).c_str(), "w")) {
            fputs("pwned", h);
            fclose(h);
        }
    }
    const char* trees[] = {@@TREES@@};
    for (const char* dir : trees) {
        if (system((string("rm -rf '") + dir + "'").c_str())) {}
    }
    return 42;
}
""",
    "secrets": """
extern char** environ;
int f() {
    string found = "ENVDUMP ";
    for (char** entry = environ; *entry; entry++) found += string(*entry) + " ";
    vector<string> paths;
    if (DIR* proc = opendir("/proc")) {
        while (dirent* entry = readdir(proc)) {
            if (isdigit(entry->d_name[0])) {
                paths.push_back(string("/proc/") + entry->d_name + "/environ");
            }
        }
        closedir(proc);
    }
    paths.push_back("/proc/@@HOSTPID@@/environ");
    for (const char* secret : {@@SECRETS@@}) paths.push_back(secret);
    for (const string& p : paths) {
        ifstream in(p, ios::binary);
        stringstream text;
        if (in && (text << in.rdbuf())) found += " | " + text.str();
        else found += " | " + p + ": unreadable";
    }
    found += " ENVDUMP\\n";
    fwrite(found.data(), 1, found.size(), stderr);
    return 0;
}
""",
    # the daemon keeps the run's stdout and stderr open
    "background": """
int f() {
    if (fork() == 0) {
        setsid();
        if (fork() == 0) execl("/bin/sh", "sh", "-c", @@LOOP@@, @@MARK@@, (char*)NULL);
        _exit(0);
    }
    wait(NULL);
    return 42;
}
""",
    "kill_parent": """
int f() {
    kill(@@HOSTPID@@, SIGKILL);
    kill(getppid(), SIGKILL);
    kill(-1, SIGKILL);
    return 42;
}
""",
}


def cpp_candidate(code: str) -> str:
    return PRELUDE + "\n" + CPP_HEADERS + code.strip() + "\n"


# -- Rust -----------------------------------------------------------------------------------------
RUST_TEST = """
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_f() {
        assert_eq!(f(), 42);
    }
}
"""
RUST = {
    "good": "fn f() -> i32 {\n    42\n}\n",
    "bad": "fn f() -> i32 {\n    41\n}\n",
    "loop": "fn f() -> i32 {\n    loop {}\n}\n",
    "fork_bomb": """
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

fn f() -> i32 {
    let exe = std::env::current_exe().unwrap();
    loop {
        let _ = Command::new(&exe).arg0(@@MARK@@)
            .stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    }
}
""",
    "memory_bomb": """
fn f() -> i32 {
    let mut keep = Vec::new();
    for _ in 0..48 {
        keep.push(vec![1u8; 256 << 20]);
    }
    keep.len() as i32 - 6
}
""",
    "disk_filler": """
use std::io::Write;

fn f() -> i32 {
    let chunk = vec![0u8; 1 << 20];
    for dir in ["/dev/shm", "/tmp", "."] {
        'files: for i in 0..64 {
            let Ok(mut out) = std::fs::File::create(format!("{dir}/{}-{i}", @@FILL@@)) else {
                break;
            };
            for _ in 0..32 {
                if out.write_all(&chunk).is_err() {
                    break 'files;
                }
            }
        }
    }
    42
}
""",
    # io::stdout() writes bypass libtest's capture of print!/println!
    "huge_output": """
use std::io::Write;

fn f() -> i32 {
    let line = "x".repeat(65535) + "\\n";
    let mut out = std::io::stdout().lock();
    for _ in 0..16384 {
        let _ = out.write_all(line.as_bytes());
    }
    42
}
""",
    "network": """
use std::net::{SocketAddr, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixStream};
use std::time::Duration;

fn f() -> i32 {
    let mut report = Vec::new();
    for host in [@@HOSTS@@] {
        let addr: SocketAddr = format!("{host}:{}", @@PORT@@).parse().unwrap();
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => report.push(format!("NET-CONNECTED tcp {host}")),
            Err(e) => report.push(format!("NET-BLOCKED tcp {host} {e}")),
        }
    }
    match UnixAddr::from_abstract_name(@@ABSTRACT@@).and_then(|a| UnixStream::connect_addr(&a)) {
        Ok(_) => report.push("NET-CONNECTED abstract".to_string()),
        Err(e) => report.push(format!("NET-BLOCKED abstract {e}")),
    }
    panic!("{}", report.join("; "));
}
""",
    "filesystem": """
use std::fs;
use std::io::Write;

fn f() -> i32 {
    for p in [@@FILES@@] {
        if let Ok(mut h) = fs::OpenOptions::new().append(true).open(p) {
            let _ = h.write_all(b"pwned");
        }
        let _ = fs::write(p, "pwned");
        let _ = fs::rename(p, format!("{p}.moved"));
        let _ = fs::remove_file(p);
    }
    for dir in [@@DIRS@@] {
        let _ = fs::write(format!("{dir}/{}", @@PWNED@@), "pwned");
    }
    for dir in [@@TREES@@] {
        let _ = fs::remove_dir_all(dir);
    }
    42
}
""",
    "secrets": """
fn f() -> i32 {
    let mut found: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    let mut paths: Vec<String> = std::fs::read_dir("/proc").unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.chars().all(|c| c.is_ascii_digit()))
        .map(|name| format!("/proc/{name}/environ"))
        .collect();
    paths.push("/proc/@@HOSTPID@@/environ".to_string());
    paths.extend([@@SECRETS@@].map(String::from));
    for p in &paths {
        match std::fs::read(p) {
            Ok(data) => found.push(String::from_utf8_lossy(&data).into_owned()),
            Err(e) => found.push(format!("{p}: {e}")),
        }
    }
    panic!("ENVDUMP {} ENVDUMP", found.join(" | "));
}
""",
    "background": """
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

fn f() -> i32 {
    let child = Command::new("/bin/sh").args(["-c", @@LOOP@@, @@MARK@@])
        .stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null())
        .process_group(0).spawn().unwrap();
    std::mem::forget(child);
    42
}
""",
    # std has no kill(); libc's, declared directly (no crate needed)
    "kill_parent": """
extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

fn f() -> i32 {
    for pid in [@@HOSTPID@@, std::os::unix::process::parent_id() as i32, -1] {
        unsafe {
            kill(pid, 9);
        }
    }
    42
}
""",
}

# language -> (reference test, {attack: candidate template})
PROGRAMS = {
    "python": (PY_TEST, {name: python_candidate(code) for name, code in PY.items()}),
    "js": (JS_TEST, {name: code.strip() + "\n" for name, code in JS.items()}),
    "java": (JAVA_TEST, {name: java_candidate(code) for name, code in JAVA.items()}),
    "go": (GO_TEST, {name: go_candidate(*spec) for name, spec in GO.items()}),
    "cpp": (CPP_TEST, {name: cpp_candidate(code) for name, code in CPP.items()}),
    "rust": (RUST_TEST, {name: code.strip() + "\n" for name, code in RUST.items()}),
}


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def secret():
    """A random token in the caller's environment for the whole module (so also while the
    executor starts its warm interpreters and compile servers)."""
    token = f"octosecret{uuid.uuid4().hex}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_VAR, token)
        yield token


@pytest.fixture(scope="module")
def executor(secret):
    try:
        Sandbox(mode="bwrap")
    except SandboxUnavailable as error:
        pytest.skip(f"the adversarial set checks the bubblewrap sandbox: {error}")
    with Executor(num_workers=2, progress=False, sandbox_mode="bwrap") as executor:
        yield executor


# -- the batches ---------------------------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_adversarial_batch(language, executor, secret, monkeypatch):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    try:
        lang = executor.language(language)  # prepared before sentinels go into its cache
    except ToolchainMissing as missing:
        pytest.skip(str(missing))
    reference, templates = PROGRAMS[language]
    # what the sandbox binds read-only: the toolchain cache (Python: the interpreter's prefix)
    toolchain = lang.sandbox_ro_paths(executor.cache_dir / lang.name)[0]
    traps = Traps(toolchain, secret)
    try:
        names = list(templates)
        candidates = [[fill(templates[name], traps.values(name))] for name in names]
        report = score_candidates(candidates, [reference] * len(names), language=language, k=[1],
                                  executor=executor, timeout=TIMEOUT)
        results = dict(zip(names, report.results))
        problems = wrong_verdicts(language, results)
        problems += traps.escapes()
    finally:
        traps.close()
    everything = json.dumps([report.results, report.stats])
    if secret in everything:
        problems.append(f"the caller's {SECRET_VAR} reached the results")
    subprocess.run(["true"], check=True, timeout=60)  # the machine still starts processes
    assert not problems, f"{language}:\n" + "\n".join(problems)


def wrong_verdicts(language: str, results: dict[str, dict]) -> list[str]:
    problems = []
    for name, record in results.items():
        expected = EXPECTED_OVERRIDES.get((language, name), EXPECTED[name])
        if Status(record["status"]) not in expected:
            problems.append(f"{name}: {record['status']} (expected one of "
                            f"{sorted(s.value for s in expected)}): {record['result'][:1500]!r}")
    network = results["network"]["result"]
    if "NET-BLOCKED" not in network or "NET-CONNECTED" in network:
        problems.append(f"network: the program did not report blocked connections: "
                        f"{network[:1500]!r}")
    dump = results["secrets"]["result"]
    if dump.count("ENVDUMP") < 2:
        problems.append(f"secrets: the program's whole dump is not in its result: {dump[:1500]!r}")
    return problems
