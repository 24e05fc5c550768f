#!/usr/bin/env bash
# The IMAP poller test (test/integration/inbound/imap-poller.test.ts) runs Debian's Dovecot as a
# throwaway server of its own on a loopback port. CI runs this before `npm test`; it does nothing
# when the dovecot binary is already there.
set -euo pipefail
if [ -x /usr/sbin/dovecot ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# The package's maintainer scripts would start the system-wide Dovecot service; the test needs
# only the binary. A policy-rc.d that answers 101 ("action forbidden") keeps the service down; an
# existing one (Docker images ship one) is left as it is.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd
