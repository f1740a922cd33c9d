"""CommitPack construction rules on the commit message and path (reference A.2 steps 3-5, 9-11, 13, 15)."""

from __future__ import annotations

import functools
import json
import posixpath
from importlib import resources
from typing import Iterable, List, Tuple

from commitpack_dataset.filters.base import Filter, Mapper, Record
from commitpack_dataset.languages import language_extensions, language_of

MESSAGE_BLOCKLIST = frozenset(
    {
        "update readme.md", "initial commit", "update", "mirroring from micro.blog.",
        "update data.json", "update data.js", "add files via upload", "update readme",
        "can't you see i'm updating the time?", "pi push", "dummy", "update index.html",
        "first commit", "create readme.md", "heartbeat update", "updated readme", "update log",
        "test", "no message", "readme", "wip", "updates", "commit", "update _config.yaml",
    }
)
EXTRA_MESSAGE_BLOCKLIST = frozenset({"initial commit", "please\n", "please", "lalala"})
MIN_MESSAGE_CHARACTERS, MAX_MESSAGE_CHARACTERS = 5, 10_000  # exclusive bounds


@functools.lru_cache(maxsize=1)
def opt_out_logins() -> Tuple[str, ...]:
    """The 44 GitHub logins that opted out of The Stack v1.2 (A.2-13), shipped as package data."""
    text = resources.files("commitpack_dataset").joinpath("data/opt_out_logins.json").read_text("utf-8")
    return tuple(json.loads(text)["logins"])


@functools.lru_cache(maxsize=1)
def map_suffixes() -> Tuple[str, ...]:
    """Every suffix and bare file name of the language map, for ``str.endswith`` (A.2-9)."""
    return tuple(suffix for suffixes in language_extensions().values() for suffix in suffixes)


class MessageLength(Filter):
    """A.2-3: keep if 5 < len(message) < 10,000 characters."""

    reason = "message_length"

    def keep(self, record: Record) -> bool:
        return MIN_MESSAGE_CHARACTERS < len(str(record["message"])) < MAX_MESSAGE_CHARACTERS


class MessageBlocklist(Filter):
    """A.2-4: drop if the lowercased message equals one of 24 boilerplate messages."""

    reason = "message_blocklist"

    def keep(self, record: Record) -> bool:
        return str(record["message"]).lower() not in MESSAGE_BLOCKLIST


class MergePrefix(Filter):
    """A.2-5: drop if the lowercased message starts with ``merge``."""

    reason = "message_merge_prefix"

    def keep(self, record: Record) -> bool:
        return not str(record["message"]).lower().startswith("merge")


class ExtensionInMap(Filter):
    """A.2-9: keep if ``new_file`` ends with a suffix of the language map.

    ``faithful=True`` is the released ``new_file.endswith(suffixes)``, so ``src/GNUMakefile`` or
    ``app.Dockerfile`` pass (their ``lang`` is then ``unknown``); ``faithful=False`` keeps only paths
    that resolve to a language with the A.3 rules.
    """

    reason = "extension_not_in_map"

    def __init__(self, faithful: bool = True):
        self.faithful = faithful

    def keep(self, record: Record) -> bool:
        path = str(record["new_file"])
        if self.faithful:
            return path.endswith(map_suffixes())
        return language_of(path) is not None


class WebEditorDefaultMessage(Filter):
    """A.2-10: drop GitHub web-editor default messages ``"Update " + old_file``.

    The released check compares the full path only (``faithful=True``); otherwise the basename
    form ``"Update utils.py"`` is dropped too.
    """

    reason = "web_editor_default_message"

    def __init__(self, faithful: bool = True):
        self.faithful = faithful

    def keep(self, record: Record) -> bool:
        message, old_file = str(record["message"]), str(record["old_file"])
        if message == "Update " + old_file:
            return False
        return self.faithful or message != "Update " + posixpath.basename(old_file)


class ExtraMessageBlocklist(Filter):
    """A.2-11: drop the case-sensitive exact messages ``initial commit``, ``please(\\n)``, ``lalala``."""

    reason = "message_extra_blocklist"

    def keep(self, record: Record) -> bool:
        return str(record["message"]) not in EXTRA_MESSAGE_BLOCKLIST


class OptOutOwners(Filter):
    """A.2-13: drop a row only if ``repos`` has exactly one entry whose owner (before ``/``) opted out.

    The login list defaults to The Stack v1.2 opt-outs (``opt_out_logins()``). ``faithful=True``
    matches exactly and case-sensitively, as the released script; ``faithful=False`` ignores case,
    as GitHub logins do.
    """

    reason = "repository_owner_opted_out"

    def __init__(self, logins: Iterable[str] = None, faithful: bool = True):
        logins = opt_out_logins() if logins is None else logins
        self.faithful = faithful
        self.logins = frozenset(logins) if faithful else frozenset(login.lower() for login in logins)

    def keep(self, record: Record) -> bool:
        repos = str(record["repos"]).split(",")
        if len(repos) != 1:
            return True
        owner = repos[0].split("/")[0]
        return (owner if self.faithful else owner.lower()) not in self.logins


class AssignLanguage(Mapper):
    """A.2-15: set ``lang`` from ``new_file``; ``unknown`` when unmatched."""

    name = "assign_language"

    def __call__(self, record: Record) -> Record:
        updated = dict(record)
        updated["lang"] = language_of(str(record["new_file"])) or "unknown"
        return updated


def commitpack_steps(faithful: bool = True) -> List[object]:
    """The CommitPack construction steps in pipeline order."""
    return [
        MessageLength(),
        MessageBlocklist(),
        MergePrefix(),
        ExtensionInMap(faithful=faithful),
        WebEditorDefaultMessage(faithful=faithful),
        ExtraMessageBlocklist(),
        AssignLanguage(),
    ]
