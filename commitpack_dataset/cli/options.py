"""The options ``mine``, ``scale`` and ``filter`` share, and how they map onto ``CommitPackConfig``."""

from __future__ import annotations

import argparse

from commitpack_dataset.filters.tokens import MAX_TOKENS, MIN_TOKENS, STARCODER_TOKENIZER
from commitpack_dataset.mining import DEFAULT_MAX_BLOB_BYTES
from commitpack_dataset.repositories import LICENSE_POLICIES


def add_tokenizer_arguments(parser: argparse.ArgumentParser) -> None:
    """The CommitPackFT token-length rule's options (``mine --ft``, ``scale --ft``, ``filter``)."""
    parser.add_argument("--tokenizer", default=STARCODER_TOKENIZER,
                        help="tokenizer of the token-length rule: a Hub id, a local tokenizer directory, or "
                             "'estimate' (byte-length estimate); one that cannot be loaded falls back to the "
                             "estimate with a warning")
    parser.add_argument("--min-tokens", type=int, default=MIN_TOKENS)
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    parser.add_argument("--not-faithful", action="store_true",
                        help="our corrections instead of the released scripts' behaviour")


def add_mining_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``mine`` and ``scale`` (``mining_options`` maps them onto ``CommitPackConfig``)."""
    parser.add_argument("--languages", nargs="+", help="display or config names (default: every language)")
    parser.add_argument("--ft", action="store_true", help="apply the CommitPackFT rules too")
    add_tokenizer_arguments(parser)
    parser.add_argument("--license-policy", choices=LICENSE_POLICIES, default=None,
                        help="repositories without a recognised license: drop-unknown (default, as the released "
                             "SQL) or keep-unknown (e.g. your own repositories without a LICENSE file; the default "
                             "with --not-faithful)")
    parser.add_argument("--clone-cache-dir", help="where URLs are mirror-cloned")
    parser.add_argument("--no-opt-out", action="store_true", help="keep rows of The Stack v1.2 opted-out owners")
    parser.add_argument("--skip-unreadable-repositories", action="store_true",
                        help="skip (and list) repositories git cannot read instead of stopping")
    extras = parser.add_argument_group("our additions to the released scripts (each also a drop reason)")
    extras.add_argument("--max-blob-bytes", type=int, default=DEFAULT_MAX_BLOB_BYTES,
                        help="skip commits whose old or new file is larger (blob_too_large); 0: no limit")
    extras.add_argument("--keep-binary", action="store_true", help="keep files with NUL bytes (else: binary)")
    extras.add_argument("--keep-merge-commits", action="store_true",
                        help="read merge commits against their first parent (else: merge_commit)")
    extras.add_argument("--keep-submodules-and-symlinks", action="store_true",
                        help="keep submodule and symlink entries (else: submodule, symlink)")


def mining_options(args: argparse.Namespace) -> dict:
    """``CommitPackConfig`` keyword arguments of the options of ``add_mining_arguments``."""
    options = {"faithful": not args.not_faithful, "clone_cache_dir": args.clone_cache_dir,
               "max_blob_bytes": args.max_blob_bytes, "skip_binary": not args.keep_binary,
               "drop_merge_commits": not args.keep_merge_commits,
               "skip_submodules_and_symlinks": not args.keep_submodules_and_symlinks,
               "skip_unreadable_repositories": args.skip_unreadable_repositories,
               "tokenizer": args.tokenizer, "min_tokens": args.min_tokens, "max_tokens": args.max_tokens}
    if args.license_policy:
        options["license_policy"] = args.license_policy
    if args.no_opt_out:
        options["opt_out_logins"] = ()
    return options
