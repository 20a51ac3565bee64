"""Keystore values shared by the wallet and wizard tests (plain constants, not fixtures)."""

CHEAP_SCRYPT_N = 2**4  # keystore files in tests: the real format, negligible KDF cost
PASSPHRASE = "correct horse battery staple"
