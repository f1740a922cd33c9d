"""Each rule gets a record that only that rule drops, checked through the full pipelines."""

from collections import Counter

import pytest

from commitpack_dataset.filters import commitpack_pipeline, commitpackft_pipeline, commitpackft_steps
from commitpack_dataset.filters import contents, paths, subject_cleaning, subjects

from commitpack_dataset.filters.base import Pipeline
from commitpack_dataset.filters.tokens import TokenLength


def whitespace_tokens(text):
    """A stand-in tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def good_record(**changes):
    record = {
        "commit": "0" * 40,
        "old_file": "src/utils.py",
        "new_file": "src/utils.py",
        "old_contents": "x = 1\n" * 40,
        "new_contents": "x = 2\n" * 40,
        "subject": "Fix the handling of nested lists",
        "message": "Fix the handling of nested lists",
        "lang": "Python",
        "license": "mit",
        "repos": "owner/name",
    }
    if "new_file" in changes and "old_file" not in changes:
        changes["old_file"] = changes["new_file"]
    record.update(changes)
    return record


def run_ft(record, faithful=True, tokenizer=whitespace_tokens):
    pipeline = commitpackft_pipeline(faithful=faithful, tokenizer=tokenizer)
    return pipeline.process(record)


def test_good_record_passes_both_pipelines():
    kept, reason = run_ft(good_record())
    assert reason == "" and kept["subject"] == "Fix the handling of nested lists"
    kept, reason = commitpack_pipeline().process(good_record())
    assert reason == "" and kept["lang"] == "Python"


# ----------------------------------------------------------------- CommitPack construction rules
@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"message": "Fix!"}, "message_length"),
        ({"message": "F" * 10_000}, "message_length"),
        ({"message": "Initial Commit"}, "message_blocklist"),
        ({"message": "Update README.md"}, "message_blocklist"),
        ({"message": "Merged the thing"}, "message_merge_prefix"),
        ({"new_file": "src/utils.unknownext"}, "extension_not_in_map"),
        ({"new_file": "src/utils.m"}, "extension_not_in_map"),
        ({"message": "Update src/utils.py"}, "web_editor_default_message"),
        ({"message": "please"}, "message_extra_blocklist"),
        ({"message": "lalala"}, "message_extra_blocklist"),
    ],
)
def test_commitpack_rule_drops(changes, reason):
    assert commitpack_pipeline().process(good_record(**changes)) == (None, reason)


def test_extra_blocklist_is_case_sensitive():
    kept, _ = commitpack_pipeline().process(good_record(message="Please"))
    assert kept is not None


def test_web_editor_basename_only_outside_faithful_mode():
    record = good_record(message="Update utils.py")
    assert commitpack_pipeline(faithful=True).process(record)[0] is not None
    assert commitpack_pipeline(faithful=False).process(record) == (None, "web_editor_default_message")


def test_assign_language_and_unknown():
    kept, _ = commitpack_pipeline().process(good_record(new_file="lib/x.C"))
    assert kept["lang"] == "C++"
    kept, _ = commitpack_pipeline().process(good_record(new_file="build/Makefile"))
    assert kept["lang"] == "Makefile"


def test_pipeline_counts_drops_and_table():
    pipeline = commitpack_pipeline()
    records = [good_record(), good_record(message="updates"), good_record(message="no message"), good_record(message="x")]
    assert len(list(pipeline(records))) == 1
    assert pipeline.kept == 1
    assert pipeline.dropped == Counter({"message_blocklist": 2, "message_length": 1})
    table = pipeline.table()
    assert "message_blocklist" in table and "kept" in table


# ----------------------------------------------------------------- CommitPackFT stage 1 + 2
SUBJECT = "Fix the handling of nested lists"
FT_CASES = [
    ({"old_contents": "x = 1\n" * 9000}, "old_contents_too_long"),
    ({"new_contents": ""}, "new_contents_empty"),
    ({"new_contents": "x = 1\n" * 40}, "contents_unchanged"),
    ({"subject": SUBJECT + " #12"}, "subject_has_hash"),
    ({"new_file": "src/Makefile"}, "path_without_dot"),
    ({"subject": "Fix the utils handling of lists"}, "filename_in_subject"),
    ({"new_file": ".gitignore"}, "filename_in_subject"),
    ({"subject": "Fix it right now"}, "subject_length"),
    ({"subject": "F a b c d"}, "subject_length"),
    ({"subject": "Fix " + "x" * 1000}, "subject_length"),
    ({"subject": "[core] Fix the bug now"}, "subject_length_after_cleaning"),
    ({"subject": "api.py: Fix the bug now"}, "subject_length_after_cleaning"),
    ({"subject": "fix the handling of nested lists"}, "subject_not_uppercase"),
    ({"old_contents": "a\n", "new_contents": "b\n"}, "token_length"),
    ({"old_contents": "x = 1\n" * 200, "new_contents": "x = 2\n" * 200}, "token_length"),
    ({"subject": "Handling of nested lists is fixed"}, "subject_not_imperative"),
    ({"subject": "Plug the hole in nested lists"}, "subject_not_imperative"),
    ({"subject": "Fix merge branch handling in lists"}, "subject_substring_blocklist"),
    ({"subject": "Add Signed-off-by to nested lists"}, "subject_substring_blocklist"),
    ({"subject": SUBJECT + " (cherry picked from commit x)"}, "subject_cherry_pick"),
    ({"subject": SUBJECT + " " + "ab12" * 10}, "subject_has_sha"),
    ({"subject": "Fix the case where i fail"}, "subject_first_person"),
    ({"subject": "Fix lists, I've had enough"}, "subject_first_person"),
    ({"subject": "Fix lists, thanks to Bob for the report"}, "subject_thanks_to"),
    ({"subject": "Fix lists after code review comments"}, "subject_code_review"),
    ({"subject": "Fix that bug where things didn't work but now they should"}, "subject_joke"),
    ({"subject": "Put the thingie in the thingie"}, "subject_joke"),
    ({"subject": "Add a beter commit message"}, "subject_joke"),
    ({"subject": "Fix the crash from issue 12 now"}, "subject_issue_reference"),
    ({"subject": "Fix the crash from BUG42 in lists"}, "subject_issue_reference"),
    ({"subject": "Fix lists as per cdpcp request"}, "subject_review_tool"),
    ({"subject": "Fix lists as per //codereview request"}, "subject_review_tool"),
    ({"subject": "Fix nested lists, work in progress"}, "subject_work_in_progress"),
    ({"subject": "Fix the swipe handling in lists"}, "subject_work_in_progress"),
    ({"subject": "Fix nested lists, see https://example.com"}, "subject_has_url"),
    ({"subject": "Add nested list solution | leetcode"}, "subject_leetcode"),
]


@pytest.mark.parametrize("changes, reason", FT_CASES)
def test_commitpackft_rule_drops(changes, reason):
    assert run_ft(good_record(**changes)) == (None, reason)


def test_pipeline_order_is_the_papers():
    names = [getattr(step, "reason", None) or step.name for step in commitpackft_steps(tokenizer=None)]
    assert names == [
        "old_contents_too_long", "new_contents_empty", "contents_unchanged", "subject_has_hash",
        "path_without_dot", "extension_not_allowed_for_language", "filename_in_subject", "subject_length",
        "strip_subject", "remove_[skip ci]", "drop_leading_bracket_token", "drop_leading_colon_token",
        "drop_trailing_bracket_token", "join_subject_tokens", "subject_length_after_cleaning",
        "subject_not_uppercase",
        "token_length", "subject_not_imperative", "subject_exact_blocklist",
        "subject_substring_blocklist", "subject_is_version", "subject_is_hex",
        "subject_cherry_pick", "subject_has_sha", "remove_[ci skip]", "subject_version_bump",
        "subject_first_person", "subject_thanks_to", "subject_code_review", "subject_joke",
        "subject_issue_reference", "subject_review_tool", "subject_work_in_progress",
        "subject_has_url", "subject_leetcode", "subject_too_few_words",
    ]


def test_subject_cleaning_steps():
    kept, reason = run_ft(good_record(subject="  [skip ci] [core] cmd.py: Fix the handling of nested lists [tests] "))
    assert reason == "" and kept["subject"] == SUBJECT
    kept, _ = run_ft(good_record(subject=SUBJECT + " [ci skip]"))
    assert kept["subject"] == SUBJECT


@pytest.mark.parametrize(
    "mapper, before, after",
    [
        (subject_cleaning.StripSubject(), "  Fix x  ", "Fix x"),
        (subject_cleaning.RemoveSubjectLiteral("[skip ci]"), "Fix [skip ci] x", "Fix  x"),
        (subject_cleaning.DropLeadingBracketToken(), "[ui] Fix x", "Fix x"),
        (subject_cleaning.DropLeadingBracketToken(), "[ui]Fix x", "[ui]Fix x"),
        (subject_cleaning.DropLeadingColonToken(), "a/b.py: Fix x", "Fix x"),
        (subject_cleaning.DropTrailingBracketToken(), "Fix x [wip]", "Fix x"),
        (subject_cleaning.DropTrailingBracketToken(), "Fix x", "Fix x"),
    ],
)
def test_each_cleaning_mapper(mapper, before, after):
    assert mapper({"subject": before})["subject"] == after


def test_dotfile_rule_faithful_switch():
    record = good_record(new_file=".gitignore")
    assert run_ft(record, faithful=True) == (None, "filename_in_subject")
    assert run_ft(record, faithful=False)[1] == ""


def test_wip_faithful_switch():
    swipe = good_record(subject="Fix the swipe handling in lists")
    assert run_ft(swipe, faithful=False)[1] == ""
    shouting = good_record(subject="Fix nested lists, WIP for now")
    assert run_ft(shouting, faithful=True) == (None, "subject_work_in_progress")  # the script lowercases
    assert run_ft(shouting, faithful=False) == (None, "subject_work_in_progress")


def test_plug_never_matches_in_faithful_mode():
    """The script's ``"plug "`` + " " needs two spaces; the cleaned subject has single spaces."""
    for subject in ("Plug the hole in nested lists", "Plug  the hole in nested lists"):
        assert run_ft(good_record(subject=subject)) == (None, "subject_not_imperative")
        assert run_ft(good_record(subject=subject), faithful=False)[1] == ""


def test_thanks_to_needs_case_sensitive_for():
    assert run_ft(good_record(subject="Fix lists, thanks to Bob and Al"))[1] == ""
    assert run_ft(good_record(subject="Fix lists, thanks to Bob FOR real"))[1] == ""


def test_verbs_file():
    verbs = subjects.imperative_verbs()
    assert len(verbs) == 257 and len(set(verbs)) == 257
    assert "plug " in verbs and "speed up" in verbs and verbs[0] == "abort" and verbs[-1] == "write"


def test_version_bump_is_seeded_by_sha():
    rule = subjects.VersionBumpSample()
    shas = [f"{i:040x}" for i in range(2000)]
    drops = [not rule(good_record(commit=sha, subject="Bump lists to 2.0"))[0] for sha in shas]
    assert 0.87 < sum(drops) / len(drops) < 0.93
    again = [not rule(good_record(commit=sha, subject="Bump lists to 2.0"))[0] for sha in shas]
    assert drops == again
    kept_sha = shas[drops.index(False)]
    dropped_sha = shas[drops.index(True)]
    for prefix in ("Bump", "Set version", "Update version"):
        subject = prefix + " of the nested lists now"
        assert run_ft(good_record(commit=dropped_sha, subject=subject)) == (None, "subject_version_bump")
        assert run_ft(good_record(commit=kept_sha, subject=subject))[1] == ""
    assert rule(good_record(subject="bump lists"))[0]  # case-sensitive prefix


# Rules the paper keeps although earlier rules make them (almost) unreachable: tested alone.
@pytest.mark.parametrize(
    "rule, dropped, kept",
    [
        (subjects.SubjectExactBlocklist(), "Update README", "Update README now"),
        (subjects.VersionSubject(), "v1.2.3", "1.2.3 release"),
        (subjects.VersionSubject(), "1.2.3-rc1 release", "Release 1.2.3"),
        (subjects.HexSubject(), "deadbeef-0123", "deadbeef-xyz"),
        (subjects.MinimumWords(), "Fix three words", "Fix four words here"),
    ],
)
def test_unreachable_rules_alone(rule, dropped, kept):
    assert rule({"subject": dropped}) == (False, rule.reason)
    assert rule({"subject": kept}) == (True, "")
    steps = commitpackft_steps(tokenizer=None)
    assert any(type(step) is type(rule) for step in steps)


def test_token_length_fallback_is_flagged(monkeypatch):
    rule = TokenLength(tokenizer=None)
    assert rule.estimated
    assert rule(good_record()) == (True, "")
    assert rule(good_record(old_contents="a", new_contents="b")) == (False, "token_length_estimated")
    # 3.5 bytes per token: 700 bytes -> 200 tokens each side + 1 separator
    assert rule.count(good_record(old_contents="a" * 700, new_contents="b" * 700)) == 401


def test_token_length_unloadable_tokenizer_falls_back(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rule = TokenLength(tokenizer="/nonexistent/tokenizer-dir")
    assert rule.estimated
    assert rule(good_record(old_contents="a", new_contents="b")) == (False, "token_length_estimated")


def test_token_length_with_encode_object():
    class FakeTokenizer:
        def encode(self, text):
            return list(text)

    rule = TokenLength(tokenizer=FakeTokenizer(), min_tokens=1, max_tokens=20)
    assert not rule.estimated
    assert rule.count(good_record(old_contents="ab", new_contents="cd")) == 4 + len("<|endoftext|>")
    assert rule(good_record(old_contents="a" * 20, new_contents="b")) == (False, "token_length")


def test_empty_pipeline_keeps_everything():
    pipeline = Pipeline([])
    assert pipeline.process({"subject": "x"}) == ({"subject": "x"}, "")


def test_opt_out_only_single_repository_rows():
    from commitpack_dataset.filters.commitpack import OptOutOwners

    rule = OptOutOwners(["Gone"])
    assert rule(good_record(repos="Gone/project")) == (False, "repository_owner_opted_out")
    assert rule(good_record(repos="gone/project")) == (True, "")  # exact and case-sensitive, as the script
    assert OptOutOwners(["Gone"], faithful=False)(good_record(repos="gone/project"))[0] is False
    assert rule(good_record(repos="Gone/project,other/fork")) == (True, "")
    assert rule(good_record(repos="stays/project")) == (True, "")
