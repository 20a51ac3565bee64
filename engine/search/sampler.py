"""Regularized (aging) evolution as an Optuna sampler, and the samplers ``--sampler`` names.

Real et al. 2019: keep the last ``population`` evaluated candidates; to propose one, draw
``sample`` of them at random, mutate the best; the oldest (not the worst) leaves the
population as each new result arrives, which keeps the search robust to lucky evaluations.
Asynchronous by nature: a proposal needs only the results in so far, never a generation.

The population follows the study through ``after_trial`` (and once from the study's history,
so a study rebuilt after a restart carries on), so each proposal costs O(sample), not O(trials).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from engine.search.mutate import NoValidMutation, mutate, random_valid
from engine.search.space import Params, SearchSpace


class SamplerKind(str, Enum):
    EVOLUTION = "evolution"
    TPE = "tpe"
    NSGA2 = "nsga2"
    RANDOM = "random"


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Each parameter of the space as an Optuna categorical distribution."""
    return {name: CategoricalDistribution(values) for name, values in space.parameters().items()}


@dataclass(frozen=True)
class Member:
    number: int
    params: Params
    value: float


class RegularizedEvolutionSampler(BaseSampler):
    """Aging evolution over ``space``; every proposal is a valid candidate (see mutate)."""

    def __init__(self, space: SearchSpace, *, population: int = 100, sample: int = 25, seed: int | None = None) -> None:
        if not 1 <= sample <= population:
            raise ValueError(f"sample {sample} must be from 1 to the population {population}")
        self.space = space
        self.population = population
        self.sample = sample
        self._rng = random.Random(seed)
        self._members: deque[Member] = deque(maxlen=population)
        self._forgotten: set[int] = set()
        self._loaded = False
        self._distributions = distributions(space)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return dict(self._distributions)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._load(study)
        if len(self._members) < self.population:
            return random_valid(self.space, self._rng)
        contenders = self._rng.sample(list(self._members), self.sample)
        best = max if study.direction == StudyDirection.MAXIMIZE else min
        parent = best(contenders, key=lambda m: m.value)
        try:
            return mutate(self.space, parent.params, self._rng)
        except NoValidMutation:
            return random_valid(self.space, self._rng)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        assert isinstance(param_distribution, CategoricalDistribution)
        return self._rng.choice(list(param_distribution.choices))

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        if self._loaded and state == TrialState.COMPLETE and values:
            self._members.append(Member(trial.number, dict(trial.params), float(values[0])))

    def forget(self, number: int) -> None:
        """Drop a trial whose value turned out false (its result was slashed)."""
        self._forgotten.add(number)
        kept = [m for m in self._members if m.number != number]
        self._members.clear()
        self._members.extend(kept)

    def _load(self, study: Study) -> None:
        if self._loaded:
            return
        self._loaded = True
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if t.number not in self._forgotten and t.values:
                self._members.append(Member(t.number, dict(t.params), float(t.values[0])))


def make_sampler(kind: SamplerKind, space: SearchSpace, *, population: int, sample: int,
                 seed: int | None) -> BaseSampler:
    """The sampler ``--sampler`` names; Optuna's own for tpe, nsga2 and random."""
    if kind == SamplerKind.EVOLUTION:
        return RegularizedEvolutionSampler(space, population=population, sample=sample, seed=seed)
    if kind == SamplerKind.TPE:
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(population, 10))
    if kind == SamplerKind.NSGA2:
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(population, 2))
    return optuna.samplers.RandomSampler(seed=seed)
