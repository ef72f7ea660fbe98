// agent_login.test.mjs — logging in to the service hall with the 证书助手
// (the local agent, `onecert agent`, SPEC §5) in a real Chromium that holds
// no client certificate at all: the company's USB key is a SoftHSM2 token
// made with the real CLI (token init, keygen on the token, a CSR signed on
// it, the CA's certificate written onto it), the agent runs on loopback for
// the hall's origin, and the hall names it in hall.agent_url.
//
// The login page lists the key's certificate (企业名称, 证书序列号, 有效期至,
// 介质号); a wrong PIN shows the agent's Chinese message and lets nobody in;
// the right PIN signs the hall's challenge on the token and 当前证书信息 shows
// the token's certificate.  A key whose PIN is locked cannot be chosen (the
// agent's answer altered in flight: SoftHSM2 never locks a PIN).  With the
// agent stopped the page says no 证书助手 was found and the TLS login still
// works; an agent_url off loopback stops the hall from starting.
// docs/img/agent-login.png is the login page with the agent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { dateCN, docShot, opensslFacts, run, startWorld, stopWorld } from './lib/world.mjs';
import { DESKTOP, PHONE, pages } from './lib/steps.mjs';

const NAME = '上海浦江建筑工程有限公司';
const USCC = '91310115MA1FL8XY7N';
const PIN = '123456';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Chromium without a client certificate (only the CA trusted)
const NOCERT = { tag: 'nocert' };

function healthy(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

describe('service hall login with the 证书助手 (agent) in Chromium', () => {
  let w, agentPort, agentURL, agentProc, token, keyId, cert, issuedAt;
  const { onPage, step, fitsPhone, tappable, shot, clearShots } = pages('agent', () => w);
  const certInfo = (page) => page.locator('table.info').evaluate((t) =>
    Object.fromEntries([...t.querySelectorAll('tr')].map((r) =>
      [r.querySelector('th').textContent.trim(), r.querySelector('td').textContent.trim()])));
  // the certificates the page offers: {企业名称, 证书序列号, 有效期至, 介质号, disabled, note}
  const offered = (page) => page.locator('#agent-certs label.agent-cert').evaluateAll((ls) => ls.map((l) => {
    const dts = [...l.querySelectorAll('dt')].map((e) => e.textContent.trim());
    const dds = [...l.querySelectorAll('dd')].map((e) => e.textContent.trim());
    const o = Object.fromEntries(dts.map((k, i) => [k, dds[i]]));
    o.disabled = l.querySelector('input').disabled;
    o.note = [...l.querySelectorAll('.badge')].map((b) => b.textContent.trim()).join(' ');
    return o;
  }));
  const startAgent = async () => {
    agentProc = w.start('agent', ['agent', '--listen', `127.0.0.1:${agentPort}`, '--origin', w.url],
      { SOFTHSM2_CONF: path.join(w.T, 'usb', 'softhsm2.conf') });
    for (let i = 0; i < 50; i++) {
      if (await healthy(`${agentURL}/healthz`)) return;
      if (agentProc.exitCode !== null) break;
      await sleep(200);
    }
    throw new Error(`the agent did not come up\n${w.logs()}`);
  };
  // until the CA has published the new certificate's status (every second)
  const published = () => sleep(Math.max(0, issuedAt + 2500 - Date.now()));

  before(async () => {
    clearShots();
    w = await startWorld({
      hallIni: (world) => {
        agentPort = world.spare;
        agentURL = `http://127.0.0.1:${agentPort}`;
        return `[hall]\nagent_url = ${agentURL}`;
      },
    });
    // the company's USB key, as tests/e2e/hall_token_login.sh makes it
    fs.mkdirSync(path.join(w.T, 'usb', 'tokens'), { recursive: true });
    const conf = path.join(w.T, 'usb', 'softhsm2.conf');
    fs.writeFileSync(conf, `directories.tokendir = ${path.join(w.T, 'usb', 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const usb = (...args) => run(process.env.ONECERT, args, { env: { ...process.env, SOFTHSM2_CONF: conf } })
      .trim().split('\n').pop();
    token = usb('token', 'init', '--label', 'ACME-1', '--so-pin', '87654321', '--pin', PIN);
    assert.match(token, /^[0-9a-f]{16}$/, 'token init prints the medium serial');
    keyId = usb('token', 'keygen', '--token', token, '--pin', PIN, '--algo', 'ec', '--label', 'login');
    assert.match(keyId, /^[0-9a-f]+$/, 'token keygen prints the key id');
    const csr = path.join(w.T, 'token.csr'), pem = path.join(w.T, 'token.pem');
    usb('token', 'csr', '--token', token, '--pin', PIN, '--id', keyId, '--out', csr);
    w.onecert('ca', 'issue', '--dir', w.D, '--csr', csr, '--name', NAME, '--uscc', USCC, '--out', pem);
    issuedAt = Date.now();
    usb('token', 'put-cert', '--token', token, '--pin', PIN, '--cert', pem, '--label', 'login');
    cert = { pem, ...opensslFacts(pem) };
    await startAgent();
  }, { timeout: 120000 });

  after(async () => { if (w) await stopWorld(w); }, { timeout: 60000 });

  step('the login page asks the hall for its agent and lists the USB key\'s certificate', { timeout: 120000 }, async () => {
    await onPage(NOCERT, DESKTOP, 'list', async (page) => {
      await page.goto(`${w.url}/`);
      await page.getByRole('heading', { name: '证书助手' }).waitFor();
      const certs = await offered(page);
      assert.equal(certs.length, 1, `one certificate on the key: ${JSON.stringify(certs)}`);
      assert.equal(certs[0]['企业名称'], NAME);
      assert.equal(certs[0]['证书序列号'], cert.serial, 'the serial openssl reads');
      assert.equal(certs[0]['有效期至'], dateCN(cert.notAfter), 'notAfter in China Standard Time');
      assert.equal(certs[0]['介质号'], token, 'the medium serial of the token');
      assert.equal(certs[0].disabled, false);
      assert.ok(await page.getByRole('radio').isChecked(), 'the only certificate is chosen');
      const pin = page.getByLabel('PIN 码');
      assert.deepEqual(await pin.evaluate((e) => [e.type, e.inputMode, e.autocomplete]), ['password', 'numeric', 'off']);
      assert.ok(await page.getByRole('button', { name: '证书登录', exact: true }).isVisible(), 'the TLS login stays');
      assert.ok(await page.locator('#agent-none').isHidden(), 'no "not found" line');
      await docShot(page, 'agent-login.png');
      await shot(page, 'login');
    });
  });

  step('a wrong PIN shows the agent\'s Chinese message and logs nobody in; the right PIN logs in', { timeout: 120000 }, async () => {
    await published();
    await onPage(NOCERT, DESKTOP, 'login', async (page, ctx) => {
      await page.goto(`${w.url}/`);
      const pin = page.getByLabel('PIN 码'), go = page.getByRole('button', { name: '使用证书助手登录' });
      await pin.fill('654321');
      await go.click();
      const msg = page.locator('#agent-pin').locator('xpath=ancestor::div[contains(@class,"field")][1]')
        .locator('.field-error');
      await msg.waitFor({ state: 'visible' });
      assert.match(await msg.textContent(), /PIN.*错误/, 'the wrong-PIN message, in Chinese');
      assert.ok(!/[A-Za-z]{4}/.test(await msg.textContent()), 'Chinese only');
      assert.equal(page.url(), `${w.url}/`, 'still on the login page');
      assert.ok(!(await ctx.cookies()).some((c) => c.name === 'oc_session'), 'no session');
      assert.equal(await pin.inputValue(), '', 'the wrong PIN is cleared');
      await shot(page, 'wrong-pin');

      await pin.fill(PIN);
      await go.click();
      await page.waitForURL(`${w.url}/home.html`);
      await page.getByRole('heading', { name: '当前证书信息' }).waitFor();
      const info = await certInfo(page);
      assert.equal(info['企业名称'], NAME);
      assert.equal(info['证书序列号'], cert.serial, 'the token\'s certificate is the one logged in');
      assert.ok((await ctx.cookies()).some((c) => c.name === 'oc_session'), 'a session');

      // 开通: the 介质单号 read off the key through the agent (SPEC §3.3, §5)
      await page.goto(`${w.url}/activate.html`);
      const medium = page.getByLabel(/拟设为主数字证书的介质单号/);
      await page.locator('#medium-agent').waitFor({ state: 'visible' });
      assert.equal(await medium.inputValue(), token, 'the medium serial of the key holding this certificate');
      assert.equal(await medium.isEditable(), true, 'the holder can still correct it');
      await shot(page, 'activate-medium');
      await medium.fill(`${token}-X`);
      assert.ok(await page.locator('#medium-agent').isHidden(), 'the note goes once the number is changed');
      await page.goto(`${w.url}/home.html`);
      await page.getByRole('heading', { name: '当前证书信息' }).waitFor();
      // the session works for state changes: the CSRF token was kept as the TLS login keeps it
      await page.getByRole('button', { name: '退出', exact: true }).click();
      await page.waitForURL(`${w.url}/`);
      await page.goto(`${w.url}/home.html`);
      await page.waitForURL(`${w.url}/`);
    });
  });

  step('on a phone: the 证书助手 part fits, its buttons thumb-sized; a key whose PIN is locked cannot be chosen', { timeout: 120000 }, async () => {
    await onPage(NOCERT, PHONE, 'phone', async (page) => {
      // SoftHSM2 never locks a PIN: the agent's own answer, marked locked on its way
      await page.route(`${agentURL}/api/v1/tokens`, async (route) => {
        const r = await route.fetch();
        const body = await r.json();
        for (const t of body.tokens) t.pin_locked = true;
        await route.fulfill({ response: r, json: body });
      });
      await page.goto(`${w.url}/`);
      await page.getByRole('heading', { name: '证书助手' }).waitFor();
      const [c] = await offered(page);
      assert.equal(c.disabled, true, 'a locked key cannot be chosen');
      assert.match(c.note, /PIN 已锁定/);
      assert.ok(await page.getByLabel('PIN 码').isDisabled(), 'no PIN for a locked key');
      assert.ok(await page.getByRole('button', { name: '使用证书助手登录' }).isDisabled(), 'nothing to log in with');
      await fitsPhone(page, 'the login page with the 证书助手');
      await tappable(page.getByRole('button', { name: '使用证书助手登录' }));
      await tappable(page.getByRole('button', { name: '证书登录', exact: true }));
      await shot(page, 'phone-locked');
    });
  });

  step('with the agent stopped the page says so and the TLS login still works', { timeout: 120000 }, async () => {
    const gone = new Promise((r) => agentProc.once('exit', r));
    agentProc.kill('SIGTERM');
    await gone;
    await onPage(NOCERT, DESKTOP, 'no-agent', async (page) => {
      await page.goto(`${w.url}/`);
      const none = page.locator('#agent-none');
      await none.waitFor({ state: 'visible' });
      assert.match(await none.textContent(), /未检测到证书助手/);
      assert.ok(await page.locator('#agent').isHidden(), 'no 证书助手 part');
      // nothing to send over TLS either: the hall's own message
      await page.getByRole('button', { name: '证书登录', exact: true }).click();
      await page.locator('#error').waitFor({ state: 'visible' });
      assert.match(await page.locator('#error').textContent(), /未收到数字证书/);
      await shot(page, 'no-agent');
    });
    // a browser with a certificate (software key) still logs in over TLS
    const soft = w.issue('soft', NAME, USCC);
    await sleep(2500); // the CA publishes its status every second
    await onPage(soft, DESKTOP, 'tls', async (page) => {
      await page.goto(`${w.url}/`);
      await page.locator('#agent-none').waitFor({ state: 'visible' });
      await page.getByRole('button', { name: '证书登录', exact: true }).click();
      await page.waitForURL(`${w.url}/home.html`);
      await page.getByRole('heading', { name: '当前证书信息' }).waitFor();
      assert.equal((await certInfo(page))['证书序列号'], soft.serial);
      // no agent: the 开通 form leaves the 介质单号 to the holder
      const tried = page.waitForEvent('requestfailed', (r) => r.url().startsWith(agentURL));
      await page.goto(`${w.url}/activate.html`);
      await page.locator('#form-card').waitFor({ state: 'visible' });
      await tried;
      await sleep(300);
      assert.equal(await page.getByLabel(/拟设为主数字证书的介质单号/).inputValue(), '', 'nothing filled in');
      assert.ok(await page.locator('#medium-agent').isHidden(), 'no note');
    });
  });

  step('the hall will not start with an agent_url that is not http on loopback', { timeout: 60000 }, async () => {
    const ini = fs.readFileSync(path.join(w.H, 'hall.ini'), 'utf8');
    for (const bad of ['https://127.0.0.1:17650', 'http://agent.example.cn:17650', 'http://127.0.0.1:17650/x', 'http://127.0.0.1:0']) {
      const dir = fs.mkdtempSync(path.join(w.T, 'hall-bad.'));
      fs.symlinkSync(path.join(w.H, 'trust'), path.join(dir, 'trust')); // what the hall reads before
      fs.writeFileSync(path.join(dir, 'hall.ini'), `${ini}\n[hall]\nagent_url = ${bad}\n`);
      assert.throws(() => run(process.env.ONECERT, ['hall', 'serve', '--dir', dir], { timeout: 10000 }),
        /agent_url must be http:\/\/127\.0\.0\.1:PORT/, `refused: ${bad}`);
    }
  });
});
