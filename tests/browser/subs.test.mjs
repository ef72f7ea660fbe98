// subs.test.mjs — sub certificates and permissions in a real Chromium
// (SPEC §4.3): a company is walked to `registered` through the API (the
// pages of that walk are activation.test.mjs's); a second certificate of
// the company logs in, finds 申请成为副证书 on 当前证书信息 and asks through
// the page (holder, mobile, note; the page's own checks first); the main
// certificate, in its own browser, finds the request on 副证书管理 and
// approves it as 办事员 with two matters; the sub certificate's home then
// offers exactly what it may use (办事事项 with those two, no 副证书管理, no
// 主数字证书更新), matters.html lists exactly those two, and it files one
// (招标投标备案: form fields, a PDF attachment, 提交申请) — a reviewer sees
// it in the queue; the third matter is refused by the page and by the
// server (a direct API call answers 403).  Screens go to
// tests/browser/artifacts/subs-NN-*.png; 副证书管理 (the approval panel)
// and a filled matter application to docs/img/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { docShot, registerCompany, startWorld, stopWorld } from './lib/world.mjs';
import { DESKTOP, PHONE, issueReviewer, pages } from './lib/steps.mjs';

const NAME = '上海浦江建筑工程有限公司';
const USCC = '91310115MA1FL8XY7N';
const MAIN_MOBILE = '13816001234';
const HOLDER = '王小二';
const SUB_MOBILE = '13816002222';
const NOTE = '工程部，负责报建和招标投标备案';
// granted: 报建 and 招标投标备案; refused: 施工许可
const GRANTED = [['project-report', '报建'], ['bidding-filing', '招标投标备案']];
const REFUSED = ['construction-permit', '施工许可'];

describe('sub certificates: request, approval with two matters, filing one, refused the third', () => {
  let w, main, second, reviewer, appId;
  const P = pages('subs', () => w);
  const { step, shot, onPage, login, fitsPhone, tiles, fieldError } = P;

  before(async () => {
    P.clearShots();
    w = await startWorld();
    main = w.issue('main', NAME, USCC);
    second = w.issue('second', NAME, USCC);
    reviewer = issueReviewer(w);
    await registerCompany(w, main, reviewer, { uscc: USCC, holder: '张三', mobile: MAIN_MOBILE });
  }, { timeout: 120000 });

  after(async () => { if (w) await stopWorld(w); }, { timeout: 60000 });

  step('办事指南 is reachable from the login page without logging in', { timeout: 60000 }, async () => {
    await onPage(second, DESKTOP, 'guides', async (page, ctx) => {
      await page.goto(`${w.url}/`);
      await page.getByRole('link', { name: /办事指南/ }).click();
      await page.waitForURL(`${w.url}/guides.html`);
      const first = page.locator('#guides a.guide-item').first();
      await first.waitFor();
      assert.equal(await first.locator('strong').textContent(), '申领——开通数字证书（新企业适用）', 'the seed\'s guide first');
      assert.equal(await page.getByRole('link', { name: '返回首页' }).getAttribute('href'), '/', 'not logged in: home is the login page');
      await shot(page, 'guides');
      await first.click();
      await page.getByRole('heading', { name: '申领——开通数字证书（新企业适用）', level: 1 }).waitFor();
      await shot(page, 'guide-first');
      assert.ok(!(await ctx.cookies()).some((c) => c.name === 'oc_session'), 'no session was needed');
    });
  });

  step('a second certificate of the registered company asks to become a sub certificate through the page', { timeout: 60000 }, async () => {
    await onPage(second, DESKTOP, 'request', async (page) => {
      await login(page);
      await page.getByText('贵企业已开通主数字证书').waitFor();
      assert.equal(await page.locator('#serial').textContent(), second.serial);
      assert.equal(await page.locator('#cert-title').textContent(), '当前证书信息', 'neither main nor sub');
      assert.deepEqual(await tiles(page, '#main-other'), ['申请成为副证书', '主数字证书更新', '办事指南'],
        'what a certificate without standing can do');
      assert.equal(await page.locator('a.tile:visible', { hasText: '办事事项' }).count(), 0, 'no matters yet');
      await shot(page, 'home-no-standing');

      await page.getByRole('link', { name: /申请成为副证书/ }).click();
      await page.waitForURL(`${w.url}/subs.html#request-card`);
      await page.getByRole('heading', { name: '申请成为副证书' }).waitFor();
      assert.ok(await page.locator('#rq-holder').evaluate((e) => e === document.activeElement), 'the form has the focus');
      // the page's checks, before anything is sent
      let sent = 0;
      const count = (r) => { if (r.url().endsWith('/api/v1/subs/request')) sent++; };
      page.on('request', count);
      await page.getByLabel('持证人手机').fill('1381600');
      await page.getByRole('button', { name: '提交申请' }).click();
      await fieldError(page, 'rq-holder').getByText('请填写持证人姓名').waitFor();
      await fieldError(page, 'rq-mobile').getByText('手机号码应为11位数字，实际为7位').waitFor();
      assert.equal(sent, 0, 'nothing is sent while a field is wrong');
      page.off('request', count);
      await shot(page, 'request-errors');

      await page.getByLabel('持证人姓名').fill(HOLDER);
      await page.getByLabel('持证人手机').fill(SUB_MOBILE);
      await page.getByLabel('备注').fill(NOTE);
      await shot(page, 'request-filled');
      await page.getByRole('button', { name: '提交申请' }).click();
      await page.locator('#pending-card').getByText('已提交副证书申请，请等待主数字证书或证书管理员审核').waitFor();
      assert.equal(await page.locator('#pending-holder').textContent(), `${HOLDER}（${SUB_MOBILE}）`);
      assert.ok(!(await page.locator('#request-card').isVisible()), 'no second request');
      await shot(page, 'request-pending');

      // 当前证书信息 says the same, and offers no matters yet
      await page.goto(`${w.url}/home.html`);
      await page.locator('#sub-notice').getByText('已提交副证书申请，请等待主数字证书或证书管理员审核').waitFor();
      assert.deepEqual(await tiles(page, '#sub'), ['查看副证书申请', '办事指南']);
      // the main certificate's holder is told by SMS
      const sms = JSON.parse(w.onecert('admin', 'outbox', '--dir', w.H, '--to', MAIN_MOBILE, '--json')).items;
      assert.ok(sms.some((m) => m.purpose === 'sub.requested' && m.text.includes(HOLDER)), 'the main holder is told');
    });
  });

  step('副证书管理 fits a phone, with the pending request', { timeout: 60000 }, async () => {
    await onPage(main, PHONE, 'subs-phone', async (page) => {
      await login(page);
      await page.getByRole('link', { name: /副证书管理/ }).tap();
      await page.waitForURL(`${w.url}/subs.html`);
      await page.locator('#requests .sub-item', { hasText: HOLDER }).waitFor();
      await fitsPhone(page, '副证书管理');
      await shot(page, 'subs-phone');
    });
  });

  step('the main certificate sees the request on 副证书管理 and approves it with two matters', { timeout: 60000 }, async () => {
    await onPage(main, DESKTOP, 'approve', async (page) => {
      await login(page);
      await page.getByRole('heading', { name: '当前证书信息（主）' }).waitFor();
      assert.deepEqual(await tiles(page, '#registered'), ['办事事项', '副证书管理', '主数字证书更新', '办事指南'],
        'the main certificate reaches every page');
      await shot(page, 'home-main');
      await page.getByRole('link', { name: /副证书管理/ }).click();
      await page.waitForURL(`${w.url}/subs.html`);

      const req = page.locator('#requests .sub-item', { hasText: HOLDER });
      await req.waitFor();
      assert.equal(await page.locator('#requests .sub-item').count(), 1, 'one pending request');
      const text = await req.textContent();
      for (const v of [SUB_MOBILE, NOTE, '待审核', second.serial.slice(-8)]) assert.ok(text.includes(v), `the request shows ${v}: ${text}`);
      assert.ok(await req.getByRole('button', { name: '同意' }).isVisible() && await req.getByRole('button', { name: '拒绝' }).isVisible());
      // the main certificate itself is listed as such, not as a request
      await page.locator('#subs .sub-item', { hasText: '主数字证书（法定代表人）' }).waitFor();
      await shot(page, 'subs-pending');

      await req.getByRole('button', { name: '同意' }).click();
      await req.getByRole('heading', { name: '同意申请' }).waitFor();
      assert.ok(await req.getByLabel('办事员').isChecked(), '办事员 by default');
      const picks = req.getByRole('group', { name: '授权事项' });
      assert.equal(await picks.locator('input[type=checkbox]').count(), 6, 'the whole catalogue is offered');
      for (const [, name] of GRANTED) await picks.locator('label.pick', { hasText: name }).locator('input').check();
      await shot(page, 'subs-approve-panel');
      await docShot(page, 'hall-subs.png');
      await req.getByRole('button', { name: '确定同意' }).click();

      const sub = page.locator('#subs .sub-item', { hasText: HOLDER });
      await sub.waitFor();
      await page.locator('#requests-empty').getByText('暂无待处理的申请。').waitFor();
      const subText = await sub.textContent();
      assert.ok(subText.includes('办事员') && subText.includes('在用'), `an active 办事员: ${subText}`);
      const granted = await sub.locator('dt:text-is("授权事项") + dd').textContent();
      assert.deepEqual(granted.split('、').sort(), GRANTED.map(([, n]) => n).sort(), 'exactly the two matters');
      for (const b of ['修改事项', '暂停', '设置持证人', '删除']) assert.ok(await sub.getByRole('button', { name: b }).isVisible(), `${b} is offered`);
      await shot(page, 'subs-approved');

      const sms = JSON.parse(w.onecert('admin', 'outbox', '--dir', w.H, '--to', SUB_MOBILE, '--json')).items;
      assert.ok(sms.some((m) => m.purpose.startsWith('sub.')), `the holder is told by SMS: ${JSON.stringify(sms)}`);
    });
  });

  step('the sub certificate sees only its two matters, on a phone too', { timeout: 60000 }, async () => {
    await onPage(second, PHONE, 'sub-phone', async (page) => {
      await login(page);
      await page.getByRole('heading', { name: '当前证书信息（副）' }).waitFor();
      await page.locator('#sub-notice').getByText('本证书为贵企业的副数字证书（办事员）').waitFor();
      assert.deepEqual(await tiles(page, '#sub'), ['办事事项', '办事指南'], 'no 副证书管理 and no 主数字证书更新 for a 办事员');
      await fitsPhone(page, 'home of a sub certificate');
      await shot(page, 'home-sub-phone');
      await page.getByRole('link', { name: /办事事项/ }).tap();
      await page.waitForURL(`${w.url}/matters.html`);
      await page.locator('#matters a.matter-item').first().waitFor();
      await fitsPhone(page, 'the matter list');
      await shot(page, 'matters-phone');
    });
  });

  step('the sub certificate files one of its matters: fields, a PDF attachment, 提交申请', { timeout: 60000 }, async () => {
    await onPage(second, DESKTOP, 'file', async (page) => {
      await login(page);
      const notice = await page.locator('#sub-notice').textContent();
      assert.ok(notice.includes(`持证人：${HOLDER}（${SUB_MOBILE}）`), `the holder: ${notice}`);
      for (const [, name] of GRANTED) assert.ok(notice.includes(name), `授权事项 names ${name}: ${notice}`);
      assert.ok(!notice.includes(REFUSED[1]));
      await shot(page, 'home-sub');
      await page.getByRole('link', { name: /办事事项/ }).click();
      await page.waitForURL(`${w.url}/matters.html`);
      const items = page.locator('#matters a.matter-item strong');
      await items.first().waitFor();
      assert.deepEqual((await items.allTextContents()).sort(), GRANTED.map(([, n]) => n).sort(), 'exactly the granted matters');
      assert.equal(await page.locator('#others').textContent(), '另有4项事项未授权本证书办理；如需办理，请联系本企业主数字证书（或证书管理员）。');
      await shot(page, 'matters');

      await page.locator('a.matter-item', { hasText: '招标投标备案' }).click();
      await page.getByRole('heading', { name: '招标投标备案' }).waitFor();
      await page.getByText('尚无申请。').waitFor();
      await page.getByRole('button', { name: '新建申请' }).click();
      await page.waitForURL(/matters\.html\?code=bidding-filing&id=new$/);
      await page.locator('#app-card').waitFor();
      assert.ok(await page.locator('#att-locked').isVisible(), 'attachments after the first save');

      // the page's checks: required fields, a number
      await page.getByLabel('项目名称').fill('浦江镇保障房项目');
      await page.getByLabel('招标控制价（万元）').fill('12a');
      await page.getByRole('button', { name: '保存', exact: true }).click();
      await fieldError(page, 'f_section').getByText('请填写标段名称').waitFor();
      await fieldError(page, 'f_ceiling_price').getByText(/应为不小于0的数字/).waitFor();
      assert.match(page.url(), /id=new$/, 'nothing saved');

      await page.getByLabel('标段名称').fill('施工总承包一标段');
      await page.getByLabel('招标方式').fill('公开招标');
      await page.getByLabel('招标控制价（万元）').fill('8650.5');
      await page.getByLabel('开标日期').fill('2026-04-15');
      await page.getByRole('button', { name: '保存', exact: true }).click();
      await page.getByText('已保存').waitFor();
      await page.waitForURL(/matters\.html\?code=bidding-filing&id=\d+$/);
      appId = new URL(page.url()).searchParams.get('id');

      // the attachment: 招标文件 (PDF).  A JPEG is refused by the page first.
      const pdf = path.join(w.T, 'open-main.pdf');       // any real PDF: the 开通 form of the setup
      const jpg = path.join(w.T, 'open-main.jpg');
      const row = page.locator('.att-row', { hasText: '招标文件' });
      await row.locator('input[type=file]').setInputFiles(jpg);
      await row.locator('.field-error').getByText('请选择PDF格式的文件').waitFor();
      await row.locator('input[type=file]').setInputFiles(pdf);
      await page.locator('.att-row', { hasText: '招标文件' }).getByText(/^已上传（PDF，\d+KB）$/).waitFor();
      await page.locator('.att-row', { hasText: '招标文件' }).getByRole('link', { name: '查看' }).waitFor();
      await shot(page, 'matter-filled');
      await docShot(page, 'hall-matters.png');

      await page.getByRole('button', { name: '提交申请' }).click();
      await page.locator('#app-status').getByText('待审核').waitFor();
      assert.match(await page.locator('#app-status').textContent(), /已提交招标投标备案申请，网站将于1个工作日内处理。处理期限：\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}/);
      assert.ok(await page.getByLabel('项目名称').isDisabled(), 'read only once submitted');
      assert.ok(!(await page.getByRole('button', { name: '保存', exact: true }).isVisible()), 'no 保存 once submitted');
      assert.equal(await page.getByLabel('项目名称').inputValue(), '浦江镇保障房项目');
      await shot(page, 'matter-submitted');
    });
    // it went to the reviewers' queue, as a matter
    await onPage(reviewer, DESKTOP, 'review-matter', async (page) => {
      await login(page);
      await page.goto(`${w.url}/review.html`);
      const row = page.locator(`table.queue tbody tr[data-id="${appId}"]`);
      await row.waitFor();
      assert.match(await row.textContent(), /招标投标备案/);
      await row.click();
      await page.locator('#detail-card').waitFor();
      assert.equal(await page.locator('#detail-title').textContent(), `招标投标备案 #${appId}`);
      const form = await page.locator('#d-form').textContent();
      for (const v of ['浦江镇保障房项目', '施工总承包一标段', '公开招标', '8650.5', '2026-04-15', '招标控制价（万元）'])
        assert.ok(form.includes(v), `the reviewer sees ${v}: ${form}`);
      const atts = page.locator('#d-atts');
      assert.match(await atts.textContent(), /招标文件查看（PDF，\d+KB）/);
      const href = await atts.getByRole('link', { name: '查看' }).getAttribute('href');
      const got = await page.evaluate(async (u) => { const r = await fetch(u); return [r.status, r.headers.get('content-type')]; }, href);
      assert.deepEqual(got, [200, 'application/pdf'], 'the reviewer opens the attachment');
      await shot(page, 'review-matter');
    });
  });

  step('the third matter is refused: not listed, the page says so, and its endpoint answers 403', { timeout: 60000 }, async () => {
    await onPage(second, DESKTOP, 'refused', async (page) => {
      await login(page);
      await page.goto(`${w.url}/matters.html`);
      await page.locator('#matters a.matter-item').first().waitFor();
      assert.equal(await page.locator('a.matter-item', { hasText: REFUSED[1] }).count(), 0, 'not listed');
      await page.goto(`${w.url}/matters.html?code=${REFUSED[0]}`);
      await page.locator('#error').getByText(`本证书未被授权办理“${REFUSED[1]}”，请联系本企业主数字证书（或证书管理员）。`).waitFor();
      assert.ok(!(await page.locator('#matter-card').isVisible()) && !(await page.getByRole('button', { name: '新建申请' }).isVisible()),
        'no way to apply');
      assert.ok(await page.getByRole('link', { name: '返回事项列表' }).isVisible(), 'a way back');
      await shot(page, 'matter-refused');
      // the server itself refuses, reads and writes alike, whatever the page shows
      const r = await page.evaluate(async ([code, csrf]) => {
        const list = await fetch(`/api/v1/matters/${code}/applications`);
        const create = await fetch(`/api/v1/matters/${code}/applications`, {
          method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: '{}' });
        const granted = await fetch('/api/v1/matters/bidding-filing/applications');
        return { list: list.status, create: create.status, body: await create.json(), granted: granted.status };
      }, [REFUSED[0], await page.evaluate(() => sessionStorage.getItem('csrf'))]);
      assert.equal(r.list, 403, 'GET of the third matter');
      assert.equal(r.create, 403, 'POST of the third matter');
      assert.match(r.body.error.message, /^本证书未被授权办理此事项/);
      assert.equal(r.granted, 200, 'a granted matter answers');
    });
  });
});
