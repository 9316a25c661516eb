#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run kite's whole test suite (after ./setup.sh): unit tests, command-line
# checks, guest tests under kite and under QEMU.  Ends with
# "N passed, N failed, N skipped".  Options: see ./test.sh --help.
set -euo pipefail
cd "$(dirname "$0")"
exec python3 tests/run.py "$@"
