"""``idlegrid network``: deploy a TaskMarket and manage the network profiles.

``deploy --rpc URL --name NAME`` deploys TaskMarket from the shipped artifact (v2 unless
``--market v1``, chosen as ``idlegrid devnet`` chooses; signed by the wallet, or ``--dev-account N``
on a local anvil), after showing what that version will cost and asking (``--yes`` skips the
question), then writes the profile. ``add`` records a market someone else
deployed (checked on its node), ``list`` shows the profiles and ``use`` picks the one every
command and the app run on. See docs/network.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.commands.options import market_options, market_version
from engine.errors import UsageError

GWEI = 10**9
ANVIL_CHAIN_ID = 31337


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("network", help="deploy TaskMarket and choose which network to use",
                              description="Network profiles: deploy, add, list, use (see docs/network.md).")
    sub = p.add_subparsers(dest="network_command", metavar="ACTION")
    p.set_defaults(func=lambda args: _help(p))

    deploy = sub.add_parser("deploy", parents=[market_options()],
                            help="deploy TaskMarket (v2 unless --market v1) on a node and write a profile for it",
                            description="Deploy TaskMarket (v2 unless --market v1) and write a profile for it, "
                                        "after showing what it costs (see docs/network.md).")
    _profile_options(deploy)
    deploy.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a constructor parameter of the chosen version (e.g. jurySize=5; v2 only: "
                             "auditFeeBps=500); the others keep the devnet's values")
    deploy.add_argument("--dev-account", type=int, metavar="N",
                        help="sign with anvil's public test account N (only on a local anvil, chain 31337)")
    deploy.add_argument("--passphrase-file", type=Path, metavar="FILE",
                        help="the wallet keystore's passphrase, from the first line of FILE")
    deploy.add_argument("--yes", action="store_true", help="deploy without asking")
    deploy.set_defaults(func=_deploy)

    add = sub.add_parser("add", help="record a TaskMarket someone deployed (checked on its node)")
    _profile_options(add)
    add.add_argument("--market", required=True, metavar="ADDR", help="the TaskMarket address")
    add.add_argument("--deploy-block", type=int, required=True, metavar="N",
                     help="the block it was deployed in (events are read from there)")
    add.set_defaults(func=_add)

    ls = sub.add_parser("list", help="the profiles; * marks the one in use")
    ls.set_defaults(func=_list)

    use = sub.add_parser("use", help="run every command and the app on profile NAME")
    use.add_argument("name", metavar="NAME")
    use.set_defaults(func=_use)


def _profile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="the profile's name (lower-case letters, digits, - and _)")
    p.add_argument("--rpc", action="append", required=True, metavar="URL",
                   help="an RPC endpoint; repeat for fallbacks, tried in order when one fails")
    p.add_argument("--blob-url", metavar="URL", help="the network's blob server")
    p.add_argument("--confirmations", type=int, default=2, metavar="N",
                   help="blocks on top of an event before it is acted on (default 2)")
    p.add_argument("--max-fee-gwei", type=float, metavar="GWEI",
                   help="never pay more than this per gas (default: no ceiling)")
    p.add_argument("--log-range", type=int, default=2_000, metavar="BLOCKS",
                   help="the most blocks one eth_getLogs asks for (default 2000; halved when the node refuses)")
    p.add_argument("--price-feed", metavar="URL",
                   help="a JSON endpoint quoting 1 ETH, for the app's fiat view (https; http only to this machine); "
                        "needs --price-path and --price-currency")
    p.add_argument("--price-path", metavar="KEYS", help="the dotted path to the price in its answer, e.g. ethereum.usd")
    p.add_argument("--price-currency", metavar="CODE", help="the currency it quotes, e.g. USD")
    p.add_argument("--use", action="store_true", help="also make it the profile in use")
    p.add_argument("--replace", action="store_true", help="overwrite a profile of the same name")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _deploy(args: argparse.Namespace) -> int:
    from engine.chain.rpc import connect
    from engine.network.deploy import constructor_arguments, deploy_cost, deploy_market, market_contract

    _check_name(args.name)
    _price_feed(args)
    version = market_version(args)
    params = _params(args.param)
    arguments = constructor_arguments(version, params)      # refuses a parameter the version lacks, offline
    w3 = connect(args.rpc[0])
    chain_id = int(w3.eth.chain_id)
    signer = _signer(args, chain_id)
    gas, wei = deploy_cost(w3, signer, version=version, constructor=params)
    print(f"deploy {market_contract(version).title} on chain {chain_id} via {args.rpc[0]}\n"
          f"  from {signer.address}\n  about {gas:,} gas, {wei / 10**18:.6g} ETH at today's fees\n"
          "  parameters " + ", ".join(f"{k} {v}" for k, v in arguments.items()))
    if not args.yes and not _confirmed():
        print("not deployed")
        return 1
    deployed = deploy_market(w3, signer, version=version, constructor=params)
    profile = _profile(args, chain_id=chain_id, market=deployed.market_address, deploy_block=deployed.deploy_block,
                       params=deployed.constructor, code_hash=deployed.code_hash,
                       source_sha256=deployed.source_sha256)
    print(f"deployed TaskMarket at {deployed.market_address} in block {deployed.deploy_block} "
          f"({deployed.version.value})")
    return _save(profile, args)


def _add(args: argparse.Namespace) -> int:
    from engine.chain.errors import NotDeployed
    from engine.chain.market import has_code
    from engine.chain.rpc import connect
    from engine.chain.version import market_version
    from engine.network.client import market_at
    from engine.network.deploy import code_hash

    _check_name(args.name)
    _price_feed(args)
    w3 = connect(args.rpc[0])
    market = _address(args.market)
    if not has_code(w3, market):
        raise NotDeployed(market, args.rpc[0])
    version = market_version(w3, market)
    params = vars(market_at(w3, market, version).params())      # each version's own parameters
    words = "code of neither shipped version, read as v1" if version is None else version.value
    print(f"TaskMarket {words} at {market}: " + ", ".join(f"{k} {v}" for k, v in params.items()))
    profile = _profile(args, chain_id=int(w3.eth.chain_id), market=market, deploy_block=args.deploy_block,
                       params=params, code_hash=code_hash(w3, market), source_sha256=None)
    return _save(profile, args)


def _list(args: argparse.Namespace) -> int:
    from engine.network.profiles import (
        ProfileError,
        active_profile,
        list_profiles,
        load_profile,
    )

    active = active_profile()
    for name in list_profiles():
        mark = "*" if name == active else " "
        try:
            p = load_profile(name)
        except ProfileError as e:
            print(f"{mark} {name:<16} ({e.message})")
            continue
        print(f"{mark} {name:<16} chain {p.chain_id:<9} market {p.market_address}  {p.rpc_urls[0]}")
    if active is None:
        print("(no profile in use: [network] in the settings is used as written)")
    return 0


def _use(args: argparse.Namespace) -> int:
    from engine.network.profiles import use_profile

    profile = use_profile(args.name)
    print(f"using network {profile.name}: chain {profile.chain_id}, market {profile.market_address}")
    return 0


def _profile(args: argparse.Namespace, **fields: Any) -> Any:
    from pydantic import ValidationError

    from engine.network.profiles import Profile

    max_fee = None if args.max_fee_gwei is None else int(args.max_fee_gwei * GWEI)
    try:
        return Profile(name=args.name, chain_id=fields["chain_id"], market_address=fields["market"],
                       deploy_block=fields["deploy_block"], rpc_urls=args.rpc, blob_url=args.blob_url,
                       params=fields["params"], code_hash=fields["code_hash"],
                       source_sha256=fields["source_sha256"], confirmations=args.confirmations,
                       max_fee_per_gas=max_fee, log_range=args.log_range, price_feed=_price_feed(args))
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise UsageError(f"the profile's {where}: {err['msg']}", hint="fix the matching option") from None


def _price_feed(args: argparse.Namespace) -> Any:
    """The profile's ``price_feed`` (a ``PriceFeed``, or None) from the three options, all given or
    none; checked before anything is deployed or written."""
    from pydantic import ValidationError

    from engine.network.price_feed import PriceFeed

    given = {"url": args.price_feed, "path": args.price_path, "currency": args.price_currency}
    if not any(given.values()):
        return None
    missing = [f"--price-{'feed' if key == 'url' else key}" for key, value in given.items() if not value]
    if missing:
        raise UsageError(f"a price feed needs {', '.join(missing)} too",
                         hint="give --price-feed URL --price-path KEYS --price-currency CODE together, or none")
    try:
        return PriceFeed(**given)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise UsageError(f"the profile's price_feed.{where}: {err['msg']}",
                         hint="fix --price-feed, --price-path or --price-currency") from None


def _save(profile: Any, args: argparse.Namespace) -> int:
    from engine.network.profiles import save_profile, use_profile

    path = save_profile(profile, replace=args.replace)
    print(f"wrote profile {profile.name} to {path}")
    if args.use:
        use_profile(profile.name)
        print(f"using network {profile.name}")
    else:
        print(f"use it with: idlegrid network use {profile.name}")
    return 0


def _signer(args: argparse.Namespace, chain_id: int) -> Any:
    if args.dev_account is not None:
        from engine.chain.devkeys import dev_signer

        if chain_id != ANVIL_CHAIN_ID:
            raise UsageError(f"--dev-account works only on a local anvil (chain {ANVIL_CHAIN_ID}), "
                             f"this node serves chain {chain_id}: dev keys are public",
                             hint="leave --dev-account out to sign with your wallet")
        return dev_signer(args.dev_account, devnet=True)
    from engine.wallet import load_signer

    passphrase = None
    if args.passphrase_file is not None:
        try:
            passphrase = args.passphrase_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError) as e:
            raise UsageError(f"cannot read --passphrase-file {args.passphrase_file}: {e}") from None
    return load_signer(passphrase, chain_id=chain_id)


def _params(values: list[str]) -> dict[str, int]:
    params = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not number.strip().isdigit():
            raise UsageError(f"--param {value!r} is not NAME=INTEGER", hint="e.g. --param jurySize=5")
        params[name.strip()] = int(number)
    return params


def _check_name(name: str) -> None:
    from engine.network.profiles import DEVNET, check_name

    try:
        check_name(name)
    except ValueError as e:
        raise UsageError(f"--name: {e}") from None
    if name == DEVNET:
        raise UsageError("'devnet' is the built-in profile of the local devnet", hint="pick another --name")


def _address(value: str) -> str:
    from eth_utils.address import is_address, to_checksum_address

    if not is_address(value):
        raise UsageError(f"--market {value!r} is not an Ethereum address (0x + 40 hex digits)")
    return to_checksum_address(value)


def _confirmed() -> bool:
    if not sys.stdin.isatty():
        raise UsageError("deploying needs a confirmation and there is no terminal to ask",
                         hint="pass --yes to deploy without asking")
    return input("deploy? [y/N] ").strip().lower() in ("y", "yes")
