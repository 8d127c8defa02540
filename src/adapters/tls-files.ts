import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { isIP } from 'node:net';
import { UsageError } from '../errors.ts';
import { readSecretFile } from './secret-file.ts';

/**
 * TLS material for the CrowdSec fleet (issue 20): the LAPI host's self-signed certificate, made
 * here with node's crypto (no openssl needed, and the plan writes it like any other file: a dry
 * run shows it, --root puts it in the tree, the journal covers it), and the certificate files an
 * admin names on the command line, checked before anything changes.
 */

// ---- DER, just what one certificate needs ----
const der = (tag: number, body: Buffer): Buffer => {
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : (() => {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    return Buffer.from([0x80 | bytes.length, ...bytes]);
  })();
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...parts: Buffer[]): Buffer => der(0x30, Buffer.concat(parts));
const oid = (hex: string): Buffer => der(0x06, Buffer.from(hex, 'hex'));
const OID = {
  ecdsaSha256: oid('2a8648ce3d040302'),
  commonName: oid('550403'),
  basicConstraints: oid('551d13'),
  keyUsage: oid('551d0f'),
  extKeyUsage: oid('551d25'),
  subjectAltName: oid('551d11'),
  serverAuth: oid('2b06010505070301'),
};
const TRUE = der(0x01, Buffer.from([0xff]));
const time = (d: Date): Buffer => {
  // RFC 5280: UTCTime up to 2049, GeneralizedTime after.
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(`${iso.slice(2)}Z`)) : der(0x18, Buffer.from(`${iso}Z`));
};
const ext = (id: Buffer, critical: boolean, value: Buffer): Buffer => seq(id, ...(critical ? [TRUE] : []), der(0x04, value));
const pem = (label: string, body: Buffer): string => `-----BEGIN ${label}-----\n${body.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** The address's 4 or 16 bytes (for the certificate's IP SAN). */
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const words = (s: string | undefined): number[] => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((w, k) => out.writeUInt16BE(w, k * 2));
  return out;
}

/**
 * A self-signed certificate (ECDSA P-256, SHA-256) for the LAPI listening on `ip`: the address
 * as its IP SAN, server auth, valid for ten years (from an hour ago: clocks drift). It is its own
 * CA (CA:TRUE, may sign certificates), so members trust exactly it: they copy this file.
 */
export function makeSelfSignedCert(ip: string, now = new Date()): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, never zero
  const name = seq(der(0x31, seq(OID.commonName, der(0x0c, Buffer.from(`voip-f2b-install CrowdSec LAPI ${ip}`)))));
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + 3650 * 86400_000);
  const extensions = der(0xa3, seq(
    ext(OID.basicConstraints, true, seq(TRUE, der(0x02, Buffer.from([0])))),
    ext(OID.keyUsage, true, der(0x03, Buffer.from([0x02, 0x84]))), // digitalSignature, keyCertSign
    ext(OID.extKeyUsage, false, seq(OID.serverAuth)),
    ext(OID.subjectAltName, false, seq(der(0x87, ipBytes(ip)))),
  ));
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, serial),
    seq(OID.ecdsaSha256),
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const certDer = seq(tbs, seq(OID.ecdsaSha256), der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return { cert: pem('CERTIFICATE', certDer), key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** The certificates of a PEM file's text (none: not a certificate file). */
export function certificatesOf(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const out: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      out.push(new X509Certificate(b));
    } catch {
      return [];
    }
  }
  return out;
}

/**
 * Reads a certificate file named on the command line (`--crowdsec-ca`, `--crowdsec-tls-cert`):
 * a PEM file with one certificate or more. Anything else is exit 2 naming the file.
 */
export async function readCertificateFile(flag: string, file: string): Promise<string> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    throw new UsageError(`invalid ${flag} '${file}': cannot be read; expected a PEM certificate file (-----BEGIN CERTIFICATE-----)`);
  }
  if (!certificatesOf(text).length) throw new UsageError(`invalid ${flag} '${file}': no PEM certificate in it; expected a PEM certificate file (-----BEGIN CERTIFICATE-----)`);
  return text;
}

/**
 * `--crowdsec-tls-cert` / `--crowdsec-tls-key`: the admin's own certificate for the LAPI. The key
 * is a secret file (root-only, else exit 2) and must be the certificate's; returns the
 * certificate's text (the files stay where they are: the LAPI reads them there, so a renewal
 * in place is picked up by a restart of crowdsec).
 */
export async function readOwnCertificate(certFile: string, keyFile: string): Promise<string> {
  const text = await readCertificateFile('--crowdsec-tls-cert', certFile);
  const keyText = await readSecretFile('--crowdsec-tls-key', keyFile);
  let matches = false;
  try {
    matches = certificatesOf(text)[0]!.checkPrivateKey(createPrivateKey(keyText));
  } catch {
    throw new UsageError(`invalid --crowdsec-tls-key '${keyFile}': no private key in it; expected the PEM key of ${certFile}`);
  }
  if (!matches) throw new UsageError(`invalid --crowdsec-tls-key '${keyFile}': not the key of ${certFile}; expected the PEM key that certificate was made for`);
  return text;
}
