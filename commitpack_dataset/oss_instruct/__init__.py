"""OSS-Instruct (Magicoder) as a ``datasets`` builder: code seeds -> a teacher's problems and
solutions, cleaned, decontaminated and optionally execution-checked.

    from commitpack_dataset import OSSInstruct
    builder = OSSInstruct(config_name="python", cache_dir="build", seed_files=("src/",),
                          model="gpt-3.5-turbo-1106")
    builder.download_and_prepare()
    rows = builder.as_dataset("train")

Modules: ``seeds`` (documents, the snippet rule), ``prompt`` (teacher prompt, parsing, SFT view),
``cleaning`` (D.5 dedup), ``execution`` (the optional sandboxed check), ``pipeline`` (one build),
``builder`` (config and builder class).
"""

from commitpack_dataset.oss_instruct.builder import FEATURES, FIELDS, OSSInstruct, OSSInstructConfig
from commitpack_dataset.oss_instruct.pipeline import Pipeline
from commitpack_dataset.oss_instruct.prompt import SYSTEM_MESSAGE, parse_answer, sft_view, user_message
from commitpack_dataset.oss_instruct.seeds import MAGICODER_LANGUAGES, extract_snippet, language_configs, make_seeds

__all__ = ["FEATURES", "FIELDS", "MAGICODER_LANGUAGES", "OSSInstruct", "OSSInstructConfig", "Pipeline",
           "SYSTEM_MESSAGE", "extract_snippet", "language_configs", "make_seeds", "parse_answer", "sft_view",
           "user_message"]
