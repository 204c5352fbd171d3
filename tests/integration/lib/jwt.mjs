// JSON Web Tokens for the tests: keys generated per run with the `openssl` CLI, JWKs exported
// by Node's crypto, tokens signed by Node's crypto (and one path through `openssl dgst`).

import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// Generates a private key with `openssl genpkey`; returns { privatePem, publicPem, file, pubFile }.
export function opensslKey(dir, name, kind) {
  const file = path.join(dir, `${name}.key.pem`);
  const pubFile = path.join(dir, `${name}.pub.pem`);
  const args = {
    rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    ed25519: ['-algorithm', 'ed25519'],
  }[kind];
  execFileSync('openssl', ['genpkey', ...args, '-out', file], { stdio: 'pipe' });
  execFileSync('openssl', ['pkey', '-in', file, '-pubout', '-out', pubFile], { stdio: 'pipe' });
  return {
    kind,
    file,
    pubFile,
    privatePem: readFileSync(file, 'utf8'),
    publicPem: readFileSync(pubFile, 'utf8'),
  };
}

export function jwkOf(key, kid) {
  const jwk = crypto.createPublicKey(key.publicPem).export({ format: 'jwk' });
  return { ...jwk, kid };
}

export function writeJwks(file, entries) {
  writeFileSync(file, JSON.stringify({ keys: entries.map(([key, kid]) => jwkOf(key, kid)) }));
}

function signature(alg, key, input) {
  const data = Buffer.from(input);
  if (alg.startsWith('HS')) {
    return crypto.createHmac(`sha${alg.slice(2)}`, key).update(data).digest();
  }
  if (alg === 'EdDSA') return crypto.sign(null, data, key.privatePem);
  if (alg.startsWith('ES')) {
    return crypto.sign(`sha${alg.slice(2)}`, data, { key: key.privatePem, dsaEncoding: 'ieee-p1363' });
  }
  if (alg.startsWith('PS')) {
    return crypto.sign(`sha${alg.slice(2)}`, data, {
      key: key.privatePem,
      padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  return crypto.sign(`sha${alg.slice(2)}`, data, key.privatePem);
}

// A compact JWS. `key`: a key from opensslKey(), or the HMAC secret (string or Buffer).
export function makeToken({ alg, key, kid, claims, header = {} }) {
  const head = { alg, typ: 'JWT', ...(kid ? { kid } : {}), ...header };
  const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(signature(alg, key, input))}`;
}

// RS256 signed by `openssl dgst -sha256 -sign` instead of Node.
export function opensslRs256Token({ key, kid, claims, dir }) {
  const head = { alg: 'RS256', typ: 'JWT', kid };
  const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(claims))}`;
  const inFile = path.join(dir, 'signing-input');
  writeFileSync(inFile, input);
  const sig = execFileSync('openssl', ['dgst', '-sha256', '-sign', key.file, inFile]);
  return `${input}.${b64url(sig)}`;
}

export const nowS = () => Math.floor(Date.now() / 1000);
