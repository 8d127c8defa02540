/**
 * doctor's look at a RUNNING FreeSWITCH: does each running sofia profile log a failed password, in
 * the log the jail reads? FreeSWITCH shows no profile's log-auth-failures on its console (`sofia
 * xmlstatus profile <p>` lists no flags), and its XML says nothing about a profile not rescanned
 * since, so doctor asks by doing: {@link FREESWITCH_PROBE_JS} (run by node, as data: a fixed
 * script and argument list, no shell) lists the running profiles through fs_cli (`sofia
 * xmlstatus`), sends each UDP one a REGISTER for the unknown account `voip-f2b-doctor`, answers
 * its challenge with a wrong digest, and prints the lines the log gained about that account.
 * The probe comes from 127.0.0.1, which is in every jail's ignoreip (the tool writes it): never
 * counted, paused or banned. (Not from the profile's own address: fail2ban's ignoreself knows the
 * host's names, not every address of its interfaces, and would count it.)
 * {@link freeswitchProbeCheck} (pure) judges the result.
 */
import type { DoctorCheck } from '../doctor/report.ts';

/** The account the probe fails on (no such user: the password cannot matter). */
export const PROBE_USER = 'voip-f2b-doctor';

/** argv: fs_cli host port logFile. Prints one JSON line: { error, logFile, profiles: [{ name, target, challenged, answer, lines }] }. */
export const FREESWITCH_PROBE_JS = `
const [fsCli, host, port, logFile] = process.argv.slice(1);
const { execFileSync } = require('child_process');
const fs = require('fs'), dgram = require('dgram'), crypto = require('crypto');
const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');
const out = { error: null, logFile, profiles: [] };
let xml = '';
try { xml = execFileSync(fsCli, ['-H', host, '-P', port, '-x', 'sofia xmlstatus'], { encoding: 'utf8', timeout: 10000, cwd: '/' }); }
catch (e) { out.error = 'fs_cli -x "sofia xmlstatus": ' + String(e.stderr || e.stdout || e.message).trim().split('\\n').pop(); }
const seen = new Set();
for (const m of xml.matchAll(/<profile>\\s*<name>([^<]*)<\\/name>\\s*<type>profile<\\/type>\\s*<data>([^<]*)<\\/data>\\s*<state>RUNNING[^<]*<\\/state>/g)) {
  const a = /^sip:[^@]*@(\\d+\\.\\d+\\.\\d+\\.\\d+):(\\d+)$/.exec(m[2]);
  if (a && !seen.has(m[1])) { seen.add(m[1]); out.profiles.push({ name: m[1], target: a[1] + ':' + a[2], challenged: false, answer: null, lines: [] }); }
}
const size = () => { try { return fs.statSync(logFile).size; } catch { return 0; } };
const start = size();
function request(sock, ip, p, auth, callId, cseq) {
  const uri = 'sip:' + ip + ':' + p, local = sock.address();
  const msg = ['REGISTER ' + uri + ' SIP/2.0', 'Via: SIP/2.0/UDP ' + local.address + ':' + local.port + ';branch=z9hG4bK' + crypto.randomBytes(6).toString('hex') + ';rport',
    'Max-Forwards: 70', 'From: <sip:${PROBE_USER}@' + ip + '>;tag=' + callId.slice(0, 8), 'To: <sip:${PROBE_USER}@' + ip + '>', 'Call-ID: ' + callId, 'CSeq: ' + cseq + ' REGISTER',
    'Contact: <sip:${PROBE_USER}@' + local.address + ':' + local.port + '>', 'Expires: 60', 'User-Agent: voip-f2b-install doctor', ...(auth ? ['Authorization: ' + auth] : []), 'Content-Length: 0', '', ''].join('\\r\\n');
  return new Promise((resolve) => {
    const t = setTimeout(() => { sock.removeAllListeners('message'); resolve(null); }, 2000);
    sock.on('message', (b) => { const s = b.toString(); if (/^SIP\\/2\\.0 1\\d\\d/.test(s)) return; clearTimeout(t); sock.removeAllListeners('message'); resolve(s); });
    sock.send(msg, +p, ip);
  });
}
(async () => {
  for (const pr of out.profiles) {
    const [ip, p] = pr.target.split(':');
    const sock = dgram.createSocket('udp4');
    await new Promise((r) => sock.bind(0, '127.0.0.1', r));
    const callId = crypto.randomBytes(10).toString('hex') + '@voip-f2b-doctor';
    const first = await request(sock, ip, p, null, callId, 1);
    const ch = first && /^SIP\\/2\\.0 40[17]/.test(first) ? /^(?:WWW|Proxy)-Authenticate:\\s*Digest\\s+(.*)$/im.exec(first) : null;
    if (ch) {
      pr.challenged = true;
      const v = {}; for (const x of ch[1].matchAll(/(\\w+)=(?:"([^"]*)"|([^\\s,]+))/g)) v[x[1].toLowerCase()] = x[2] ?? x[3];
      const uri = 'sip:' + ip + ':' + p, ha1 = md5('${PROBE_USER}:' + (v.realm || '') + ':not-the-password'), ha2 = md5('REGISTER:' + uri), cn = crypto.randomBytes(8).toString('hex');
      const qop = (v.qop || '').split(',').map((s) => s.trim()).includes('auth');
      const resp = qop ? md5(ha1 + ':' + v.nonce + ':00000001:' + cn + ':auth:' + ha2) : md5(ha1 + ':' + v.nonce + ':' + ha2);
      const auth = 'Digest username="${PROBE_USER}", realm="' + (v.realm || '') + '", nonce="' + (v.nonce || '') + '", uri="' + uri + '", response="' + resp + '", algorithm=MD5' + (qop ? ', qop=auth, nc=00000001, cnonce="' + cn + '"' : '') + (v.opaque !== undefined ? ', opaque="' + v.opaque + '"' : '');
      const second = await request(sock, ip, p, auth, callId, 2);
      pr.answer = second ? second.split('\\r\\n')[0] : null;
    } else pr.answer = first ? first.split('\\r\\n')[0] : null;
    sock.close();
  }
  await new Promise((r) => setTimeout(r, 500));
  let text = '';
  try { const fd = fs.openSync(logFile, 'r'); const n = Math.max(0, Math.min(size() - start, 1 << 20)); const b = Buffer.alloc(n); fs.readSync(fd, b, 0, n, start); fs.closeSync(fd); text = b.toString('utf8'); } catch (e) { if (!out.error) out.error = 'cannot read ' + logFile + ': ' + e.code; }
  const lines = text.split('\\n').filter((l) => l.includes('[${PROBE_USER}@'));
  for (const pr of out.profiles) pr.lines = lines.filter((l) => l.includes("sofia profile '" + pr.name + "' ")).map((l) => l.slice(0, 300));
  process.stdout.write(JSON.stringify(out) + '\\n');
})();
`;

interface ProbeResult {
  error: string | null;
  logFile: string;
  profiles: Array<{ name: string; target: string; challenged: boolean; answer: string | null; lines: string[] }>;
}

/**
 * The verdict on the probe's output: broken when a running profile that asks for passwords wrote
 * no "SIP auth failure" line for the probe, or when the log FreeSWITCH writes is not one the
 * jail reads; a warning when FreeSWITCH could not be asked.
 */
export function freeswitchProbeCheck(stdout: string, logFiles: string[]): DoctorCheck {
  const name = 'the running FreeSWITCH logs failed passwords';
  let r: ProbeResult;
  try {
    r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as ProbeResult;
  } catch {
    return { name, verdict: 'warning', detail: `the probe printed no result: ${stdout.trim().slice(0, 200)}`, fix: 'check that FreeSWITCH runs: fs_cli -x "sofia status"' };
  }
  if (r.error) return { name, verdict: 'warning', detail: `cannot ask the running FreeSWITCH: ${r.error}`, fix: 'check fs_cli and the event socket (autoload_configs/event_socket.conf.xml)' };
  if (!logFiles.includes(r.logFile)) {
    return { name, verdict: 'broken', detail: `the running FreeSWITCH writes ${r.logFile}, the jail reads ${logFiles.join(', ') || 'nothing'}`, fix: `point the jail at ${r.logFile} (run voip-f2b-install again)` };
  }
  const asking = r.profiles.filter((p) => p.challenged);
  const silent = asking.filter((p) => !p.lines.some((l) => /SIP auth failure \(REGISTER\)/.test(l)));
  if (silent.length) {
    return {
      name,
      verdict: 'broken',
      detail: `a wrong password sent by doctor to the running sofia profile ${silent.map((p) => `${p.name} (${p.target}, answered ${p.answer ?? 'nothing'})`).join(', ')} wrote no "SIP auth failure" line in ${r.logFile}: the running profile does not log auth failures, so guesses there are never counted`,
      fix: `run voip-f2b-install again (it sets log-auth-failures), or: fs_cli -x reloadxml; ${silent.map((p) => `fs_cli -x "sofia profile ${p.name} rescan"`).join('; ')}`,
    };
  }
  if (!asking.length) return { name, verdict: 'ok', detail: `no running UDP profile asks for a password (${r.profiles.map((p) => p.name).join(', ') || 'none running'}): nothing to guess there` };
  return { name, verdict: 'ok', detail: `a wrong password sent to ${asking.map((p) => `${p.name} (${p.target})`).join(', ')} was logged in ${r.logFile}` };
}
