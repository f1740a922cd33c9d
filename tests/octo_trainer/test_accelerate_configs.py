"""The shipped ``accelerate launch`` configs load with accelerate's own code and do what they say.

Every config is resolved the way ``accelerate launch`` resolves it (its argument parser, its
config-file merge, the environment its launcher hands the ranks) and the plugin the ranks would
build is checked; DDP also runs for real: two CPU processes over gloo train the tiny LoRA recipe.
FSDP and DeepSpeed cannot run here: accelerate 1.15 turns FSDP on only for GPU-class process
groups (on CPU the same launch trains as plain DDP) and ZeRO needs ``deepspeed`` plus GPUs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import octo_trainer

CONFIGS_DIR = Path(octo_trainer.__file__).parent / "recipes" / "accelerate" / "configs"
CLAIMED_TYPES = {"ddp": "MULTI_GPU", "fsdp": "FSDP", "zero3": "DEEPSPEED"}
ACCELERATE = Path(sys.executable).with_name("accelerate")


def config_path(name: str) -> Path:
    return CONFIGS_DIR / f"{name}.yaml"


def resolved_launch(name: str, *flags: str):
    """``accelerate launch --config_file <name> <flags> train.py`` resolved as the launcher does.

    Returns (args, config): the launch namespace after the config file is merged in (command-line
    flags win) and accelerate's ``ClusterConfig`` of the file.
    """
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    parser = launch_command_parser()
    args = parser.parse_args(["--config_file", str(config_path(name)), *flags, "train.py"])
    args, config, _ = _validate_launch_command(args)
    return args, config


def rank_environment(env: dict[str, str]) -> dict[str, str]:
    """The accelerate settings the launcher passes to every rank."""
    return {k: v for k, v in env.items() if k.startswith(("ACCELERATE_", "FSDP_"))}


# --------------------------------------------------------------------------- every config


def test_every_shipped_config_is_checked_here():
    assert {path.stem for path in CONFIGS_DIR.glob("*.yaml")} == set(CLAIMED_TYPES)


@pytest.mark.parametrize("name", sorted(CLAIMED_TYPES))
def test_config_loads_with_accelerate_and_has_its_distributed_type(name: str):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    config = load_config_from_file(str(config_path(name)))  # unknown top-level keys raise
    assert isinstance(config, ClusterConfig)
    assert config.distributed_type.value == CLAIMED_TYPES[name]
    assert config.mixed_precision == "no", "the recipe's bf16/fp16 decides"
    assert (config.num_machines, config.machine_rank, config.use_cpu) == (1, 0, False)
    # the file is what `accelerate config` would write back (no key it would drop or rename)
    written = yaml.safe_load(config_path(name).read_text())
    assert set(written) <= set(config.to_dict()) | {"deepspeed_config", "fsdp_config"}


@pytest.mark.parametrize("name", sorted(CLAIMED_TYPES))
def test_nested_settings_are_launch_options(name: str):
    """Keys under fsdp_config/deepspeed_config become launch flags; a typo would be ignored silently."""
    from accelerate.commands.launch import launch_command_parser

    options = {action.dest for action in launch_command_parser()._actions}
    written = yaml.safe_load(config_path(name).read_text())
    nested = {**written.get("fsdp_config", {}), **written.get("deepspeed_config", {})}
    assert set(nested) <= options


def test_accelerate_configs_are_not_training_recipes():
    from octo_trainer.train import list_recipes

    assert not [name for name in list_recipes() if name.startswith("accelerate")]


# --------------------------------------------------------------------------- what the ranks get


def test_fsdp_config_builds_an_fsdp2_plugin_that_wraps_llama_decoder_layers(tiny_model_dir: Path):
    from accelerate.utils import FullyShardedDataParallelPlugin, patch_environment
    from accelerate.utils.fsdp_utils import fsdp2_prepare_auto_wrap_policy
    from accelerate.utils.launch import prepare_multi_gpu_env
    from transformers import AutoModelForCausalLM

    args, _ = resolved_launch("fsdp", "--num_processes", "2", "--main_process_port", "0")
    assert args.use_fsdp and not args.multi_gpu
    env = rank_environment(prepare_multi_gpu_env(args))
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    with patch_environment(**env):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert "FULL_STATE_DICT" in str(plugin.state_dict_type)
    assert plugin.transformer_cls_names_to_wrap == ["LlamaDecoderLayer"]
    assert plugin.cpu_ram_efficient_loading and not plugin.activation_checkpointing

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    policy = fsdp2_prepare_auto_wrap_policy(plugin, model)
    wrapped = [type(module).__name__ for module in model.modules() if policy(module)]
    assert wrapped == ["LlamaDecoderLayer"] * model.config.num_hidden_layers


def test_fsdp_wrap_class_is_overridden_on_the_command_line_for_starcoder():
    args, _ = resolved_launch("fsdp", "--fsdp_transformer_layer_cls_to_wrap", "GPTBigCodeBlock")
    assert args.fsdp_transformer_layer_cls_to_wrap == "GPTBigCodeBlock"
    assert args.fsdp_version == 2  # the rest still comes from the file


def test_zero3_config_builds_a_stage3_plugin_that_takes_batch_and_clipping_from_the_recipe():
    from accelerate.utils import DeepSpeedPlugin, patch_environment
    from accelerate.utils.launch import prepare_deepspeed_cmd_env

    args, config = resolved_launch("zero3", "--num_processes", "2", "--main_process_port", "0")
    assert args.use_deepspeed
    args.deepspeed_fields_from_accelerate_config = ",".join(config.deepspeed_config)
    cmd, env = prepare_deepspeed_cmd_env(args)
    assert cmd is None  # one machine: torchrun, no deepspeed/pdsh launcher
    with patch_environment(**rank_environment(env)):
        plugin = DeepSpeedPlugin()
    ds = plugin.deepspeed_config
    assert ds["zero_optimization"]["stage"] == 3
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert ds["zero_optimization"]["offload_param"]["device"] == "none"
    assert plugin.zero3_init_flag is True
    # "auto": the Trainer fills these from the recipe instead of clashing with it
    assert ds["gradient_accumulation_steps"] == "auto" and ds["gradient_clipping"] == "auto"
    assert ds["train_micro_batch_size_per_gpu"] == "auto"


MULTI_NODE = ("--num_machines", "2", "--machine_rank", "1", "--num_processes", "16",
              "--main_process_ip", "10.1.2.3", "--main_process_port", "29555")


@pytest.mark.parametrize("name", sorted(CLAIMED_TYPES))
def test_documented_multi_node_flags_reach_torchrun(name: str):
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    args, _ = resolved_launch(name, *MULTI_NODE)
    if name == "zero3":
        args.deepspeed_fields_from_accelerate_config = ""
        cmd, _ = prepare_deepspeed_cmd_env(args)
        assert cmd is None  # the "standard" multi-node launcher is torchrun, not pdsh
    else:
        prepare_multi_gpu_env(args)
    assert (args.nnodes, args.node_rank, args.nproc_per_node) == ("2", 1, "8")
    # static rendezvous at the main machine (accelerate 1.15 ignores the file's same_network)
    assert (args.rdzv_backend, args.rdzv_endpoint) == ("static", "10.1.2.3:29555")


# --------------------------------------------------------------------------- a real DDP run


def test_ddp_config_trains_the_tiny_lora_recipe_on_two_cpu_processes(
    tmp_path: Path, tiny_model_dir: Path
):
    rows = [
        {"instruction": f"Write a function that returns {n} plus one.",
         "response": f"def f():\n    return {n} + 1\n"}
        for n in range(32)
    ]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out, logs = tmp_path / "out", tmp_path / "logs"
    command = [
        str(ACCELERATE), "launch", "--config_file", str(config_path("ddp")),
        "--num_processes", "2", "--main_process_port", "0", "--log_dir", str(logs), "--tee", "3",
        "-m", "octo_trainer.train", "--config", "tiny-cpu/lora",
        "--model_name_or_path", str(tiny_model_dir), "--datasets", str(data),
        "--output_dir", str(out), "--max_steps", "3", "--max_length", "96",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    # its own session, killed as a group on timeout: the ranks are grandchildren of the launcher
    launcher = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = launcher.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        _, stderr = launcher.communicate()
        pytest.fail(f"accelerate launch did not finish in 240 s:\n{stderr[-4000:]}")
    assert launcher.returncode == 0, stderr[-4000:]

    # each rank wrote its own torchrun log: both processes ran
    ranks = sorted(path.parent.name for path in logs.glob("*/attempt_0/*/stderr.log"))
    assert ranks == ["0", "1"]

    # the data was split over a world of 2: per step 4 rows x 2 accumulation x 2 ranks = 16 of
    # 32 rows, so each step is half an epoch (one process would make it a quarter)
    state = json.loads((out / "trainer_state.json").read_text())
    logged = [entry for entry in state["log_history"] if "loss" in entry]
    assert [entry["step"] for entry in logged] == [1, 2, 3]
    assert [entry["epoch"] for entry in logged] == [0.5, 1.0, 1.5]
    assert logged[-1]["loss"] < logged[0]["loss"]

    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json",
                 "recipe.yaml", "train_results.json"):
        assert (out / name).is_file(), name
