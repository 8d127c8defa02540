import { getIniValue } from '../ini-edit.ts';
import { JAIL_LOCAL } from '../paths.ts';
import type { JailEdit, ServiceModule } from './types.ts';

/** sshd reads the journal when there is no auth log (python3-systemd lets fail2ban do that). */
const onJournal = (facts: { journald: boolean; authLogExists: boolean }): boolean => facts.journald && !facts.authLogExists;

/** Left by uninstall with consent when the restored stock config cannot start (the Debian sshd trap). */
export const SSHD_OVERRIDE = '/etc/fail2ban/jail.d/sshd-voip-f2b-uninstall.local';

/**
 * sshd: the distro's own jail (Debian's package enables it), kept working on every run because
 * fail2ban refuses to start when it has no log to read: the auth log as shipped, else the
 * journal, else disabled with a warning. Named in --services, it is also enabled explicitly
 * and checked like the VoIP jails.
 */
export const sshd: ServiceModule = {
  name: 'sshd',
  label: 'SSH (sshd)',
  implicit: "its stock jail is kept working even when not chosen",
  // Not chosen by default: the stock jail is the distro's; --services sshd makes it ours too.
  detect: () => false,
  filters: [],
  jails: [],
  reads: () => [JAIL_LOCAL],
  doctorExpects: () => ({ failures: /Failed password|Invalid user/ }),
  // The stock sshd jail has no log to read once the tool's jail.local is gone: fail2ban's errors name it.
  uninstallRescue({ facts, output }) {
    if (!/jail ['"]?sshd['"]?|sshd jail|Have not found any log file for sshd/i.test(output)) return null;
    const settings = `[sshd]\n${facts.journald ? 'backend = systemd' : 'enabled = false'}\n`;
    return {
      why: 'the restored stock configuration enables the sshd jail, which cannot start here',
      path: SSHD_OVERRIDE,
      settings,
      text: `# Left by voip-f2b-install uninstall, with the admin's consent: the stock sshd jail\n# cannot start on this host (${facts.journald ? 'no auth log; journald has the SSH logins' : 'no auth log and no journald'}).\n# Remove this file once sshd logs reach fail2ban.\n${settings}`,
    };
  },
  // The distro's own jail (and an admin's `ssh` beside it): checked as sshd's.
  doctorFilters: ['sshd'],
  doctorFixes: { logFile: 'for sshd: the auth log' },
  packages: (facts, distro) => (onJournal(facts) && distro.pkgs.pysystemd ? [distro.pkgs.pysystemd] : []),
  plan(ctx) {
    const { facts, distro } = ctx;
    const onDisk = ctx.files.read(JAIL_LOCAL) ?? '';
    const own = Boolean(getIniValue(onDisk, 'sshd', 'backend') || getIniValue(onDisk, 'sshd', 'logpath'));
    const jail: JailEdit[] = [];
    const jails: string[] = [];
    const warnings: string[] = [];
    let readable = own || facts.authLogExists;
    if (!own) {
      if (facts.authLogExists) {
        // The stock setting reads the auth log: nothing to change.
      } else if (facts.journald) {
        jail.push({ section: 'sshd', keys: [['backend', 'systemd']] });
        jails.push('sshd');
        readable = true;
      } else if (distro.family === 'debian' && getIniValue(ctx.jail, 'sshd', 'enabled') !== 'false') {
        jail.push({ section: 'sshd', keys: [['enabled', 'false']] });
        warnings.push(
          facts.rsyslog
            ? `sshd jail disabled: no ${distro.authLog} yet (rsyslog writes it at the first SSH login); re-run once it exists to protect SSH`
            : `sshd jail disabled: no ${distro.authLog} and no journald to read SSH logins from (install rsyslog and re-run to protect SSH)`,
        );
      } else if (ctx.selected) {
        warnings.push(`sshd: no ${distro.authLog} and no journald to read SSH logins from; SSH is not protected`);
      }
    }
    if (ctx.selected && readable) {
      jail.unshift({ section: 'sshd', keys: [['enabled', 'true']] });
      if (!jails.includes('sshd')) jails.push('sshd');
    }
    return { jail, jails, warnings, details: { source: own ? 'jail.local' : facts.authLogExists ? distro.authLog : facts.journald ? 'journal' : 'none' } };
  },
};
