"""The requester-side search loop: asynchronous, event-driven, crash-safe.

One thread. Each turn it tops the market up to ``parallel`` candidates in flight (ask the
Optuna study, build and check the spec, journal, post), reads the market's new events in one
log scan, turns each checked result into a ``tell``, and cancels tasks nobody finished in
time (reposting the candidate, or dropping it after ``max_attempts``). Everything it learns
is committed to :class:`SearchState` before it acts on it; :meth:`Coordinator.resume` rebuilds
the study from that state and reconciles posts a crash interrupted with the chain, so nothing
is lost or paid twice. On TaskMarket v2 it also closes each finished task's audit once the
contract allows it (after the result is final and its auditors' reveal period is over), so the
verification fee no auditor earned comes back and the spend it reports is net of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import Trial, TrialState, create_trial

from engine.errors import IdlegridError, SpecError
from engine.search.port import AuditClose, Posted, SearchMarket, Step, TaskEvent, Terms
from engine.search.sampler import (
    RegularizedEvolutionSampler,
    SamplerKind,
    distributions,
    make_sampler,
)
from engine.search.space import Candidate, Goal, SearchSpace
from engine.search.state import CandidateState, SearchState, TaskRow, TaskState

MAX_SKIPS = 500          # proposals in a row that were invalid or already evaluated: the space is spent


class SearchMismatch(IdlegridError):
    """The search folder belongs to another space or settings than the ones given."""

    exit_code = 2


@dataclass(frozen=True)
class SearchConfig:
    budget: int
    parallel: int = 2
    population: int = 10
    sample: int = 3
    sampler: SamplerKind = SamplerKind.EVOLUTION
    seed: int | None = 0
    max_attempts: int = 3
    # the pause after a turn in which nothing happened. A quiet turn asks the node one thing (the
    # head's number) and reads no logs, so a short pause is cheap; a long one is not: every
    # result the coordinator reads late leaves a worker without a posted task for that long
    poll_s: float = 0.25
    # the pause before asking again to close an audit the market does not say when it can close
    # (its result is not final yet: a worker finalizes after the window, or a dispute is open)
    audit_retry_s: float = 30.0


@dataclass(frozen=True)
class Progress:
    done: int
    in_flight: int
    dropped: int
    budget: int
    best: float | None
    spent_wei: int


class Coordinator:
    def __init__(self, space: SearchSpace, state: SearchState, market: SearchMarket, config: SearchConfig, terms: Terms,
                 *, on_progress: Callable[[Progress], None] | None = None) -> None:
        self.space, self.state, self.market, self.config, self.terms = space, state, market, config, terms
        self.on_progress = on_progress
        self._dists = distributions(space)
        self.sampler = make_sampler(config.sampler, space, population=config.population, sample=config.sample,
                                    seed=config.seed)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(direction=space.goal.value, sampler=self.sampler)
        self._trials: dict[int, Trial] = {}            # candidate id -> its open trial
        self._task_of: dict[int, int] = {}             # live task id -> candidate id
        self._deadline: dict[int, int] = {}            # live task id -> when to give up on it
        self._audits: dict[int, tuple[int, float]] = {}  # task id -> (candidate id, when to try closing its audit)
        self._done: dict[str, float] = {}              # spec sha -> fitness
        self._in_flight: set[str] = set()              # spec shas posted and not finished
        self._best: float | None = None
        self._spent = 0
        self._cursor = 0
        self._exhausted = False
        self._n_done = 0
        self._dropped = 0

    # ------------------------------------------------------------ start / resume

    def resume(self) -> None:
        """Open or continue the search in ``state``: settings checked, study rebuilt, posts and
        cancels a crash interrupted reconciled with the market."""
        settings = {"space": self.space.file.model_dump(mode="json"), "sampler": self.config.sampler.value,
                    "market": self.market.address}
        known = self.state.meta("settings")
        if known is None:
            self.state.set_meta(settings=settings, cursor=self.market.head(), start_block=self.market.head(),
                                started_at=time.time())
        elif known != settings:
            raise SearchMismatch(
                f"the search folder {self.state.path.parent} holds a search of another space, sampler or market",
                hint="give another --out folder, or the same space and --sampler as before",
            )
        self.state.set_meta(budget=self.config.budget)     # this run's (a resume may change it): the app shows it
        self._cursor = int(self.state.meta("cursor"))
        self.market.recover()
        for row in self.state.candidates():
            self._spent += sum(t.reward - t.refund + t.gas for t in self.state.tasks(row.id))
            if row.state == CandidateState.DONE:
                assert row.value is not None
                self._record_best(row.spec_sha, row.value)
            elif row.state == CandidateState.DROPPED:
                self._dropped += 1
            else:
                self._in_flight.add(row.spec_sha)
                live = self.state.live_task(row.id)
                if live is not None:
                    self._track(live)
        self._load_study()
        self._reconcile()
        if self.market.audit_delay() is not None:     # every result not yet closed: try each now
            self._audits.update({t.task_id: (t.candidate_id, 0.0) for t in self.state.tasks()
                                 if t.state == TaskState.SUBMITTED})
            self._close_audits()

    def _load_study(self) -> None:
        """The study as the state has it: a trial per finished candidate (its fitness, or FAIL
        when dropped) and an open trial per candidate still on the market, in candidate order.
        Optuna cannot take back a completed trial's value, so a slashed result is removed by
        loading the study again from the state, where that candidate is open once more."""
        self.study = optuna.create_study(direction=self.space.goal.value, sampler=self.sampler)
        self._trials = {}
        for row in self.state.candidates():
            if row.state == CandidateState.DONE:
                self.study.add_trial(create_trial(params=row.params, distributions=self._dists, value=row.value))
            elif row.state == CandidateState.DROPPED:
                self.study.add_trial(create_trial(params=row.params, distributions=self._dists, state=TrialState.FAIL))
            else:
                self.study.enqueue_trial(row.params)
                self._trials[row.id] = self.study.ask(self._dists)

    def _reconcile(self) -> None:
        posting = self.state.candidates(CandidateState.POSTING)
        cancelling = self.state.candidates(CandidateState.CANCELLING)
        if posting:
            mine = {t.task_id for t in self.state.tasks()}
            sent = [p for p in self.market.posts(int(self.state.meta("start_block"))) if p.task_id not in mine]
            for row in posting:
                match = next((p for p in sent if p.spec_hash.hex() == row.spec_sha), None)
                if match is None:
                    self._post(row.id, self.space.build(row.params))
                    continue
                sent.remove(match)
                self._posted(row.id, Posted(match.task_id, match.block, match.claim_deadline, match.reward,
                                            self.market.gas(match.task_id)))
        for row in cancelling:
            live = self.state.live_task(row.id)
            if live is not None:
                self._give_up(row.id, live.task_id)

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        """Until the budget is spent and every candidate has a result or was dropped."""
        self.resume()
        while not self.finished():
            if not self.turn():
                time.sleep(self.config.poll_s)

    def finished(self) -> bool:
        """Every candidate has a result or was dropped. Audits still open are not waited for
        (they close revealPeriod after each result's window): a later run closes them."""
        spent = self.state.count() >= self.config.budget or self._exhausted
        return spent and not self._trials

    def audits_open(self) -> list[tuple[int, float]]:
        """The tasks whose audit is still to be closed, with when the next try is due (soonest first)."""
        return sorted(((task_id, at) for task_id, (_, at) in self._audits.items()), key=lambda p: p[1])

    def turn(self) -> bool:
        """One pass: fill, read events, expire. True if anything happened."""
        acted = self._fill()
        events, cursor = self.market.poll(self._cursor)
        for event in events:
            self._on_event(event)
        if cursor != self._cursor:
            self._cursor = cursor
            self.state.set_meta(cursor=cursor)
        acted = self._expire() or acted or bool(events)
        acted = self._close_audits() or acted
        if self.on_progress:
            self.on_progress(self.progress())
        return acted

    def progress(self) -> Progress:
        return Progress(self._n_done, len(self._trials), self._dropped, self.config.budget, self._best, self._spent)

    # ------------------------------------------------------------ asking and posting

    def _fill(self) -> bool:
        acted, skips = False, 0
        while len(self._trials) < self.config.parallel and self.state.count() < self.config.budget:
            trial = self.study.ask(self._dists)
            try:
                cand = self.space.build(trial.params)
            except SpecError:
                self.study.tell(trial, state=TrialState.FAIL)
                cand = None
            if cand is not None and cand.sha256 in self._done:
                self.study.tell(trial, self._done[cand.sha256])     # already known: free, no task
                cand = None
            elif cand is not None and cand.sha256 in self._in_flight:
                self.study.tell(trial, state=TrialState.PRUNED)
                cand = None
            if cand is None:
                skips += 1
                if skips >= MAX_SKIPS:
                    self._exhausted = True
                    break
                continue
            cid = self.state.add_candidate(dict(trial.params), cand.sha256)
            self._trials[cid] = trial
            self._in_flight.add(cand.sha256)
            self._post(cid, cand)
            acted, skips = True, 0
        return acted

    def _post(self, cid: int, cand: Candidate) -> None:
        self._posted(cid, self.market.post(cand.checked, self.terms))

    def _posted(self, cid: int, posted: Posted) -> None:
        row = TaskRow(posted.task_id, cid, TaskState.OPEN, posted.block, posted.claim_deadline, None,
                      posted.reward, 0, posted.gas, time.time())
        self.state.posted(cid, row)
        self._spent += posted.reward + posted.gas
        self._track(row)

    def _track(self, task: TaskRow) -> None:
        self._task_of[task.task_id] = task.candidate_id
        deadline = (
            task.submit_deadline if task.state == TaskState.CLAIMED and task.submit_deadline else task.claim_deadline
        )
        if task.state in (TaskState.OPEN, TaskState.CLAIMED):
            self._deadline[task.task_id] = deadline

    # ------------------------------------------------------------ events

    def _on_event(self, event: TaskEvent) -> None:
        task_id = event.task_id
        cid = self._task_of.get(task_id)
        if cid is None:
            return
        if event.step is Step.CLAIMED:
            self.state.set_task(task_id, TaskState.CLAIMED, submit_deadline=event.deadline)
            self._deadline[task_id] = event.deadline
        elif event.step is Step.REOPENED:
            if self.state.candidate(cid).state == CandidateState.DONE:
                # the market dropped the result its value came from without a slash of ours
                # (v2: a data fault, a void dispute): forget it as a slashed one, the task runs again
                self._on_slashed(cid, task_id)
            self.state.set_task(task_id, TaskState.OPEN, claim_deadline=event.deadline)
            self._deadline[task_id] = event.deadline
        elif event.step is Step.SUBMITTED:
            self._deadline.pop(task_id, None)
            self._on_result(cid, task_id)
            self._watch_audit(cid, task_id)
        elif event.step is Step.SLASHED:
            self._on_slashed(cid, task_id)
        if event.step in (Step.REOPENED, Step.SLASHED):
            self._audits.pop(task_id, None)                # no final result: nothing to close

    def _on_result(self, cid: int, task_id: int) -> None:
        row = self.state.candidate(cid)
        if row.state != CandidateState.POSTED:
            return                                         # an event read again after a restart
        try:
            result = self.market.result(task_id)
        except IdlegridError as e:                         # the worker's result does not check out
            self.state.set_task(task_id, TaskState.SUBMITTED)
            self._retry_or_drop(cid, f"task {task_id}: {e.message}")
            return
        value = result.metrics.get(self.space.metric)
        self._set_task_costs(cid, task_id, TaskState.SUBMITTED)
        if value is None:
            self._retry_or_drop(cid, f"task {task_id}: the result has no {self.space.metric}")
            return
        self.state.set_candidate(cid, CandidateState.DONE, value=float(value), metrics=result.metrics,
                                 worker=result.worker, done_at=time.time())
        self.study.tell(self._trials.pop(cid), float(value))
        self._in_flight.discard(row.spec_sha)
        self._record_best(row.spec_sha, float(value))

    def _on_slashed(self, cid: int, task_id: int) -> None:
        """A jury found the result false: forget its value; the market reopens the task."""
        row = self.state.candidate(cid)
        self.state.set_task(task_id, TaskState.OPEN)
        if row.state != CandidateState.DONE:
            return
        self._done.pop(row.spec_sha, None)
        self._n_done -= 1
        self.state.set_candidate(cid, CandidateState.POSTED, value=None, error=f"task {task_id}: result slashed")
        if isinstance(self.sampler, RegularizedEvolutionSampler):  # its population drops the member
            for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                if t.params == row.params:
                    self.sampler.forget(t.number)
            self.study.enqueue_trial(row.params)
            self._trials[cid] = self.study.ask(self._dists)
        else:  # TPE, NSGA-II and random read every completed trial: the false value must leave the study
            self._load_study()
        self._in_flight.add(row.spec_sha)
        self._best = (
            max(self._done.values(), default=None)
            if self.space.goal == Goal.MAXIMIZE
            else min(self._done.values(), default=None)
        )

    def _record_best(self, sha: str, value: float) -> None:
        self._done[sha] = value
        self._n_done += 1
        better = self._best is None or (value > self._best if self.space.goal == Goal.MAXIMIZE else value < self._best)
        if better:
            self._best = value

    # ------------------------------------------------------------ expiry

    def _expire(self) -> bool:
        now = self.market.now()
        late = [t for t, deadline in self._deadline.items() if now > deadline]
        for task_id in late:
            cid = self._task_of[task_id]
            self.state.set_candidate(cid, CandidateState.CANCELLING)
            self._give_up(cid, task_id)
        return bool(late)

    def _give_up(self, cid: int, task_id: int) -> None:
        """Cancel a task nobody finished in time (its reward comes back); repost or drop."""
        try:
            refund = self.market.cancel(task_id)
        except IdlegridError:
            self._deadline[task_id] = int(self.market.now()) + 60   # claimed after all, or not yet expired
            self.state.set_candidate(cid, CandidateState.POSTED)
            return
        self._set_task_costs(cid, task_id, TaskState.CANCELLED, refund=refund)
        self._deadline.pop(task_id, None)
        self._task_of.pop(task_id, None)
        self._retry_or_drop(cid, f"task {task_id} expired")

    # ------------------------------------------------------------ audits (v2)

    def _watch_audit(self, cid: int, task_id: int) -> None:
        """A result is in: its audit can close ``audit_delay`` after its window, tried then."""
        delay = self.market.audit_delay()
        if delay is None or self._task_row(cid, task_id).state != TaskState.SUBMITTED:
            return                                         # no paid audits, or closed before (an event read again)
        self._audits[task_id] = (cid, self.market.now() + self.terms.window + delay + 1)

    def _close_audits(self) -> bool:
        """Close the audits that are due; one the market refuses for now is tried again later."""
        now = self.market.now()
        due = [(task_id, cid) for task_id, (cid, at) in self._audits.items() if at <= now]
        for task_id, cid in due:
            try:
                closed = self.market.close_audit(task_id)
            except IdlegridError:                          # the node or the task said no: try again later
                closed = AuditClose(None)
            if closed.refund is None:
                later = closed.retry_at if closed.retry_at > now else now + self.config.audit_retry_s
                self._audits[task_id] = (cid, later)
                continue
            del self._audits[task_id]
            self._set_task_costs(cid, task_id, TaskState.CLOSED, refund=closed.refund)
        return bool(due)

    def _task_row(self, cid: int, task_id: int) -> TaskRow:
        return next(t for t in self.state.tasks(cid) if t.task_id == task_id)

    def _set_task_costs(self, cid: int, task_id: int, state: TaskState, *, refund: int = 0) -> None:
        """A task's new state with its gas so far (cancels and audit closes cost gas) and any
        refund, kept in the total."""
        before = self._task_row(cid, task_id)
        gas = self.market.gas(task_id)
        self.state.set_task(task_id, state, refund=before.refund + refund, gas=gas)
        self._spent += gas - before.gas - refund

    def _retry_or_drop(self, cid: int, why: str) -> None:
        row = self.state.candidate(cid)
        if row.attempts < self.config.max_attempts:
            self.state.retry(cid)
            self._post(cid, self.space.build(row.params))
            return
        self.state.set_candidate(cid, CandidateState.DROPPED, error=why, done_at=time.time())
        self.study.tell(self._trials.pop(cid), state=TrialState.FAIL)
        self._in_flight.discard(row.spec_sha)
        self._dropped += 1
