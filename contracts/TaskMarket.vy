# pragma version 0.4.3
"""
@title idlegrid TaskMarket
@license MIT
@notice Escrowed, verifiable ML training tasks. A requester posts a task with its reward
        escrowed; a worker claims it with a stake, trains, and commits the Merkle root of its
        checkpoint leaf hashes; during the challenge window anyone may challenge one segment
        with a bond; a stake-weighted jury of verifiers settles the dispute by commit-reveal.
@dev    Every payout is a credit that its owner pulls with `withdraw`.
        The spec hash and URIs live only in events (`TaskPosted`, `ResultSubmitted`);
        storage keeps what the contract itself checks, packed into three words per task
        plus the Merkle root.
        Merkle rules: engine/commit/merkle.py (leaf node keccak256(0x00 || leaf), inner node
        keccak256(0x01 || left || right), depth = ceil(log2(n)), zero-padded bottom level).
"""

# ---------------------------------------------------------------- constants

MAX_JURY: constant(uint256) = 9
MAX_EXCLUDED: constant(uint256) = MAX_JURY + 2
MAX_DEPTH: constant(uint256) = 32
MAX_URI: constant(uint256) = 256
MAX_PAGE: constant(uint256) = 100
BPS: constant(uint256) = 10000
# Fenwick tree over verifier slots (1-based); a power of two
VERIFIER_SLOTS: constant(uint256) = 1024
SLOT_BITS: constant(uint256) = 10
# blockhash() reaches back this many blocks
BLOCKHASH_WINDOW: constant(uint256) = 256

# task status, kept in bits 160..167 of the state word
OPEN: constant(uint256) = 0
CLAIMED: constant(uint256) = 1
SUBMITTED: constant(uint256) = 2
CHALLENGED: constant(uint256) = 3
ACCEPTED: constant(uint256) = 4
FINALIZED: constant(uint256) = 5
CANCELLED: constant(uint256) = 6

# juror reveal marks
VOTE_HONEST: constant(uint256) = 1
VOTE_CHEAT: constant(uint256) = 2

MASK_32: constant(uint256) = (1 << 32) - 1
MASK_56: constant(uint256) = (1 << 56) - 1
MASK_96: constant(uint256) = (1 << 96) - 1
MASK_160: constant(uint256) = (1 << 160) - 1
POSITION_SHIFT: constant(uint256) = 192
WORD0_LANES: constant(uint256) = 6
MAX_AMOUNT: constant(uint256) = MASK_96
MAX_TIMEOUT: constant(uint256) = MASK_32
MAX_LEAVES: constant(uint256) = MASK_32
MAX_TASKS: constant(uint256) = MASK_32 - 1

# ---------------------------------------------------------------- storage layout

# One task = three packed words + the root.
#   head:  requester (160) | reward (96)
#   state: worker (160) | status (8) | deadline (56) | numLeaves (32)
#          deadline: claim-by while OPEN, submit-by while CLAIMED,
#          end of the challenge window from SUBMITTED on
#   terms: workerStake (96) | claimTimeout (32) | trainTimeout (32)
#          | challengeWindow (32) | position in the open index (32)
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

struct Dispute:
    taskId: uint256
    challenger: address
    bond: uint256
    segment: uint256
    drawBlock: uint256
    commitDeadline: uint256
    revealDeadline: uint256
    honestVotes: uint256
    cheatVotes: uint256
    jury: DynArray[address, MAX_JURY]

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
    claimDeadline: uint256

event TaskCancelled:
    taskId: indexed(uint256)
    requester: indexed(address)
    refund: uint256

event TaskClaimed:
    taskId: indexed(uint256)
    worker: indexed(address)
    stake: uint256
    submitDeadline: uint256

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
    challengeDeadline: uint256

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
    taskId: indexed(uint256)
    juror: indexed(address)
    commitment: bytes32

event VoteRevealed:
    taskId: indexed(uint256)
    juror: indexed(address)
    workerHonest: bool

event JurorPenalized:
    taskId: indexed(uint256)
    juror: indexed(address)
    amount: uint256

event DisputeResolved:
    taskId: indexed(uint256)
    disputeId: indexed(uint256)
    workerWon: bool
    honestVotes: uint256
    cheatVotes: uint256
    slashed: uint256
    jurorShare: uint256

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

credits: public(HashMap[address, uint256])

_tasks: HashMap[uint256, Packed]
# The open-task index, 32-bit lanes packed into words:
#   word 0: next task id | open count | ids at positions 0..5
#   word k >= 1: ids at positions 6 + 8 * (k - 1) .. 13 + 8 * (k - 1)
# Lanes past the count keep stale ids, so a later push rewrites a non-zero word (cheaper).
_openWords: HashMap[uint256, uint256]

_nextDisputeId: uint256
_disputeOf: HashMap[uint256, uint256]
_disputes: HashMap[uint256, Dispute]
_commitments: HashMap[uint256, HashMap[address, bytes32]]
_reveals: HashMap[uint256, HashMap[address, uint256]]

verifierStake: public(HashMap[address, uint256])
unbondingUntil: public(HashMap[address, uint256])
jurorDuties: public(HashMap[address, uint256])
totalActiveStake: public(uint256)
_slotOf: HashMap[address, uint256]
_slotOwner: HashMap[uint256, address]
_tree: HashMap[uint256, uint256]
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
):
    assert _minVerifierStake > 0, "bad verifier stake"
    assert _minChallengeBond > 0, "bad bond"
    assert _jurySize % 2 == 1 and _jurySize <= MAX_JURY, "bad jury size"
    assert _commitPeriod > 0 and _revealPeriod > 0, "bad period"
    assert _jurorRewardBps <= BPS, "bad bps"
    minVerifierStake = _minVerifierStake
    minChallengeBond = _minChallengeBond
    jurySize = _jurySize
    commitPeriod = _commitPeriod
    revealPeriod = _revealPeriod
    unbondingPeriod = _unbondingPeriod
    nonRevealPenalty = _nonRevealPenalty
    jurorRewardBps = _jurorRewardBps
    self._openWords[0] = 1  # task ids start at 1
    self._nextDisputeId = 1
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
    return (state >> 160) & 255


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
@nonreentrant
def postTask(
    specHash: bytes32,
    specURI: String[MAX_URI],
    workerStake: uint256,
    claimTimeout: uint256,
    trainTimeout: uint256,
    challengeWindow: uint256,
) -> uint256:
    """Post a task; msg.value is the escrowed reward. Returns the task id."""
    assert msg.value > 0, "no reward"
    assert workerStake > 0, "no stake"
    assert msg.value <= MAX_AMOUNT and workerStake <= MAX_AMOUNT, "amount too big"
    assert claimTimeout > 0 and claimTimeout <= MAX_TIMEOUT, "bad timeout"
    assert trainTimeout > 0 and trainTimeout <= MAX_TIMEOUT, "bad timeout"
    assert challengeWindow > 0 and challengeWindow <= MAX_TIMEOUT, "bad timeout"
    taskId: uint256 = self._openWords[0] & MASK_32
    assert taskId <= MAX_TASKS, "too many tasks"
    terms: uint256 = workerStake | (claimTimeout << 96) | (trainTimeout << 128) | (challengeWindow << 160)
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
        claimDeadline=deadline,
    )
    return taskId


@external
@nonreentrant
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
    self.credits[msg.sender] += refund
    log TaskCancelled(taskId=taskId, requester=msg.sender, refund=refund)


@external
@payable
@nonreentrant
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
    log TaskClaimed(taskId=taskId, worker=msg.sender, stake=msg.value, submitDeadline=deadline)


@external
@nonreentrant
def expireClaim(taskId: uint256):
    """After the submit deadline of an idle claim: the stake goes to the requester, the task reopens."""
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == CLAIMED, "not claimed"
    assert block.timestamp > self._deadline(state), "not expired"
    terms: uint256 = self._tasks[taskId].terms
    requester: address = self._address(self._tasks[taskId].head)
    stake: uint256 = self._stake(terms)
    self.credits[requester] += stake
    log ClaimExpired(taskId=taskId, worker=self._address(state), requester=requester, forfeited=stake)
    self._reopen(taskId, terms)


@external
@nonreentrant
def submitResult(taskId: uint256, merkleRoot: bytes32, numLeaves: uint256, resultURI: String[MAX_URI]):
    """The claimer commits the Merkle root of its numLeaves checkpoint leaf hashes."""
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == CLAIMED, "not claimed"
    assert msg.sender == self._address(state), "not worker"
    assert block.timestamp <= self._deadline(state), "too late"
    assert numLeaves >= 2, "too few leaves"
    assert numLeaves <= MAX_LEAVES, "too many leaves"
    assert merkleRoot != empty(bytes32), "empty root"
    deadline: uint256 = block.timestamp + self._challenge_window(self._tasks[taskId].terms)
    self._tasks[taskId].state = self._pack_state(msg.sender, SUBMITTED, deadline, numLeaves)
    self._tasks[taskId].root = merkleRoot
    log ResultSubmitted(
        taskId=taskId,
        worker=msg.sender,
        merkleRoot=merkleRoot,
        numLeaves=numLeaves,
        resultURI=resultURI,
        challengeDeadline=deadline,
    )


@external
@nonreentrant
def finalize(taskId: uint256):
    """After an unchallenged window, or a dispute the worker won: credit reward + stake to the worker."""
    state: uint256 = self._tasks[taskId].state
    status: uint256 = self._status(state)
    if status == SUBMITTED:
        assert block.timestamp > self._deadline(state), "window open"
    else:
        assert status == ACCEPTED, "not submitted"
    worker: address = self._address(state)
    payout: uint256 = (self._tasks[taskId].head >> 160) + self._stake(self._tasks[taskId].terms)
    self._tasks[taskId].state = (state & ~(255 << 160)) | (FINALIZED << 160)
    self.credits[worker] += payout
    log TaskFinalized(taskId=taskId, worker=worker, payout=payout)


@external
@nonreentrant
def withdraw():
    """Send the caller everything credited to it."""
    amount: uint256 = self.credits[msg.sender]
    assert amount > 0, "nothing to withdraw"
    self.credits[msg.sender] = 0
    log Withdrawn(account=msg.sender, amount=amount)
    ok: bool = raw_call(msg.sender, b"", value=amount, revert_on_failure=False)
    assert ok, "transfer failed"

# ---------------------------------------------------------------- verifiers


@internal
def _tree_add(slot: uint256, amount: uint256):
    i: uint256 = slot
    for _: uint256 in range(SLOT_BITS + 1):
        if i > VERIFIER_SLOTS:
            break
        self._tree[i] += amount
        i += i & (~i + 1)


@internal
def _tree_sub(slot: uint256, amount: uint256):
    i: uint256 = slot
    for _: uint256 in range(SLOT_BITS + 1):
        if i > VERIFIER_SLOTS:
            break
        self._tree[i] -= amount
        i += i & (~i + 1)


@internal
@view
def _is_active(verifier: address) -> bool:
    return self._slotOf[verifier] != 0 and self.unbondingUntil[verifier] == 0


@external
@payable
@nonreentrant
def registerVerifier():
    """Join the verifier set with msg.value as stake (at least minVerifierStake), or add stake."""
    assert self.unbondingUntil[msg.sender] == 0, "unregistering"
    slot: uint256 = self._slotOf[msg.sender]
    if slot == 0:
        assert msg.value >= minVerifierStake, "stake too low"
        if len(self._freeSlots) > 0:
            slot = self._freeSlots.pop()
        else:
            slot = self._nextSlot
            assert slot <= VERIFIER_SLOTS, "verifiers full"
            self._nextSlot = slot + 1
        self._slotOf[msg.sender] = slot
        self._slotOwner[slot] = msg.sender
    else:
        assert msg.value > 0, "stake too low"
    stake: uint256 = self.verifierStake[msg.sender] + msg.value
    self.verifierStake[msg.sender] = stake
    self.totalActiveStake += msg.value
    self._tree_add(slot, msg.value)
    log VerifierRegistered(verifier=msg.sender, stake=stake)


@external
@nonreentrant
def unregister():
    """Leave the jury pool; the stake can be withdrawn after unbondingPeriod."""
    assert self._slotOf[msg.sender] != 0, "not verifier"
    assert self.unbondingUntil[msg.sender] == 0, "unregistering"
    stake: uint256 = self.verifierStake[msg.sender]
    self._tree_sub(self._slotOf[msg.sender], stake)
    self.totalActiveStake -= stake
    until: uint256 = block.timestamp + unbondingPeriod
    self.unbondingUntil[msg.sender] = until
    log VerifierUnregistering(verifier=msg.sender, withdrawableAt=until)


@external
@nonreentrant
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
    self._slotOf[msg.sender] = 0
    self._slotOwner[slot] = empty(address)
    self._freeSlots.append(slot)
    self.credits[msg.sender] += amount
    log VerifierStakeWithdrawn(verifier=msg.sender, amount=amount)


@external
@view
def isVerifier(account: address) -> bool:
    """True iff account is registered and not unbonding (so it can be drawn)."""
    return self._is_active(account)

# ---------------------------------------------------------------- disputes


@internal
@view
def _challenge_bond(taskId: uint256) -> uint256:
    return max(minChallengeBond, self._stake(self._tasks[taskId].terms))


@external
@payable
@nonreentrant
def challenge(
    taskId: uint256,
    segment: uint256,
    leafA: bytes32,
    proofA: DynArray[bytes32, MAX_DEPTH],
    leafB: bytes32,
    proofB: DynArray[bytes32, MAX_DEPTH],
):
    """Dispute segment `segment` (leaf segment -> leaf segment+1) of a submitted result.

    msg.value is the bond: exactly challengeBond(taskId) = max(minChallengeBond, workerStake).
    """
    state: uint256 = self._tasks[taskId].state
    assert self._status(state) == SUBMITTED, "not submitted"
    assert block.timestamp <= self._deadline(state), "window closed"
    assert msg.sender != self._address(state), "own result"
    assert msg.value == self._challenge_bond(taskId), "wrong bond"
    n: uint256 = state >> 224
    assert segment < n - 1, "bad segment"
    root: bytes32 = self._tasks[taskId].root
    assert self._verify(root, leafA, segment, n, proofA), "bad proof"
    assert self._verify(root, leafB, segment + 1, n, proofB), "bad proof"
    disputeId: uint256 = self._nextDisputeId
    self._nextDisputeId = disputeId + 1
    self._disputeOf[taskId] = disputeId
    drawBlock: uint256 = block.number + 1
    self._disputes[disputeId] = Dispute(
        taskId=taskId,
        challenger=msg.sender,
        bond=msg.value,
        segment=segment,
        drawBlock=drawBlock,
        commitDeadline=0,
        revealDeadline=0,
        honestVotes=0,
        cheatVotes=0,
        jury=[],
    )
    self._tasks[taskId].state = (state & ~(255 << 160)) | (CHALLENGED << 160)
    log Challenged(
        taskId=taskId, challenger=msg.sender, disputeId=disputeId, segment=segment, bond=msg.value, drawBlock=drawBlock
    )


@internal
@view
def _search(target: uint256, excluded: DynArray[uint256, MAX_EXCLUDED], weights: DynArray[uint256, MAX_EXCLUDED]) -> uint256:
    """The slot whose cumulative weight first exceeds target, the excluded slots weighing nothing."""
    pos: uint256 = 0
    rest: uint256 = target
    step: uint256 = VERIFIER_SLOTS // 2
    for _: uint256 in range(SLOT_BITS):
        node: uint256 = pos + step
        weight: uint256 = self._tree[node]
        for k: uint256 in range(len(excluded), bound=MAX_EXCLUDED):
            if excluded[k] > pos and excluded[k] <= node:
                weight -= weights[k]
        if weight <= rest:
            pos = node
            rest -= weight
        step = step // 2
    return pos + 1


@internal
@view
def _draw(seed: bytes32, challenger: address, worker: address) -> DynArray[address, MAX_JURY]:
    """Up to jurySize distinct active verifiers, stake-weighted, never a party to the dispute."""
    excluded: DynArray[uint256, MAX_EXCLUDED] = []
    weights: DynArray[uint256, MAX_EXCLUDED] = []
    total: uint256 = self.totalActiveStake
    for party: address in [challenger, worker]:
        if self._is_active(party):
            excluded.append(self._slotOf[party])
            weights.append(self.verifierStake[party])
            total -= self.verifierStake[party]
    jury: DynArray[address, MAX_JURY] = []
    for i: uint256 in range(MAX_JURY):
        if i == jurySize or total == 0:
            break
        target: uint256 = convert(keccak256(abi_encode(seed, i)), uint256) % total
        slot: uint256 = self._search(target, excluded, weights)
        juror: address = self._slotOwner[slot]
        jury.append(juror)
        excluded.append(slot)
        weights.append(self.verifierStake[juror])
        total -= self.verifierStake[juror]
    return jury


@internal
@view
def _open_dispute(taskId: uint256) -> uint256:
    assert self._status(self._tasks[taskId].state) == CHALLENGED, "not challenged"
    return self._disputeOf[taskId]


@external
@nonreentrant
def drawJury(taskId: uint256):
    """Draw the jury from the hash of the dispute's draw block (callable by anyone).

    If that hash has left the 256-block window, the draw moves to the next block instead.
    """
    disputeId: uint256 = self._open_dispute(taskId)
    assert self._disputes[disputeId].commitDeadline == 0, "jury drawn"
    drawBlock: uint256 = self._disputes[disputeId].drawBlock
    assert block.number > drawBlock, "too early"
    if block.number > drawBlock + BLOCKHASH_WINDOW:
        self._disputes[disputeId].drawBlock = block.number + 1
        log JuryDrawDeferred(taskId=taskId, disputeId=disputeId, drawBlock=block.number + 1)
        return
    jury: DynArray[address, MAX_JURY] = self._draw(
        blockhash(drawBlock),
        self._disputes[disputeId].challenger,
        self._address(self._tasks[taskId].state),
    )
    for juror: address in jury:
        self.jurorDuties[juror] += 1
    commitDeadline: uint256 = block.timestamp + commitPeriod
    revealDeadline: uint256 = commitDeadline + revealPeriod
    self._disputes[disputeId].jury = jury
    self._disputes[disputeId].commitDeadline = commitDeadline
    self._disputes[disputeId].revealDeadline = revealDeadline
    log JuryDrawn(
        taskId=taskId, disputeId=disputeId, jury=jury, commitDeadline=commitDeadline, revealDeadline=revealDeadline
    )


@external
@nonreentrant
def commitVote(taskId: uint256, commitment: bytes32):
    """A juror commits keccak256(abi_encode(workerHonest: bool, salt: bytes32, juror: address))."""
    disputeId: uint256 = self._open_dispute(taskId)
    commitDeadline: uint256 = self._disputes[disputeId].commitDeadline
    assert commitDeadline != 0, "no jury"
    assert block.timestamp <= commitDeadline, "commit closed"
    assert msg.sender in self._disputes[disputeId].jury, "not juror"
    assert self._commitments[disputeId][msg.sender] == empty(bytes32), "already committed"
    assert commitment != empty(bytes32), "empty commitment"
    self._commitments[disputeId][msg.sender] = commitment
    log VoteCommitted(taskId=taskId, juror=msg.sender, commitment=commitment)


@external
@nonreentrant
def revealVote(taskId: uint256, workerHonest: bool, salt: bytes32):
    """A juror opens its commitment between the commit and the reveal deadline."""
    disputeId: uint256 = self._open_dispute(taskId)
    commitDeadline: uint256 = self._disputes[disputeId].commitDeadline
    assert commitDeadline != 0, "no jury"
    assert block.timestamp > commitDeadline, "commit open"
    assert block.timestamp <= self._disputes[disputeId].revealDeadline, "reveal closed"
    commitment: bytes32 = self._commitments[disputeId][msg.sender]
    assert commitment != empty(bytes32), "no commit"
    assert self._reveals[disputeId][msg.sender] == 0, "already revealed"
    assert keccak256(abi_encode(workerHonest, salt, msg.sender)) == commitment, "bad reveal"
    if workerHonest:
        self._reveals[disputeId][msg.sender] = VOTE_HONEST
        self._disputes[disputeId].honestVotes += 1
    else:
        self._reveals[disputeId][msg.sender] = VOTE_CHEAT
        self._disputes[disputeId].cheatVotes += 1
    log VoteRevealed(taskId=taskId, juror=msg.sender, workerHonest=workerHonest)


@internal
def _penalize(taskId: uint256, juror: address) -> uint256:
    """Take the non-reveal penalty (at most the remaining stake) from a juror's stake."""
    stake: uint256 = self.verifierStake[juror]
    penalty: uint256 = min(nonRevealPenalty, stake)
    if penalty == 0:
        return 0
    self.verifierStake[juror] = stake - penalty
    if self._is_active(juror):
        self._tree_sub(self._slotOf[juror], penalty)
        self.totalActiveStake -= penalty
    log JurorPenalized(taskId=taskId, juror=juror, amount=penalty)
    return penalty


@external
@nonreentrant
def resolve(taskId: uint256):
    """After the reveal deadline: settle the dispute by the majority of revealed votes.

    The challenger wins only with strictly more `cheat` than `honest` votes; a tie or no
    reveal leaves the commitment standing. The loser's stake (worker) or bond (challenger)
    is slashed: jurorRewardBps of it, plus every non-reveal penalty, is shared equally by the
    jurors who voted with the outcome; the rest (and any rounding dust) goes to the winner.
    """
    disputeId: uint256 = self._open_dispute(taskId)
    d: Dispute = self._disputes[disputeId]
    assert d.commitDeadline != 0, "no jury"
    assert block.timestamp > d.revealDeadline, "reveal open"
    workerWon: bool = d.cheatVotes <= d.honestVotes
    winningVote: uint256 = VOTE_CHEAT
    winners: uint256 = d.cheatVotes
    terms: uint256 = self._tasks[taskId].terms
    slashed: uint256 = self._stake(terms)
    if workerWon:
        winningVote = VOTE_HONEST
        winners = d.honestVotes
        slashed = d.bond
    jurorCut: uint256 = slashed * jurorRewardBps // BPS
    pool: uint256 = jurorCut
    for juror: address in d.jury:
        self.jurorDuties[juror] -= 1
        if self._reveals[disputeId][juror] == 0:
            pool += self._penalize(taskId, juror)
    share: uint256 = 0
    if winners > 0:
        share = pool // winners
        for juror: address in d.jury:
            if self._reveals[disputeId][juror] == winningVote:
                self.credits[juror] += share
    winnerPayout: uint256 = slashed - jurorCut + pool - share * winners
    state: uint256 = self._tasks[taskId].state
    if workerWon:
        self.credits[self._address(state)] += winnerPayout
        self._tasks[taskId].state = (state & ~(255 << 160)) | (ACCEPTED << 160)
    else:
        self.credits[d.challenger] += d.bond + winnerPayout
    log DisputeResolved(
        taskId=taskId,
        disputeId=disputeId,
        workerWon=workerWon,
        honestVotes=d.honestVotes,
        cheatVotes=d.cheatVotes,
        slashed=slashed,
        jurorShare=share,
    )
    if not workerWon:
        self._reopen(taskId, terms)

# ---------------------------------------------------------------- views


@external
@view
def getTask(taskId: uint256) -> Task:
    p: Packed = self._tasks[taskId]
    assert p.state != 0, "no task"
    return Task(
        requester=self._address(p.head),
        reward=p.head >> 160,
        worker=self._address(p.state),
        workerStake=self._stake(p.terms),
        status=self._status(p.state),
        deadline=self._deadline(p.state),
        numLeaves=p.state >> 224,
        claimTimeout=self._claim_timeout(p.terms),
        trainTimeout=self._train_timeout(p.terms),
        challengeWindow=self._challenge_window(p.terms),
        merkleRoot=p.root,
        disputeId=self._disputeOf[taskId],
    )


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
    """The exact bond challenge() expects for this task."""
    return self._challenge_bond(taskId)


@external
@view
def getDispute(taskId: uint256) -> Dispute:
    """The latest dispute of a task (all zero if it never had one)."""
    return self._disputes[self._disputeOf[taskId]]


@external
@view
def jury(taskId: uint256) -> DynArray[address, MAX_JURY]:
    return self._disputes[self._disputeOf[taskId]].jury


@external
@view
def voteOf(taskId: uint256, juror: address) -> (bytes32, uint256):
    """A juror's commitment and reveal (0 none, 1 worker honest, 2 worker cheated) in the latest dispute."""
    disputeId: uint256 = self._disputeOf[taskId]
    return self._commitments[disputeId][juror], self._reveals[disputeId][juror]
