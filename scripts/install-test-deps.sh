#!/usr/bin/env bash
# Installs the Debian packages the test suite uses (as root, on Debian 12). The tool itself
# installs fail2ban and the firewall in the real-system tests; fail2ban is also here because the
# filter tests run fail2ban-regex before those. The attack test (test/real/20-attack-ban.test.ts)
# runs Debian's kamailio, rsyslog and nftables; orphan-sysvinit-scripts gives rsyslog the init
# script that a sysvinit Debian 12 has (the rsyslog package ships none), so `service rsyslog
# restart`, which the tool runs for its Kamailio log rule, works without systemd.
# The CrowdSec fleet test (test/real/40-crowdsec-fleet.test.ts) runs Debian's crowdsec (LAPI) and
# crowdsec-firewall-bouncer in namespaces; crowdsec's postinst registers with CrowdSec's Central
# API (unreachable offline, so the install fails) unless online_api_credentials.yaml exists,
# non-empty, before it runs (see its README.Debian). The Ansible test runs Debian's ansible.
# The Debian 11/12/13 matrix (test/real/60-debian-matrix.test.ts) builds debootstrap chroots once
# and caches them under /var/cache/voip-f2b-install-test/.
# strace kills the CLI at every file-system change in the crash test (test/unit/crash.test.ts).
# The Kamailio scanner test (test/real/50-kamailio-scanner.test.ts) runs Debian's sipvicious and
# baresip against kamailio in network namespaces, with iptables there for fail2ban's bans.
# The web-panel test (test/real/60-web-panel.test.ts) runs Debian's nginx as a private instance
# in a namespace (own config, logs and pid file), with an htpasswd made by openssl, and bans
# through iptables in that namespace.
# The set-based ban action test (test/real/45-set-bans.test.ts) runs iptables, ipset and
# conntrack inside its own network namespaces.
# The web view test (test/real/45-web-view.test.ts) drives Debian's chromium through playwright-core.
# The web view's boot service (test/real/47-web-service.test.ts) runs its init script with
# start-stop-daemon and update-rc.d (init-system-helpers); the unit test of its systemd branch
# checks the generated unit with systemd-analyze (the systemd package; systemd does not run).
# The Asterisk and FreeSWITCH scanner tests (test/real/52-*, 53-*) run the real builds kept in the
# shared folder beside the repository (../shared/asterisk, ../shared/freeswitch: Debian 12 has
# neither package): unpacked to /opt/asterisk and /opt/freeswitch (their compiled-in prefixes)
# with the runtime libraries they need, unless that version is there already.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
mkdir -p /etc/crowdsec
[ -s /etc/crowdsec/online_api_credentials.yaml ] || echo '# Central API registration disabled: offline test machine' > /etc/crowdsec/online_api_credentials.yaml
apt-get update -q
apt-get install -y -q --no-install-recommends \
  fail2ban python3-pyinotify ipset conntrack \
  iproute2 procps ca-certificates tmux \
  kamailio rsyslog orphan-sysvinit-scripts nftables iptables \
  crowdsec crowdsec-firewall-bouncer ansible \
  strace debootstrap \
  iptables sipvicious baresip-core \
  nginx openssl \
  chromium \
  init-system-helpers systemd \
  libssl3 libjansson4 libxml2 libxslt1.1 libsqlite3-0 libuuid1 libedit2 \
  libcurl4 libjpeg62-turbo libpcre3 libspeex1 libspeexdsp1 libtiff6

shared="$(cd "$(dirname "$0")/../.." && pwd)/shared"
unpack() { # $1: a tarball of the shared folder; the scanner tests say so when it was not there
  if [ -f "$1" ]; then tar -xzf "$1" -C /; else echo "install-test-deps: $1 is missing: the Asterisk/FreeSWITCH scanner tests will fail" >&2; fi
}
/opt/asterisk/sbin/asterisk -V 2>/dev/null | grep -q '^Asterisk 22\.10\.1$' || unpack "$shared/asterisk/asterisk-22.10.1-debian12-amd64.tar.gz"
/opt/freeswitch/bin/freeswitch -version 2>/dev/null | grep -q '1\.10\.12-release' || unpack "$shared/freeswitch/freeswitch-1.10.12-debian12-amd64.tar.gz"
