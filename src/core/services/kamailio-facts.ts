import type { HostProbe } from '../probe.ts';

/** Where Kamailio is. Paths are target paths (under the root). */
export interface KamailioFacts {
  present: boolean;
  running: boolean;
  configFile: string;
}

export const KAMAILIO_ABSENT: KamailioFacts = { present: false, running: false, configFile: '/etc/kamailio/kamailio.cfg' };

/** Kamailio on this host: its configuration or program, and its pid file. */
export async function probeKamailio(p: HostProbe): Promise<KamailioFacts> {
  return {
    present: (await p.firstExisting(['/etc/kamailio/kamailio.cfg', '/usr/sbin/kamailio'])) !== null,
    running: (await p.livePid(['/run/kamailio/kamailio.pid', '/var/run/kamailio/kamailio.pid'])) !== null,
    configFile: '/etc/kamailio/kamailio.cfg',
  };
}
