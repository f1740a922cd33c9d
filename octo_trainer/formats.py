"""Model prompt formats, defined once: used to build training rows and evaluation prompts.

A format turns an instruction (plus optional context) and the code prefilled after the answer
marker into one prompt string, exactly as the HumanEvalPack harness does: the context goes
before the instruction for ``instruct``/``continue`` and after it otherwise, and the final
prompt is stripped (so the model generates the newline-plus-indent itself).
"""

from __future__ import annotations

from dataclasses import dataclass

MAGICODER_SYSTEM = ("You are an exceptionally intelligent coding assistant that consistently "
                    "delivers accurate and reliable responses to user instructions.")
ALPACA_PREAMBLE = ("Below is an instruction that describes a task. Write a response that "
                   "appropriately completes the request.")
ALPACA_INPUT_PREAMBLE = ("Below is an instruction that describes a task, paired with an input that "
                         "provides further context. Write a response that appropriately completes "
                         "the request.")


@dataclass(frozen=True)
class PromptFormat:
    """``template`` has ``{inp}`` (instruction and context) and ``{response}`` placeholders.

    ``train_template`` (same placeholders) is the form used to build *training* rows when it
    differs from the evaluation form (OctoCoder trains on ``Question: {prompt}\n\nAnswer:
    {completion}``); ``train_context_template`` (``{instruction}``, ``{context}``,
    ``{response}``) is used for training rows that have a non-empty context, when the original
    recipe renders those differently (WizardCoder's Alpaca "with input" form).
    """

    name: str
    template: str
    context_first: bool = False
    strip_input: bool = False
    stop_words: tuple[str, ...] = ()
    train_template: str | None = None
    train_context_template: str | None = None

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
        if self.name == "continue":
            if context is not None:
                raise ValueError("the 'continue' format has no room for a context: use 'instruct'")
            return prefill.strip()
        return self.template.format(inp=self.join_input(instruction, context),
                                    response=prefill).strip()

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
        template = self.train_template or self.template
        marker = template.index("{response}")
        prompt = template[:marker].format(inp=self.join_input(instruction, context))
        return prompt, response


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
        PromptFormat("codellama", "[INST] {inp} [/INST] {response}", strip_input=True),
    )
}


def get_format(name: str) -> PromptFormat:
    if name not in FORMATS:
        raise ValueError(f"unknown prompt format {name!r}: use one of {', '.join(FORMATS)}")
    return FORMATS[name]
