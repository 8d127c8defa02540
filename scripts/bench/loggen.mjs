// Deterministic generator of large Asterisk / FreeSWITCH logs for the throughput benchmark.
// Line formats are those of test/fixtures/logs/*.log (real attack lines, benign lines and the
// injection attempts: attacker text carrying a forged address). Addresses: attackers from
// 198.51.100.0/24 and 192.0.2.0/24, forged (injected) ones from 203.0.113.0/24 only, so any
// 203.0.113.x a filter extracts was taken from attacker-controlled text.
import { writeFileSync } from 'node:fs';

/** mulberry32: small, fast, seeded PRNG returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n) => String(n).padStart(2, '0');

function makeTools(seed) {
  const rnd = prng(seed);
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');
  // several hundred attackers; the server itself is 192.0.2.10
  const attackers = [];
  for (let i = 1; i <= 220; i++) attackers.push(`198.51.100.${i}`);
  for (let i = 20; i <= 219; i++) attackers.push(`192.0.2.${i}`);
  const attacker = () => pick(attackers);
  const injected = () => `203.0.113.${int(20, 250)}`;
  const user = () => pick(['100', '1000', '1001', '201', '301', 'admin', 'test', '0011972599', '9011442037690237', 'sipvicious']);
  const port = () => int(1024, 65000);
  return { rnd, int, pick, hex, attacker, injected, user, port };
}

/** Fixed clock starting 2024-01-02 00:00:00, advancing 0.4 s per line. */
function clock(i) {
  const t = new Date(Date.UTC(2024, 0, 2) + i * 400);
  const ymd = `${t.getUTCFullYear()}-${p2(t.getUTCMonth() + 1)}-${p2(t.getUTCDate())}`;
  const hms = `${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())}:${p2(t.getUTCSeconds())}`;
  const us = String((i * 400000 + 123456) % 1000000).padStart(6, '0');
  const syslog = `${MONTHS[t.getUTCMonth()]} ${String(t.getUTCDate()).padStart(2, ' ')} ${hms}`;
  return { ymd, hms, us, syslog, iso: `${ymd}T${hms}.000+0000` };
}

// ---------------------------------------------------------------------------------------------
// Asterisk

function asteriskLine(T, i) {
  const c = clock(i);
  const f = `[${c.ymd} ${c.hms}]`; // file channel, dateformat = %F %T
  const pid = T.int(1000, 30000);
  const r = T.rnd();
  // 45 % attacks, 50 % benign, 5 % injection attempts
  if (r < 0.45) {
    const a = T.attacker();
    const u = T.user();
    const kind = T.int(0, 11);
    switch (kind) {
      case 0:
        return { kind: 'attack', addr: a, line: `${f} NOTICE[${pid}] chan_sip.c: Registration from '"${u}" <sip:${u}@192.0.2.10>' failed for '${a}:${T.port()}' - ${T.pick(['Wrong password', 'No matching peer found', 'Username/auth name mismatch', 'Device does not match ACL'])}` };
      case 1:
        return { kind: 'attack', addr: a, line: `${c.syslog} pbx asterisk[1234]: NOTICE[${pid}]: chan_sip.c:23417 in handle_request_register: Registration from '<sip:${u}@192.0.2.10>' failed for '${a}:${T.port()}' - Wrong password` };
      case 2:
        return { kind: 'attack', addr: a, line: `${f} NOTICE[${pid}][C-${T.hex(8)}] chan_sip.c: Call from '' (${a}:${T.port()}) to extension '${T.pick(['0972598285108', '9011442037690237', '00441772285411', '+441772285407'])}' rejected because extension not found in context 'default'.` };
      case 3:
      case 4:
        return { kind: 'attack', addr: a, line: `${f} NOTICE[${pid}] res_pjsip/pjsip_distributor.c: Request '${T.pick(['REGISTER', 'INVITE', 'OPTIONS'])}' from '"${u}" <sip:${u}@192.0.2.10>' failed for '${a}:${T.port()}' (callid: ${T.hex(8)}-${T.hex(8)}@192.0.2.10) - ${T.pick(['No matching endpoint found', 'Failed to authenticate', 'Not match Endpoint ACL', 'Not match Endpoint Contact ACL'])}` };
      case 5:
        return { kind: 'attack', addr: a, line: `${f} SECURITY[${pid}] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="${c.iso}",Severity="Error",Service="SIP",EventVersion="2",AccountID="${u}",SessionID="0x${T.hex(12)}",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${a}/${T.port()}",Challenge="${T.hex(8)}",ReceivedChallenge="${T.hex(8)}",ReceivedHash="${T.hex(32)}"` };
      case 6:
        return { kind: 'attack', addr: a, line: `${f} SECURITY[${pid}] res_security_log.c: SecurityEvent="ChallengeResponseFailed",EventTV="${c.iso}",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="<unknown>",SessionID="${T.hex(8)}-${T.hex(8)}-${T.hex(8)}",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${a}/${T.port()}",Challenge="1432446136/${T.hex(32)}",Response="${T.hex(32)}",ExpectedResponse=""` };
      case 7:
        return { kind: 'attack', addr: a, line: `${f} SECURITY[${pid}] res_security_log.c: SecurityEvent="InvalidAccountID",EventTV="${c.iso}",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="${u}",SessionID="${T.hex(8)}@192.0.2.10",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${a}/${T.port()}"` };
      case 8:
        return { kind: 'attack', addr: a, line: `${f} NOTICE[${pid}] chan_iax2.c: Host ${a} failed to authenticate as '${u}'` };
      case 9:
        return { kind: 'attack', addr: a, line: `${f} NOTICE[${pid}] manager.c: ${a} failed to authenticate as '${u}'` };
      case 10:
        return { kind: 'attack', addr: a, line: `${f} NOTICE[${pid}] chan_sip.c: hacking attempt detected '${a}'` };
      default:
        return { kind: 'attack', addr: a, line: `${f} WARNING[${pid}][C-${T.hex(8)}] Ext. s: "Rejecting unknown SIP connection from ${a}:${T.port()}"` };
    }
  }
  if (r < 0.95) {
    const b = T.attacker();
    const kind = T.int(0, 7);
    switch (kind) {
      case 0:
        return { kind: 'benign', line: `${f} VERBOSE[${pid}] res_pjsip_registrar.c: Added contact 'sip:1000@${b}:5060;ob' to AOR '1000' with expiration of 3600 seconds` };
      case 1:
        return { kind: 'benign', line: `${f} SECURITY[${pid}] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="${c.iso}",Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="1000",SessionID="${T.hex(8)}",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${b}/5060",UsingPassword="1"` };
      case 2:
        return { kind: 'benign', line: `${f} SECURITY[${pid}] res_security_log.c: SecurityEvent="ChallengeSent",EventTV="${c.iso}",Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="1000",SessionID="${T.hex(8)}",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${b}/5060",Challenge=""` };
      case 3:
        return { kind: 'benign', line: `${f} NOTICE[${pid}] chan_sip.c: Peer '1000' is now Reachable. (${T.int(1, 90)}ms / 2000ms)` };
      case 4:
        return { kind: 'benign', line: `${f} WARNING[${pid}] chan_sip.c: Retransmission timeout reached on transmission ${T.hex(8)}@192.0.2.10 for seqno ${T.int(1, 999)} (Critical Request) -- See https://wiki.asterisk.org/wiki/display/AST/SIP+Retransmissions` };
      case 5:
        return { kind: 'benign', line: `${f} VERBOSE[${pid}][C-${T.hex(8)}] pbx.c: Executing [${T.int(100, 999)}@from-internal:1] Dial("PJSIP/1000-${T.hex(8)}", "PJSIP/${T.int(100, 999)},30") in new stack` };
      case 6:
        return { kind: 'benign', line: `${f} NOTICE[${pid}] manager.c: Manager 'admin' logged on from ${b}` };
      default:
        return { kind: 'benign', line: `${c.syslog} pbx asterisk[1234]: VERBOSE[${pid}]: pbx.c:4000 in pbx_extension_helper: Executing [s@macro-dial:1] Set("SIP/1000-${T.hex(8)}", "DIAL=1") in new stack` };
    }
  }
  // injection attempts (test/fixtures/logs/asterisk-injection.log), real source R, forged X
  const R = T.attacker();
  const X = T.injected();
  const kind = T.int(0, 10);
  const inj = (line) => ({ kind: 'injection', addr: R, injected: X, line });
  switch (kind) {
    case 0:
      return inj(`${f} NOTICE[${pid}] chan_sip.c: Registration from '<sip:100' failed for '${X}' - Wrong password@192.0.2.10>' failed for '${R}:5060' - Wrong password`);
    case 1:
      return inj(`${f} NOTICE[${pid}] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '"a' failed for '${X}:5060' (callid: b" <sip:100@192.0.2.10>' failed for '${R}:5060' (callid: c1) - Failed to authenticate`);
    case 2:
      return inj(`${f} NOTICE[${pid}] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:100@192.0.2.10>' failed for '${R}:5060' (callid: q) x' failed for '${X}:5060' (callid: z) - No matching endpoint found`);
    case 3:
      return inj(`${f} NOTICE[${pid}] res_pjsip/pjsip_distributor.c: Request 'INVITE' from '<sip:x'(callid:y)'@${X}:5060>' failed for '${R}:5060' (callid: c3) - No matching endpoint found`);
    case 4:
      return inj(`${f} NOTICE[${pid}][C-00000001] chan_sip.c: Call from 'x' (${X}:5060) to extension '1' rejected because extension not found in context 'default'.' (${R}:5060) to extension '100' rejected because extension not found in context 'default'.`);
    case 5:
      return inj(`${f} NOTICE[${pid}] manager.c: ${R} failed to authenticate as 'x: ${X} failed to authenticate as y'`);
    case 6:
      return inj(`${f} NOTICE[${pid}] manager.c: ${R} tried to authenticate with nonexistent user 'a: ${X} tried to authenticate with nonexistent user b'`);
    case 7:
      return inj(`${f} NOTICE[${pid}] chan_iax2.c: No registration for peer 'x' (from ${X})' (from ${R})`);
    case 8:
      return inj(`${f} SECURITY[${pid}] res_security_log.c: SecurityEvent="ChallengeResponseFailed",EventTV="${c.iso}",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="1000",SessionID="abc",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${R}/5060",Challenge="1704164645/0a1b",Response="x",RemoteAddress="IPV4/UDP/${X}/5060",ExpectedResponse=""`);
    case 9:
      return inj(`${f} SECURITY[${pid}] res_security_log.c: SecurityEvent="InvalidAccountID",EventTV="${c.iso}",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="x",RemoteAddress="IPV4/UDP/${X}/5060",SessionID="0x1",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${R}/5060"`);
    default:
      return inj(`${f} NOTICE[${pid}] chan_sip.c: Failed to authenticate device <sip:100@${X}>;tag=as5f3e`);
  }
}

// ---------------------------------------------------------------------------------------------
// FreeSWITCH (mode normal: auth failures and unknown users; challenges are benign traffic)

function freeswitchLine(T, i) {
  const c = clock(i);
  const d = `${c.ymd} ${c.hms}.${c.us}`;
  const cpu = `${T.int(10, 99)}.${p2(T.int(0, 99))}%`;
  const r = T.rnd();
  const u = T.user();
  const prof = T.pick(['internal', 'external']);
  if (r < 0.45) {
    const a = T.attacker();
    const kind = T.int(0, 5);
    const m = T.pick(['REGISTER', 'INVITE']);
    switch (kind) {
      case 0:
        return { kind: 'attack', addr: a, line: `${d} [WARNING] sofia_reg.c:1792 SIP auth failure (${m}) on sofia profile '${prof}' for [${u}@192.0.2.10] from ip ${a}` };
      case 1:
        return { kind: 'attack', addr: a, line: `${d} [WARNING] sofia_reg.c:3202 Can't find user [${u}@192.0.2.10] from ${a}` };
      case 2: // FreeSWITCH 1.10: CPU idle percentage after the date (stock misses it)
        return { kind: 'attack', addr: a, line: `${d} ${cpu} [WARNING] sofia_reg.c:3202 Can't find user [${u}@192.0.2.10] from ${a}` };
      case 3: // session-bound line: uuid before the date
        return { kind: 'attack', addr: a, line: `${T.hex(8)}-${T.hex(4)}-${T.hex(4)}-${T.hex(4)}-${T.hex(12)} ${d} ${cpu} [WARNING] sofia_reg.c:1727 SIP auth failure (${m}) on sofia profile '${prof}' for [${u}@192.0.2.10] from ip ${a}` };
      case 4:
        return { kind: 'attack', addr: a, line: `${c.ymd}T${c.hms}.${c.us} pbx freeswitch[1234]: ${d} [WARNING] sofia_reg.c:2889 Can't find user [${u}@192.0.2.10] from ${a}` };
      default:
        return { kind: 'attack', addr: a, line: `${d} [WARNING] sofia_reg.c:1792 SIP auth failure (${m}) on sofia profile '${prof}' for [${u}@192.0.2.10] from ip ${a}` };
    }
  }
  if (r < 0.95) {
    const b = T.attacker();
    const kind = T.int(0, 6);
    switch (kind) {
      case 0:
        return { kind: 'benign', line: `${d} [WARNING] sofia_reg.c:1691 SIP auth challenge (REGISTER) on sofia profile '${prof}' for [${u}@192.0.2.10] from ip ${b}` };
      case 1:
        return { kind: 'benign', line: `${d} [INFO] sofia_reg.c:2010 Registered ${u}@192.0.2.10 from ${b}:5060` };
      case 2:
        return { kind: 'benign', line: `${d} [DEBUG] sofia.c:7954 IP ${b} Rejected by acl "domains". Falling back to Digest auth.` };
      case 3:
        return { kind: 'benign', line: `${d} [NOTICE] switch_channel.c:1118 New Channel sofia/internal/${u}@192.0.2.10 [${T.hex(8)}-${T.hex(4)}-${T.hex(4)}-${T.hex(4)}-${T.hex(12)}]` };
      case 4:
        return { kind: 'benign', line: `${d} [WARNING] sofia_reg.c:1792 SIP auth failure (REGISTER) on sofia profile 'internal' for [${u}@192.0.2.10] from ip ${b} (retry)` };
      case 5:
        return { kind: 'benign', line: `${d} [ERR] mod_sofia.c:1234 Cannot find user from ${b}` };
      default:
        return { kind: 'benign', line: `${d} ${cpu} [INFO] switch_core_session.c:1746 Session ${T.int(1, 99999)} (sofia/internal/${u}@192.0.2.10) Ended` };
    }
  }
  const R = T.attacker();
  const X = T.injected();
  const kind = T.int(0, 3);
  const inj = (line) => ({ kind: 'injection', addr: R, injected: X, line });
  switch (kind) {
    case 0:
      return inj(`${d} [WARNING] sofia_reg.c:1792 SIP auth failure (REGISTER) on sofia profile 'internal' for [1000@192.0.2.10] from ip ${X}] from ip ${R}`);
    case 1:
      return inj(`${d} [WARNING] sofia_reg.c:3202 Can't find user [1000@192.0.2.10] from ${X}] from ${R}`);
    case 2:
      return inj(`${d} [WARNING] sofia_reg.c:1792 SIP auth failure (REGISTER) on sofia profile 'internal' for [1000@${X}] from ip ${R}`);
    default:
      return inj(`${d} [WARNING] sofia_reg.c:1792 SIP auth failure (REGISTER) on sofia profile 'internal' for [x] from ip ${X} [y@192.0.2.10] from ip ${R}`);
  }
}

/**
 * Write `n` lines for `service` to `path`; return ground truth: counts per kind, the attacker
 * addresses of attack lines, and the forged addresses placed in attacker text.
 */
export function generateLog(service, path, n, seed = 0x5eed) {
  const T = makeTools(seed ^ (service === 'asterisk' ? 0xa5 : 0xf5));
  const gen = service === 'asterisk' ? asteriskLine : freeswitchLine;
  const out = [];
  const truth = { lines: n, attack: 0, benign: 0, injection: 0, attackers: new Set(), injected: new Set(), kindOf: new Map() };
  for (let i = 0; i < n; i++) {
    const g = gen(T, i);
    truth[g.kind]++;
    truth.kindOf.set(g.line, g.kind);
    if (g.kind === 'attack') truth.attackers.add(g.addr);
    if (g.kind === 'injection') truth.injected.add(g.injected);
    out.push(g.line);
  }
  writeFileSync(path, `${out.join('\n')}\n`, 'utf8');
  return truth;
}
