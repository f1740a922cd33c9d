"""Model prompt formats, defined once: used to build training rows and evaluation prompts.

A format turns an instruction (plus optional context) and the code prefilled after the answer
marker into one prompt string, exactly as the HumanEvalPack harness
(bigcode-evaluation-harness ``humanevalpack.py``) does: the context goes before the instruction
for ``instruct``/``continue`` and after it otherwise, and the final prompt is stripped (so the
model generates the newline-plus-indent itself).

Besides the string, a format knows what evaluation needs from it:

* ``stop_words``: the format's own stop words (``<|end|>`` for ``starchat``, ```` ``` ```` for
  ``issue``); :meth:`PromptFormat.eval_stop_words` adds the language's and ``<|endoftext|>``, or,
  for the diff formats, replaces the language's (as the harness does);
* ``fix_template``: how Fix tasks place the context and the instruction when the format has a
  form of its own for them (``starcodercommit``, ``file``, ``diff``, ``diff-carper``, ``issue``;
  the last four have no other form: ``fix_only``);
* ``diff``: the format answers with a diff (``"dmp"``: diff-match-patch text for ``diff``,
  ``"carper"``: a unified hunk for ``diff-carper``), which evaluation applies to the buggy code;
  the harness's end-of-function heuristics do not apply to diffs while generating.

``chat`` is the tokenizer's own chat template (:class:`ChatTemplateFormat`): get it with
``get_format("chat", tokenizer=tokenizer)``. Encoder-decoder models get the prompt without the
prefilled code as the encoder input (:meth:`PromptFormat.encoder_prompt`) and the full prompt as
the decoder's start, as the harness's ``get_prompt_encoder``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

MAGICODER_SYSTEM = ("You are an exceptionally intelligent coding assistant that consistently "
                    "delivers accurate and reliable responses to user instructions.")
ALPACA_PREAMBLE = ("Below is an instruction that describes a task. Write a response that "
                   "appropriately completes the request.")
ALPACA_INPUT_PREAMBLE = ("Below is an instruction that describes a task, paired with an input that "
                         "provides further context. Write a response that appropriately completes "
                         "the request.")
DEEPSEEK_SYSTEM = ("You are an AI programming assistant, utilizing the Deepseek Coder model, "
                   "developed by Deepseek Company, and you only answer questions related to "
                   "computer science. For politically sensitive questions, security and privacy "
                   "issues, and other non-computer science questions, you will refuse to answer")
END_OF_TEXT = "<|endoftext|>"
COMMIT_STOP_WORDS = ("<commit_before>", "<commit_msg>", "<commit_after>")
CARPER_STOP_WORDS = ("<BEF>", "<MSG>", "<DFF>", "\\ No newline at end of file")


@dataclass(frozen=True)
class PromptFormat:
    """``template`` has ``{inp}`` (instruction and context) and ``{response}`` placeholders.

    ``train_template`` (same placeholders) is the form used to build *training* rows when it
    differs from the evaluation form (OctoCoder trains on ``Question: {prompt}\n\nAnswer:
    {completion}``); ``train_context_template`` (``{instruction}``, ``{context}``,
    ``{response}``) is used for training rows that have a non-empty context, when the original
    recipe renders those differently (WizardCoder's Alpaca "with input" form).
    ``fix_template`` (``{instruction}``, ``{context}``, ``{response}``, ``{file_name}``) is the
    Fix tasks' form when the format has one.
    """

    name: str
    template: str | None
    context_first: bool = False
    strip_input: bool = False
    stop_words: tuple[str, ...] = ()
    train_template: str | None = None
    train_context_template: str | None = None
    fix_template: str | None = None
    replaces_language_stop_words: bool = False
    diff: str | None = None  # "dmp" (diff-match-patch text) or "carper" (a unified hunk)

    @property
    def fix_only(self) -> bool:
        return self.template is None

    def join_input(self, instruction: str, context: str | None = None) -> str:
        if context is None:
            inp = instruction
        elif self.context_first:
            inp = context + "\n" + instruction
        else:
            inp = instruction + "\n" + context
        return inp.strip() if self.strip_input else inp

    def prompt(self, instruction: str, context: str | None = None, prefill: str = "") -> str:
        """The evaluation prompt: the answer marker followed by ``prefill``, stripped."""
        if self.template is None:
            raise ValueError(f"the {self.name!r} format only has a form for the Fix tasks "
                             "(fixtests, fixdocs): use another format for this task")
        if self.name == "continue":
            if context is not None:
                raise ValueError("the 'continue' format has no room for a context: use 'instruct'")
            return prefill.strip()
        return self.render(self.join_input(instruction, context), prefill).strip()

    def render(self, inp: str, prefill: str) -> str:
        """The template filled in, not stripped (subclasses render differently)."""
        return self.template.format(inp=inp, response=prefill)

    def fix_prompt(self, instruction: str, context: str, prefill: str,
                   file_name: str = "solution") -> str:
        """The Fix tasks' prompt: the format's own Fix form, else :meth:`prompt`."""
        if self.fix_template is None:
            return self.prompt(instruction, context, prefill)
        return self.fix_template.format(instruction=instruction, context=context,
                                        response=prefill, file_name=file_name).strip()

    def encoder_prompt(self, instruction: str, context: str | None = None) -> str:
        """An encoder-decoder model's encoder input: the prompt without prefilled code."""
        return self.prompt(instruction, context, "")

    def eval_stop_words(self, language_stop_words: tuple[str, ...] | list[str] = ()) -> list[str]:
        """Every stop word of an evaluation prompt in this format, in the harness's order: the
        language's (unless a diff format replaces them), the format's, then ``<|endoftext|>``.
        The tokenizer's EOS is added by the caller that knows the tokenizer."""
        words = [] if self.replaces_language_stop_words else list(language_stop_words)
        words += [w for w in self.stop_words if w not in words]
        if END_OF_TEXT not in words:
            words.append(END_OF_TEXT)
        return words

    def split(self, instruction: str, response: str, context: str | None = None) -> tuple[str, str]:
        """Training view: (prompt, completion) such that prompt + completion is the full text.

        An empty context counts as no context. The completion is the response unchanged (the
        trainer appends EOS).
        """
        if not context:
            context = None
        if context is not None and self.train_context_template is not None:
            template = self.train_context_template
            marker = template.index("{response}")
            return template[:marker].format(instruction=instruction, context=context), response
        if self.template is None or (context is not None and self.fix_template is not None):
            template = self.fix_template  # the diff forms end at the marker: the diff follows
            marker = template.find("{response}") if "{response}" in template else len(template)
            return template[:marker].format(instruction=instruction, context=context or "",
                                            file_name="solution"), response
        template = self.train_template or self.template
        marker = template.index("{response}")
        prompt = template[:marker].format(inp=self.join_input(instruction, context))
        return prompt, response


@dataclass(frozen=True)
class ChatTemplateFormat(PromptFormat):
    """The tokenizer's own chat template: the input is the user turn, the prefilled code the
    start of the assistant turn (``continue_final_message``), else the generation prompt."""

    tokenizer: Any = dataclasses.field(default=None, compare=False, repr=False)

    def bind(self, tokenizer) -> "ChatTemplateFormat":
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"the 'chat' format renders the tokenizer's chat template, but "
                             f"{getattr(tokenizer, 'name_or_path', 'this tokenizer')!r} has none: "
                             "pick a named format (e.g. octocoder, starchat2) instead")
        return dataclasses.replace(self, tokenizer=tokenizer)

    def _tokenizer(self):
        if self.tokenizer is None:
            raise ValueError("the 'chat' format needs the model's tokenizer: "
                             "get_format('chat', tokenizer=tokenizer)")
        return self.tokenizer

    def render(self, inp: str, prefill: str) -> str:
        messages = [{"role": "user", "content": inp}]
        if prefill:
            messages.append({"role": "assistant", "content": prefill})
            return self._tokenizer().apply_chat_template(
                messages, tokenize=False, continue_final_message=True)
        return self._tokenizer().apply_chat_template(messages, tokenize=False,
                                                     add_generation_prompt=True)

    def split(self, instruction: str, response: str, context: str | None = None) -> tuple[str, str]:
        return self.render(self.join_input(instruction, context or None), ""), response


def _chatml(user_start: str, user_end: str, assistant_start: str) -> str:
    return user_start + "{inp}" + user_end + assistant_start + "{response}"


FORMATS: dict[str, PromptFormat] = {
    fmt.name: fmt
    for fmt in (
        PromptFormat("instruct", "{inp}\n\n{response}", context_first=True),
        PromptFormat("continue", "{response}", context_first=True),
        PromptFormat("octocoder", "Question: {inp}\n\nAnswer:\n{response}",
                     train_template="Question: {inp}\n\nAnswer: {response}"),
        PromptFormat("octogeex", "Question: {inp}\n\nAnswer:\n{response}", strip_input=True),
        PromptFormat("wizardcoder",
                     ALPACA_PREAMBLE + "\n\n### Instruction:\n{inp}\n\n### Response:\n{response}",
                     train_template=ALPACA_PREAMBLE
                     + "\n\n### Instruction:\n{inp}\n\n### Response:{response}",
                     train_context_template=ALPACA_INPUT_PREAMBLE
                     + "\n\n### Instruction:\n{instruction}\n\n### Input:\n{context}"
                     "\n\n### Response:{response}"),
        PromptFormat("instructcodet5p",
                     ALPACA_PREAMBLE + "\n\n### Instruction:\n{inp}\n\n### Response:{response}"),
        PromptFormat("magicoder",
                     MAGICODER_SYSTEM + "\n\n@@ Instruction\n{inp}\n\n@@ Response\n{response}"),
        PromptFormat("starchat",
                     "<|system|>\n<|end|>\n<|user|>\n{inp}<|end|>\n<|assistant|>\n{response}",
                     stop_words=("<|end|>",)),
        PromptFormat("starcodercommit", "<commit_before><commit_msg>{inp}<commit_after>{response}",
                     fix_template="<commit_before>{context}<commit_msg>{instruction}"
                     "<commit_after>{response}"),
        PromptFormat("file", None,
                     fix_template="<file_name>\n{file_name}\n<commit_before>\n{context}\n"
                     "<commit_msg>\n{instruction}<commit_after>\n{response}"),
        PromptFormat("diff", None, stop_words=COMMIT_STOP_WORDS, replaces_language_stop_words=True,
                     diff="dmp",
                     fix_template="<commit_before>{context}<commit_msg>{instruction}<commit_after>"),
        PromptFormat("diff-carper", None, stop_words=CARPER_STOP_WORDS,
                     replaces_language_stop_words=True, diff="carper",
                     fix_template="<NME> {file_name}\n<BEF> {context}\n<MSG> {instruction}\n<DFF>"),
        PromptFormat("issue", None, stop_words=("```",),
                     fix_template="<issue_start>username_0: {instruction}\n\n```{context}```\n"
                     "Upvotes: 100<issue_comment>username_1: Sure, here is the fixed code.\n\n"
                     "```{response}"),
        PromptFormat("codellama", "[INST] {inp} [/INST] {response}", strip_input=True),
        PromptFormat("codellama-70b",
                     "Source: user\n\n {inp} Source: assistant\nDestination: user \n\n{response}",
                     strip_input=True),
        PromptFormat("deepseek", DEEPSEEK_SYSTEM + "\n### Instruction:\n{inp}\n### Response:\n"
                     "{response}", strip_input=True),
        PromptFormat("tulu", _chatml("<|user|>\n", "\n", "<|assistant|>\n")),
        PromptFormat("gritlm", _chatml("<|user|>\n", "\n", "<|assistant|>\n")),
        PromptFormat("zephyr", _chatml("<|user|>\n", "</s>\n", "<|assistant|>\n")),
        *(PromptFormat(name, _chatml("<|im_start|>user\n", "<|im_end|>\n",
                                     "<|im_start|>assistant\n"))
          for name in ("yi", "starchat2", "codeqwen")),
        PromptFormat("codegemma", _chatml("<start_of_turn>user\n", "<end_of_turn>\n",
                                          "<start_of_turn>model\n")),
        PromptFormat("aurora-m", "### Instruction:\n{inp}\n### Response:\n{response}"),
        ChatTemplateFormat("chat", "{inp}{response}"),
    )
}


def get_format(name: str, tokenizer=None) -> PromptFormat:
    """The format called ``name``; ``chat`` needs the model's ``tokenizer`` to render."""
    if name not in FORMATS:
        raise ValueError(f"unknown prompt format {name!r}: use one of {', '.join(FORMATS)}")
    fmt = FORMATS[name]
    if isinstance(fmt, ChatTemplateFormat) and tokenizer is not None:
        return fmt.bind(tokenizer)
    return fmt
