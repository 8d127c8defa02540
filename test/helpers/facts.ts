import type { HostFacts } from '../../src/core/facts.ts';

/**
 * Facts of a simulated Debian-like host for planner tests: not live, no init system, iptables
 * (nf_tables) and nft present, fail2ban 1.0.2 installed, an auth log, no VoIP service present.
 * Each test overrides what it is about.
 */
export function hostFacts(os: HostFacts['os'], o: Partial<HostFacts> = {}): HostFacts {
  const none = { present: false, running: false };
  return {
    live: false,
    os,
    init: 'none',
    journald: false,
    rsyslog: false,
    firewall: { iptables: true, iptablesVariant: 'nf_tables', nft: true, firewalld: false },
    fail2ban: { installed: true, version: '1.0.2', running: false },
    aptListsFresh: true,
    adminAddress: null,
    authLogExists: true,
    postfix: { installed: false, running: false },
    initScripts: [],
    mailname: 'pbx.example.com',
    services: {
      asterisk: { ...none, configDir: '/etc/asterisk', logDir: '/var/log/asterisk' },
      freeswitch: { ...none, configDir: '/etc/freeswitch', logFile: '/var/log/freeswitch/freeswitch.log', profiles: [] },
      kamailio: { ...none, configFile: '/etc/kamailio/kamailio.cfg' },
    },
    ...o,
  };
}
