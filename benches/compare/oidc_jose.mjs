// Verifies the OIDC bench tokens (benches/inputs/oidc_tokens.json) with the `jose` npm
// package, the side-by-side baseline for benches/benches/oidc_id_token.rs: jwtVerify with
// the issuer, audience and clock checks, keys imported once. Prints `rs256 <rate>` and
// `es256 <rate>` (verifications per second of CPU time).
// Usage: GATEHOUSE_NPM_DIR=scripts/deps/npm node benches/compare/oidc_jose.mjs [SECONDS]

import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const npmDir = process.env.GATEHOUSE_NPM_DIR ?? join(here, '..', '..', 'scripts', 'deps', 'npm');
const jose = await import(pathToFileURL(join(npmDir, 'node_modules', 'jose', 'dist', 'webapi', 'index.js')).href);
const doc = JSON.parse(readFileSync(join(here, '..', 'inputs', 'oidc_tokens.json'), 'utf8'));
const seconds = Number(process.argv[2] ?? 3);

const keys = {};
for (const jwk of doc.jwks.keys) {
  keys[jwk.kid] = await jose.importJWK(jwk, jwk.alg);
}
const options = { issuer: doc.issuer, audience: doc.client_id, currentDate: new Date(doc.now * 1000) };

for (const [alg, kid] of [['rs256', 'rsa-1'], ['es256', 'ec-1']]) {
  const token = doc[alg];
  const { payload } = await jose.jwtVerify(token, keys[kid], options);
  if (payload.nonce !== doc.nonce) throw new Error('nonce');
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let n = 0;
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 16; i++) {
      const { payload: p } = await jose.jwtVerify(token, keys[kid], options);
      if (p.nonce !== doc.nonce) throw new Error('nonce');
    }
    n += 16;
  }
  // CPU time of the process (all threads), as openssl speed and the Rust side count it.
  const cpu = process.cpuUsage(cpuStart);
  console.log(`${alg} ${Math.round(n / ((cpu.user + cpu.system) / 1e6))}`);
}
