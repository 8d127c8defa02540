import type { Command } from './command.ts';
import type { InitSystem } from './facts.ts';
import type { Family } from './distro.ts';

export type ServiceAction = 'start' | 'stop' | 'restart';

/** The command that starts, stops or restarts a system service under the host's init system. */
export function serviceCommand(init: InitSystem, name: string, action: ServiceAction): Command {
  switch (init) {
    case 'systemd':
      return { cmd: 'systemctl', args: [action, name] };
    case 'openrc':
      return { cmd: 'rc-service', args: [name, action] };
    case 'sysv':
      return { cmd: 'service', args: [name, action] };
    case 'none':
      return { cmd: `/etc/init.d/${name}`, args: [action] };
  }
}

/**
 * The command for a service's action, or null when nothing can drive it: without systemd or
 * OpenRC a service needs its /etc/init.d script (Debian 12's rsyslog, for one, ships none).
 */
export function serviceCommandIfPossible(host: { init: InitSystem; initScripts: string[] }, name: string, action: ServiceAction): Command | null {
  if (host.init === 'systemd' || host.init === 'openrc') return serviceCommand(host.init, name, action);
  return host.initScripts.includes(name) ? serviceCommand(host.init, name, action) : null;
}

/**
 * How fail2ban itself is started, stopped and enabled at boot. With no init system at all it is
 * driven by fail2ban-client directly (and will not come back after a reboot: the report says so).
 */
export function fail2banControl(init: InitSystem, family: Family): {
  start: Command;
  stop: Command;
  restart: Command;
  enable: Command | null;
} {
  if (init === 'none') {
    return {
      start: { cmd: 'fail2ban-client', args: ['-x', 'start'], timeoutMs: 60000 },
      stop: { cmd: 'fail2ban-client', args: ['stop'], timeoutMs: 60000 },
      restart: { cmd: 'fail2ban-client', args: ['-x', 'restart'], timeoutMs: 60000 },
      enable: null,
    };
  }
  const enable: Command | null =
    init === 'systemd'
      ? { cmd: 'systemctl', args: ['enable', 'fail2ban'] }
      : init === 'openrc'
        ? { cmd: 'rc-update', args: ['add', 'fail2ban', 'default'] }
        : family === 'debian'
          ? { cmd: 'update-rc.d', args: ['fail2ban', 'defaults'] }
          : { cmd: 'chkconfig', args: ['fail2ban', 'on'] };
  const t = (c: Command): Command => ({ ...c, timeoutMs: 60000 });
  return {
    start: t(serviceCommand(init, 'fail2ban', 'start')),
    stop: t(serviceCommand(init, 'fail2ban', 'stop')),
    restart: t(serviceCommand(init, 'fail2ban', 'restart')),
    enable,
  };
}
