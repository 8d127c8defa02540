import { getIniValue } from '../ini-edit.ts';
import { JAIL_LOCAL } from '../paths.ts';
import { factsOf } from '../probe.ts';
import { WEB_PANEL_ABSENT, probeWebPanel, type WebPanelFacts, type WebServerFacts } from './web-panel-facts.ts';
import type { EnsureFile } from '../plan.ts';
import type { JailEdit, ServiceModule } from './types.ts';

/** The stock fail2ban jails that fit a PBX web panel, per server, and the log each one reads. */
const JAILS = {
  apache: [
    { jail: 'apache-auth', log: 'error' }, // failed basic auth
    { jail: 'apache-badbots', log: 'access' }, // spam and e-mail harvesting bots by User-Agent
    { jail: 'apache-botsearch', log: 'error' }, // scans for wp-login, phpMyAdmin, webmail, cgi-bin...
    { jail: 'apache-noscript', log: 'error' }, // requests for scripts that do not exist
  ],
  nginx: [
    { jail: 'nginx-http-auth', log: 'error' }, // failed basic auth
    { jail: 'nginx-botsearch', log: 'error' }, // scans for wp-login, phpMyAdmin, webmail, cgi-bin...
  ],
} as const;

type Server = keyof typeof JAILS;

/** The logs a jail reads: those the server writes now, else the default file (created empty). */
function logsOf(server: Server, w: WebServerFacts, kind: 'access' | 'error'): string[] {
  const found = kind === 'access' ? w.accessLogs : w.errorLogs;
  if (found.length) return found;
  const rhelStyle = w.logDir.endsWith('/httpd');
  return [`${w.logDir}/${kind}${rhelStyle ? '_log' : '.log'}`];
}

/**
 * The PBX's web GUI (FreePBX, FusionPBX, VoipNow panels; Kolmisoft's Apache) behind Apache or
 * nginx: the stock fail2ban filters that fit, against the log files the server really writes.
 * No jail for a server that is not installed (one installed before has its jails switched off).
 */
export const webPanel: ServiceModule<WebPanelFacts> = {
  name: 'web-panel',
  label: 'Web panel (Apache/nginx)',
  detect: (facts, web = factsOf(webPanel, facts)) => web.apache.present || web.nginx.present,
  probe: probeWebPanel,
  absent: WEB_PANEL_ABSENT,
  filters: [],
  jails: [...JAILS.apache, ...JAILS.nginx].map((j) => j.jail),
  reads: () => [],
  plan(ctx) {
    const web = factsOf(webPanel, ctx.facts);
    const jail: JailEdit[] = [];
    const jails: string[] = [];
    const ensureFiles: EnsureFile[] = [];
    const warnings: string[] = [];
    const notes: string[] = [];
    const details: Record<string, unknown> = {};
    for (const server of ['apache', 'nginx'] as const) {
      const w = web[server];
      if (!w.present) {
        for (const { jail: section } of JAILS[server]) {
          const admins = ctx.existing?.find((e) => e.name === section)?.files.includes(JAIL_LOCAL) ?? false;
          if (!admins && getIniValue(ctx.jail, section, 'enabled') !== undefined) jail.push({ section, keys: [['enabled', 'false']] });
        }
        continue;
      }
      const logs = { access: logsOf(server, w, 'access'), error: logsOf(server, w, 'error') };
      for (const kind of ['access', 'error'] as const) {
        const found = kind === 'access' ? w.accessLogs : w.errorLogs;
        if (!found.length) ensureFiles.push({ path: logs[kind][0]!, why: `${server} ${kind} log read by the web-panel jails` });
      }
      for (const j of JAILS[server]) {
        // A jail of this name the admin (or the distribution) already has is theirs: their
        // section in jail.local is left byte for byte (FusionPBX's [nginx-http-auth] keeps
        // `port = 80,443`), and one enabled in another file is not overridden from jail.local.
        const theirs = ctx.existing?.find((e) => e.name === j.jail);
        const inJailLocal = theirs?.files.includes(JAIL_LOCAL) ?? false;
        if (theirs && (inJailLocal || theirs.enabled)) {
          if (theirs.enabled) jails.push(j.jail);
          else warnings.push(`web-panel: [${j.jail}] in jail.local is the admin's and is disabled: left as it is`);
          notes.push(`[${j.jail}] is ${inJailLocal ? "the admin's, in jail.local" : `set in ${theirs.file}`}${theirs.enabled ? '' : ' (disabled)'}: adopted as it is, none of its keys changed`);
          continue;
        }
        jail.push({
          section: j.jail,
          keys: [
            ['enabled', 'true'],
            ['port', 'http,https'],
            ['logpath', logs[j.log].join('\n')],
            ['backend', 'auto'],
          ],
        });
        jails.push(j.jail);
      }
      details[server] = { jails: JAILS[server].map((j) => j.jail), accessLogs: logs.access, errorLogs: logs.error };
    }
    if (!web.apache.present && !web.nginx.present) warnings.push('web-panel: neither Apache nor nginx is installed; no web jail enabled');
    return { jail, jails, ensureFiles, warnings, notes, details };
  },
};
