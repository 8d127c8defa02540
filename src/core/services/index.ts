import { asterisk } from './asterisk.ts';
import { freeswitch } from './freeswitch.ts';
import { kamailio } from './kamailio.ts';
import { sshd } from './sshd.ts';
import { webPanel } from './web-panel.ts';
import type { ServiceModule } from './types.ts';

export type { ServiceModule } from './types.ts';

/**
 * Every protected service, in the order their jails are composed into jail.local. Adding a
 * service = its module, its templates, its tests, and one line here.
 */
export const SERVICE_MODULES: ServiceModule[] = [sshd, asterisk, freeswitch, kamailio, webPanel];

/** The names --services accepts. */
export function serviceNames(): string[] {
  return SERVICE_MODULES.map((m) => m.name);
}

/** The module named `name` (as in --services), or undefined. */
export function serviceModule(name: string): ServiceModule | undefined {
  return SERVICE_MODULES.find((m) => m.name === name);
}
