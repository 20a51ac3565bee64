"""End-to-end tests of the network: real anvil, real blob server, every actor a subprocess.

test_network.py   requester, four cheaters, an honest worker, four verifiers and their juries
test_faults.py    kill -9 at three points, a 30 s node outage, lying blob servers, limits
test_cheats.py    the four cheating strategies against the real replay
test_flaky_blobs.py  the lying blob server against the real HTTP client
test_real_chain*.py  a deployed profile on a 2 s block chain: fee spike and a dead endpoint,
                  reorgs, a cheat slashed by a jury

cheats.py (how to fake a job), cheater.py (the cheating worker), network.py (anvil + market +
blob server), actors.py (accounts and homes), roles.py (the commands), procs.py (subprocesses
and their logs), chainwatch.py (waiting on and jumping the chain's clock), ledger.py (where
every wei went), txs.py (calls per account), flaky_blobs.py (the lying blob server),
realchain.py (keystore homes, the CLI, a deployed profile).
"""
