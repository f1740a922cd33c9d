"""How a data source's rows become training rows: TRL's dataset formats, or octopack's roles.

``SFTTrainer`` trains on TRL's standard dataset formats, and so does every source here:

==============================  ====================================  ===========================
rows                            columns                               trained as
==============================  ====================================  ===========================
language modelling              ``text``                              every token
prompt-completion               ``prompt``, ``completion`` (strings)  as they are; loss on the
                                                                      completion unless
                                                                      ``loss_on_prompt``
conversational                  ``messages`` (``role``/``content``)   the chat template (below)
conversational                  ``prompt``, ``completion`` (message   the chat template; loss on
prompt-completion               lists)                                the completion
instruction/response (octopack) ``instruction``, ``response``,        the recipe's
                                optional ``context``                  ``prompt_format``
==============================  ====================================  ===========================

Only instruction/response rows are rendered with the recipe's ``prompt_format``
(:mod:`octo_trainer.formats`): TRL's formats are taken as they are, as ``SFTTrainer`` takes them,
so a prompt that is already rendered is never wrapped twice. To render prompt/completion
columns with the prompt format -- OctoCoder's ``bigcode/guanaco-commits`` stores the bare
question in ``prompt`` and the training script added ``Question: ...\\n\\nAnswer: `` around it --
map them to the roles: ``column_map: {instruction: prompt, response: completion}``.

``messages`` rows with ``loss_on_prompt: false`` (and no ``assistant_only_loss``) are trained on
their last turn: they become conversational prompt-completion rows (every message before the
last in ``prompt``, the last -- an ``assistant`` turn -- in ``completion``), which is how TRL
masks the prompt of a chat. With ``loss_on_prompt: true`` they stay ``messages`` (every token).

Which format a source is read in (:func:`resolve_row_format`): its ``column_map`` if it has one
(octopack roles, or TRL column names to rename to), else a short-named builder's roles, else the
recipe's role columns (``instruction_column`` ...) when the rows have them, else whatever TRL
columns the rows have (``messages``, then ``prompt``/``completion``, then ``text``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from octo_trainer.errors import RecipeError, did_you_mean
from octo_trainer.formats import get_format

#: Octopack's roles, rendered with the prompt format.
ROLES = ("instruction", "response", "context")
#: TRL's standard column names a source's columns can be mapped to.
TRL_COLUMNS = ("prompt", "completion", "messages", "text")
MAP_KEYS = ROLES + TRL_COLUMNS

INSTRUCTION = "instruction/response"
PROMPT_COMPLETION = "prompt-completion"
CHAT = "conversational"
CHAT_PROMPT_COMPLETION = "conversational prompt-completion"
TEXT = "language modelling"


@dataclass(frozen=True)
class RowFormat:
    """A source's rows: ``kind`` (one of the names above) and ``columns``, TRL column or role ->
    the source's column."""

    kind: str
    columns: dict[str, str | None]

    def describe(self, prompt_format: str) -> str:
        """How the model card and the log name this format."""
        if self.kind == INSTRUCTION:
            return f"{INSTRUCTION} in the {prompt_format!r} prompt format"
        return self.kind


def _fix(label: str, present: list[str]) -> str:
    """How to map ``present`` columns: a ready-to-edit example."""
    if len(present) >= 2:
        example = f"instruction={present[0]},response={present[1]}"
    else:
        example = f"text={present[0]}" if present else "instruction=COLUMN,response=COLUMN"
    where = f"--datasets {label}:{example}" if not label.startswith("builder ") else (
        f"column_map: {{{example.replace('=', ': ').replace(',', ', ')}}} on the source")
    return (f"map them, e.g. {where} (roles instruction, response, context are rendered with the "
            "prompt format; TRL's prompt, completion, messages, text are taken as they are)")


def resolve_row_format(present: list[str], first_row: dict[str, Any] | None,
                       column_map: dict[str, str] | None, role_columns: dict[str, str | None],
                       *, explicit_roles: bool, label: str, text_field: str = "text") -> RowFormat:
    """The :class:`RowFormat` of a source with columns ``present`` (see the module docstring).

    ``role_columns`` is the role mapping without the source's own map (a builder's, or the
    recipe's ``*_column`` defaults); ``explicit_roles`` says it was asked for (a builder, or
    recipe-level columns other than the defaults), so missing columns are an error.
    """
    column_map = dict(column_map or {})
    trl = {key: value for key, value in column_map.items() if key in TRL_COLUMNS}
    roles = {key: value for key, value in column_map.items() if key in ROLES}
    if trl and roles:
        raise RecipeError(
            f"{label}: the column map mixes octopack roles ({', '.join(roles)}) with TRL columns "
            f"({', '.join(trl)}): map instruction/response(/context) to render rows with the "
            "prompt format, or prompt/completion, messages or text to take them as they are"
        )
    if trl:
        _require(present, trl, label)
        return _trl_format(set(trl), trl, first_row, label)
    mapping = {**role_columns, **roles}
    has_roles = all(mapping.get(role) in present for role in ("instruction", "response"))
    if roles or explicit_roles or has_roles:
        _require(present, {role: column for role, column in mapping.items() if column is not None},
                 label)
        return RowFormat(INSTRUCTION, mapping)
    found = {name for name in ("messages", "prompt", "completion") if name in present}
    if text_field in present:
        found.add("text")
    if "messages" in found:
        found = {"messages"}
    elif {"prompt", "completion"} <= found:
        found = {"prompt", "completion"}
    if found in ({"messages"}, {"prompt", "completion"}, {"text"}):
        columns = {name: name for name in found}
        if "text" in found:
            columns["text"] = text_field
        return _trl_format(found, columns, first_row, label)
    raise RecipeError(
        f"{label}: its columns ({', '.join(present) or 'none'}) are none of TRL's dataset formats "
        "(prompt+completion, messages, text) nor instruction+response: " + _fix(label, present)
    )


def _require(present: list[str], mapping: dict[str, str], label: str) -> None:
    for role, column in mapping.items():
        if column not in present:
            raise RecipeError(
                f"{label}: no column {column!r} for {role}{did_you_mean(column, present)}; its "
                f"columns are {', '.join(present)}: {_fix(label, present)}"
            )


def _trl_format(names: set[str], columns: dict[str, str | None], first_row: dict[str, Any] | None,
                label: str) -> RowFormat:
    """The TRL format of the TRL columns ``names`` (column -> source column in ``columns``)."""
    columns = {name: columns[name] for name in TRL_COLUMNS if name in names}  # TRL's order
    if names == {"messages"}:
        if first_row is not None and not _is_chat(first_row.get(columns["messages"])):
            raise RecipeError(
                f"{label}: column {columns['messages']!r} must hold lists of messages "
                "({'role': ..., 'content': ...}): map a column of that shape as messages"
            )
        return RowFormat(CHAT, columns)
    if names == {"text"}:
        return RowFormat(TEXT, columns)
    if names != {"prompt", "completion"}:
        raise RecipeError(
            f"{label}: map prompt and completion together, or messages alone, or text alone "
            f"(got {', '.join(sorted(names))})"
        )
    if first_row is None:
        return RowFormat(PROMPT_COMPLETION, columns)
    prompt, completion = first_row.get(columns["prompt"]), first_row.get(columns["completion"])
    if isinstance(prompt, str) and isinstance(completion, str):
        return RowFormat(PROMPT_COMPLETION, columns)
    if _is_chat(prompt) and _is_chat(completion):
        return RowFormat(CHAT_PROMPT_COMPLETION, columns)
    raise RecipeError(
        f"{label}: prompt and completion must both be strings (prompt-completion) or both lists of "
        f"messages (conversational); the first row has {type(prompt).__name__} and "
        f"{type(completion).__name__}"
    )


def _is_chat(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(m, dict) and "role" in m and "content" in m for m in value))


def to_training_rows(dataset, row_format: RowFormat, *, prompt_format: str,
                     instruction_template: str | None = None, response_template: str | None = None,
                     last_turn: bool = False, text_field: str = "text", label: str = "source"):
    """``dataset`` as SFTTrainer rows of ``row_format``; returns (dataset, trained kind).

    The trained kind is the format of the returned rows: instruction/response rows come back as
    prompt-completion, and ``messages`` rows as conversational prompt-completion with
    ``last_turn``.
    """
    columns = row_format.columns
    if row_format.kind == INSTRUCTION:
        rendered = render_prompt_completion(dataset, prompt_format, columns, instruction_template,
                                            response_template)
        return rendered, PROMPT_COMPLETION
    if instruction_template is not None or response_template is not None:
        raise RecipeError(
            f"{label}: instruction_template/response_template apply to instruction/response rows, "
            f"and these are {row_format.kind} rows: map them as instruction=...,response=... to "
            "render them, or drop the templates"
        )
    names = {"text": text_field}
    renames = {column: names.get(name, name) for name, column in columns.items()}
    dataset = dataset.select_columns(list(renames))
    dataset = dataset.rename_columns({old: new for old, new in renames.items() if old != new})
    if row_format.kind == CHAT and last_turn:
        def split_last_turn(row: dict[str, Any], index: int) -> dict[str, Any]:
            messages = row["messages"]
            if len(messages) < 2 or messages[-1]["role"] != "assistant":
                last = messages[-1]["role"] if messages else "nothing"
                raise RecipeError(
                    f"{label}: row {index} ends with {last!r}, not an assistant turn after a "
                    "prompt: loss_on_prompt: false trains each conversation's last assistant "
                    "turn; set loss_on_prompt: true to train on every token"
                )
            return {"prompt": messages[:-1], "completion": messages[-1:]}

        dataset = dataset.map(split_last_turn, with_indices=True, remove_columns=["messages"])
        return dataset, CHAT_PROMPT_COMPLETION
    return dataset, row_format.kind


def render_prompt_completion(dataset, format_name: str, columns: dict[str, str | None],
                             instruction_template: str | None = None,
                             response_template: str | None = None):
    """Map instruction/response(/context) rows to ``prompt``/``completion`` with the named
    format; drop the other columns."""
    fmt = get_format(format_name)
    context = columns.get("context")

    def render(row: dict[str, Any]) -> dict[str, str]:
        instruction = row[columns["instruction"]]
        if instruction_template is not None:
            instruction = instruction_template.format(instruction=instruction)
        response = row[columns["response"]]
        if response_template is not None:
            response = response_template.format(response=response)
        prompt, completion = fmt.split(instruction, response,
                                       row[context] if context is not None else None)
        return {"prompt": prompt, "completion": completion}

    return dataset.map(render, remove_columns=dataset.column_names)


def unify(parts: list[tuple[str, str, Any]]) -> list[Any]:
    """One row format for the mixture of ``parts`` (label, trained kind, dataset).

    Language-modelling rows join prompt-completion rows as prompt ``""`` + completion ``text``
    (every token trained either way); ``messages`` rows join conversational prompt-completion
    rows as ``prompt + completion`` messages. Other mixtures are an error: SFTTrainer trains on
    one format.
    """
    kinds = {kind for _, kind, _ in parts}
    if len(kinds) <= 1:
        return [dataset for _, _, dataset in parts]
    if kinds == {TEXT, PROMPT_COMPLETION}:
        return [_text_as_prompt_completion(dataset) if kind == TEXT else dataset
                for _, kind, dataset in parts]
    if kinds == {CHAT, CHAT_PROMPT_COMPLETION}:
        return [dataset.map(lambda row: {"messages": row["prompt"] + row["completion"]},
                            remove_columns=["prompt", "completion"])
                if kind == CHAT_PROMPT_COMPLETION else dataset for _, kind, dataset in parts]
    listed = "; ".join(f"{label}: {kind}" for label, kind, _ in parts)
    raise RecipeError(
        f"the sources' rows cannot be trained together ({listed}): SFTTrainer trains on one "
        "format; give plain-text sources (prompt-completion, text) and chat sources (messages, "
        "conversational prompt-completion) separate runs"
    )


def _text_as_prompt_completion(dataset):
    (text,) = dataset.column_names
    return dataset.map(lambda row: {"prompt": "", "completion": row[text]}, remove_columns=[text])
