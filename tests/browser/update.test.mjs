// update.test.mjs — main-certificate update (主数字证书更新, SPEC §4.4) in a
// real Chromium: a registered company (walked there through the API) with
// a sub certificate holding two matters; the holder logs in with a new
// certificate of the company, finds 主数字证书更新 on 当前证书信息, fills
// 《主数字证书更新申请表》 (the old certificate chosen from the company's
// record, the page's checks first), downloads the PDF form, "prints and
// scans" it (pdftoppm renders the downloaded PDF to a JPEG), uploads the
// scan, sees its QR code verified and 保存提交; a reviewer finds it in the
// queue with the old and new serials and the scan, and approves; an open
// session of the old main certificate ends at once; the new certificate
// logs in as the main one (当前证书信息（主）) and finds the sub
// certificate and its matters unchanged on 副证书管理; the old certificate's
// login is refused in Chromium with a Chinese message.  Screens go to
// tests/browser/artifacts/update-NN-*.png; the filled form to
// docs/img/hall-update.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { apiClient, dateCN, docShot, registerCompany, run, scanPdf, startWorld, stopWorld } from './lib/world.mjs';
import { DESKTOP, PHONE, issueReviewer, pages } from './lib/steps.mjs';

const NAME = '上海浦江建筑工程有限公司';
const USCC = '91310115MA1FL8XY7N';
const MEDIUM = 'SH-2027-000456';
const CONTACT = '李四';
const PHONE_NO = '021-62345678';
const SUBMITTED = '已提交主数字证书更新申请，网站将于1个工作日内处理';
const RETIRED = '此证书已被更新的主数字证书取代并注销，不能再登录';
const SUB_HOLDER = '王小二';
const GRANTED = [['project-report', '报建'], ['bidding-filing', '招标投标备案']];

describe('main-certificate update: form, scan, review; the new certificate is main, the old one refused', () => {
  let w, oldMain, newMain, sub, reviewer, appId;
  const P = pages('update', () => w);
  const { step, shot, onPage, login, fitsPhone, tappable, loaded, tiles, fieldError } = P;

  before(async () => {
    P.clearShots();
    w = await startWorld();
    oldMain = w.issue('oldmain', NAME, USCC);
    sub = w.issue('sub', NAME, USCC);
    newMain = w.issue('newmain', NAME, USCC);
    reviewer = issueReviewer(w);
    const { client: main } = await registerCompany(w, oldMain, reviewer, { uscc: USCC });
    // a sub certificate with two matters, to be carried over
    const s = apiClient(w, sub);
    const mine = (await s.call('POST', 'subs/request', { holder: SUB_HOLDER, mobile: '13816002222' })).json;
    await main.call('POST', `subs/${mine.id}/approve`, { role: 'clerk', matters: GRANTED.map(([c]) => c) });
  }, { timeout: 120000 });

  after(async () => { if (w) await stopWorld(w); }, { timeout: 60000 });

  step('the update form fits a phone', { timeout: 60000 }, async () => {
    await onPage(newMain, PHONE, 'phone-form', async (page) => {
      await login(page);
      await page.getByRole('link', { name: /主数字证书更新/ }).tap();
      await page.waitForURL(`${w.url}/update.html`);
      await page.getByRole('heading', { name: '主数字证书更新申请' }).waitFor();
      await page.waitForFunction(() => document.getElementById('new_serial').value !== '');
      await fitsPhone(page, 'the update form');
      await tappable(page.getByRole('button', { name: '保存并下载申请表' }));
      await shot(page, 'form-phone');
    });
  });

  step('the holder of the new certificate fills 《主数字证书更新申请表》, downloads, scans, uploads and submits it', { timeout: 60000 }, async () => {
    await onPage(newMain, DESKTOP, 'apply', async (page) => {
      await login(page);
      await page.getByText('贵企业已开通主数字证书').waitFor();
      assert.equal(await page.locator('#serial').textContent(), newMain.serial);
      assert.deepEqual(await tiles(page, '#main-other'), ['申请成为副证书', '主数字证书更新', '办事指南']);
      await shot(page, 'home-new-cert');
      await page.getByRole('link', { name: /主数字证书更新/ }).click();
      await page.waitForURL(`${w.url}/update.html`);
      await page.locator('#form-card').waitFor();
      await page.waitForFunction(() => document.getElementById('new_serial').value !== '');

      // prefilled: the company, the old certificate from its record, this one
      const locked = { company_name: NAME, org_code: USCC.slice(8, 17), new_serial: newMain.serial,
        new_not_after: dateCN(newMain.notAfter) };
      for (const [id, want] of Object.entries(locked)) {
        const input = page.locator(`#${id}`);
        assert.equal(await input.inputValue(), want, id);
        assert.ok(await input.evaluate((e) => e.readOnly), `${id} is locked`);
      }
      assert.match(await page.locator('#new_uid').inputValue(), /^OC\d{8}[0-9A-Z]{10}$/);
      const olds = await page.locator('#old_serial option').allTextContents();
      assert.equal(olds.length, 1, `one old certificate to choose: ${olds}`);
      assert.equal(await page.locator('#old_serial').inputValue(), oldMain.serial, 'the current main certificate');
      assert.match(await page.locator('#old_uid').inputValue(), /^OC\d{8}[0-9A-Z]{10}$/);
      assert.notEqual(await page.locator('#old_uid').inputValue(), await page.locator('#new_uid').inputValue());
      assert.equal(await page.getByLabel('营业执照注册号（或统一社会信用代码）').inputValue(), USCC, 'from the registration');
      assert.ok(await page.locator('#scan').isDisabled(), 'no upload before the form is saved');

      // the page's checks, before anything is sent
      let sent = 0;
      const count = (r) => { if (r.url().includes('/api/v1/main-update') || r.url().includes('/api/v1/applications')) sent++; };
      page.on('request', count);
      await page.getByLabel('联系电话').fill('02162');
      await page.getByRole('button', { name: '保存并下载申请表' }).click();
      await fieldError(page, 'medium').getByText('请填写介质单号（印在USB key背面）').waitFor();
      await fieldError(page, 'reason').getByText('请选择更新原因').waitFor();
      await fieldError(page, 'contact').getByText('请填写联系人').waitFor();
      await fieldError(page, 'phone').getByText(/联系电话应为11位手机号码或带区号的固定电话/).waitFor();
      assert.equal(sent, 0, 'nothing is sent while a field is wrong');
      page.off('request', count);
      // 其他 asks for a reason
      await page.getByLabel('更新原因').selectOption('其他');
      await page.getByLabel('其他原因说明').waitFor();
      await shot(page, 'form-errors');

      await page.getByLabel('更新原因').selectOption('续费');
      assert.ok(!(await page.getByLabel('其他原因说明').isVisible()), 'only for 其他');
      await page.getByLabel('新证书介质单号（硬件背面）').fill(MEDIUM);
      await page.getByLabel('联系人').fill(CONTACT);
      await page.getByLabel('联系电话').fill(PHONE_NO);
      for (const id of ['medium', 'reason', 'contact', 'phone'])
        assert.ok(!(await fieldError(page, id).isVisible()), `the message of ${id} goes once it is right`);

      // ① 保存并下载申请表
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: '保存并下载申请表' }).click(),
      ]);
      const pdf = path.join(w.T, 'update.pdf');
      await download.saveAs(pdf);
      assert.equal(fs.readFileSync(pdf).subarray(0, 5).toString(), '%PDF-', 'the download is a PDF');
      assert.match(download.suggestedFilename(), /^main-update-\d+\.pdf$/);
      const text = run('pdftotext', [pdf, '-']);
      for (const v of [NAME, oldMain.serial, newMain.serial, MEDIUM, '续费'])
        assert.ok(text.replace(/\s/g, '').includes(v), `the PDF form carries ${v}`);
      // printed, signed, sealed and scanned: the PDF rendered to a JPEG
      const jpg = scanPdf(w, pdf, 'update-scan');
      const size = fs.statSync(jpg).size;
      assert.ok(size > 0 && size <= 200 * 1024, `the scan is at most 200 KB: ${size} bytes`);

      // ② the scan: its QR code is this application's
      await page.locator('#scan').setInputFiles(jpg);
      await page.locator('#qr').getByText('二维码核验通过').waitFor();
      await loaded(page.locator('#scan-preview'), 'the preview');
      await shot(page, 'form-scanned');
      await docShot(page, 'hall-update.png');

      // ③ 保存提交
      await page.getByRole('button', { name: '保存提交' }).click();
      await page.locator('#status').getByText(SUBMITTED).waitFor();
      assert.match(await page.locator('#deadline').textContent(), /^\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}$/);
      assert.ok(await page.getByRole('button', { name: '撤回' }).isVisible(), '撤回 is offered');
      assert.ok(await page.locator('#medium').isDisabled(), 'read only once submitted');
      assert.equal(await page.locator('#medium').inputValue(), MEDIUM);
      await shot(page, 'submitted');
    });
  });

  step('a reviewer approves the update beside its scan; the old main certificate\'s open session ends at once', { timeout: 60000 }, async () => {
    // the old main certificate is logged in meanwhile, and still works
    await onPage(oldMain, DESKTOP, 'old-session', async (old) => {
      await login(old);
      await old.getByRole('heading', { name: '当前证书信息（主）' }).waitFor();

      await onPage(reviewer, DESKTOP, 'review', async (page) => {
        await login(page);
        await page.getByRole('link', { name: '审核工作台' }).click();
        await page.waitForURL(`${w.url}/review.html`);
        const row = page.locator('table.queue tbody tr', { hasText: '主数字证书更新' });
        await row.waitFor();
        assert.match(await row.textContent(), new RegExp(NAME));
        assert.match(await row.textContent(), /二维码核验通过/);
        await shot(page, 'review-queue');
        await row.click();
        await page.locator('#detail-card').waitFor();
        appId = new URL(page.url()).hash.slice(1);
        assert.equal(await page.locator('#detail-title').textContent(), `主数字证书更新申请 #${appId}`);
        const form = await page.locator('#d-form').evaluate((t) =>
          Object.fromEntries([...t.rows].map((r) => [r.cells[0].textContent, r.cells[1].textContent])));
        assert.equal(form['原证书序列号'], oldMain.serial);
        assert.equal(form['新证书序列号'], newMain.serial);
        assert.equal(form['新证书介质单号'], MEDIUM);
        assert.equal(form['更新原因'], '续费');
        assert.equal(form['联系人'], CONTACT);
        assert.equal(form['联系电话'], PHONE_NO);
        assert.ok((await page.locator('#d-applicant').textContent()).includes(newMain.serial), 'the applicant is the new certificate');
        await loaded(page.locator('#scan'), 'the scan');
        await page.locator('#d-qr').getByText('二维码核验通过').waitFor();
        await shot(page, 'review-detail');

        await page.getByRole('button', { name: '通过' }).click();
        await page.locator('#result').getByText('已通过').waitFor();
        assert.match(await page.locator('#result').textContent(), /申请证书已成为该企业的主数字证书，原主数字证书已注销/);
        await shot(page, 'review-approved');
      });

      // the old main certificate's session is over: its next page sends it to the login page
      await old.reload();
      await old.waitForURL(`${w.url}/`);
      await old.getByRole('button', { name: '证书登录' }).waitFor();
    });
  });

  step('the new certificate logs in as the main certificate; the sub certificate and its matters carried over', { timeout: 60000 }, async () => {
    await onPage(newMain, DESKTOP, 'new-main', async (page) => {
      await login(page);
      await page.getByRole('heading', { name: '当前证书信息（主）' }).waitFor();
      assert.equal(await page.locator('#serial').textContent(), newMain.serial);
      assert.deepEqual(await tiles(page, '#registered'), ['办事事项', '副证书管理', '主数字证书更新', '办事指南']);
      await shot(page, 'home-new-main');

      await page.goto(`${w.url}/update.html`);
      await page.locator('#done').getByText('主数字证书已更新：本证书现为主数字证书').waitFor();
      await shot(page, 'update-done');

      await page.goto(`${w.url}/subs.html`);
      const subItem = page.locator('#subs .sub-item', { hasText: SUB_HOLDER });
      await subItem.waitFor();
      assert.match(await subItem.textContent(), /办事员.*在用/);
      const granted = await subItem.locator('dt:text-is("授权事项") + dd').textContent();
      assert.deepEqual(granted.split('、').sort(), GRANTED.map(([, n]) => n).sort(), 'the grants are unchanged');
      const me = page.locator('#subs .sub-item', { hasText: '本证书' });
      assert.match(await me.textContent(), /主数字证书（法定代表人）/);
      const old = page.locator('#others .sub-item', { hasText: oldMain.serial.slice(-8) });
      await old.getByText('已注销').waitFor();
      assert.match(await old.locator('.sub-head strong').textContent(), /张三/, 'the retired main keeps its holder');
      await shot(page, 'subs-after');
    });
    // the sub certificate still sees its two matters
    await onPage(sub, DESKTOP, 'sub-after', async (page) => {
      await login(page);
      await page.getByRole('heading', { name: '当前证书信息（副）' }).waitFor();
      assert.deepEqual(await tiles(page, '#sub'), ['办事事项', '办事指南']);
      await page.goto(`${w.url}/matters.html`);
      const items = page.locator('#matters a.matter-item strong');
      await items.first().waitFor();
      assert.deepEqual((await items.allTextContents()).sort(), GRANTED.map(([, n]) => n).sort());
    });
  });

  step('the old main certificate\'s login is refused with a Chinese message', { timeout: 60000 }, async () => {
    await onPage(oldMain, DESKTOP, 'old-refused', async (page, ctx) => {
      await page.goto(`${w.url}/`);
      await page.getByRole('button', { name: '证书登录' }).click();
      const err = page.locator('#error');
      await err.waitFor({ state: 'visible' });
      assert.equal((await err.textContent()).trim(), RETIRED);
      assert.equal(page.url(), `${w.url}/`, 'still on the login page');
      assert.ok(!(await ctx.cookies()).some((c) => c.name === 'oc_session'), 'no session');
      await shot(page, 'old-refused');
    });
  });
});
