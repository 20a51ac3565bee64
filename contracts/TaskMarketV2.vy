# pragma version 0.4.3
# pragma optimize codesize
# pragma experimental-codegen
"""
@title idlegrid TaskMarket v2
@license MIT
@notice Escrowed, verifiable ML training tasks with a dispute game strangers cannot game.
        A requester posts a task; its payment escrows the worker's reward plus a verification
        fee (auditFeeBps of it). A worker claims with a stake, trains, and commits the Merkle
        root of its checkpoint leaf hashes. Until the challenge window ends:
        - verifiers assigned by a draw nobody can bias audit one segment each, chosen by their
          own salt (private until revealed, after the window), and are paid the fee for a
          revealed audit whose leaf proves against the root;
        - anyone may demand checkpoint i (data availability): the worker must answer with the
          leaf and its blob address, proven against the root, within responsePeriod or lose;
        - anyone may commit to a challenge with a bond and reveal its proofs later; each
          revealed challenge is a dispute settled by a stake-weighted jury drawn from the
          stake snapshot of an epoch that began before the draw's seed block.
@dev    Every payout is a credit that its owner pulls with `withdraw`.
        docs/contract.md explains the game and its economics.
        Merkle rules: engine/commit/merkle.py (leaf node keccak256(0x00 || leaf), inner node
        keccak256(0x01 || left || right), depth = ceil(log2(n)), zero-padded bottom level).
"""

# ---------------------------------------------------------------- constants

MAX_JURY: constant(uint256) = 11
MAX_TRIES: constant(uint256) = 3 * MAX_JURY
MAX_AUDITORS: constant(uint256) = 4
MAX_DEPTH: constant(uint256) = 32
MAX_URI: constant(uint256) = 256
MAX_PAGE: constant(uint256) = 100
MAX_DRAWS: constant(uint256) = 5
BPS: constant(uint256) = 10000
# Fenwick trees over verifier slots (1-based); a power of two
VERIFIER_SLOTS: constant(uint256) = 65536
SLOT_BITS: constant(uint256) = 16
# the minimum verifier stake doubles with every STAKE_STEP active verifiers
STAKE_STEP: constant(uint256) = 256
MAX_DOUBLINGS: constant(uint256) = 64
# blockhash() reaches back this many blocks
BLOCKHASH_WINDOW: constant(uint256) = 256

# task status, kept in bits 160..166 of the state word
OPEN: constant(uint256) = 0
CLAIMED: constant(uint256) = 1
SUBMITTED: constant(uint256) = 2
FINALIZED: constant(uint256) = 5
CANCELLED: constant(uint256) = 6
# bit 167 of the state word: this result's _counters were written (a challenge commit or a data
# demand), so finalize must read them; a result nobody touched skips that cold read
COUNTED: constant(uint256) = 1 << 167

# dispute status
D_NONE: constant(uint256) = 0
D_OPEN: constant(uint256) = 1
D_WORKER_WON: constant(uint256) = 2
D_CHALLENGER_WON: constant(uint256) = 3
D_VOID: constant(uint256) = 4

# juror reveal marks
VOTE_HONEST: constant(uint256) = 1
VOTE_CHEAT: constant(uint256) = 2

MASK_32: constant(uint256) = (1 << 32) - 1
MASK_56: constant(uint256) = (1 << 56) - 1
MASK_96: constant(uint256) = (1 << 96) - 1
MASK_112: constant(uint256) = (1 << 112) - 1
MASK_128: constant(uint256) = (1 << 128) - 1
MASK_160: constant(uint256) = (1 << 160) - 1
POSITION_SHIFT: constant(uint256) = 192
ARITH_SHIFT: constant(uint256) = 224
WORD0_LANES: constant(uint256) = 6
MAX_AMOUNT: constant(uint256) = MASK_96
MAX_TIMEOUT: constant(uint256) = MASK_32
MAX_LEAVES: constant(uint256) = MASK_32
MAX_TASKS: constant(uint256) = MASK_32 - 1
WITHDRAWN: constant(uint256) = 1 << 255

# ---------------------------------------------------------------- storage layout

# One task = three packed words + the root.
#   head:  requester (160) | payment (96)   (payment = worker reward + verification fee)
#   state: worker (160) | status (7) | COUNTED (1) | deadline (56) | numLeaves (32)
#          deadline: claim-by while OPEN, submit-by while CLAIMED,
#          end of the challenge window from SUBMITTED on
#   terms: workerStake (96) | claimTimeout (32) | trainTimeout (32) | challengeWindow (32)
#          | lane (32): position in the open index while OPEN, submit block from SUBMITTED on
#          | arithmetic (32): 0 tolerance mode, else the exact arithmetic jurors must have
struct Packed:
    head: uint256
    state: uint256
    terms: uint256
    root: bytes32

struct Task:
    requester: address
    reward: uint256
    worker: address
    workerStake: uint256
    status: uint256
    deadline: uint256
    numLeaves: uint256
    claimTimeout: uint256
    trainTimeout: uint256
    challengeWindow: uint256
    merkleRoot: bytes32
    disputeId: uint256
    arithmetic: uint256
    submitBlock: uint256
    verificationFee: uint256
    openDisputes: uint256
    pendingChallenges: uint256

struct Dispute:
    taskId: uint256
    round: uint256
    challenger: address
    bond: uint256
    segment: uint256
    status: uint256
    draws: uint256
    drawBlock: uint256
    epoch: uint256
    commitDeadline: uint256
    revealDeadline: uint256
    honestVotes: uint256
    cheatVotes: uint256

struct ChallengeCommit:
    taskId: uint256
    round: uint256
    challenger: address
    bond: uint256
    commitment: bytes32
    block: uint256

struct DataDemand:
    taskId: uint256
    round: uint256
    demander: address
    bond: uint256
    index: uint256
    deadline: uint256

struct Audit:
    round: uint256
    seedBlock: uint256
    epoch: uint256
    assigned: bool
    closed: bool
    paid: uint256

# ---------------------------------------------------------------- events

event TaskPosted:
    taskId: indexed(uint256)
    requester: indexed(address)
    specHash: bytes32
    specURI: String[MAX_URI]
    reward: uint256
    workerStake: uint256
    claimTimeout: uint256
    trainTimeout: uint256
    challengeWindow: uint256
    arithmetic: uint256

event TaskCancelled:
    taskId: indexed(uint256)
    requester: indexed(address)
    refund: uint256

event TaskClaimed:
    taskId: indexed(uint256)
    worker: indexed(address)

event ClaimExpired:
    taskId: indexed(uint256)
    worker: indexed(address)
    requester: indexed(address)
    forfeited: uint256

event TaskReopened:
    taskId: indexed(uint256)
    claimDeadline: uint256

event ResultSubmitted:
    taskId: indexed(uint256)
    worker: indexed(address)
    merkleRoot: bytes32
    numLeaves: uint256
    resultURI: String[MAX_URI]

event ChallengeCommitted:
    taskId: indexed(uint256)
    challenger: indexed(address)
    commitId: indexed(uint256)
    bond: uint256

event ChallengeExpired:
    taskId: indexed(uint256)
    commitId: indexed(uint256)
    refunded: bool

event Challenged:
    taskId: indexed(uint256)
    challenger: indexed(address)
    disputeId: indexed(uint256)
    segment: uint256
    bond: uint256
    drawBlock: uint256

event JuryDrawDeferred:
    taskId: indexed(uint256)
    disputeId: indexed(uint256)
    drawBlock: uint256

event JuryDrawn:
    taskId: indexed(uint256)
    disputeId: indexed(uint256)
    jury: DynArray[address, MAX_JURY]
    commitDeadline: uint256
    revealDeadline: uint256

event VoteCommitted:
    disputeId: indexed(uint256)
    juror: indexed(address)
    commitment: bytes32

event VoteRevealed:
    disputeId: indexed(uint256)
    juror: indexed(address)
    workerHonest: bool

event JurorPenalized:
    disputeId: indexed(uint256)
    juror: indexed(address)
    amount: uint256

event JuryRedrawn:
    taskId: indexed(uint256)
    disputeId: indexed(uint256)
    draws: uint256
    drawBlock: uint256

event DisputeResolved:
    taskId: indexed(uint256)
    disputeId: indexed(uint256)
    outcome: uint256
    honestVotes: uint256
    cheatVotes: uint256
    slashed: uint256
    jurorShare: uint256

event DataDemanded:
    taskId: indexed(uint256)
    demander: indexed(address)
    demandId: indexed(uint256)
    index: uint256
    deadline: uint256

event DataAnswered:
    taskId: indexed(uint256)
    demandId: indexed(uint256)
    index: uint256
    leaf: bytes32
    blob: bytes32

event DataFault:
    taskId: indexed(uint256)
    demandId: indexed(uint256)
    demander: indexed(address)
    slashed: uint256

event AuditorsAssigned:
    taskId: indexed(uint256)
    round: uint256
    auditors: DynArray[address, MAX_AUDITORS]

event AuditCommitted:
    taskId: indexed(uint256)
    auditor: indexed(address)
    commitment: bytes32

event AuditRevealed:
    taskId: indexed(uint256)
    auditor: indexed(address)
    segment: uint256
    leaf: bytes32
    fee: uint256

event AuditClosed:
    taskId: indexed(uint256)
    refund: uint256

event TaskFinalized:
    taskId: indexed(uint256)
    worker: indexed(address)
    payout: uint256

event Withdrawn:
    account: indexed(address)
    amount: uint256

event VerifierRegistered:
    verifier: indexed(address)
    stake: uint256
    arithmetic: uint256

event VerifierUnregistering:
    verifier: indexed(address)
    withdrawableAt: uint256

event VerifierStakeWithdrawn:
    verifier: indexed(address)
    amount: uint256

# ---------------------------------------------------------------- state

minVerifierStake: public(immutable(uint256))
minChallengeBond: public(immutable(uint256))
jurySize: public(immutable(uint256))
commitPeriod: public(immutable(uint256))
revealPeriod: public(immutable(uint256))
unbondingPeriod: public(immutable(uint256))
nonRevealPenalty: public(immutable(uint256))
jurorRewardBps: public(immutable(uint256))
wrongVotePenalty: public(immutable(uint256))
maxDraws: public(immutable(uint256))
epochLength: public(immutable(uint256))
responsePeriod: public(immutable(uint256))
auditFeeBps: public(immutable(uint256))
auditorsPerTask: public(immutable(uint256))
treasury: public(immutable(address))

# credits: what each account may withdraw. Bit 255 (WITHDRAWN) marks an account that withdrew
# before: withdraw leaves the mark instead of 0, so the account's next credit rewrites a non-zero
# slot (2,900 gas instead of 20,000). Amounts stay below 2**96, so the mark never carries.
_credits: HashMap[address, uint256]

_tasks: HashMap[uint256, Packed]
# The open-task index, 32-bit lanes packed into words:
#   word 0: next task id | open count | ids at positions 0..5
#   word k >= 1: ids at positions 6 + 8 * (k - 1) .. 13 + 8 * (k - 1)
# Lanes past the count keep stale ids, so a later push rewrites a non-zero word (cheaper).
_openWords: HashMap[uint256, uint256]
# per task, written only off the happy path: open disputes + data demands (128) | unrevealed challenge commits (128)
_counters: HashMap[uint256, uint256]

_nextId: uint256
_disputeOf: HashMap[uint256, uint256]
_disputes: HashMap[uint256, Dispute]
_juries: HashMap[uint256, DynArray[address, MAX_JURY]]
# vote key: disputeId << 8 | draw
_commitments: HashMap[uint256, HashMap[address, bytes32]]
_reveals: HashMap[uint256, HashMap[address, uint256]]
_challengeCommits: HashMap[uint256, ChallengeCommit]
_demands: HashMap[uint256, DataDemand]
_audits: HashMap[uint256, Audit]
_auditors: HashMap[uint256, DynArray[address, MAX_AUDITORS]]
_auditCommits: HashMap[uint256, HashMap[address, bytes32]]

verifierStake: public(HashMap[address, uint256])
verifierArithmetic: public(HashMap[address, uint256])
unbondingUntil: public(HashMap[address, uint256])
jurorDuties: public(HashMap[address, uint256])
totalActiveStake: public(uint256)
activeVerifiers: public(uint256)
_slotOf: HashMap[address, uint256]
_slotOwner: HashMap[uint256, address]
# Fenwick trees, one per arithmetic (0: every verifier). Each node is versioned:
#   current (112) | value at the start of `epoch` (112) | epoch (32)
_tree: HashMap[uint256, HashMap[uint256, uint256]]
# freed slots: slot (32) | epoch it was freed (224); reused only in a later epoch
_freeSlots: DynArray[uint256, VERIFIER_SLOTS]
_nextSlot: uint256


@deploy
def __init__(
    _minVerifierStake: uint256,
    _minChallengeBond: uint256,
    _jurySize: uint256,
    _commitPeriod: uint256,
    _revealPeriod: uint256,
    _unbondingPeriod: uint256,
    _nonRevealPenalty: uint256,
    _jurorRewardBps: uint256,
    _wrongVotePenalty: uint256,
    _maxDraws: uint256,
    _epochLength: uint256,
    _responsePeriod: uint256,
    _auditFeeBps: uint256,
    _auditorsPerTask: uint256,
):
    assert _minVerifierStake > 0, "bad verifier stake"
    assert _minChallengeBond > 0, "bad bond"
    assert _jurySize % 2 == 1 and _jurySize <= MAX_JURY, "bad jury size"
    assert _commitPeriod > 0 and _revealPeriod > 0 and _responsePeriod > 0, "bad period"
    assert _jurorRewardBps <= BPS and _auditFeeBps < BPS, "bad bps"
    assert _maxDraws >= 1 and _maxDraws <= MAX_DRAWS, "bad draws"
    assert _epochLength > 0 and _unbondingPeriod >= 2 * _epochLength, "bad epoch"
    assert _auditorsPerTask <= MAX_AUDITORS, "bad auditors"
    minVerifierStake = _minVerifierStake
    minChallengeBond = _minChallengeBond
    jurySize = _jurySize
    commitPeriod = _commitPeriod
    revealPeriod = _revealPeriod
    unbondingPeriod = _unbondingPeriod
    nonRevealPenalty = _nonRevealPenalty
    jurorRewardBps = _jurorRewardBps
    wrongVotePenalty = _wrongVotePenalty
    maxDraws = _maxDraws
    epochLength = _epochLength
    responsePeriod = _responsePeriod
    auditFeeBps = _auditFeeBps
    auditorsPerTask = _auditorsPerTask
    treasury = msg.sender
    self._openWords[0] = 1  # task ids start at 1
    self._nextId = 1
    self._nextSlot = 1

# ---------------------------------------------------------------- packing

@internal
@pure
def _address(word: uint256) -> address:
    return convert(convert(word & MASK_160, uint160), address)


@internal
@pure
def _pack_state(worker: address, status: uint256, deadline: uint256, numLeaves: uint256) -> uint256:
    return convert(worker, uint256) | (status << 160) | (deadline << 168) | (numLeaves << 224)


@internal
@pure
def _status(state: uint256) -> uint256:
    return (state >> 160) & 127


@internal
@pure
def _deadline(state: uint256) -> uint256:
    return (state >> 168) & MASK_56


@internal
@pure
def _stake(terms: uint256) -> uint256:
    return terms & MASK_96


@internal
@pure
def _claim_timeout(terms: uint256) -> uint256:
    return (terms >> 96) & MASK_32


@internal
@pure
def _train_timeout(terms: uint256) -> uint256:
    return (terms >> 128) & MASK_32


@internal
@pure
def _challenge_window(terms: uint256) -> uint256:
    return (terms >> 160) & MASK_32


@internal
@pure
def _submit_block(terms: uint256) -> uint256:
    return (terms >> POSITION_SHIFT) & MASK_32


@internal
@pure
def _arith(terms: uint256) -> uint256:
    return terms >> ARITH_SHIFT


@internal
@view
def _fee(head: uint256) -> uint256:
    """The verification fee inside a task's payment."""
    return (head >> 160) * auditFeeBps // BPS


@internal
@view
def _epoch() -> uint256:
    return block.timestamp // epochLength

# ---------------------------------------------------------------- open-task index


@internal
@pure
def _lane(position: uint256) -> (uint256, uint256):
    """(word, bit offset) of an open-index position."""
    if position < WORD0_LANES:
        return 0, 64 + 32 * position
    p: uint256 = position - WORD0_LANES
    return 1 + p // 8, 32 * (p % 8)


@internal
@pure
def _set_lane(word: uint256, bits: uint256, item: uint256) -> uint256:
    return (word & ~(MASK_32 << bits)) | (item << bits)


@internal
def _open_add(taskId: uint256, terms: uint256, newTask: bool) -> uint256:
    """Append taskId to the open index (newTask: also bump the next id); return terms with its position."""
    w0: uint256 = self._openWords[0]
    position: uint256 = (w0 >> 32) & MASK_32
    w0 += 1 << 32
    if newTask:
        w0 += 1
    word: uint256 = 0
    bits: uint256 = 0
    word, bits = self._lane(position)
    if word == 0:
        w0 = self._set_lane(w0, bits, taskId)
    else:
        self._openWords[word] = self._set_lane(self._openWords[word], bits, taskId)
    self._openWords[0] = w0
    return self._set_lane(terms, POSITION_SHIFT, position)


@internal
def _open_remove(terms: uint256):
    """Swap-remove the task at the position recorded in terms."""
    w0: uint256 = self._openWords[0] - (1 << 32)
    last: uint256 = (w0 >> 32) & MASK_32
    position: uint256 = (terms >> POSITION_SHIFT) & MASK_32
    if position != last:
        word: uint256 = 0
        bits: uint256 = 0
        word, bits = self._lane(last)
        moved: uint256 = 0
        if word == 0:
            moved = (w0 >> bits) & MASK_32
        else:
            moved = (self._openWords[word] >> bits) & MASK_32
        word, bits = self._lane(position)
        if word == 0:
            w0 = self._set_lane(w0, bits, moved)
        else:
            self._openWords[word] = self._set_lane(self._openWords[word], bits, moved)
        self._tasks[moved].terms = self._set_lane(self._tasks[moved].terms, POSITION_SHIFT, position)
    self._openWords[0] = w0


@internal
@view
def _open_id(position: uint256) -> uint256:
    word: uint256 = 0
    bits: uint256 = 0
    word, bits = self._lane(position)
    return (self._openWords[word] >> bits) & MASK_32


@internal
def _reopen(taskId: uint256, terms: uint256):
    deadline: uint256 = block.timestamp + self._claim_timeout(terms)
    self._tasks[taskId].terms = self._open_add(taskId, terms, False)
    self._tasks[taskId].state = self._pack_state(empty(address), OPEN, deadline, 0)
    self._tasks[taskId].root = empty(bytes32)
    self._counters[taskId] = 0
    log TaskReopened(taskId=taskId, claimDeadline=deadline)

# ---------------------------------------------------------------- Merkle proofs


@internal
@pure
def _depth(n: uint256) -> uint256:
    for d: uint256 in range(MAX_DEPTH + 1):
        if (1 << d) >= n:
            return d
    return MAX_DEPTH + 1


@internal
@pure
def _verify(root: bytes32, leaf: bytes32, index: uint256, n: uint256, proof: DynArray[bytes32, MAX_DEPTH]) -> bool:
    if index >= n or len(proof) != self._depth(n):
        return False
    node: bytes32 = keccak256(concat(b"\x00", leaf))
    i: uint256 = index
    for sibling: bytes32 in proof:
        if i % 2 == 0:
            node = keccak256(concat(b"\x01", node, sibling))
        else:
            node = keccak256(concat(b"\x01", sibling, node))
        i = i // 2
    return node == root


@external
@pure
def verifyProof(root: bytes32, leaf: bytes32, index: uint256, n: uint256, proof: DynArray[bytes32, MAX_DEPTH]) -> bool:
    """True iff leaf is leaf `index` of the n-leaf tree with this root."""
    return self._verify(root, leaf, index, n, proof)

# ---------------------------------------------------------------- tasks


@external
@payable
def postTask(
    specHash: bytes32,
    specURI: String[MAX_URI],
    workerStake: uint256,
    claimTimeout: uint256,
    trainTimeout: uint256,
    challengeWindow: uint256,
    arithmetic: uint256,
) -> uint256:
    """Post a task; msg.value is the payment: the worker's reward plus the verification fee
    (auditFeeBps of it). arithmetic: 0 for tolerance mode, else the exact arithmetic id
    every juror and auditor must have registered. Returns the task id."""
    assert msg.value > 0, "no reward"
    assert workerStake > 0, "no stake"
    assert msg.value <= MAX_AMOUNT and workerStake <= MAX_AMOUNT, "amount too big"
    assert claimTimeout > 0 and claimTimeout <= MAX_TIMEOUT, "bad timeout"
    assert trainTimeout > 0 and trainTimeout <= MAX_TIMEOUT, "bad timeout"
    assert challengeWindow > 0 and challengeWindow <= MAX_TIMEOUT, "bad timeout"
    assert arithmetic <= MASK_32, "bad arithmetic"
    taskId: uint256 = self._openWords[0] & MASK_32
    assert taskId <= MAX_TASKS, "too many tasks"
    terms: uint256 = workerStake | (claimTimeout << 96) | (trainTimeout << 128) | (challengeWindow << 160) | (arithmetic << ARITH_SHIFT)
    deadline: uint256 = block.timestamp + claimTimeout
    self._tasks[taskId].head = convert(msg.sender, uint256) | (msg.value << 160)
    self._tasks[taskId].state = self._pack_state(empty(address), OPEN, deadline, 0)
    self._tasks[taskId].terms = self._open_add(taskId, terms, True)
    log TaskPosted(
        taskId=taskId,
        requester=msg.sender,
        specHash=specHash,
        specURI=specURI,
        reward=msg.value,
        workerStake=workerStake,
        claimTimeout=claimTimeout,
        trainTimeout=trainTimeout,
        challengeWindow=challengeWindow,
        arithmetic=arithmetic,
    )
    return taskId


@external
def cancelTask(taskId: uint256):
    """Requester withdraws an unclaimed task; the reward is credited back."""
    state: uint256 = self._tasks[taskId].state
    assert state != 0, "no task"
    head: uint256 = self._tasks[taskId].head
    assert msg.sender == self._address(head), "not requester"
    assert self._status(state) == OPEN, "not open"
    self._open_remove(self._tasks[taskId].terms)
    self._tasks[taskId].state = self._pack_state(empty(address), CANCELLED, 0, 0)
    refund: uint256 = head >> 160
    self._credits[msg.sender] += refund
    log TaskCancelled(taskId=taskId, requester=msg.sender, refund=refund)


@external
@payable
def claimTask(taskId: uint256):
    """Claim an open task; msg.value must equal the task's worker stake."""
    state: uint256 = self._tasks[taskId].state
    assert state != 0, "no task"
    assert self._status(state) == OPEN, "not open"
    assert block.timestamp <= self._deadline(state), "claim closed"
    terms: uint256 = self._tasks[taskId].terms
    assert msg.value == self._stake(terms), "wrong stake"
    self._open_remove(terms)
    deadline: uint256 = block.timestamp + self._train_timeout(terms)
    self._tasks[taskId].state = self._pack_state(msg.sender, CLAIMED, deadline, 0)
    log TaskClaimed(taskId=taskId, worker=msg.sender)


@external
def expireClaim(taskId: uint256):
    """After the submit deadline of an idle claim: the stake goes to the requester, the task reopens."""
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == CLAIMED, "not claimed"
    assert block.timestamp > self._deadline(state), "not expired"
    terms: uint256 = self._tasks[taskId].terms
    requester: address = self._address(self._tasks[taskId].head)
    stake: uint256 = self._stake(terms)
    self._credits[requester] += stake
    log ClaimExpired(taskId=taskId, worker=self._address(state), requester=requester, forfeited=stake)
    self._reopen(taskId, terms)


@external
def submitResult(taskId: uint256, merkleRoot: bytes32, numLeaves: uint256, resultURI: String[MAX_URI]):
    """The claimer commits the Merkle root of its numLeaves checkpoint leaf hashes."""
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == CLAIMED, "not claimed"
    assert msg.sender == self._address(state), "not worker"
    assert block.timestamp <= self._deadline(state), "too late"
    assert numLeaves >= 2, "too few leaves"
    assert numLeaves <= MAX_LEAVES, "too many leaves"
    assert merkleRoot != empty(bytes32), "empty root"
    terms: uint256 = self._tasks[taskId].terms
    deadline: uint256 = block.timestamp + self._challenge_window(terms)
    self._tasks[taskId].terms = self._set_lane(terms, POSITION_SHIFT, block.number)
    self._tasks[taskId].state = self._pack_state(msg.sender, SUBMITTED, deadline, numLeaves)
    self._tasks[taskId].root = merkleRoot
    log ResultSubmitted(
        taskId=taskId,
        worker=msg.sender,
        merkleRoot=merkleRoot,
        numLeaves=numLeaves,
        resultURI=resultURI,
    )


@external
def finalize(taskId: uint256):
    """After the challenge window, with no dispute, data demand or challenge commitment open:
    credit reward (payment less the verification fee) + stake to the worker."""
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == SUBMITTED, "not submitted"
    assert block.timestamp > self._deadline(state), "window open"
    if state & COUNTED != 0:
        assert self._counters[taskId] == 0, "disputes open"
    worker: address = self._address(state)
    head: uint256 = self._tasks[taskId].head
    payout: uint256 = (head >> 160) - self._fee(head) + self._stake(self._tasks[taskId].terms)
    self._tasks[taskId].state = (state & ~(255 << 160)) | (FINALIZED << 160)
    self._credits[worker] += payout
    log TaskFinalized(taskId=taskId, worker=worker, payout=payout)


@external
@nonreentrant
def withdraw():
    """Send the caller everything credited to it."""
    amount: uint256 = self._credits[msg.sender] & (WITHDRAWN - 1)
    assert amount > 0, "nothing to withdraw"
    self._credits[msg.sender] = WITHDRAWN
    log Withdrawn(account=msg.sender, amount=amount)
    ok: bool = raw_call(msg.sender, b"", value=amount, revert_on_failure=False)
    assert ok, "transfer failed"

# ---------------------------------------------------------------- verifiers and the stake snapshot


@internal
def _tree_update(arith: uint256, slot: uint256, amount: uint256, add: bool):
    """Add or take amount at slot; a node's first write in an epoch saves its value at the
    epoch's start, so draws in this epoch never see a change made in it."""
    epoch: uint256 = self._epoch()
    i: uint256 = slot
    for _: uint256 in range(SLOT_BITS + 1):
        if i > VERIFIER_SLOTS:
            break
        w: uint256 = self._tree[arith][i]
        cur: uint256 = w & MASK_112
        snap: uint256 = (w >> 112) & MASK_112
        if (w >> 224) != epoch:
            snap = cur
        if add:
            cur += amount
        else:
            cur -= amount
        self._tree[arith][i] = cur | (snap << 112) | (epoch << 224)
        i += i & (~i + 1)


@internal
def _stake_update(verifier: address, amount: uint256, add: bool):
    slot: uint256 = self._slotOf[verifier]
    arith: uint256 = self.verifierArithmetic[verifier]
    self._tree_update(0, slot, amount, add)
    if arith != 0:
        self._tree_update(arith, slot, amount, add)
    if add:
        self.totalActiveStake += amount
    else:
        self.totalActiveStake -= amount


@internal
@view
def _snap(arith: uint256, node: uint256, epoch: uint256) -> uint256:
    """A tree node's value at the start of `epoch` (the current one)."""
    w: uint256 = self._tree[arith][node]
    if (w >> 224) == epoch:
        return (w >> 112) & MASK_112
    return w & MASK_112


@internal
@view
def _is_active(verifier: address) -> bool:
    return self._slotOf[verifier] != 0 and self.unbondingUntil[verifier] == 0


@internal
@view
def _min_stake_now() -> uint256:
    """minVerifierStake, doubled for every STAKE_STEP active verifiers: nobody can fill the set."""
    doublings: uint256 = self.activeVerifiers // STAKE_STEP
    assert doublings < MAX_DOUBLINGS, "set full"
    return minVerifierStake << doublings


@internal
def _take_slot() -> uint256:
    """A slot freed in an earlier epoch (so no snapshot still weighs its old owner), else a new one."""
    n: uint256 = len(self._freeSlots)
    if n > 0:
        top: uint256 = self._freeSlots[n - 1]
        if (top >> 32) < self._epoch():
            self._freeSlots.pop()
            return top & MASK_32
    slot: uint256 = self._nextSlot
    assert slot <= VERIFIER_SLOTS, "verifiers full"
    self._nextSlot = slot + 1
    return slot


@external
@payable
def registerVerifier(arithmetic: uint256):
    """Join the verifier set with msg.value as stake (at least minStakeNow()), or add stake.

    arithmetic: the exact arithmetic this verifier replays (0: tolerance mode only); fixed at
    the first registration. Stake changes weigh in jury draws from the next epoch on.
    """
    assert self.unbondingUntil[msg.sender] == 0, "unregistering"
    slot: uint256 = self._slotOf[msg.sender]
    if slot == 0:
        assert msg.value >= self._min_stake_now(), "stake too low"
        assert arithmetic <= MASK_32, "bad arithmetic"
        slot = self._take_slot()
        self._slotOf[msg.sender] = slot
        self._slotOwner[slot] = msg.sender
        self.verifierArithmetic[msg.sender] = arithmetic
        self.activeVerifiers += 1
    else:
        assert msg.value > 0, "stake too low"
        assert arithmetic == self.verifierArithmetic[msg.sender], "arithmetic"
    stake: uint256 = self.verifierStake[msg.sender] + msg.value
    assert stake <= MAX_AMOUNT, "amount too big"
    self.verifierStake[msg.sender] = stake
    self._stake_update(msg.sender, msg.value, True)
    log VerifierRegistered(verifier=msg.sender, stake=stake, arithmetic=arithmetic)


@external
def unregister():
    """Leave the verifier set (from the next epoch on); withdraw the stake after unbondingPeriod."""
    assert self._slotOf[msg.sender] != 0, "not verifier"
    assert self.unbondingUntil[msg.sender] == 0, "unregistering"
    self._stake_update(msg.sender, self.verifierStake[msg.sender], False)
    self.activeVerifiers -= 1
    until: uint256 = block.timestamp + unbondingPeriod
    self.unbondingUntil[msg.sender] = until
    log VerifierUnregistering(verifier=msg.sender, withdrawableAt=until)


@external
def withdrawStake():
    """After the unbonding period and with no open jury duty: credit the stake back."""
    until: uint256 = self.unbondingUntil[msg.sender]
    assert until != 0, "not unregistering"
    assert block.timestamp >= until, "cooling down"
    assert self.jurorDuties[msg.sender] == 0, "on a jury"
    slot: uint256 = self._slotOf[msg.sender]
    amount: uint256 = self.verifierStake[msg.sender]
    self.verifierStake[msg.sender] = 0
    self.unbondingUntil[msg.sender] = 0
    self.verifierArithmetic[msg.sender] = 0
    self._slotOf[msg.sender] = 0
    self._slotOwner[slot] = empty(address)
    self._freeSlots.append(slot | (self._epoch() << 32))
    self._credits[msg.sender] += amount
    log VerifierStakeWithdrawn(verifier=msg.sender, amount=amount)


@external
@view
def isVerifier(account: address) -> bool:
    """True iff account is registered and not unbonding."""
    return self._is_active(account)


# ---------------------------------------------------------------- draws


@internal
@view
def _search(arith: uint256, target: uint256, epoch: uint256) -> uint256:
    """The slot whose snapshot cumulative stake first exceeds target."""
    pos: uint256 = 0
    rest: uint256 = target
    step: uint256 = VERIFIER_SLOTS // 2
    for _: uint256 in range(SLOT_BITS):
        node: uint256 = pos + step
        weight: uint256 = self._snap(arith, node, epoch)
        if weight <= rest:
            pos = node
            rest -= weight
        step = step // 2
    return pos + 1


@internal
@view
def _draw(seed: bytes32, arith: uint256, count: uint256, a: address, b: address) -> DynArray[address, MAX_JURY]:
    """Up to count distinct verifiers of `arith`, weighted by this epoch's snapshot, never a or b."""
    epoch: uint256 = self._epoch()
    total: uint256 = self._snap(arith, VERIFIER_SLOTS, epoch)
    drawn: DynArray[address, MAX_JURY] = []
    if total == 0:
        return drawn
    for i: uint256 in range(MAX_TRIES):
        if len(drawn) == count:
            break
        target: uint256 = convert(keccak256(abi_encode(seed, i)), uint256) % total
        who: address = self._slotOwner[self._search(arith, target, epoch)]
        if who == a or who == b or who == empty(address) or who in drawn:
            continue
        drawn.append(who)
    return drawn

# ---------------------------------------------------------------- challenges: commit, then reveal


@internal
@view
def _in_window(taskId: uint256) -> uint256:
    """The state word of a task whose result is still in its challenge window."""
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == SUBMITTED, "not submitted"
    assert block.timestamp <= self._deadline(state), "window closed"
    return state


@internal
@view
def _challenge_bond(taskId: uint256) -> uint256:
    return max(minChallengeBond, self._stake(self._tasks[taskId].terms))


@internal
@view
def _current(taskId: uint256, round: uint256) -> bool:
    """True iff the task still holds the result submitted in block `round`."""
    return (
        self._status(self._tasks[taskId].state) == SUBMITTED
        and self._submit_block(self._tasks[taskId].terms) == round
    )


@external
@payable
def commitChallenge(taskId: uint256, commitment: bytes32) -> uint256:
    """Commit to a challenge of a submitted result before the window ends; msg.value is the
    bond, exactly challengeBond(taskId). commitment = challengeCommitment(taskId, segment, salt,
    msg.sender); only the committer can reveal it, so copying the reveal wins nothing."""
    state: uint256 = self._in_window(taskId)
    assert msg.sender != self._address(state), "own result"
    assert msg.value == self._challenge_bond(taskId), "wrong bond"
    assert commitment != empty(bytes32), "empty commitment"
    commitId: uint256 = self._nextId
    self._nextId = commitId + 1
    self._challengeCommits[commitId] = ChallengeCommit(
        taskId=taskId,
        round=self._submit_block(self._tasks[taskId].terms),
        challenger=msg.sender,
        bond=msg.value,
        commitment=commitment,
        block=block.number,
    )
    self._counters[taskId] += 1 << 128
    self._tasks[taskId].state = state | COUNTED
    log ChallengeCommitted(taskId=taskId, challenger=msg.sender, commitId=commitId, bond=msg.value)
    return commitId


@external
def revealChallenge(
    commitId: uint256,
    segment: uint256,
    leafA: bytes32,
    proofA: DynArray[bytes32, MAX_DEPTH],
    leafB: bytes32,
    proofB: DynArray[bytes32, MAX_DEPTH],
    salt: bytes32,
) -> uint256:
    """Open a committed challenge of segment `segment` (leaf segment -> segment+1), within
    revealPeriod of the window's end: a dispute starts. Returns the dispute id."""
    c: ChallengeCommit = self._challengeCommits[commitId]
    assert c.commitment != empty(bytes32), "no commitment"
    assert msg.sender == c.challenger, "not committer"
    assert block.number > c.block, "same block"
    taskId: uint256 = c.taskId
    assert self._current(taskId, c.round), "replaced"
    state: uint256 = self._tasks[taskId].state
    assert block.timestamp <= self._deadline(state) + revealPeriod, "reveal closed"
    assert keccak256(abi_encode(taskId, segment, salt, msg.sender)) == c.commitment, "bad reveal"
    n: uint256 = state >> 224
    assert segment < n - 1, "bad segment"
    root: bytes32 = self._tasks[taskId].root
    assert self._verify(root, leafA, segment, n, proofA), "bad proof"
    assert self._verify(root, leafB, segment + 1, n, proofB), "bad proof"
    self._challengeCommits[commitId].commitment = empty(bytes32)
    self._challengeCommits[commitId].bond = 0
    self._counters[taskId] = self._counters[taskId] - (1 << 128) + 1
    disputeId: uint256 = self._nextId
    self._nextId = disputeId + 1
    self._disputeOf[taskId] = disputeId
    drawBlock: uint256 = block.number + 1
    self._disputes[disputeId] = Dispute(
        taskId=taskId,
        round=c.round,
        challenger=msg.sender,
        bond=c.bond,
        segment=segment,
        status=D_OPEN,
        draws=1,
        drawBlock=drawBlock,
        epoch=self._epoch(),
        commitDeadline=0,
        revealDeadline=0,
        honestVotes=0,
        cheatVotes=0,
    )
    log Challenged(
        taskId=taskId, challenger=msg.sender, disputeId=disputeId, segment=segment, bond=c.bond, drawBlock=drawBlock
    )
    return disputeId


@external
def expireChallenge(commitId: uint256):
    """Close a commitment never revealed: after the reveal period its bond goes to the worker;
    if the result was replaced meanwhile, it goes back to the committer."""
    c: ChallengeCommit = self._challengeCommits[commitId]
    assert c.commitment != empty(bytes32), "no commitment"
    self._challengeCommits[commitId].commitment = empty(bytes32)
    self._challengeCommits[commitId].bond = 0
    refunded: bool = not self._current(c.taskId, c.round)
    if refunded:
        self._credits[c.challenger] += c.bond
    else:
        state: uint256 = self._tasks[c.taskId].state
        assert block.timestamp > self._deadline(state) + revealPeriod, "reveal open"
        self._counters[c.taskId] -= 1 << 128
        self._credits[self._address(state)] += c.bond
    log ChallengeExpired(taskId=c.taskId, commitId=commitId, refunded=refunded)

# ---------------------------------------------------------------- the jury


@external
def drawJury(disputeId: uint256):
    """Draw the jury from the hash of the dispute's draw block, weighted by the stake snapshot
    of the epoch the draw block was fixed in (callable by anyone, in that epoch). Otherwise,
    or if the hash left the 256-block window, the draw moves to the next block."""
    assert self._disputes[disputeId].status == D_OPEN, "not open"
    assert self._disputes[disputeId].commitDeadline == 0, "jury drawn"
    drawBlock: uint256 = self._disputes[disputeId].drawBlock
    assert block.number > drawBlock, "too early"
    taskId: uint256 = self._disputes[disputeId].taskId
    if block.number > drawBlock + BLOCKHASH_WINDOW or self._epoch() != self._disputes[disputeId].epoch:
        self._disputes[disputeId].drawBlock = block.number + 1
        self._disputes[disputeId].epoch = self._epoch()
        log JuryDrawDeferred(taskId=taskId, disputeId=disputeId, drawBlock=block.number + 1)
        return
    jury: DynArray[address, MAX_JURY] = self._draw(
        keccak256(abi_encode(blockhash(drawBlock), disputeId)),
        self._arith(self._tasks[taskId].terms),
        jurySize,
        self._disputes[disputeId].challenger,
        self._address(self._tasks[taskId].state),
    )
    for juror: address in jury:
        self.jurorDuties[juror] += 1
    commitDeadline: uint256 = block.timestamp + commitPeriod
    revealDeadline: uint256 = commitDeadline + revealPeriod
    self._juries[disputeId] = jury
    self._disputes[disputeId].commitDeadline = commitDeadline
    self._disputes[disputeId].revealDeadline = revealDeadline
    log JuryDrawn(
        taskId=taskId, disputeId=disputeId, jury=jury, commitDeadline=commitDeadline, revealDeadline=revealDeadline
    )


@internal
@view
def _jury_drawn(disputeId: uint256) -> uint256:
    """The commit deadline of an open dispute whose jury is drawn."""
    assert self._disputes[disputeId].status == D_OPEN, "not open"
    commitDeadline: uint256 = self._disputes[disputeId].commitDeadline
    assert commitDeadline != 0, "no jury"
    return commitDeadline


@internal
@view
def _vote_key(disputeId: uint256) -> uint256:
    return (disputeId << 8) | self._disputes[disputeId].draws


@external
def commitVote(disputeId: uint256, commitment: bytes32):
    """A juror commits keccak256(abi_encode(workerHonest: bool, salt: bytes32, juror: address))."""
    commitDeadline: uint256 = self._jury_drawn(disputeId)
    assert block.timestamp <= commitDeadline, "commit closed"
    assert msg.sender in self._juries[disputeId], "not juror"
    key: uint256 = self._vote_key(disputeId)
    assert self._commitments[key][msg.sender] == empty(bytes32), "already committed"
    assert commitment != empty(bytes32), "empty commitment"
    self._commitments[key][msg.sender] = commitment
    log VoteCommitted(disputeId=disputeId, juror=msg.sender, commitment=commitment)


@external
def revealVote(disputeId: uint256, workerHonest: bool, salt: bytes32):
    """A juror opens its commitment between the commit and the reveal deadline."""
    commitDeadline: uint256 = self._jury_drawn(disputeId)
    assert block.timestamp > commitDeadline, "commit open"
    assert block.timestamp <= self._disputes[disputeId].revealDeadline, "reveal closed"
    key: uint256 = self._vote_key(disputeId)
    commitment: bytes32 = self._commitments[key][msg.sender]
    assert commitment != empty(bytes32), "no commit"
    assert self._reveals[key][msg.sender] == 0, "already revealed"
    assert keccak256(abi_encode(workerHonest, salt, msg.sender)) == commitment, "bad reveal"
    if workerHonest:
        self._reveals[key][msg.sender] = VOTE_HONEST
        self._disputes[disputeId].honestVotes += 1
    else:
        self._reveals[key][msg.sender] = VOTE_CHEAT
        self._disputes[disputeId].cheatVotes += 1
    log VoteRevealed(disputeId=disputeId, juror=msg.sender, workerHonest=workerHonest)


@internal
def _penalize(disputeId: uint256, juror: address, amount: uint256) -> uint256:
    """Take amount (at most the remaining stake) from a juror's stake."""
    stake: uint256 = self.verifierStake[juror]
    penalty: uint256 = min(amount, stake)
    if penalty == 0:
        return 0
    self.verifierStake[juror] = stake - penalty
    if self._is_active(juror):
        self._stake_update(juror, penalty, False)
    log JurorPenalized(disputeId=disputeId, juror=juror, amount=penalty)
    return penalty


@internal
def _share(pool: uint256, key: uint256, jury: DynArray[address, MAX_JURY], vote: uint256, winners: uint256) -> uint256:
    """Credit pool equally to the jurors whose reveal is `vote` (any reveal if vote is 0); return the dust."""
    if winners == 0:
        return pool
    share: uint256 = pool // winners
    for juror: address in jury:
        r: uint256 = self._reveals[key][juror]
        if r != 0 and (vote == 0 or r == vote):
            self._credits[juror] += share
    return pool - share * winners


@external
def resolve(disputeId: uint256):
    """After the reveal deadline: settle the dispute by the majority of revealed votes.

    A decision needs more than jurySize/2 reveals and no tie. Then the loser's stake (worker)
    or bond (challenger) is slashed: jurorRewardBps of it, plus every juror fine, is shared by
    the jurors who voted with the outcome, the rest goes to the winner. A juror who did not
    reveal is fined nonRevealPenalty; one who voted against the outcome, wrongVotePenalty.
    Without a decision the non-revealers' fines go to the jurors who revealed and a new jury
    is drawn, up to maxDraws; then the dispute is void: the bond goes back to the challenger,
    the stake to the worker, and the task reopens (no vote ever pays the worker).
    A dispute whose result was replaced meanwhile (another dispute won) is void at once.
    """
    d: Dispute = self._disputes[disputeId]
    assert d.status == D_OPEN, "not open"
    jury: DynArray[address, MAX_JURY] = self._juries[disputeId]
    taskId: uint256 = d.taskId
    live: bool = self._current(taskId, d.round)
    if live:
        assert d.commitDeadline != 0, "no jury"
        assert block.timestamp > d.revealDeadline, "reveal open"
    key: uint256 = (disputeId << 8) | d.draws
    revealed: uint256 = d.honestVotes + d.cheatVotes
    decided: bool = live and revealed > jurySize // 2 and d.honestVotes != d.cheatVotes
    winningVote: uint256 = VOTE_HONEST
    winners: uint256 = d.honestVotes
    if d.cheatVotes > d.honestVotes:
        winningVote = VOTE_CHEAT
        winners = d.cheatVotes
    pool: uint256 = 0
    for juror: address in jury:
        self.jurorDuties[juror] -= 1
        if not live:
            continue
        r: uint256 = self._reveals[key][juror]
        if r == 0:
            pool += self._penalize(disputeId, juror, nonRevealPenalty)
        elif decided and r != winningVote:
            pool += self._penalize(disputeId, juror, wrongVotePenalty)
    state: uint256 = self._tasks[taskId].state
    terms: uint256 = self._tasks[taskId].terms
    if decided:
        slashed: uint256 = d.bond
        if winningVote == VOTE_CHEAT:
            slashed = self._stake(terms)
        jurorCut: uint256 = slashed * jurorRewardBps // BPS
        dust: uint256 = self._share(jurorCut + pool, key, jury, winningVote, winners)
        winnerPayout: uint256 = slashed - jurorCut + dust
        outcome: uint256 = D_WORKER_WON
        if winningVote == VOTE_HONEST:
            self._credits[self._address(state)] += winnerPayout
            self._counters[taskId] -= 1
        else:
            outcome = D_CHALLENGER_WON
            self._credits[d.challenger] += d.bond + winnerPayout
        self._disputes[disputeId].status = outcome
        log DisputeResolved(
            taskId=taskId, disputeId=disputeId, outcome=outcome, honestVotes=d.honestVotes,
            cheatVotes=d.cheatVotes, slashed=slashed, jurorShare=(jurorCut + pool) // winners,
        )
        if outcome == D_CHALLENGER_WON:
            self._reopen(taskId, terms)
        return
    unshared: uint256 = self._share(pool, key, jury, 0, revealed)
    self._credits[treasury] += unshared
    if live and d.draws < maxDraws:
        drawBlock: uint256 = block.number + 1
        self._disputes[disputeId].draws = d.draws + 1
        self._disputes[disputeId].drawBlock = drawBlock
        self._disputes[disputeId].epoch = self._epoch()
        self._disputes[disputeId].commitDeadline = 0
        self._disputes[disputeId].revealDeadline = 0
        self._disputes[disputeId].honestVotes = 0
        self._disputes[disputeId].cheatVotes = 0
        self._juries[disputeId] = []
        log JuryRedrawn(taskId=taskId, disputeId=disputeId, draws=d.draws + 1, drawBlock=drawBlock)
        return
    self._disputes[disputeId].status = D_VOID
    self._credits[d.challenger] += d.bond
    log DisputeResolved(
        taskId=taskId, disputeId=disputeId, outcome=D_VOID, honestVotes=d.honestVotes,
        cheatVotes=d.cheatVotes, slashed=0, jurorShare=0,
    )
    if live:
        stake: uint256 = self._stake(terms)
        self._credits[self._address(state)] += stake
        self._reopen(taskId, terms)

# ---------------------------------------------------------------- data availability


@external
@payable
def demandData(taskId: uint256, index: uint256) -> uint256:
    """Demand checkpoint `index` of a submitted result before its window ends; msg.value is
    exactly minChallengeBond (paid to the worker when it answers). Returns the demand id."""
    state: uint256 = self._in_window(taskId)
    assert msg.sender != self._address(state), "own result"
    assert msg.value == minChallengeBond, "wrong bond"
    assert index < state >> 224, "bad index"
    demandId: uint256 = self._nextId
    self._nextId = demandId + 1
    deadline: uint256 = block.timestamp + responsePeriod
    self._demands[demandId] = DataDemand(
        taskId=taskId,
        round=self._submit_block(self._tasks[taskId].terms),
        demander=msg.sender,
        bond=msg.value,
        index=index,
        deadline=deadline,
    )
    self._counters[taskId] += 1
    self._tasks[taskId].state = state | COUNTED
    log DataDemanded(taskId=taskId, demander=msg.sender, demandId=demandId, index=index, deadline=deadline)
    return demandId


@external
def answerData(demandId: uint256, leaf: bytes32, blob: bytes32, proof: DynArray[bytes32, MAX_DEPTH]):
    """The worker answers a demand in time: the leaf (proven against its root) and the blob
    address of the checkpoint, both fixed on chain from now on."""
    q: DataDemand = self._demands[demandId]
    assert q.bond != 0, "no demand"
    assert self._current(q.taskId, q.round), "replaced"
    state: uint256 = self._tasks[q.taskId].state
    assert msg.sender == self._address(state), "not worker"
    assert block.timestamp <= q.deadline, "too late"
    assert self._verify(self._tasks[q.taskId].root, leaf, q.index, state >> 224, proof), "bad proof"
    self._demands[demandId].bond = 0
    self._counters[q.taskId] -= 1
    self._credits[msg.sender] += q.bond
    log DataAnswered(taskId=q.taskId, demandId=demandId, index=q.index, leaf=leaf, blob=blob)


@external
def claimDataFault(demandId: uint256):
    """After an unanswered response window: the worker's stake and the bond go to the demander
    and the task reopens. A demand on a replaced result just returns the bond."""
    q: DataDemand = self._demands[demandId]
    assert q.bond != 0, "no demand"
    self._demands[demandId].bond = 0
    slashed: uint256 = 0
    if self._current(q.taskId, q.round):
        assert block.timestamp > q.deadline, "response open"
        terms: uint256 = self._tasks[q.taskId].terms
        slashed = self._stake(terms)
        self._credits[q.demander] += q.bond + slashed
        log DataFault(taskId=q.taskId, demandId=demandId, demander=q.demander, slashed=slashed)
        self._reopen(q.taskId, terms)
    else:
        self._credits[q.demander] += q.bond
        log DataFault(taskId=q.taskId, demandId=demandId, demander=q.demander, slashed=0)

# ---------------------------------------------------------------- paid audits


@internal
@view
def _audit_key(taskId: uint256, round: uint256) -> uint256:
    return (taskId << 32) | round


@external
def assignAuditors(taskId: uint256):
    """Draw auditorsPerTask auditors of a submitted result (callable by anyone during the
    window, from the block after the submit on): seed = the hash of the block after the submit,
    weights = the stake snapshot of the submit's epoch. If that epoch or hash is gone, the
    draw moves to the next block."""
    state: uint256 = self._in_window(taskId)
    terms: uint256 = self._tasks[taskId].terms
    round: uint256 = self._submit_block(terms)
    if self._audits[taskId].round != round:
        self._audits[taskId] = Audit(
            round=round,
            seedBlock=round + 1,
            epoch=(self._deadline(state) - self._challenge_window(terms)) // epochLength,
            assigned=False,
            closed=False,
            paid=0,
        )
    assert not self._audits[taskId].assigned, "assigned"
    seedBlock: uint256 = self._audits[taskId].seedBlock
    assert block.number > seedBlock, "too early"
    if block.number > seedBlock + BLOCKHASH_WINDOW or self._epoch() != self._audits[taskId].epoch:
        self._audits[taskId].seedBlock = block.number + 1
        self._audits[taskId].epoch = self._epoch()
        return
    worker: address = self._address(state)
    drawn: DynArray[address, MAX_JURY] = self._draw(
        keccak256(abi_encode(blockhash(seedBlock), taskId, round)), self._arith(terms), auditorsPerTask, worker, worker
    )
    auditors: DynArray[address, MAX_AUDITORS] = []
    for who: address in drawn:
        auditors.append(who)
    self._auditors[taskId] = auditors
    self._audits[taskId].assigned = True
    log AuditorsAssigned(taskId=taskId, round=round, auditors=auditors)


@external
def commitAudit(taskId: uint256, commitment: bytes32):
    """An assigned auditor commits, before the window ends, to what it replayed:
    commitment = keccak256(abi_encode(taskId, leaf, salt, auditor)), where the segment it
    replayed is auditSegment(taskId, salt) (its own randomness, hidden until revealed) and
    leaf is the leaf it computed at the segment's end."""
    state: uint256 = self._in_window(taskId)
    round: uint256 = self._submit_block(self._tasks[taskId].terms)
    assert self._audits[taskId].round == round and self._audits[taskId].assigned, "not assigned"
    assert msg.sender in self._auditors[taskId], "not assigned"
    key: uint256 = self._audit_key(taskId, round)
    assert self._auditCommits[key][msg.sender] == empty(bytes32), "already committed"
    assert commitment != empty(bytes32), "empty commitment"
    self._auditCommits[key][msg.sender] = commitment
    log AuditCommitted(taskId=taskId, auditor=msg.sender, commitment=commitment)


@internal
@view
def _audit_segment(taskId: uint256, salt: bytes32, n: uint256) -> uint256:
    return convert(keccak256(abi_encode(salt, taskId)), uint256) % (n - 1)


@external
def revealAudit(taskId: uint256, leaf: bytes32, proof: DynArray[bytes32, MAX_DEPTH], salt: bytes32):
    """Once the result is final: open an audit commitment; if its leaf proves against the root
    at the end of the salt's segment, the auditor is paid its share of the verification fee."""
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == FINALIZED, "not finalized"
    round: uint256 = self._submit_block(self._tasks[taskId].terms)
    assert self._audits[taskId].round == round and not self._audits[taskId].closed, "audit closed"
    key: uint256 = self._audit_key(taskId, round)
    commitment: bytes32 = self._auditCommits[key][msg.sender]
    assert commitment != empty(bytes32), "no commit"
    assert keccak256(abi_encode(taskId, leaf, salt, msg.sender)) == commitment, "bad reveal"
    n: uint256 = state >> 224
    segment: uint256 = self._audit_segment(taskId, salt, n)
    assert self._verify(self._tasks[taskId].root, leaf, segment + 1, n, proof), "bad proof"
    self._auditCommits[key][msg.sender] = empty(bytes32)
    fee: uint256 = self._fee(self._tasks[taskId].head) // auditorsPerTask
    self._audits[taskId].paid += fee
    self._credits[msg.sender] += fee
    log AuditRevealed(taskId=taskId, auditor=msg.sender, segment=segment, leaf=leaf, fee=fee)


@external
def closeAudit(taskId: uint256):
    """revealPeriod after the window of a final result: the unpaid verification fee goes back
    to the requester (all of it if no auditor was assigned or none revealed)."""
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == FINALIZED, "not finalized"
    assert block.timestamp > self._deadline(state) + revealPeriod, "reveal open"
    round: uint256 = self._submit_block(self._tasks[taskId].terms)
    paid: uint256 = 0
    if self._audits[taskId].round == round:
        assert not self._audits[taskId].closed, "audit closed"
        paid = self._audits[taskId].paid
    else:
        self._audits[taskId].round = round
    self._audits[taskId].closed = True
    head: uint256 = self._tasks[taskId].head
    refund: uint256 = self._fee(head) - paid
    self._credits[self._address(head)] += refund
    log AuditClosed(taskId=taskId, refund=refund)

# ---------------------------------------------------------------- views


@external
@view
def getTask(taskId: uint256) -> Task:
    p: Packed = self._tasks[taskId]
    assert p.state != 0, "no task"
    status: uint256 = self._status(p.state)
    submitBlock: uint256 = 0
    if status != OPEN and status != CANCELLED:
        submitBlock = self._submit_block(p.terms)
    counters: uint256 = self._counters[taskId]
    return Task(
        requester=self._address(p.head),
        reward=p.head >> 160,
        worker=self._address(p.state),
        workerStake=self._stake(p.terms),
        status=status,
        deadline=self._deadline(p.state),
        numLeaves=p.state >> 224,
        claimTimeout=self._claim_timeout(p.terms),
        trainTimeout=self._train_timeout(p.terms),
        challengeWindow=self._challenge_window(p.terms),
        merkleRoot=p.root,
        disputeId=self._disputeOf[taskId],
        arithmetic=self._arith(p.terms),
        submitBlock=submitBlock,
        verificationFee=self._fee(p.head),
        openDisputes=counters & MASK_128,
        pendingChallenges=counters >> 128,
    )


@external
@view
def credits(account: address) -> uint256:
    """What account may withdraw now."""
    return self._credits[account] & (WITHDRAWN - 1)


@external
@view
def taskCount() -> uint256:
    """Number of tasks ever posted; ids run from 1 to taskCount()."""
    return (self._openWords[0] & MASK_32) - 1


@external
@view
def openTaskCount() -> uint256:
    return (self._openWords[0] >> 32) & MASK_32


@external
@view
def openTasks(offset: uint256, limit: uint256) -> DynArray[uint256, MAX_PAGE]:
    """Ids of open tasks at index positions offset .. offset+limit-1 (limit capped at 100).

    Order is not stable: removing a task moves the last one into its place.
    """
    count: uint256 = (self._openWords[0] >> 32) & MASK_32
    ids: DynArray[uint256, MAX_PAGE] = []
    for i: uint256 in range(MAX_PAGE):
        if i >= limit or offset + i >= count:
            break
        ids.append(self._open_id(offset + i))
    return ids


@external
@view
def challengeBond(taskId: uint256) -> uint256:
    """The exact bond commitChallenge() expects for this task."""
    return self._challenge_bond(taskId)


@external
@view
def getDispute(disputeId: uint256) -> Dispute:
    return self._disputes[disputeId]


@external
@view
def jury(disputeId: uint256) -> DynArray[address, MAX_JURY]:
    return self._juries[disputeId]


@external
@view
def voteOf(disputeId: uint256, juror: address) -> (bytes32, uint256):
    """A juror's commitment and reveal (0 none, 1 worker honest, 2 worker cheated) in the
    dispute's current draw."""
    key: uint256 = self._vote_key(disputeId)
    return self._commitments[key][juror], self._reveals[key][juror]


@external
@view
def getDemand(demandId: uint256) -> DataDemand:
    return self._demands[demandId]


@external
@view
def getAudit(taskId: uint256) -> Audit:
    return self._audits[taskId]


@external
@view
def auditors(taskId: uint256) -> DynArray[address, MAX_AUDITORS]:
    """The auditors assigned to the task's latest audited result."""
    return self._auditors[taskId]
