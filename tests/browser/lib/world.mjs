// world.mjs — a real CA service and a real service hall for the browser
// tests, and Debian's Chromium holding one company certificate.
//
// Everything runs from the built binary ($ONECERT) in a temporary
// directory; certificates go into Chromium through what a user's machine
// has: a PKCS#12 file imported into the NSS database of a per-identity
// HOME, the CA imported there as trusted (so no certificate errors are
// ignored), and a managed AutoSelectCertificateForUrls policy so that
// Chromium sends the certificate without asking.  The policy file lives
// in /etc/chromium/policies/managed (root only) and is removed by stop()
// and, failing that, when the process exits.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(HERE, '..', 'artifacts');
export const DOCS_IMG = path.resolve(HERE, '..', '..', '..', 'docs', 'img');
export const CHROMIUM = process.env.ONECERT_CHROMIUM || '/usr/bin/chromium';
const POLICY_DIR = '/etc/chromium/policies/managed';
const POLICY_FILE = path.join(POLICY_DIR, 'onecert-browser-test.json');

const ONECERT = process.env.ONECERT;
if (!ONECERT) throw new Error('ONECERT must point at the onecert binary (run through run.sh or ctest)');

// Last line of defence: started processes are told to stop and the policy
// file goes away when this test process exits, even on a signal.
const live = new Set();
const tmpDirs = new Set();
let policyWritten = false;
process.on('exit', () => {
  for (const p of live) { try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } }
  if (policyWritten) { try { fs.rmSync(POLICY_FILE, { force: true }); } catch { /* ignore */ } }
  if (!process.env.ONECERT_KEEP_TMP) for (const d of tmpDirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ } }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => process.exit(128 + os.constants.signals[sig]));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (e) {
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (exit ${e.status}):\n${e.stderr || ''}${e.stdout || ''}`);
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.on('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// reservePorts(T) — four loopback ports for one test's servers, the same
// way tests/e2e/lib/common.sh reserve_ports takes them: below the kernel's
// ephemeral range (so a client connection of a test running beside this
// one cannot be given one of them meanwhile), claimed by a symlink to the
// test's directory T under /tmp/onecert-ports (stale once T is removed).
export async function reservePorts(T) {
  const dir = '/tmp/onecert-ports';
  fs.mkdirSync(dir, { recursive: true });
  try { fs.chmodSync(dir, 0o1777); } catch { /* another user's */ }
  let lo = 10000, hi = 32768;
  try { hi = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]); } catch { /* keep */ }
  if (!(hi > lo + 2000)) { lo = 20000; hi = 40000; }
  for (let i = 0; i < 200; i++) {
    const base = lo + 4 * Math.floor(Math.random() * ((hi - lo) / 4 - 1));
    const link = path.join(dir, String(base));
    try {
      fs.symlinkSync(T, link);
    } catch {
      if (!fs.existsSync(link)) { try { fs.unlinkSync(link); } catch { /* raced */ } }
      continue;
    }
    let free = true;
    for (let p = base; p < base + 4 && free; p++) free = await portFree(p);
    if (free) return [base, base + 1, base + 2, base + 3];
    fs.unlinkSync(link);
  }
  throw new Error('no four free loopback ports');
}

function get(url, ca) {
  return new Promise((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { ca, timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
  });
}

function tail(file, n = 30) {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n'); } catch { return '(no log)'; }
}

// openssl's view of a certificate: serial (upper-case hex, as `openssl
// x509 -serial` prints it) and notAfter as a Date.
export function opensslFacts(pem) {
  const serial = run('openssl', ['x509', '-in', pem, '-noout', '-serial']).trim().replace(/^serial=/, '');
  const end = run('openssl', ['x509', '-in', pem, '-noout', '-enddate', '-dateopt', 'iso_8601']).trim()
    .replace(/^notAfter=/, '');
  return { serial, notAfter: new Date(end.replace(' ', 'T')) };
}

// The date as the hall shows it: 有效期至 in China Standard Time.
export function dateCN(d) {
  const t = new Date(d.getTime() + 8 * 3600 * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${t.getUTCFullYear()}年${p(t.getUTCMonth() + 1)}月${p(t.getUTCDate())}日`;
}

// opts.hallIni: lines appended to hall.ini before the hall starts (e.g.
// "[hall]\nagent_url = …"), or a function of the world giving them (the
// world's w.spare is a reserved port left for such a server).
export async function startWorld(opts = {}) {
  const base = process.env.ONECERT_TEST_TMP || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  const T = fs.mkdtempSync(path.join(base, 'browser.'));
  tmpDirs.add(T);
  const D = path.join(T, 'ca'), H = path.join(T, 'hall');
  const [port, hport, spare] = await reservePorts(T);
  const w = {
    T, D, H, port, hport, spare,
    caURL: `http://127.0.0.1:${port}`,
    url: `https://127.0.0.1:${hport}`,
    procs: [], browsers: [],
  };
  const env = { ...process.env, ONECERT_LOG_LEVEL: process.env.ONECERT_LOG_LEVEL || 'error' };
  const start = (name, args, extraEnv = {}) => {
    const log = fs.openSync(path.join(T, `${name}.log`), 'a');
    const p = spawn(ONECERT, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    live.add(p.pid);
    p.on('exit', () => live.delete(p.pid));
    w.procs.push(p);
    return p;
  };
  w.logs = () => `--- ca.log\n${tail(path.join(T, 'ca.log'))}\n--- hall.log\n${tail(path.join(T, 'hall.log'))}` +
    (fs.existsSync(path.join(T, 'agent.log')) ? `\n--- agent.log\n${tail(path.join(T, 'agent.log'))}` : '');
  // another onecert process of this world (NAME.log in T; stopped with it)
  w.start = start;

  try {
    run(ONECERT, ['ca', 'init', '--dir', D, '--algo', 'ec', '--base-url', w.caURL], { env });
    fs.appendFileSync(path.join(D, 'ca.ini'), '\n[serve]\nrevocation_interval = 1\n');
    w.caPem = path.join(D, 'ca.pem');
    run(ONECERT, ['ca', 'issue-tls', '--dir', D, '--name', '127.0.0.1',
      '--out', path.join(T, 'hall.pem'), '--key-out', path.join(T, 'hall.key')], { env });
    start('ca', ['ca', 'serve', '--dir', D, '--listen', `127.0.0.1:${port}`]);
    run(ONECERT, ['hall', 'init', '--dir', H, '--trust', w.caPem,
      '--tls-cert', path.join(T, 'hall.pem'), '--tls-key', path.join(T, 'hall.key'),
      '--tls-listen', `127.0.0.1:${hport}`], { env });
    if (opts.hallIni) {
      const ini = typeof opts.hallIni === 'function' ? opts.hallIni(w) : opts.hallIni;
      fs.appendFileSync(path.join(H, 'hall.ini'), `\n${ini}\n`);
    }
    start('hall', ['hall', 'serve', '--dir', H]);
    const ca = fs.readFileSync(w.caPem);
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = (await get(`${w.caURL}/healthz`)) === 200 && (await get(`${w.url}/healthz`, ca)) === 200;
      if (!up) {
        if (w.procs.some((p) => p.exitCode !== null)) break;
        await sleep(200);
      }
    }
    if (!up) throw new Error(`the CA service and the hall did not come up\n${w.logs()}`);
    writePolicy(w.url);
  } catch (e) {
    await stopWorld(w);
    throw e;
  }

  // A company certificate: key and CSR by openssl, issued by the CA.
  // w.issue(tag, name, null, {idNumber}) issues a personal certificate
  // (staff: reviewers, admins) instead.
  w.issue = (tag, name, uscc, { idNumber } = {}) => {
    const key = path.join(T, `${tag}.key`), csr = path.join(T, `${tag}.csr`), pem = path.join(T, `${tag}.pem`);
    run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-subj', '/CN=ignored by the CA', '-out', csr]);
    const who = idNumber ? ['--profile', 'personal', '--id-number', idNumber] : ['--uscc', uscc];
    run(ONECERT, ['ca', 'issue', '--dir', D, '--csr', csr, '--name', name, ...who, '--out', pem], { env });
    const p12 = path.join(T, `${tag}.p12`);
    run('openssl', ['pkcs12', '-export', '-inkey', key, '-in', pem, '-name', tag, '-out', p12, '-passout', 'pass:']);
    return { tag, key, pem, p12, ...opensslFacts(pem) };
  };
  w.revoke = (cert) => run(ONECERT, ['ca', 'revoke', '--dir', D, '--serial', cert.serial,
    '--reason', 'keyCompromise'], { env });
  // The CLI against this world (`w.onecert('hall', 'grant-role', '--dir', w.H, …)`): its stdout.
  w.onecert = (...args) => run(ONECERT, args, { env });
  return w;
}

function writePolicy(url) {
  try {
    fs.mkdirSync(POLICY_DIR, { recursive: true });
    policyWritten = true;
    fs.writeFileSync(POLICY_FILE, JSON.stringify({
      AutoSelectCertificateForUrls: [JSON.stringify({ pattern: url, filter: {} })],
    }) + '\n');
  } catch (e) {
    throw new Error(`cannot write the Chromium policy ${POLICY_FILE} (the browser tests run as root, as CI does): ${e.message}`);
  }
}

// Chromium with one identity: HOME/.pki/nssdb holds the certificate and
// key (from the PKCS#12) and the CA as a trusted root.  A cert without p12
// ({tag} only): no client certificate at all, the CA trusted.
export async function browserWith(w, cert) {
  const home = path.join(w.T, `home-${cert.tag}`);
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  run('certutil', ['-N', '-d', db, '--empty-password']);
  if (cert.p12) run('pk12util', ['-i', cert.p12, '-d', db, '-W', '']);
  run('certutil', ['-A', '-d', db, '-n', 'onecert test CA', '-t', 'C,,', '-i', w.caPem]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // LANGUAGE and --lang: the browser's own locale (chromium-l10n's
    // zh-CN.pak), which is what formats a date field (年/月/日); the
    // contexts' locale option only sets navigator.language and Accept-Language
    env: { ...process.env, HOME: home, LANGUAGE: 'zh_CN' },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--lang=zh-CN'],
  });
  w.browsers.push(browser);
  return browser;
}

// The hall's JSON API as a program sees it, with this certificate over
// TLS (for setting the scene around what the browser does): logs in on
// first use, keeps the session cookie and the CSRF token.
// call(method, path, body) → {status, json, body (Buffer)}; a Buffer body
// is sent as it is, with type (default image/jpeg).
export function apiClient(w, cert) {
  const tls = { ca: fs.readFileSync(w.caPem), cert: fs.readFileSync(cert.pem), key: fs.readFileSync(cert.key) };
  let cookie = '', csrf = '';
  const call = (method, p, body, type = 'image/jpeg') => new Promise((resolve, reject) => {
    const headers = {};
    if (cookie) headers.Cookie = cookie;
    if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
    let data = null;
    if (Buffer.isBuffer(body)) { data = body; headers['Content-Type'] = type; }
    else if (body !== undefined) { data = Buffer.from(JSON.stringify(body)); headers['Content-Type'] = 'application/json'; }
    if (data) headers['Content-Length'] = data.length;
    const req = https.request(`${w.url}/api/v1/${p}`, { method, headers, ...tls }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        let json = null;
        try { json = JSON.parse(buf.toString('utf8')); } catch { /* not JSON */ }
        const set = res.headers['set-cookie'];
        if (set) for (const c of set) if (c.startsWith('oc_session=')) cookie = c.split(';')[0];
        resolve({ status: res.statusCode, json, body: buf });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
  return {
    async login() {
      // a certificate issued a moment ago: the CA publishes its status
      // every second (revocation_interval = 1), until then OCSP says unknown
      let r = await call('POST', 'login/tls');
      for (let i = 0; i < 30 && r.status === 403 && /status unknown/.test(r.body); i++) {
        await sleep(200);
        r = await call('POST', 'login/tls');
      }
      if (r.status !== 200) throw new Error(`login/tls as ${cert.tag}: ${r.status} ${r.body}`);
      csrf = r.json.csrf;
      return r.json;
    },
    // fails unless the status is the one expected (default 2xx)
    async call(method, p, body, { type, status } = {}) {
      if (!csrf) await this.login();
      const r = await call(method, p, body, type);
      if (status ? r.status !== status : (r.status < 200 || r.status > 299))
        throw new Error(`${method} ${p} as ${cert.tag}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
      return r;
    },
  };
}

// A PDF form "printed, signed, sealed and scanned": rendered to a JPEG by
// pdftoppm as w.T/NAME.jpg, whose path is returned.
export function scanPdf(w, pdf, name) {
  run('pdftoppm', ['-jpeg', '-r', '100', '-jpegopt', 'quality=75', '-singlefile', pdf, path.join(w.T, name)]);
  return path.join(w.T, `${name}.jpg`);
}

const SEGMENTS = path.resolve(HERE, '..', '..', 'unit', 'data', 'segments_fixture.csv');

// The mobile segment fixture (13816…… is 上海市), imported once per world.
export function importSegments(w) {
  if (!w.segments) { w.onecert('admin', 'import-segments', '--dir', w.H, '--file', SEGMENTS); w.segments = true; }
}

// Walks a company to `registered` through the API, as hall_subs.sh does:
// 开通 application, its PDF rendered to a JPEG "scan" by pdftoppm, 保存提交,
// the reviewer's approval, an SMS code from the outbox, 提交注册.  The
// mobile segment fixture (13816…… is 上海市) is imported once per world.
// Returns {client, appId, profile} (client: the main certificate's apiClient).
export async function registerCompany(w, cert, reviewer, {
  uscc, legalRep = '张三', holder = '张三', mobile = '13816001234', nickname = '法人主证书',
  medium = 'SH-2026-000123', contact = '李四', phone = '13817005678',
} = {}) {
  importSegments(w);
  const c = apiClient(w, cert), rev = apiClient(w, reviewer);
  const app = (await c.call('POST', 'applications', { legal_rep: legalRep, license_no: uscc, contact, phone, medium })).json;
  const pdf = path.join(w.T, `open-${cert.tag}.pdf`);
  fs.writeFileSync(pdf, (await c.call('GET', `applications/${app.id}/form.pdf`)).body);
  const up = (await c.call('PUT', `applications/${app.id}/scan`, fs.readFileSync(scanPdf(w, pdf, `open-${cert.tag}`)))).json;
  if (up.qr !== 'match') throw new Error(`the 开通 scan of ${cert.tag} was not verified: ${JSON.stringify(up)}`);
  await c.call('POST', `applications/${app.id}/submit`, {});
  await rev.call('POST', `review/applications/${app.id}/decision`, { decision: 'approve' });
  await c.call('POST', 'registration/sms', { mobile });
  const sms = JSON.parse(w.onecert('admin', 'outbox', '--dir', w.H, '--to', mobile, '--json')).items
    .filter((m) => m.purpose === 'sms_code');
  const code = /(\d{6})/.exec(sms[sms.length - 1].text)[1];
  const me = (await c.call('POST', 'registration', { region: 'local', economic_type: '有限责任公司',
    district: '浦东新区', license_no: uscc, nickname, holder, holder_mobile: mobile, code })).json;
  if (me.company_state !== 'registered' || !me.is_main) throw new Error(`${cert.tag} is not registered: ${JSON.stringify(me)}`);
  return { client: c, appId: app.id, me };
}

export async function stopWorld(w) {
  for (const b of w.browsers) { try { await b.close(); } catch { /* already gone */ } }
  for (const p of w.procs) {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      if (await Promise.race([gone.then(() => true), sleep(5000).then(() => false)]) === false) {
        p.kill('SIGKILL');
        await gone;
      }
    }
  }
  if (policyWritten) { fs.rmSync(POLICY_FILE, { force: true }); policyWritten = false; }
  if (!process.env.ONECERT_KEEP_TMP) { fs.rmSync(w.T, { recursive: true, force: true }); tmpDirs.delete(w.T); }
}

export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// A screen for the README and docs: docs/img/NAME.
export async function docShot(page, name) {
  fs.mkdirSync(DOCS_IMG, { recursive: true });
  await page.screenshot({ path: path.join(DOCS_IMG, name), fullPage: true });
}
