"""Train or evaluate a (vision-)language model with GRPO, PSR, NSR, W-REINFORCE or SFT.

    accelerate launch --config_file deepspeed_zero3.yaml main.py --mode nsr --vlm-name qwen2-5-3b ...

Reads top to bottom: parse, load data, build rewards, build model, build trainer, train, save.
"""

from __future__ import annotations

from transformers import set_seed

from rlvr.errors import exit_on_user_error
from rlvr.evaluation.greedy import evaluate_greedy
from rlvr.models.registry import load_model, load_processor, resolve_model
from rlvr.tasks import get_task
from rlvr.tasks.base import select_rewards
from rlvr.training.arguments import parse_training_args
from rlvr.training.builders import build_rl_trainer, build_sft_trainer
from rlvr.training.setup import (
    find_resume_checkpoint,
    output_dir_for,
    run_name_for,
    setup_reporting,
    write_run_config,
)


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    # Parse
    args = parse_training_args(argv)
    task = get_task(args.task)
    args.dataset_name = args.dataset_name or task.default_dataset
    args.prompt_style = args.prompt_style or task.default_prompt_style
    args.split = args.split or ("test" if args.mode == "eval" else "train")
    set_seed(args.seed)

    # Load data
    dataset = task.load_dataset(
        args.dataset_name, split=args.split, path=args.dataset_path, subset_size=args.subset_size, seed=args.seed
    )

    # Build rewards (before the model, so a reward that cannot run stops the job in seconds)
    rewards = select_rewards(task, args.reward_funcs, args.reward_weights, needs_correctness=args.mode != "sft")
    if args.mode not in ("sft", "eval"):
        task.startup_check(rewards.names)

    # Build model
    model_source = resolve_model(args.model)
    processor = load_processor(model_source)
    model = load_model(model_source)
    output_dir = output_dir_for(args)

    if args.mode == "eval":
        evaluate_greedy(task, model, processor, dataset, args, output_dir)
        return

    # Build trainer
    run_name = run_name_for(args, args.dataset_name)
    report_to = setup_reporting(args.report_to)
    if args.mode == "sft":
        trainer = build_sft_trainer(args, task, model, processor, dataset, output_dir, run_name, report_to)
    else:
        trainer = build_rl_trainer(args, task, model, processor, dataset, rewards, output_dir, run_name, report_to)

    if trainer.accelerator.is_main_process:
        write_run_config(args, output_dir)

    # Train (resuming from the newest checkpoint unless --no-resume)
    checkpoint = find_resume_checkpoint(output_dir, args.no_resume)
    if checkpoint and trainer.accelerator.is_main_process:
        print(f"Resuming from {checkpoint} (use --no-resume to start over)", flush=True)
    trainer.train(resume_from_checkpoint=checkpoint)

    # Save the model (or LoRA adapter) and the processor where generate_samples.py and transformers load them
    trainer.save_model(output_dir)
    if trainer.accelerator.is_main_process:
        processor.save_pretrained(output_dir)


if __name__ == "__main__":
    main()
