"""The released scripts' rules, pinned: every threshold at both sides of its boundary, every list
entry, and each case variant (lowercased tests see upper case, case-sensitive ones must not).

Loosening any rule by one (a boundary moved, a list entry dropped, a ``.lower()`` removed) makes a
test here fail; the few rules that the pipeline order makes unreachable are tested alone."""

import pytest

from commitpack_dataset.filters import commitpack_pipeline, commitpackft_pipeline
from commitpack_dataset.filters import commitpack as construction_rules
from commitpack_dataset.filters import paths, subjects
from commitpack_dataset.filters.subjects import imperative_verbs

SUBJECT = "Fix the handling of nested lists"
# The lists as the reference (A.2, B.1, B.2) gives them, independent of the code under test.
MESSAGE_BLOCKLIST = (
    "update readme.md", "initial commit", "update", "mirroring from micro.blog.", "update data.json", "update data.js",
    "add files via upload", "update readme", "can't you see i'm updating the time?", "pi push", "dummy",
    "update index.html", "first commit", "create readme.md", "heartbeat update", "updated readme", "update log",
    "test", "no message", "readme", "wip", "updates", "commit", "update _config.yaml")
EXTRA_MESSAGE_BLOCKLIST = ("initial commit", "please\n", "please", "lalala")
EXACT_SUBJECTS = ("readme", "update", "dummy", "updated", "test", "update readme", "update readme.md",
                  "updated readme.md", "updated readme")
SUBJECT_SUBSTRINGS = ("auto commit", "update contributing", "<?xml", "merge branch", "merge pull request",
                      "signed-off-by")
JOKES = ("fix that bug where things didn't work but now they should", "put the thingie in the thingie",
         "add a beter commit message")


def record(**changes):
    base = {"commit": "0" * 40, "old_file": "src/utils.py", "new_file": "src/utils.py",
            "old_contents": "x = 1\n" * 40, "new_contents": "x = 2\n" * 40, "subject": SUBJECT, "message": SUBJECT,
            "lang": "Python", "license": "mit", "repos": "owner/name"}
    if "new_file" in changes and "old_file" not in changes:
        changes["old_file"] = changes["new_file"]
    base.update(changes)
    return base


def constant_tokens(text):
    """A token counter that always answers 100 (inside 50..768): the token rule never drops."""
    return 100


def ft(faithful=True, tokenizer=constant_tokens, **changes):
    return commitpackft_pipeline(faithful=faithful, tokenizer=tokenizer).process(record(**changes))


def ft_reason(**changes):
    return ft(**changes)[1]


def cp_reason(faithful=True, **changes):
    return commitpack_pipeline(faithful=faithful).process(record(**changes))[1]


# ------------------------------------------------------------------ CommitPack (A.2) on the message
@pytest.mark.parametrize("message, reason", [
    ("Fixes", "message_length"), ("Fixes!", ""), ("F" * 9_999, ""), ("F" * 10_000, "message_length")])
def test_message_length_boundaries(message, reason):
    assert cp_reason(message=message) == reason


def test_the_lists_are_the_references():
    assert construction_rules.MESSAGE_BLOCKLIST == frozenset(MESSAGE_BLOCKLIST) and len(MESSAGE_BLOCKLIST) == 24
    assert construction_rules.EXTRA_MESSAGE_BLOCKLIST == frozenset(EXTRA_MESSAGE_BLOCKLIST)
    assert subjects.SubjectExactBlocklist.SUBJECTS == frozenset(EXACT_SUBJECTS)
    assert subjects.SubjectSubstringBlocklist.SUBSTRINGS == SUBJECT_SUBSTRINGS
    assert subjects.JokeSubject.SUBJECTS == frozenset(JOKES)


@pytest.mark.parametrize("entry", MESSAGE_BLOCKLIST)
def test_every_message_blocklist_entry_in_every_case(entry):
    rule = construction_rules.MessageBlocklist()
    for variant in (entry, entry.upper(), entry.title()):
        assert rule(record(message=variant)) == (False, "message_blocklist"), variant
        expected = "message_length" if len(variant) <= 5 else "message_blocklist"  # length runs first
        assert cp_reason(message=variant) == expected, variant
    assert rule(record(message=entry + " now")) == (True, "")  # equality, not a substring


@pytest.mark.parametrize("message", ["merge the lists", "Merged by hand", "MERGE it all", "merge"])
def test_merge_prefix_is_lowercased(message):
    assert construction_rules.MergePrefix()(record(message=message)) == (False, "message_merge_prefix")
    assert cp_reason(message=message + " ok") == "message_merge_prefix"


def test_merge_prefix_is_a_prefix():
    assert cp_reason(message="Emerge from the lists") == ""


@pytest.mark.parametrize("entry", EXTRA_MESSAGE_BLOCKLIST)
def test_every_extra_message_entry_is_case_sensitive(entry):
    rule = construction_rules.ExtraMessageBlocklist()
    assert rule(record(message=entry)) == (False, "message_extra_blocklist")
    assert rule(record(message=entry.title())) == (True, "")
    assert rule(record(message=entry.upper())) == (True, "")
    if entry != "initial commit":  # the lowercased main blocklist sees that one first
        assert cp_reason(message=entry) == "message_extra_blocklist"


def test_extra_message_entries_reach_their_rule_in_the_pipeline():
    assert cp_reason(message="please\n") == "message_extra_blocklist"
    assert cp_reason(message="Please") == cp_reason(message="LALALA") == ""


@pytest.mark.parametrize("path, faithful_lang, corrected_reason", [
    ("src/GNUMakefile", "unknown", "extension_not_in_map"),  # endswith("Makefile")
    ("docker/app.Dockerfile", "unknown", "extension_not_in_map"),
    ("build/Makefile", "Makefile", ""),
    ("lib/x.cmake.in", "CMake", ""),
])
def test_extension_rule_is_the_scripts_endswith(path, faithful_lang, corrected_reason):
    kept, reason = commitpack_pipeline(faithful=True).process(record(new_file=path))
    assert reason == "" and kept["lang"] == faithful_lang
    assert cp_reason(faithful=False, new_file=path) == corrected_reason


@pytest.mark.parametrize("path", ["src/utils.m", "src/utils.R", "notes.in", "src/utils.PY", "Makefile.am.zzz"])
def test_extension_rule_drops_unmapped_suffixes(path):
    assert cp_reason(new_file=path) == "extension_not_in_map"


def test_web_editor_message():
    assert cp_reason(message="Update src/utils.py") == "web_editor_default_message"
    assert cp_reason(message="update src/utils.py") == ""  # case-sensitive
    assert cp_reason(message="Update src/utils.py\n") == ""  # the whole message
    assert cp_reason(message="Update utils.py") == ""  # faithful: the full path only
    assert cp_reason(faithful=False, message="Update utils.py") == "web_editor_default_message"


# ------------------------------------------------------------------ CommitPackFT stage 1 (B.1)
@pytest.mark.parametrize("length, reason", [(49_999, ""), (50_000, "old_contents_too_long")])
def test_old_contents_boundary(length, reason):
    assert ft_reason(old_contents="x" * length) == reason


def test_new_contents_and_changes():
    assert ft_reason(new_contents="") == "new_contents_empty"
    assert ft_reason(new_contents=" ") == ""
    assert ft_reason(new_contents="x = 1\n" * 40) == "contents_unchanged"


def test_hash_in_subject():
    assert ft_reason(subject=SUBJECT + " #1") == "subject_has_hash"
    assert ft_reason(subject="Fix the C# handling of lists") == "subject_has_hash"


@pytest.mark.parametrize("path, reason", [
    ("src/Makefile", "path_without_dot"), ("build.d/Makefile", ""), ("src/utils.py", "")])
def test_path_needs_a_dot_anywhere(path, reason):
    assert ft_reason(new_file=path) == reason


@pytest.mark.parametrize("path, kept", [
    ("bin/run.sh", True), ("bin/run.bash", True), ("bin/run.zsh", True), ("bin/run.csh", True), ("job.slurm", True),
    ("bin/run.ksh", False), ("test/run.bats", False), ("bin/run.sh.in", False), ("bin/run.command", False),
    ("bin/run.SH", False), ("bin/run.tool", False), ("dir.sh/run.tmux", False)])
def test_shell_last_extension_table(path, kept):
    assert ft_reason(new_file=path, lang="Shell") == ("" if kept else "extension_not_allowed_for_language")
    assert ft_reason(new_file=path, lang="Python") == ""  # the table has no effective entry for other languages


def test_shell_table_entries():
    assert paths.ALLOWED_LAST_EXTENSIONS == {"shell": ("sh", "bash", "zsh", "csh", "slurm")}


def test_filename_in_subject():
    assert ft_reason(subject="Fix the utils handling of lists") == "filename_in_subject"
    # the component just before the basename's last dot
    assert ft_reason(new_file="src/utils.spec.js", subject="Fix the spec handling of lists") == "filename_in_subject"
    assert ft_reason(new_file="src/utils.spec.js", subject="Fix the utils handling of lists") == ""
    assert ft_reason(subject="Fix the Utils handling of lists") == ""  # case-sensitive
    assert ft_reason(new_file="a.b/utils", subject="Fix the utils handling of lists") == ""  # basename has no dot
    assert ft_reason(new_file="src/.gitignore") == "filename_in_subject"
    assert ft(faithful=False, new_file="src/.gitignore")[1] == ""


@pytest.mark.parametrize("subject, kept", [
    ("a b c d ef", False), ("a b c d efg", True),  # 10 < characters
    ("a b c d " + "e" * 991, True), ("a b c d " + "e" * 992, False),  # characters < 1000
    ("a b c defghij", False), ("a b c d efghij", True)])  # 4 < words
def test_subject_length_boundaries_alone(subject, kept):
    assert subjects.SubjectLength()(record(subject=subject))[0] is kept


@pytest.mark.parametrize("subject, reason", [
    ("Fix the handling of", "subject_length"), ("Fix the handling of lists", ""),
    ("Fix the handling of " + "x" * 979, ""), ("Fix the handling of " + "x" * 980, "subject_length")])
def test_subject_length_boundaries_in_the_pipeline(subject, reason):
    assert ft_reason(subject=subject) == reason


@pytest.mark.parametrize("subject, reason", [
    ("[core] Fix the handling of", "subject_length_after_cleaning"),
    ("[core] Fix the handling of lists", ""),
    ("api.py: Fix a b c", "subject_length_after_cleaning"),
    ("Fix a b c d [tests]", ""),
    ("Fix a b c [tests]", "subject_length_after_cleaning"),
    ("[skip ci] Fix a b c", "subject_length_after_cleaning"),
    ("Fix the handling  of  lists x", ""),
])
def test_subject_length_after_cleaning(subject, reason):
    assert ft_reason(subject=subject) == reason


@pytest.mark.parametrize("subject, cleaned", [
    ("Fix\tthe handling of nested lists", SUBJECT),
    ("Fix the\u00a0handling of nested lists", SUBJECT),
    ("Fix  the  handling   of nested lists", SUBJECT),
    ("  [skip ci] [core] cmd.py: Fix the handling\tof nested lists [tests] ", SUBJECT),
    ("[core]  Fix the handling of nested lists", SUBJECT),
    ("Fix the handling of nested lists [ci skip]", SUBJECT),
    ("Fix the handling of nested lists [CI SKIP]", SUBJECT + " [CI SKIP]"),  # case-sensitive literal
    ("Fix the handling of nested [lists]", "Fix the handling of nested"),
    ("Fix the handling of nested lists [Skip CI]", "Fix the handling of nested lists [Skip CI]"),
])
def test_subject_is_rebuilt_from_whitespace_tokens(subject, cleaned):
    kept, reason = ft(subject=subject)
    assert reason == "" and kept["subject"] == cleaned and kept["message"] == SUBJECT


def test_cleaning_drops_a_lone_trailing_bracket_token():
    from commitpack_dataset.filters.subject_cleaning import DropTrailingBracketToken

    assert DropTrailingBracketToken()({"subject": "[a]"})["subject"] == ""
    assert DropTrailingBracketToken()({"subject": "[a]  [b]"})["subject"] == "[a]"


def test_uppercase_start():
    assert ft_reason(subject="fix the handling of nested lists") == "subject_not_uppercase"
    assert ft_reason(subject="Éliminate the handling of nested lists") == "subject_not_imperative"


def counting_characters_of_old(text):
    """A token counter: the characters before ``<|endoftext|>`` (so old_contents of n characters = n tokens)."""
    return text.index("<|endoftext|>")


@pytest.mark.parametrize("tokens, reason", [(49, "token_length"), (50, ""), (768, ""), (769, "token_length")])
def test_token_length_boundaries(tokens, reason):
    assert ft(tokenizer=counting_characters_of_old, old_contents="w" * tokens)[1] == reason


def test_token_length_sees_old_endoftext_new():
    seen = []
    ft(tokenizer=lambda text: seen.append(text) or 100, old_contents="OLD", new_contents="NEW")
    assert seen == ["OLD<|endoftext|>NEW"]


def test_token_estimate_boundaries():
    # ceil(bytes / 3.5) per side + 1: 168 + 168 bytes -> 48 + 1 + 48 = 97 tokens; 84 + 84 -> 24 + 1 + 24 = 49
    assert ft(tokenizer="estimate", old_contents="a" * 84, new_contents="b" * 84)[1] == "token_length_estimated"
    assert ft(tokenizer="estimate", old_contents="a" * 84, new_contents="b" * 85)[1] == ""  # 24 + 1 + 25 = 50
    assert ft(tokenizer="estimate", old_contents="a" * 1340, new_contents="b" * 1340)[1] == ""  # 383 + 1 + 383 = 767
    assert ft(tokenizer="estimate", old_contents="a" * 1341, new_contents="b" * 1344)[1] == "token_length_estimated"


def verb_subject(verb):
    return f"{verb.strip().capitalize()} the handling of nested lists now"


@pytest.mark.parametrize("verb", [verb for verb in imperative_verbs() if verb != "plug "])
def test_every_imperative_verb_starts_a_kept_subject(verb):
    commit = VERSION_BUMP_KEPT if verb == "bump" else "0" * 40  # "Bump ..." is sampled (B.2-4)
    assert ft(subject=verb_subject(verb), commit=commit)[1] == ""
    assert ft(subject=verb_subject(verb).upper(), commit=commit)[1] == ""  # lowercased before the test
    assert ft(subject=verb.strip().capitalize() + "-the handling of nested lists")[1] == "subject_not_imperative"


def test_verb_list_is_the_scripts():
    verbs = imperative_verbs()
    assert len(verbs) == len(set(verbs)) == 257 and "plug " in verbs


def test_plug_quirk():
    assert ft_reason(subject=verb_subject("plug")) == "subject_not_imperative"
    assert ft(faithful=False, subject=verb_subject("plug"))[1] == ""


def test_not_imperative():
    assert ft_reason(subject="Handling of nested lists is fixed") == "subject_not_imperative"
    assert ft_reason(subject="Fixes the handling of nested lists") == "subject_not_imperative"


@pytest.mark.parametrize("entry", EXACT_SUBJECTS)
def test_every_exact_subject_entry_alone(entry):  # unreachable in the pipeline: these are < 5 words
    rule = subjects.SubjectExactBlocklist()
    for variant in (entry, entry.upper(), entry.title()):
        assert rule(record(subject=variant)) == (False, "subject_exact_blocklist")
    assert rule(record(subject=entry + " now")) == (True, "")


@pytest.mark.parametrize("entry", SUBJECT_SUBSTRINGS)
def test_every_substring_entry_in_every_case(entry):
    for variant in (entry, entry.upper(), entry.title()):
        assert ft_reason(subject=f"Fix the {variant} handling in lists") == "subject_substring_blocklist", variant


@pytest.mark.parametrize("subject, dropped", [
    ("v1.2.3", True), ("V1.2.3", True), ("1.2.3", True), ("1.2.3-rc1 out", True), ("v10.20.30x", True),
    ("1.2.3 release", False), ("1.2 release", False), ("Release 1.2.3", False), ("vv1.2.3", False)])
def test_version_subject_alone(subject, dropped):
    assert (subjects.VersionSubject()(record(subject=subject))[0] is False) is dropped


@pytest.mark.parametrize("subject, dropped", [
    ("deadbeef", True), ("DEADBEEF-0123", True), ("0239-2a41", True), ("deadbeef-", False), ("deadbeef-xyz", False),
    ("dead beef", False)])
def test_hex_subject_alone(subject, dropped):
    assert (subjects.HexSubject()(record(subject=subject))[0] is False) is dropped


# ------------------------------------------------------------------ CommitPackFT stage 2 (B.2)
def test_cherry_pick_is_case_sensitive():
    assert ft_reason(subject=SUBJECT + " (cherry picked from commit x)") == "subject_cherry_pick"
    assert ft_reason(subject=SUBJECT + " (Cherry picked from commit x)") == ""


def test_full_sha():
    assert ft_reason(subject=SUBJECT + " " + "ab12" * 10) == "subject_has_sha"
    assert ft_reason(subject=SUBJECT + " " + "ab12" * 9 + "ab1") == ""  # 39 characters
    assert ft_reason(subject=SUBJECT + " " + "AB12" * 10) == ""  # case-sensitive


def _shas_drawing(low, high):
    return next(f"{i:040x}" for i in range(100_000) if low <= subjects.VersionBumpSample.draw(f"{i:040x}") < high)


VERSION_BUMP_KEPT = _shas_drawing(0.9, 0.9005)  # just above the drop probability: kept
VERSION_BUMP_DROPPED = _shas_drawing(0.8995, 0.9)  # just below: dropped


@pytest.mark.parametrize("prefix", subjects.VersionBumpSample.PREFIXES)
def test_version_bump_prefixes_and_probability_boundary(prefix):
    subject = f"{prefix} of the nested lists now"
    assert ft(subject=subject, commit=VERSION_BUMP_DROPPED)[1] == "subject_version_bump"
    assert ft(subject=subject, commit=VERSION_BUMP_KEPT)[1] == ""
    assert ft(subject=subject.upper(), commit=VERSION_BUMP_DROPPED)[1] == ""  # case-sensitive prefixes


@pytest.mark.parametrize("subject", [
    "Fix the case where i fail", "Fix the case where I fail", "Fix lists, i've had enough", "Fix lists, I'VE had it",
    "Fix the lists, i'm done", "Fix the lists, I'M done"])
def test_first_person(subject):
    assert ft_reason(subject=subject) == "subject_first_person"


def test_first_person_needs_spaces():
    assert ft_reason(subject="Fix the iOS handling of lists") == ""


@pytest.mark.parametrize("subject, reason", [
    ("Fix lists, thanks to Bob for the report", "subject_thanks_to"),
    ("Fix lists, THANKS TO Bob for the report", "subject_thanks_to"),
    ("Fix lists, thanks to Bob FOR the report", ""),  # "for" is case-sensitive
    ("Fix lists, thanks to Bob and Al", ""),
    ("Fix lists for Bob, thanks a lot", "")])
def test_thanks_to(subject, reason):
    assert ft_reason(subject=subject) == reason


@pytest.mark.parametrize("variant", ["code review", "Code Review", "CODE REVIEW"])
def test_code_review(variant):
    assert ft_reason(subject=f"Fix lists after {variant} comments") == "subject_code_review"


@pytest.mark.parametrize("joke", JOKES)
def test_every_joke_subject_in_every_case(joke):
    for variant in (joke, joke.capitalize(), joke.upper()):
        if variant[0].isupper():
            assert ft_reason(subject=variant) == "subject_joke", variant
        assert subjects.JokeSubject()(record(subject=variant)) == (False, "subject_joke")
    assert ft_reason(subject=joke.capitalize() + " now") == ""


@pytest.mark.parametrize("reference", ["issue 12", "Issue12", "ISSUE\t7", "bug 42", "BUG42", "feature 7", "Feature7"])
def test_issue_references(reference):
    assert ft_reason(subject=f"Fix the crash from {reference} now") == "subject_issue_reference"


def test_issue_reference_needs_a_number():
    assert ft_reason(subject="Fix the crash from issues with lists") == ""


@pytest.mark.parametrize("subject, reason", [
    ("Fix lists as per cdpcp request", "subject_review_tool"), ("Fix lists as per CDPCP request", "subject_review_tool"),
    ("Fix lists as per //codereview request", "subject_review_tool"),
    ("Fix lists as per //CodeReview request", "subject_review_tool"),
    ("Fix nested lists, work in progress", "subject_work_in_progress"),
    ("Fix nested lists (Work In Progress)", "subject_work_in_progress"),
    ("Fix nested lists, wip for now", "subject_work_in_progress"),
    ("Fix nested lists, WIP for now", "subject_work_in_progress"),
    ("Fix the swipe handling in lists", "subject_work_in_progress"),
    ("Fix nested lists, see https://example.com", "subject_has_url"),
    ("Fix nested lists, see HTTPS://EXAMPLE.COM", "subject_has_url"),
    ("Fix nested lists, see http://example.com", "subject_has_url"),
    ("Fix nested lists, see Http://example.com", "subject_has_url"),
    ("Solve Two Sum problem | leetcode", "subject_leetcode"),
    ("Solve Two Sum problem | LeetCode", "subject_leetcode"),
])
def test_stage2_rules_lowercase_the_subject(subject, reason):
    assert ft_reason(subject=subject) == reason


def test_work_in_progress_corrected_mode_needs_a_word():
    assert ft(faithful=False, subject="Fix the swipe handling in lists")[1] == ""
    assert ft(faithful=False, subject="Fix nested lists, WIP: for now")[1] == "subject_work_in_progress"
    assert ft(faithful=False, subject="Fix nested lists (Work In Progress)")[1] == "subject_work_in_progress"


def test_minimum_words_alone():
    assert subjects.MinimumWords()(record(subject="Fix three words")) == (False, "subject_too_few_words")
    assert subjects.MinimumWords()(record(subject="Fix four words here")) == (True, "")
