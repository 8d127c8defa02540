import type { HostFacts, ServiceFacts } from '../../src/core/facts.ts';
import { ASTERISK_ABSENT, type AsteriskFacts } from '../../src/core/services/asterisk-facts.ts';
import { FREESWITCH_ABSENT, type FreeswitchFacts } from '../../src/core/services/freeswitch-facts.ts';
import { KAMAILIO_ABSENT, type KamailioFacts } from '../../src/core/services/kamailio-facts.ts';

/** Host facts whose services tests read and spread by name (each module's own facts type). */
export type TestHostFacts = HostFacts & { services: ServiceFacts & { asterisk: AsteriskFacts; freeswitch: FreeswitchFacts; kamailio: KamailioFacts } };

/**
 * Facts of a simulated Debian-like host for planner tests: not live, no init system, iptables
 * (nf_tables) and nft present, fail2ban 1.0.2 installed, an auth log, no VoIP service present
 * (each module's `absent` facts; a module not listed reads its own through factsOf).
 * Each test overrides what it is about.
 */
export function hostFacts(os: HostFacts['os'], o: Partial<HostFacts> = {}): TestHostFacts {
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
    services: structuredClone({ asterisk: ASTERISK_ABSENT, freeswitch: FREESWITCH_ABSENT, kamailio: KAMAILIO_ABSENT }),
    ...o,
  } as TestHostFacts;
}
