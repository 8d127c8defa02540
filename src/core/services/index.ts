import { asterisk } from './asterisk.ts';
import { freeswitch, type FreeswitchOptions } from './freeswitch.ts';
import { kamailio, type KamailioOptions } from './kamailio.ts';
import { sshd } from './sshd.ts';
import { webPanel } from './web-panel.ts';
import type { ServiceFlag, ServiceModule } from './types.ts';

export type { ServiceModule } from './types.ts';

/**
 * The install options the modules' flags set, each module's own type (InstallOptions extends it).
 * Typed keys, not a bag per module: the planner's modules and the tests read
 * `options.kamailioAuthLog` as before, a stored settings object keeps its keys, and the compiler
 * checks each flag's key against its module's type. A module that is not listed here (the
 * tests' Yate) still gets its flags' values under their keys, untyped.
 */
export type ServiceOptions = KamailioOptions & FreeswitchOptions;

/**
 * Every protected service, in the order their jails are composed into jail.local. Adding a
 * service = its module, its templates, its tests, and one line here.
 */
export const SERVICE_MODULES: ServiceModule[] = [sshd, asterisk, freeswitch, kamailio, webPanel];

/** The names --services accepts. */
export function serviceNames(): string[] {
  return SERVICE_MODULES.map((m) => m.name);
}

/** Every module's flags, with the module that declares each (the CLI registers them in this order). */
export function serviceFlags(): Array<{ module: ServiceModule; flag: ServiceFlag }> {
  return SERVICE_MODULES.flatMap((module) => (module.flags ?? []).map((flag) => ({ module, flag })));
}
