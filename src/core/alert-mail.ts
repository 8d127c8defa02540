/**
 * Alert mail (--email) as two features of the plan: the mail action (its [DEFAULT] keys are set
 * with the others; its action file; taken out of every jail when alerts are turned off) and
 * postfix (installed without a dialog, running, one test mail when the settings change). Pure.
 */
import type { HostFacts } from './facts.ts';
import { getIniValue, listIniSections, setIniValues } from './ini-edit.ts';
import type { InstallOptions } from './options.ts';
import { MAIL_ACTION } from './paths.ts';
import type { PlanCommand, PlanFeature, PlanFragment, PlanSoFar } from './plan-fragment.ts';
import type { AfterStep, MailSettings } from './services/types.ts';

/** Alert addresses and how postfix delivers them. */
export function mailSettings(options: InstallOptions, facts: HostFacts): MailSettings {
  const dest = options.email!;
  const local = /@localhost$/i.test(dest);
  return { dest, sender: options.sender ?? `fail2ban@${facts.mailname}`, delivery: options.mailDelivery ?? (local ? 'local' : 'send-only') };
}

/** The `action` value: the ban, plus our rate-limited mail (with log lines where there is a logpath). */
export function mailAction(interval: number, withLogpath: boolean): string {
  const args = ['dest="%(destemail)s"', 'sender="%(sender)s"', ...(withLogpath ? ['logpath="%(logpath)s"'] : []), `interval=${interval}`];
  return `%(action_)s\nvoip-f2b-mail[${args.join(', ')}]`;
}

/**
 * Alerts turned off (--email '', or the question left empty): our mail action leaves every jail
 * (the ban stays), so no run keeps mailing an address the settings no longer name.
 */
function withoutMailAction(jail: string): string {
  for (const section of listIniSections(jail)) {
    const action = getIniValue(jail, section, 'action');
    if (action === undefined || !/^\s*voip-f2b-mail\[/m.test(action)) continue;
    const rest = action.split('\n').filter((l) => !/^\s*voip-f2b-mail\[/.test(l)).join('\n');
    jail = setIniValues(jail, section, [['action', rest.trim() ? rest : '%(action_)s']]);
  }
  return jail;
}

/** The mail action: its file with --email (one an earlier run wrote is kept up to date until uninstall). */
export const alertMailFeature: PlanFeature = {
  name: 'mail action',
  reads: () => [MAIL_ACTION],
  piece: () => ({
    plan: (s: PlanSoFar): PlanFragment => ({
      ...(s.mail ? {} : { jailLocal: withoutMailAction(s.jail) }),
      fail2banFiles: s.mail !== null || s.files.read(MAIL_ACTION) !== null ? [s.change(MAIL_ACTION, s.template('etc/fail2ban/action.d/voip-f2b-mail.conf'), 'rate-limited mail alert action', false)] : [],
    }),
  }),
};

/** postfix: installed without a dialog, running, and one test mail when the settings change. */
export const postfixFeature: PlanFeature = {
  name: 'postfix',
  candidates: (distro) => [distro.pkgs.postfix],
  piece: (input) => {
    const { options, facts, distro } = input;
    if (!options.email) return null;
    const mail = mailSettings(options, facts);
    const postfixMissing = !input.installed.has(distro.pkgs.postfix) && !facts.postfix.installed;
    const type = mail.delivery === 'local' ? 'Local only' : 'Internet Site';
    return {
      packages: facts.postfix.installed ? [] : [distro.pkgs.postfix],
      preInstall: facts.live && postfixMissing && distro.pm === 'apt'
        ? [{ cmd: 'debconf-set-selections', args: [], input: `postfix postfix/main_mailer_type select ${type}\npostfix postfix/mailname string ${facts.mailname}\n` }]
        : [],
      plan: (s) => ({ after: facts.live ? postfixSteps(s, mail, postfixMissing) : [] }),
    };
  },
};

/** postfix's follow-ups on a live host: loopback only (send-only), started, a test mail when jail.local changes. */
function postfixSteps(s: PlanSoFar, mail: MailSettings, postfixMissing: boolean): Array<AfterStep | PlanCommand> {
  const out: Array<AfterStep | PlanCommand> = [];
  // Send-only: deliver alerts to the world, accept nothing from the network.
  if (postfixMissing && mail.delivery === 'send-only') out.push({ service: 'postfix', why: 'listen on loopback only', command: { cmd: 'postconf', args: ['-e', 'inet_interfaces = loopback-only'] } });
  if (!s.facts.postfix.running) out.push({ service: 'postfix', action: 'start', why: 'start the mail server' });
  if (s.jailOnDisk !== s.jail) {
    const { mailname } = s.facts;
    out.push({
      service: 'mail',
      why: `test mail to ${mail.dest}`,
      command: {
        cmd: '/usr/sbin/sendmail',
        args: ['-f', mail.sender, mail.dest],
        input: `Subject: [Fail2Ban] voip-f2b-install: test alert from ${mailname}\nFrom: Fail2Ban <${mail.sender}>\nTo: ${mail.dest}\n\nThis is a test: fail2ban on ${mailname} will mail ban alerts to this address\n(at most one mail per jail every ${s.options.mailInterval} s; bans in between are listed in the next mail).\n`,
      },
    });
  }
  return out;
}
