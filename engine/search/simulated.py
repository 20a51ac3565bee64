"""A simulated market behind :class:`~engine.search.port.SearchMarket`, for scale tests and
benchmarks of the coordinator alone (the real market is anvil: :mod:`.chainport`).

Time is simulated: each ``poll`` advances the clock by ``tick`` seconds and lets ``workers``
workers claim open tasks (oldest first), train each for ``train_s`` seconds and submit. Every
``lose_every``-th claim is abandoned (a worker that disappears), so expiry is exercised, and every
``cheat_every``-th result is a cheat (a perfect score) that a jury slashes one tick later, after
which the task reopens for another worker. It
writes the search's own events (:class:`~engine.search.port.TaskEvent`) into one log, read from a
cursor like the chain's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import UsageError
from engine.search.port import AuditClose, Posted, Result, SeenPost, Step, TaskEvent, Terms
from engine.tasks.load import CheckedSpec

GAS_PER_POST = 150_000 * 10**9       # 150k gas at 1 gwei
GAS_PER_CANCEL = 40_000 * 10**9


def hashed_fitness(checked: CheckedSpec) -> dict[str, float]:
    """A fitness landscape without training: a fixed function of the spec's hash."""
    return {"accuracy": int(checked.sha256[:8], 16) / 0xFFFFFFFF}


@dataclass
class _Task:
    task_id: int
    spec: CheckedSpec
    terms: Terms
    claim_deadline: float
    state: str = "open"
    cheat: bool = False
    worker: int | None = None
    finish_at: float = 0.0
    submit_deadline: float = 0.0


class SimulatedMarket:
    address = "0x" + "51" * 20

    def __init__(self, *, workers: int = 1, train_s: float = 10.0, tick: float = 1.0, lose_every: int = 0,
                 cheat_every: int = 0, fitness: Callable[[CheckedSpec], dict[str, float]] = hashed_fitness) -> None:
        self.workers, self.train_s, self.tick, self.lose_every = workers, train_s, tick, lose_every
        self.cheat_every = cheat_every
        self._submissions = 0
        self._to_slash: list[int] = []
        self.fitness = fitness
        self.clock = 0.0
        self.tasks: dict[int, _Task] = {}
        self.log: list[TaskEvent] = []
        self._posts: list[SeenPost] = []
        self._open: deque[int] = deque()
        self._busy: dict[int, int] = {}                   # worker -> task id
        self._claims = 0
        self.posts_made = 0

    def head(self) -> int:
        return len(self.log)

    def now(self) -> float:
        return self.clock

    def recover(self) -> None:
        return None

    def post(self, checked: CheckedSpec, terms: Terms) -> Posted:
        task_id = len(self.tasks) + 1
        task = _Task(task_id, checked, terms, self.clock + terms.claim_timeout)
        self.tasks[task_id] = task
        self._open.append(task_id)
        self.posts_made += 1
        seen = SeenPost(task_id, bytes.fromhex(checked.sha256), len(self.log), int(task.claim_deadline), terms.reward)
        self._posts.append(seen)
        return Posted(task_id, seen.block, seen.claim_deadline, terms.reward, GAS_PER_POST)

    def posts(self, from_block: int) -> list[SeenPost]:
        return [p for p in self._posts if p.block >= from_block]

    def poll(self, cursor: int) -> tuple[list[TaskEvent], int]:
        self._step()
        return self.log[cursor:], len(self.log)

    def result(self, task_id: int) -> Result:
        task = self.tasks[task_id]
        honest = self.fitness(task.spec)
        return Result(dict.fromkeys(honest, 1.0) if task.cheat else honest, f"worker-{task.worker}")

    def cancel(self, task_id: int) -> int:
        task = self.tasks[task_id]
        if task.state == "claimed" and self.clock > task.submit_deadline:
            self._busy.pop(task.worker if task.worker is not None else -1, None)
            task.state = "open"
        if task.state != "open":
            raise UsageError(f"task {task_id} is {task.state}; only an open task can be cancelled")
        task.state = "cancelled"
        return task.terms.reward

    def gas(self, task_id: int) -> int:
        return GAS_PER_POST + (GAS_PER_CANCEL if self.tasks[task_id].state == "cancelled" else 0)

    def audit_delay(self) -> int | None:
        return None                      # v1's terms: no verification fee, nothing to close

    def close_audit(self, task_id: int) -> AuditClose:
        raise UsageError(f"task {task_id}: the simulated market has no paid audits")

    def _step(self) -> None:
        self.clock += self.tick
        for task_id in self._to_slash:
            task = self.tasks[task_id]
            task.state, task.cheat = "open", False
            self.log.append(TaskEvent(Step.SLASHED, task_id))
            self.log.append(TaskEvent(Step.REOPENED, task_id, int(task.claim_deadline)))
            self._open.append(task_id)
        self._to_slash.clear()
        for worker, task_id in list(self._busy.items()):
            task = self.tasks[task_id]
            if task.finish_at <= self.clock:
                del self._busy[worker]
                task.state = "submitted"
                self._submissions += 1
                if self.cheat_every and self._submissions % self.cheat_every == 0:
                    task.cheat = True
                    self._to_slash.append(task_id)
                self.log.append(TaskEvent(Step.SUBMITTED, task_id))
        for worker in range(self.workers):
            if worker in self._busy:
                continue
            next_id = self._next_open()
            if next_id is None:
                break
            self._claim(worker, self.tasks[next_id])

    def _next_open(self) -> int | None:
        while self._open:
            task_id = self._open.popleft()
            if self.tasks[task_id].state == "open":
                return task_id
        return None

    def _claim(self, worker: int, task: _Task) -> None:
        self._claims += 1
        lost = self.lose_every > 0 and self._claims % self.lose_every == 0
        task.state, task.worker = "claimed", worker
        task.submit_deadline = self.clock + (task.terms.train_timeout or 3 * self.train_s)
        task.finish_at = self.clock + self.train_s
        self.log.append(TaskEvent(Step.CLAIMED, task.task_id, int(task.submit_deadline)))
        if not lost:                     # a lost claim never submits; its worker is free again at once
            self._busy[worker] = task.task_id
