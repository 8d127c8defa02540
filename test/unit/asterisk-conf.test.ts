import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asteriskDirectories } from '../../src/core/services/asterisk-conf.ts';
import { asteriskLiveCheck } from '../../src/core/services/asterisk.ts';

test('asterisk.conf: [directories](!) as the sample ships it is a template, not the section', () => {
  const sample = '[directories](!) ; remove the (!) to enable this\nastetcdir => /etc/asterisk\nastlogdir => /var/log/elsewhere\nastrundir => /run/elsewhere\n';
  assert.deepEqual(asteriskDirectories(sample), {}, 'compiled-in defaults apply');
  assert.deepEqual(asteriskDirectories(sample.replace('(!)', '')), { astetcdir: '/etc/asterisk', astlogdir: '/var/log/elsewhere', astrundir: '/run/elsewhere' });
});

test('asterisk.conf: a section inherits its templates\' keys first, its own win; comments and both separators', () => {
  const conf = [
    '[base](!)',
    'astlogdir => /var/log/base',
    'astrundir = /run/base ; a comment',
    '[directories](base)',
    'astlogdir => /var/log/asterisk',
    '[options]',
    'astlogdir => /not/here',
  ].join('\n');
  assert.deepEqual(asteriskDirectories(conf), { astlogdir: '/var/log/asterisk', astrundir: '/run/base' });
  assert.deepEqual(asteriskDirectories('[directories]\nastlogdir => /a\n[directories](+)\nastlogdir => /b\n'), { astlogdir: '/b' }, 'a later (+) section adds to it');
});

test('doctor on a running Asterisk: broken when its running logger writes no file the jail reads', () => {
  const channels = [
    'Logger queue limit: 1000',
    '',
    'Channel                             Type     Formatter  Status    Configuration',
    '-------                             ----     ---------  ------    -------------',
    '/var/log/asterisk/messages          File     default    Enabled    - NOTICE WARNING ERROR ',
    '/var/log/asterisk/security          File     default    Disabled   - SECURITY ',
  ].join('\n');
  const logs = ['/var/log/asterisk/messages', '/var/log/asterisk/security'];
  const broken = asteriskLiveCheck(channels, logs);
  assert.equal(broken.verdict, 'broken');
  assert.match(broken.detail, /writes no \/var\/log\/asterisk\/security/);
  assert.equal(asteriskLiveCheck(channels.replace('Disabled ', 'Enabled  '), logs).verdict, 'ok');
});
