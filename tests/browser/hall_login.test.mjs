// hall_login.test.mjs — certificate login to the service hall in a real
// Chromium (SPEC §4.1, §4.2 steps 1–2): a company certificate logs in over
// TLS and sees 当前证书信息 with the values openssl reads from the
// certificate, the notice for a company without a main certificate, 开通
// and 退出; a revoked certificate is refused with a Chinese message; the
// pages fit a phone.  Screenshots go to tests/browser/artifacts/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dateCN, screenshot, startWorld, stopWorld } from './lib/world.mjs';
import { DESKTOP, PHONE, pages } from './lib/steps.mjs';

const NAME = '上海浦江建筑工程有限公司';
const USCC = '91310115MA1FL8XY7N';
const NOTICE = '贵企业未在本市建筑建材业网上办事大厅开通主数字证书';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('service hall in Chromium', () => {
  let w, company, revoked, revokedAt;
  const { onPage, fitsPhone, tappable } = pages('hall', () => w);
  // 当前证书信息 as the page shows it: header cell → value cell.
  const certInfo = (page) => page.locator('table.info').evaluate((t) =>
    Object.fromEntries([...t.querySelectorAll('tr')].map((r) =>
      [r.querySelector('th').textContent.trim(), r.querySelector('td').textContent.trim()])));

  before(async () => {
    w = await startWorld();
    company = w.issue('company', NAME, USCC);
    revoked = w.issue('revoked', NAME, USCC);
    w.revoke(revoked);
    revokedAt = Date.now();
  }, { timeout: 120000 });

  after(async () => { if (w) await stopWorld(w); }, { timeout: 60000 });

  test('a company certificate logs in and sees 当前证书信息, the notice, 开通 and 退出', { timeout: 120000 }, async () => {
    await onPage(company, DESKTOP, 'login', async (page, ctx) => {
      await page.goto(`${w.url}/`);
      await assert.doesNotReject(page.getByRole('heading', { name: '数字证书登录' }).waitFor());
      await screenshot(page, 'hall-login.png');

      await page.getByRole('button', { name: '证书登录' }).click();
      await page.waitForURL(`${w.url}/home.html`);
      await page.getByRole('heading', { name: '当前证书信息' }).waitFor();

      const info = await certInfo(page);
      assert.equal(info['企业名称'], NAME);
      assert.equal(info['机构代码证'], USCC);
      assert.match(info['证书唯一标识码'], /^OC\d{8}[0-9A-Z]{10}$/);
      assert.equal(info['证书序列号'], company.serial, 'the serial openssl reads');
      assert.equal(info['有效期至'], dateCN(company.notAfter), 'notAfter in China Standard Time');

      await page.getByText(NOTICE).waitFor();
      assert.ok(await page.getByRole('link', { name: '开通', exact: true }).isVisible(), '开通 is shown');
      assert.ok(await page.getByRole('button', { name: '退出', exact: true }).isVisible(), '退出 is shown');
      const session = (await ctx.cookies()).find((c) => c.name === 'oc_session');
      assert.ok(session, 'a session cookie');
      assert.deepEqual([session.httpOnly, session.secure, session.sameSite], [true, true, 'Strict']);
      await screenshot(page, 'hall-home.png');

      await page.getByRole('button', { name: '退出', exact: true }).click();
      await page.waitForURL(`${w.url}/`);
      await page.getByRole('button', { name: '证书登录' }).waitFor();
      // the session is over: the home page sends us back to the login page
      await page.goto(`${w.url}/home.html`);
      await page.waitForURL(`${w.url}/`);
    });
  });

  test('a revoked certificate is refused with a Chinese message about revocation (撤销)', { timeout: 120000 }, async () => {
    await sleep(Math.max(0, revokedAt + 2000 - Date.now())); // the CA publishes every second
    await onPage(revoked, DESKTOP, 'revoked', async (page, ctx) => {
      await page.goto(`${w.url}/`);
      await page.getByRole('button', { name: '证书登录' }).click();
      const err = page.locator('#error');
      await err.waitFor({ state: 'visible' });
      const msg = (await err.textContent()).trim();
      assert.match(msg, /撤销|吊销/, `the refusal says the certificate was revoked: ${msg}`);
      assert.equal(page.url(), `${w.url}/`, 'still on the login page');
      assert.ok(!(await ctx.cookies()).some((c) => c.name === 'oc_session'), 'no session');
      await screenshot(page, 'hall-revoked.png');
    });
  });

  test('the login page and 当前证书信息 fit a phone (390×844)', { timeout: 120000 }, async () => {
    await onPage(company, PHONE, 'phone', async (page) => {
      await page.goto(`${w.url}/`);
      await page.getByRole('button', { name: '证书登录' }).waitFor();
      await fitsPhone(page, 'the login page');
      await screenshot(page, 'hall-login-phone.png');

      await page.getByRole('button', { name: '证书登录' }).tap();
      await page.waitForURL(`${w.url}/home.html`);
      await page.getByText(NOTICE).waitFor();
      await fitsPhone(page, 'the home page');
      await tappable(page.getByRole('link', { name: '开通', exact: true }));
      await tappable(page.getByRole('button', { name: '退出', exact: true }));
      await screenshot(page, 'hall-home-phone.png');
    });
  });
});
