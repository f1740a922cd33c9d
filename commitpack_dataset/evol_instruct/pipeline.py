"""One Evol-Instruct build, round by round. The builder runs it; so can a script
(``Pipeline(config, ...).run()``).

Round 0 is the seeds (decontaminated; those with an answer are output rows when
``include_seeds``). Each round ``r >= 1`` evolves the previous round's survivors -- the *pool*:

1. one evolution request per pool row, its method drawn by ``prompts.choose_method``;
2. the instruction rules of ``elimination`` (and, with ``equality_judge``, one judge request per
   remaining row: an *Equal* verdict drops it);
3. one answering request per remaining instruction (a second teacher call), then the answer rules;
4. decontamination of the survivors (instruction and response).

The survivors are round ``r``'s rows and the next round's pool. A failed evolution does not
evolve further (WizardLM's released code and evol-teacher evolve only what survived); with
``failed_evolutions="pool"`` the row it was evolved from goes back into the next round's pool
instead (E.5's reading of the paper), to be evolved again with that round's method.

Every request goes through one :class:`~commitpack_dataset.generation.GenerationClient` with the
response cache, so a killed build re-run sends only what was never answered and ends with the same
rows. A request that failed for good (``*_request_failed``) is retried by the next build.
Drop reasons per round are in ``Pipeline.drops`` (``{round: Counter}``), every dropped row with
its texts in ``Pipeline.rejected``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, defaultdict
from typing import Any

from commitpack_dataset.evol_instruct import prompts
from commitpack_dataset.evol_instruct.elimination import Thresholds, check_answer, check_instruction
from commitpack_dataset.evol_instruct.seeds import Seed, make_seeds, row_fingerprint

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Candidate:
    parent: dict
    method: str
    instruction: str
    evolution_request: str
    judge: str = ""


class Pipeline:
    def __init__(self, config, *, backend: Any = None, seed_rows: Any = None, decontaminator: Any = None,
                 cache_path: str | None = None, progress: bool = True):
        self.config = config
        self.backend = backend
        self.seed_rows = seed_rows
        self.decontaminator = decontaminator
        self.cache_path = cache_path
        self.progress = progress
        self.drops: dict[int, Counter] = defaultdict(Counter)
        self.summary: dict[int, dict] = {}
        self.rejected: list[dict] = []
        self.stats: dict = {}
        self.decontamination: dict[int, Any] = {}
        self.thresholds = Thresholds(config.min_words, config.instruction_max_completion_tokens,
                                     config.answer_max_total_tokens, config.sorry_max_words)

    # -- seeds -----------------------------------------------------------------------------------
    def seeds(self) -> list[Seed]:
        config = self.config
        rows, source = self.seed_rows, "seed_rows"
        if rows is None:
            from commitpack_dataset.oss_instruct.seeds import load_seed_dataset

            rows = load_seed_dataset(config.seed_dataset, config.seed_data_dir, config.seed_split)
            source = config.seed_dataset
        return make_seeds(rows, seed_format=config.seed_format, seed_columns=config.seed_columns,
                          seed_start=config.seed_start, max_seeds=config.max_seeds, source=source,
                          drops=self.drops[0])

    @staticmethod
    def seed_row(seed: Seed) -> dict:
        return {"fingerprint": seed.fingerprint, "parent": "", "seed_index": seed.index, "round": 0,
                "method": "seed", "instruction": seed.instruction, "response": seed.response,
                "source": seed.source, "evolution_request": "", "answer_request": "", "openai_fingerprint": ""}

    # -- requests --------------------------------------------------------------------------------
    def request(self, text: str, kind: str, round_number: int):
        """The chat request of one call; its seed is ``seed + round``, so a row evolved again in a
        later round (``failed_evolutions="pool"``) gets a fresh sample, not the cached failure."""
        from commitpack_dataset.generation import GenerationRequest

        config = self.config
        metadata = {"kind": kind, "round": round_number}
        messages = ([{"role": "system", "content": config.system_message}] if config.system_message else [])
        messages.append({"role": "user", "content": text})
        if kind == "judge":
            return GenerationRequest(model=config.judge_model or config.model, messages=messages, temperature=0.0,
                                     max_tokens=config.judge_max_tokens, seed=config.seed + round_number,
                                     metadata=metadata)
        return GenerationRequest(model=config.model, messages=messages, temperature=config.temperature,
                                 top_p=config.top_p, max_tokens=config.max_new_tokens, stop=config.stop,
                                 seed=config.seed + round_number, metadata=metadata)

    def client(self):
        from commitpack_dataset.teacher_builder import teacher_client

        return teacher_client(self.config, backend=self.backend, cache_path=self.cache_path,
                              progress=self.progress, desc="evol-instruct")

    @staticmethod
    def generate(client, requests: list, desc: str) -> list:
        if not requests:
            return []
        client.desc = f"evol-instruct {desc}"
        return client.generate(requests)

    # -- the build -------------------------------------------------------------------------------
    def run(self) -> list[dict]:
        config = self.config
        pool = [self.seed_row(seed) for seed in self.seeds()]
        if config.decontaminate:
            pool = self.decontaminate(0, pool)
        rows = [row for row in pool if row["response"]] if config.include_seeds else []
        self.summary[0] = {"pool": 0, "kept": len(pool), "with_response": sum(bool(r["response"]) for r in pool),
                           "dropped": sum(self.drops[0].values())}
        logger.info("evol-instruct: %d seeds", len(pool))
        with self.client() as client:
            for round_number in range(1, config.rounds + 1):
                children, failed = self.evolve(client, round_number, pool)
                if config.decontaminate:
                    kept = self.decontaminate(round_number, children)
                    kept_ids = {row["fingerprint"] for row in kept}
                    failed += [row["_parent"] for row in children if row["fingerprint"] not in kept_ids]
                    children = kept
                self.summary[round_number].update(kept=len(children), dropped=sum(self.drops[round_number].values()))
                logger.info("evol-instruct round %d: %d evolved from %d, dropped %s", round_number, len(children),
                            len(pool), dict(self.drops[round_number]))
                for row in children:
                    row.pop("_parent")
                rows += children
                pool = children + (failed if config.failed_evolutions == "pool" else [])
            self.stats = client.stats.to_json()
        return rows

    def reject(self, round_number: int, reason: str, parent: dict, method: str, **texts: str) -> None:
        self.drops[round_number][reason] += 1
        record = {"round": round_number, "reason": reason, "parent": parent["fingerprint"], "method": method,
                  "parent_instruction": parent["instruction"]}
        record.update({key: value for key, value in texts.items() if value is not None})
        self.rejected.append(record)

    def evolve(self, client, round_number: int, pool: list[dict]) -> tuple[list[dict], list[dict]]:
        """Round ``round_number``'s surviving rows (before decontamination) and the pool rows whose
        evolution failed."""
        from commitpack_dataset.generation import first_text

        config = self.config
        self.summary[round_number] = {"pool": len(pool)}
        chosen = [prompts.choose_method(config.mode, config.seed, round_number, row["fingerprint"]) for row in pool]
        requests = [self.request(prompts.evolution_prompt(config.mode, method, row["instruction"]), "evolve",
                                 round_number) for row, method in zip(pool, chosen)]
        failed: list[dict] = []
        candidates: list[_Candidate] = []
        for parent, method, request, result in zip(pool, chosen, requests,
                                                   self.generate(client, requests, f"round {round_number}: evolve")):
            text = first_text(result).strip()
            if result.error is not None:
                reason = "evolution_request_failed"
            elif not result.ok:
                reason = "evolution_truncated"
            else:
                reason = check_instruction(text, result.usage.completion_tokens, parent["instruction"],
                                           evol_teacher_rules=config.evol_teacher_rules,
                                           wizardlm_rules=config.wizardlm_rules, thresholds=self.thresholds)
            if reason:
                self.reject(round_number, reason, parent, method, instruction=text, error=result.error)
                failed.append(parent)
                continue
            candidates.append(_Candidate(parent, method, text, request.fingerprint()))
        if config.equality_judge and candidates:
            candidates = self.judge(client, round_number, candidates, failed)
        answers = [self.request(c.instruction, "answer", round_number) for c in candidates]
        children = []
        for candidate, request, result in zip(candidates, answers,
                                              self.generate(client, answers, f"round {round_number}: answer")):
            text = first_text(result).strip()
            if result.error is not None:
                reason = "answer_request_failed"
            elif not result.ok:
                reason = "answer_truncated"
            else:
                reason = check_answer(text, result.usage.total_tokens, evol_teacher_rules=config.evol_teacher_rules,
                                      wizardlm_rules=config.wizardlm_rules, thresholds=self.thresholds)
            if reason:
                self.reject(round_number, reason, candidate.parent, candidate.method,
                            instruction=candidate.instruction, answer=text, error=result.error)
                failed.append(candidate.parent)
                continue
            parent = candidate.parent
            children.append({
                "fingerprint": row_fingerprint(parent["fingerprint"], round_number, candidate.method,
                                               candidate.instruction, text),
                "parent": parent["fingerprint"], "seed_index": parent["seed_index"], "round": round_number,
                "method": candidate.method, "instruction": candidate.instruction, "response": text,
                "source": parent["source"], "evolution_request": candidate.evolution_request,
                "answer_request": request.fingerprint(), "openai_fingerprint": result.system_fingerprint or "",
                "_parent": parent})
        return children, failed

    def judge(self, client, round_number: int, candidates: list[_Candidate], failed: list[dict]) -> list[_Candidate]:
        """Drop the candidates the equality judge finds *Equal* to their parent (E.5 rule 1)."""
        from commitpack_dataset.generation import first_text

        requests = [self.request(prompts.judge_prompt(c.parent["instruction"], c.instruction), "judge", round_number)
                    for c in candidates]
        verdicts: Counter = Counter()
        kept = []
        for candidate, result in zip(candidates, self.generate(client, requests, f"round {round_number}: judge")):
            answer = first_text(result)
            verdict = "request_failed" if result.error is not None else prompts.judge_verdict(answer)
            verdicts[verdict] += 1
            if verdict in ("equal", "request_failed"):
                reason = "equal_to_parent" if verdict == "equal" else "judge_request_failed"
                self.reject(round_number, reason, candidate.parent, candidate.method,
                            instruction=candidate.instruction, judge=answer, error=result.error)
                failed.append(candidate.parent)
                continue
            candidate.judge = verdict
            kept.append(candidate)
        self.summary[round_number]["judge_verdicts"] = dict(verdicts)
        return kept

    def decontaminate(self, round_number: int, rows: list[dict]) -> list[dict]:
        if not rows:
            return rows
        if self.decontaminator is None:
            self.decontaminator = self.config.build_decontaminator()
        plain = [{key: value for key, value in row.items() if key != "_parent"} for row in rows]
        result = self.decontaminator.decontaminate(plain, ("instruction", "response"), id_column="fingerprint",
                                                   group_column=None)
        self.decontamination[round_number] = result
        removed = {r.id: r for r in result.removed}
        kept = []
        for row in rows:
            hit = removed.get(row["fingerprint"])
            if hit is None:
                kept.append(row)
                continue
            parent = row.get("_parent") or {"fingerprint": row["parent"], "instruction": ""}
            self.reject(round_number, hit.reason, parent, row["method"], instruction=row["instruction"],
                        answer=row["response"])
        return kept
