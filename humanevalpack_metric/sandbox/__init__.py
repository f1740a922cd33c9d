"""Run one untrusted command in isolation, and make sure nothing it started survives.

Isolation layers (``Sandbox.mode`` and ``Sandbox.uid_slots`` say which are in effect):

* **bubblewrap** (``mode="bwrap"``): its own mount, PID, network, IPC, UTS and cgroup namespaces;
  a read-only view of ``/``; fresh size-limited tmpfs over ``/tmp``, ``/var/tmp``, ``/dev/shm``
  and over ``/root``, ``/home``, ``/run`` (so ``$HOME`` and the host's ``/tmp`` are invisible);
  the work directory is the only writable host path; the environment is cleared. When the PID
  namespace's init dies, the kernel kills everything in it, so no process outlives a run; bwrap
  reports the init's pid (``--info-fd``), and the run returns once that init has exited, which
  the kernel allows only after every other process of the namespace is gone.
* **Slot uids** (when we run as root, the default there): every run executes as an unprivileged
  uid ``uid_base + slot`` (60000 + N) with no capabilities and ``no_new_privs``. This makes
  ``RLIMIT_NPROC`` a per-run process limit (it is per uid and ignored for root), hides files that
  are not world-readable, and lets the sandbox kill every process of that uid afterwards
  (``kill(-1, SIGKILL)`` from a helper running as the uid) -- which also catches double-forked
  daemons in the fallback mode. As root, bwrap runs privileged (so it can bind toolchains from
  under the 0700 ``/root``; an unprivileged bwrap under the slot uid cannot) and drops to the
  slot uid inside the sandbox with ``setpriv``. Slots are exclusive across threads *and*
  processes (``flock`` on ``/tmp/octopack-sandbox/slot-<uid>.lock``), and across different
  ``/tmp``'s (a chroot, a private ``/tmp``) through a bound abstract unix socket per uid.
* **rlimits** in every mode: CPU seconds, address space or data segment, file size, open files,
  process count (without root: the caller's current task count plus the limit, approximate);
  no core dumps. The work dir's total size is polled (``Limits.disk``). The run starts by
  exec'ing through util-linux's ``prlimit`` (and, in the fallback, ``setpriv``), so subprocess
  can use ``vfork``: a ``preexec_fn`` forces a full ``fork``, which costs tens of milliseconds
  in a big evaluator process.
* **cgroups** (enhancement, only where the v1 ``pids``/``memory`` hierarchies are writable; not
  cgroup v2): a group per run below our own with ``pids.max`` and ``memory.limit_in_bytes``,
  bounding the *total* memory of a run (rlimits are per process). An OOM kill ends the whole run
  with ``limit="memory"``. A ``cpuacct`` group, where writable, measures ``RunResult.cpu_time``.
  The spawning thread joins the groups (v1 moves single threads) while it starts the run, so
  the run starts inside them.
* **Demotion** (every mode): a run still going after half its timeout (``demote_fraction``)
  drops to nice 19, its session's autogroup too, so a program looping until its wall-clock
  timeout takes only the CPU nobody else wants; its deadline does not change.
* **Fallback** (``mode="rlimit"``, loud warning): no namespaces (host network and files visible
  subject to permissions); rlimits, a new session, the slot uid when root, and otherwise a
  best-effort scan of ``/proc`` for an environment marker to kill escaped processes (a program
  can erase it). Without root *and* without bwrap a program runs as the caller and can read the
  caller's files and signal its processes: use that only for trusted code. Nothing binds
  ``ro_binds`` into view there, so slot uids must pass every parent: one they cannot (root's
  0700 home holding the toolchain caches) is refused with the fix (``OCTOPACK_CACHE_DIR``)
  instead of failing every program that needs it.

Using it::

    sandbox = Sandbox(ro_binds=[cache_dir])             # once per language; thread-safe
    with sandbox.workdir() as wd:                       # fresh, private, removed afterwards
        (wd / "main.py").write_text(program)
        res = sandbox.run(["python3", "main.py"], wd, timeout=10, slot=worker_index)
        if res.timed_out: ...                           # wall clock or CPU limit
        res.returncode, res.stdout, res.stderr, res.truncated, res.limit

``slot``: give each executor worker thread its own index (``0 <= slot < slots``, default 64), or
leave it ``None`` to take any free slot for the duration of the call (best when several
processes evaluate at once: an explicit slot held elsewhere is waited for). A run holds its slot
until it returns, so a long-lived server run (a warm interpreter) must not share an explicit
slot with runs that have to happen meanwhile: they would wait for it. Consecutive runs on
one work dir (compile, then run) may use different slots: the tree is re-owned to the slot uid
before each run (symlinks and files of other owners are never followed or re-owned). Work dirs
must be reachable by the slot uid: use :meth:`Sandbox.workdir` (or parents that are ``o+x``;
under ``/tmp`` and the other hidden dirs bwrap recreates parents as 0755).

Memory limits -- pick per runtime (``Limits`` fields; measured with JDK 17, Node 20, CPython):

* ``address_space`` (RLIMIT_AS, default 4 GiB): right for C/C++/Rust binaries and CPython (a
  memory bomb gets ``MemoryError``/``bad_alloc``). Wrong for the JVM: it reserves 1 GiB of class
  space plus the heap, so at 2 GiB it cannot start ("Could not allocate compressed class space");
  Go reserves similarly. Node 20 starts under 1 GiB.
* ``data`` (RLIMIT_DATA): counts only private writable mappings, so ``PROT_NONE`` reservations
  are free. Use ``Limits.managed(data=...)`` (``address_space=None``) for the JVM, Go and Node,
  and cap the runtime below it for a clean error: ``java -Xmx256m`` under ``data=1 GiB`` gives
  ``OutOfMemoryError``; without ``-Xmx`` the JVM sizes its heap from the host RAM and aborts
  ("insufficient memory") once it grows past the limit. ``node --max-old-space-size``,
  ``GOMEMLIMIT`` likewise.
* ``memory`` (cgroup, whole run, default 4 GiB): applied in addition where cgroups are writable.

CPU: ``cpu_seconds`` defaults to ``timeout x cores + 1`` (multi-threaded compilers and runtimes
burn CPU faster than wall time); the wall-clock timeout normally ends a run. SIGXCPU (or the
SIGKILL at the hard limit) is reported as ``timed_out`` with ``limit="cpu"``.

Callers' duties: pass ``ro_binds`` for anything under the hidden directories (``/root``,
``/home``, ``/run``, ``/tmp``) a toolchain needs (``~/.rustup``, ``~/.cargo``, caches); with slot
uids those files must be world-readable (directories ``o+rx``; a warning names unreadable bind
roots; :func:`make_world_readable` fixes a cache built by root, e.g. ``~/.m2`` is 0750). Pass
``env`` explicitly: the program sees only it plus defaults for ``PATH``, ``HOME``/``TMPDIR`` (the
work dir) and ``LANG=C.UTF-8`` -- e.g. ``RUSTUP_HOME``/``CARGO_HOME`` for rustup proxies, and
point writable caches (``GOCACHE``, ``npm_config_cache``) into the work dir, since binds are
read-only.

Modules: ``runner`` (:class:`Sandbox`: choosing the isolation, running a command), ``bwrap``
(its command lines), ``launch`` (rlimits, and starting a run without forking the caller),
``slots`` (slot uids, their locks, the uid sweep), ``cgroups``, ``watch`` (the I/O loop of a
run), ``killer`` (ending a run and proving it is gone), ``workdirs``, ``procfs``, ``limits``
(:class:`Limits`, :class:`RunResult`) and ``errors``.

Not covered: no seccomp filter (the kernel's full syscall surface is reachable, including
unprivileged user namespaces inside a privileged-bwrap sandbox); cgroup v2 is not used; the
disk limit is polled (a fast writer can exceed it by what it writes in ``Watch.POLL``
seconds); without ``prlimit`` a ``preexec_fn`` runs Python code between fork and exec, which
CPython documents as unsafe with threads (it only calls ``setrlimit``/``prctl``/``set*id``).
"""

from .errors import SandboxError, SandboxUnavailable
from .limits import GiB, MiB, Limits, RunResult
from .procfs import uid_processes
from .runner import Sandbox, fallback_unreachable
from .workdirs import make_world_readable

__all__ = ["GiB", "MiB", "Limits", "RunResult", "Sandbox", "SandboxError", "SandboxUnavailable",
           "fallback_unreachable", "make_world_readable", "uid_processes"]
