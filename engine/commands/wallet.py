"""``idlegrid wallet``: create, show, export, import and delete the worker's key.

Secrets never travel on the command line (it lands in shell history and ``ps``): the hex
key is read from stdin, passphrases from the terminal or ``--passphrase-file``.
engine.wallet (eth-account, keyring) is imported only when a wallet command runs, so other
commands start fast.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.wallet.identity import WalletInfo
    from engine.wallet.keys import SecretKey

STANDARD_SCRYPT_N = 262144  # geth's standard, as engine.wallet.keystore (a test checks they agree)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "wallet", help="the worker's Ethereum key (OS keyring or keystore file)",
        description="Create, show, export, import and delete the wallet key. It lives in the OS "
        "keyring (service 'idlegrid') or, with --keystore, only in an encrypted keystore v3 file.",
    )
    parser.set_defaults(func=lambda args: _help(parser))
    sub = parser.add_subparsers(dest="wallet_command", metavar="ACTION")

    create = sub.add_parser("create", help="make a new key and keep it in the OS keyring")
    create.add_argument("--keystore", type=Path, metavar="FILE",
                        help="keep the key only in this new encrypted keystore file, not in the keyring")
    _passphrase_option(create)
    _replace_option(create)
    create.set_defaults(func=_create)

    show = sub.add_parser("show", help="the address and where the key lives (never the key)")
    show.set_defaults(func=_show)

    export = sub.add_parser("export", help="write the key to a keystore v3 file (geth, MetaMask)")
    export.add_argument("file", type=Path, metavar="FILE")
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    _passphrase_option(export)
    export.set_defaults(func=_export)

    imp = sub.add_parser("import", help="bring a key from a keystore v3 file or hex on stdin")
    source = imp.add_mutually_exclusive_group()
    source.add_argument("file", type=Path, nargs="?", metavar="FILE",
                        help="keystore v3 JSON to copy into the OS keyring")
    source.add_argument("--hex", action="store_true",
                        help="read a hex private key from stdin (not echoed on a terminal)")
    imp.add_argument("--keystore", type=Path, metavar="FILE",
                     help="keep the key in this encrypted keystore file instead of the keyring "
                     "(alone: use an existing keystore file in place; with --hex: write a new one)")
    _passphrase_option(imp)
    _replace_option(imp)
    imp.set_defaults(func=_import)

    delete = sub.add_parser("delete", help="remove the key (export it first!)")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(func=_delete)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--passphrase-file", type=Path, metavar="FILE",
                        help="read the passphrase from the first line of FILE instead of asking")
    # Tests only: a cheaper scrypt cost than geth's standard n=262144.
    parser.add_argument("--scrypt-n", type=int, default=STANDARD_SCRYPT_N, help=argparse.SUPPRESS)


def _replace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replace", action="store_true",
                        help="replace a different existing wallet (its keyring entry is removed)")


def _read_passphrase_file(path: Path) -> str:
    try:
        lines = path.expanduser().read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UsageError(f"cannot read the passphrase file {path}: {e.strerror}",
                         hint="give a readable file whose first line is the passphrase") from None
    if not lines or not lines[0]:
        raise UsageError(f"the passphrase file {path} is empty",
                         hint="put the passphrase on its first line")
    return lines[0]


def _new_passphrase(args: argparse.Namespace) -> str:
    if args.passphrase_file:
        return _read_passphrase_file(args.passphrase_file)
    first = getpass.getpass("New passphrase for the keystore file: ")
    if not first:
        raise UsageError("the passphrase is empty", hint="choose a passphrase you will remember")
    if getpass.getpass("Repeat the passphrase: ") != first:
        raise UsageError("the two passphrases differ", hint="run the command again and type the same passphrase twice")
    return first


def _existing_passphrase(args: argparse.Namespace, path: Path) -> str:
    if args.passphrase_file:
        return _read_passphrase_file(args.passphrase_file)
    return getpass.getpass(f"Passphrase of {path}: ")


def _print_info(info: WalletInfo) -> None:
    print(f"address: {info.address}")
    print(f"key:     {info.location}")


def _create(args: argparse.Namespace) -> int:
    from engine.wallet import identity
    from engine.wallet.keys import SecretKey

    key = SecretKey.generate()
    if args.keystore:
        info = identity.keep_in_keystore(key, args.keystore, _new_passphrase(args),
                                         replace=args.replace, scrypt_n=args.scrypt_n)
    else:
        info = identity.keep_in_keyring(key, replace=args.replace)
    print("created a new wallet")
    _print_info(info)
    if not args.keystore:
        print("back it up: idlegrid wallet export FILE")
    return 0


def _show(args: argparse.Namespace) -> int:
    from engine.wallet import identity

    _print_info(identity.info())
    return 0


def _export(args: argparse.Namespace) -> int:
    from engine.wallet import identity

    wallet = identity.current()
    unlock = (lambda: getpass.getpass(f"Passphrase of {wallet.keystore}: ")) if wallet.keystore else None
    path = identity.export(args.file, _new_passphrase(args), unlock=unlock,
                           scrypt_n=args.scrypt_n, overwrite=args.force)
    print(f"exported {wallet.address} to {path} (keystore v3, scrypt n={args.scrypt_n} r=8 p=1)")
    print("keep the file and its passphrase safe: together they give full control of the funds")
    return 0


def _read_hex_key() -> SecretKey:
    from engine.wallet.keys import SecretKey

    text = getpass.getpass("Private key (hex, not shown): ") if sys.stdin.isatty() else sys.stdin.readline()
    return SecretKey.from_hex(text)


def _import(args: argparse.Namespace) -> int:
    from engine.wallet import identity, keystore

    if args.hex:
        key = _read_hex_key()
        if args.keystore:
            info = identity.keep_in_keystore(key, args.keystore, _new_passphrase(args),
                                             replace=args.replace, scrypt_n=args.scrypt_n)
        else:
            info = identity.keep_in_keyring(key, replace=args.replace)
    elif not args.file and not args.keystore:
        raise UsageError("nothing to import", hint="give a keystore FILE, --hex (key on stdin) or --keystore FILE")
    elif args.file and args.keystore:
        raise UsageError("give either FILE (copy it into the keyring) or --keystore FILE (use it in place)",
                         hint="`idlegrid wallet import FILE` or `idlegrid wallet import --keystore FILE`")
    elif args.keystore:
        info = identity.use_keystore(args.keystore, _existing_passphrase(args, args.keystore),
                                     replace=args.replace)
    else:
        key = keystore.decrypt(args.file, _existing_passphrase(args, args.file))
        info = identity.keep_in_keyring(key, replace=args.replace)
    print("imported the wallet")
    _print_info(info)
    return 0


def _delete(args: argparse.Namespace) -> int:
    from engine.wallet import identity

    info = identity.info()
    if not args.yes and not _confirm_delete(info):
        print("kept the wallet")
        return 1
    deleted = identity.delete()
    print(f"deleted wallet {deleted.address}")
    print(f"key:     {deleted.location}")
    return 0


def _confirm_delete(info: WalletInfo) -> bool:
    print(f"This deletes the wallet {info.address}")
    print(f"  key: {info.location}")
    print("Without an export (`idlegrid wallet export FILE`) its funds and stake are lost for good.")
    try:
        answer = input(f"Delete {info.address}? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")
