// activation.test.mjs — main-certificate activation (开通), review and
// registration in a real Chromium, as the people involved do it (SPEC
// §4.2 steps 3–6): the company's certificate logs in, fills the 开通
// form (client-side checks first), downloads the PDF application form,
// "prints and scans" it (pdftoppm renders the downloaded PDF to a JPEG,
// as a scanner would), uploads the scan and sees the QR code verified,
// submits; a second certificate of the company sees that an application
// is pending; another company's application (filed through the API) is
// made overdue; a reviewer (a personal certificate with the reviewer
// role, in its own browser) finds both in the queue, the overdue one
// first and marked 已超期, looks at the scan and approves the first,
// rejects the other with a reason that its applicant then reads; the
// first company logs in again, is told its certificate is the
// main certificate, registers with an SMS code read from the hall's
// outbox (a non-local mobile is refused first) and sees 当前证书信息（主）
// and 开通成功.  Every screen is kept in tests/browser/artifacts/
// (activation-NN-*.png); the 开通 form and the review console also go to
// docs/img/ for the README and docs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { apiClient, dateCN, docShot, importSegments, run, scanPdf, startWorld, stopWorld } from './lib/world.mjs';
import { DESKTOP, PHONE, issueReviewer, pages } from './lib/steps.mjs';

const NAME = '上海浦江建筑工程有限公司';
const USCC = '91310115MA1FL8XY7N';
const NAME_B = '北京燕山建材有限公司';
const USCC_B = '91110000600037341L';
const REJECT_REASON = '申请表未加盖单位公章，请盖章后重新扫描上传';
const LOCAL = '13816001234';      // 上海市 in the segment fixture
const FAR = '13901001234';        // 北京市
const CONTACT_PHONE = '13817005678';
const SUBMITTED = '已提交主证书开通申请，网站将于1个工作日内处理';
const MAIN_NOTICE = '本证书已被设为主证书，请点击下一步完成用户信息的填写';
const REMINDER = '因主证书仅一套，建议由法人本人持有。必要时可申请副证书，并开通相应的权限。';

describe('main-certificate activation, review and registration in Chromium', () => {
  let w, company, company2, companyB, reviewer, appId, overdueId;
  const P = pages('activation', () => w);
  const { step, shot, onPage, login, fitsPhone, tappable, loaded, fieldError } = P;

  before(async () => {
    P.clearShots();
    w = await startWorld();
    importSegments(w);
    company = w.issue('company', NAME, USCC);
    company2 = w.issue('company2', NAME, USCC);
    companyB = w.issue('companyB', NAME_B, USCC_B);
    reviewer = issueReviewer(w);
  }, { timeout: 120000 });

  after(async () => { if (w) await stopWorld(w); }, { timeout: 60000 });

  step('the 开通 form fits a phone: certificate fields prefilled and locked', { timeout: 120000 }, async () => {
    await onPage(company, PHONE, 'phone-form', async (page) => {
      await login(page);
      await page.getByText('贵企业未在本市建筑建材业网上办事大厅开通主数字证书').waitFor();
      await page.getByRole('link', { name: '开通', exact: true }).tap();
      await page.waitForURL(`${w.url}/activate.html`);
      await page.getByRole('heading', { name: '主数字证书开通申请' }).waitFor();
      await page.waitForFunction(() => document.getElementById('company_name').value !== '');
      assert.equal(await page.locator('#company_name').inputValue(), NAME);
      await fitsPhone(page, 'the 开通 form');
      await tappable(page.getByRole('button', { name: '保存并下载申请表' }));
      await shot(page, 'activate-phone');
    });
  });

  step('the company fills the 开通 form, downloads, scans and uploads the PDF, submits', { timeout: 180000 }, async () => {
    await onPage(company, DESKTOP, 'apply', async (page) => {
      await login(page);
      await page.getByText('贵企业未在本市建筑建材业网上办事大厅开通主数字证书').waitFor();
      await shot(page, 'home-none');
      await page.getByRole('link', { name: '开通', exact: true }).click();
      await page.waitForURL(`${w.url}/activate.html`);
      await page.locator('#form-card').waitFor();

      // 当前证书信息, prefilled and locked
      const locked = { company_name: NAME, org_code: USCC, serial: company.serial, not_after: dateCN(company.notAfter) };
      for (const [id, want] of Object.entries(locked)) {
        const input = page.locator(`#${id}`);
        assert.equal(await input.inputValue(), want, id);
        assert.ok(await input.evaluate((e) => e.readOnly || e.disabled), `${id} is locked`);
      }
      assert.match(await page.locator('#unique_id').inputValue(), /^OC\d{8}[0-9A-Z]{10}$/);
      assert.ok(await page.getByLabel('证书唯一标识码').evaluate((e) => e.readOnly), '证书唯一标识码 is locked');
      await shot(page, 'activate-empty');

      // client-side checks, next to the field, before anything is sent
      await page.getByLabel('企业法定代表人').fill('张三');
      await page.getByLabel('营业执照注册号（或事业单位证书号、社团编号）').fill('91310115MA1FL8XY7A');
      await page.getByLabel('联系人').fill('李四');
      await page.getByLabel('联系电话').fill('1381600');
      await page.getByLabel('拟设为主数字证书的介质单号（硬件背面）').fill('SH-2026-000123');
      let requests = 0;
      const count = (r) => { if (r.url().includes('/api/v1/applications')) requests++; };
      page.on('request', count);
      await page.getByRole('button', { name: '保存并下载申请表' }).click();
      await fieldError(page, 'license_no').getByText('统一社会信用代码校验位错误：第18位应为 N').waitFor();
      await fieldError(page, 'phone').getByText('手机号码应为11位数字，实际为7位').waitFor();
      assert.equal(requests, 0, 'nothing is sent while a field is wrong');
      page.off('request', count);
      // another company's (valid) USCC: the organization code must be the certificate's
      await page.getByLabel('营业执照注册号（或事业单位证书号、社团编号）').fill('91110000600037341L');
      await page.getByLabel('联系人').focus();
      await fieldError(page, 'license_no').getByText('与本证书的机构代码 MA1FL8XY7 不一致').waitFor();
      await shot(page, 'activate-errors');

      await page.getByLabel('营业执照注册号（或事业单位证书号、社团编号）').fill(USCC.toLowerCase());
      assert.equal(await page.locator('#license_no').inputValue(), USCC, 'typed in lower case, shown in upper case');
      await page.getByLabel('联系电话').fill(CONTACT_PHONE);
      assert.ok(!(await fieldError(page, 'license_no').isVisible()) && !(await fieldError(page, 'phone').isVisible()),
        'the messages go once the fields are right');
      assert.ok(await page.locator('#scan').isDisabled(), 'no upload before the form is saved');

      // ① 保存并下载申请表
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: '保存并下载申请表' }).click(),
      ]);
      const pdf = path.join(w.T, 'form.pdf');
      await download.saveAs(pdf);
      assert.equal(fs.readFileSync(pdf).subarray(0, 5).toString(), '%PDF-', 'the download is a PDF');
      assert.match(download.suggestedFilename(), /\.pdf$/);
      // printed, signed, sealed and scanned: here the PDF rendered to a JPEG
      const jpg = scanPdf(w, pdf, 'scan');
      const size = fs.statSync(jpg).size;
      assert.ok(size > 0 && size <= 200 * 1024, `the scan is at most 200 KB: ${size} bytes`);
      await page.getByText('JPG格式，图片最大不超过200KB').waitFor();

      // ② a PNG named .jpg is refused by the server, whose message is shown
      run('pdftoppm', ['-png', '-r', '30', '-singlefile', pdf, path.join(w.T, 'notjpeg')]);
      fs.renameSync(path.join(w.T, 'notjpeg.png'), path.join(w.T, 'notjpeg.jpg'));
      await page.locator('#scan').setInputFiles(path.join(w.T, 'notjpeg.jpg'));
      const scanErr = fieldError(page, 'scan');
      await scanErr.waitFor({ state: 'visible' });
      assert.match(await scanErr.textContent(), /JPEG|JPG|图片/, 'the server says why');
      assert.ok(!(await page.getByText('二维码核验通过').isVisible()), 'nothing verified');

      // ② the real scan: the QR code on it is this application's
      await page.locator('#scan').setInputFiles(jpg);
      await page.locator('#qr').getByText('二维码核验通过').waitFor();
      assert.ok(!(await scanErr.isVisible()), 'the earlier refusal is gone');
      await loaded(page.locator('#scan-preview'), 'the preview');
      await shot(page, 'activate-scanned');
      await docShot(page, 'hall-activate.png');

      // ③ 保存提交
      await page.getByRole('button', { name: '保存提交' }).click();
      await page.locator('#status').getByText(SUBMITTED).waitFor();
      assert.ok(await page.getByRole('button', { name: '撤回' }).isVisible(), '撤回 is offered');
      assert.ok(await page.locator('#legal_rep').isDisabled(), 'read only once submitted');
      assert.equal(await page.locator('#legal_rep').inputValue(), '张三');
      assert.match(await page.locator('#deadline').textContent(), /^\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}$/);
      await shot(page, 'activate-submitted');

      // home says the same, with 撤回 and the deadline
      await page.goto(`${w.url}/home.html`);
      await page.locator('#app-submitted').getByText(SUBMITTED).waitFor();
      assert.ok(await page.getByRole('button', { name: '撤回' }).isVisible());
      assert.match(await page.locator('#deadline').textContent(), /^\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}$/);
      assert.ok(!(await page.getByRole('link', { name: '开通', exact: true }).isVisible()), 'no second 开通');
      await shot(page, 'home-submitted');
    });
  });

  step('the submitted application, read only, fits a phone', { timeout: 120000 }, async () => {
    await onPage(company, PHONE, 'phone-submitted', async (page) => {
      await login(page);
      await page.goto(`${w.url}/activate.html`);
      await page.locator('#status').getByText(SUBMITTED).waitFor();
      await fitsPhone(page, 'the submitted application');
      await shot(page, 'activate-submitted-phone');
    });
  });

  step('a second certificate of the company sees that an application is pending', { timeout: 120000 }, async () => {
    await onPage(company2, DESKTOP, 'second-cert', async (page) => {
      await login(page);
      assert.equal(await page.locator('#serial').textContent(), company2.serial);
      await page.getByText('贵企业已有一份主数字证书开通申请正在办理').waitFor();
      assert.match(await page.locator('#other-detail').textContent(), /另一张数字证书提交/);
      assert.ok(!(await page.getByRole('link', { name: '开通', exact: true }).isVisible()), 'no 开通 for it');
      await shot(page, 'home-second-cert');
      await page.goto(`${w.url}/activate.html`);
      await page.locator('#blocked').getByText('请勿重复申请').waitFor();
      assert.ok(!(await page.locator('#form-card').isVisible()), 'no form');
    });
  });

  // Another company applies (through the API: the browser part was shown
  // above) and its application is made overdue: no working day passes
  // during a test, so its times are moved back in the hall's database.
  step('another company\'s application waits past its deadline', { timeout: 120000 }, async () => {
    const b = apiClient(w, companyB);
    const form = { legal_rep: '王五', license_no: USCC_B, contact: '赵六', phone: '010-62345678', medium: 'BJ-0001' };
    const app = (await b.call('POST', 'applications', form)).json;
    const pdf = path.join(w.T, 'form-b.pdf');
    fs.writeFileSync(pdf, (await b.call('GET', `applications/${app.id}/form.pdf`)).body);
    const up = (await b.call('PUT', `applications/${app.id}/scan`, fs.readFileSync(scanPdf(w, pdf, 'scan-b')))).json;
    assert.equal(up.qr, 'match');
    await b.call('POST', `applications/${app.id}/submit`, {});
    overdueId = app.id;
    const now = Math.floor(Date.now() / 1000);
    run('sqlite3', ['-cmd', '.timeout 5000', path.join(w.H, 'hall.db'),
      `UPDATE applications SET submitted_at = ${now - 4 * 86400}, deadline = ${now - 86400} WHERE id = ${Number(app.id)}`]);
  });

  step('the review console fits a phone: the queue, then one application above its scan', { timeout: 120000 }, async () => {
    await onPage(reviewer, PHONE, 'review-phone', async (page) => {
      await login(page);
      await page.goto(`${w.url}/review.html`);
      await page.locator('table.queue tbody tr', { hasText: NAME }).waitFor();
      await fitsPhone(page, 'the review queue');
      await shot(page, 'review-queue-phone');
      await page.locator('table.queue tbody tr', { hasText: NAME }).getByRole('link').tap();
      await page.locator('#detail-card').waitFor();
      await loaded(page.locator('#scan'), 'the scan');
      await fitsPhone(page, 'the review detail');
      const form = await page.locator('#d-form').boundingBox(), scan = await page.locator('#scan').boundingBox();
      assert.ok(scan.y >= form.y + form.height - 1, 'the scan goes below the form');
      const approve = await page.getByRole('button', { name: '通过' }).boundingBox();
      assert.ok(approve.y >= scan.y + scan.height - 1, 'and the decision below the scan');
      await shot(page, 'review-detail-phone');
    });
  });

  step('a reviewer sees the queue by deadline (已超期 marked), approves one beside its scan, rejects the other with a reason', { timeout: 120000 }, async () => {
    await onPage(reviewer, DESKTOP, 'review', async (page) => {
      await login(page);
      await page.getByText('工作人员角色：审核员').waitFor();
      await page.getByRole('link', { name: '审核工作台' }).click();
      await page.waitForURL(`${w.url}/review.html`);
      const row = page.locator('table.queue tbody tr', { hasText: NAME });
      await row.waitFor();
      const rows = page.locator('table.queue tbody tr');
      assert.equal(await rows.count(), 2, 'two applications wait');
      // by deadline: the overdue one first, marked
      assert.match(await rows.nth(0).textContent(), new RegExp(NAME_B));
      assert.ok(await rows.nth(0).getByText('已超期').isVisible(), 'the overdue one says 已超期');
      assert.match(await rows.nth(0).getAttribute('class'), /overdue/);
      assert.match(await row.textContent(), /二维码核验通过/);
      assert.match(await row.textContent(), /主数字证书开通/);
      assert.ok(!(await row.getByText('已超期').isVisible()), 'the new one is not overdue');
      await shot(page, 'review-queue');

      await row.click();
      await page.locator('#detail-card').waitFor();
      appId = new URL(page.url()).hash.slice(1);
      assert.match(appId, /^\d+$/, 'the detail has its own address');
      const scan = page.locator('#scan');
      await loaded(scan, 'the scan');
      assert.ok(await scan.evaluate((img) => img.naturalWidth >= 500), 'the scan is shown');
      await page.locator('#d-qr').getByText('二维码核验通过').waitFor();
      const form = await page.locator('#d-form').textContent();
      for (const v of ['张三', USCC, '李四', CONTACT_PHONE, 'SH-2026-000123']) assert.ok(form.includes(v), `form shows ${v}`);
      assert.ok((await page.locator('#d-applicant').textContent()).includes(company.serial), 'the applicant certificate');
      // side by side on a desktop
      const left = await page.locator('#d-form').boundingBox(), right = await scan.boundingBox();
      assert.ok(right.x > left.x + left.width - 1, `the scan is beside the form: ${JSON.stringify([left, right])}`);
      await shot(page, 'review-detail');
      await docShot(page, 'hall-review.png');

      // 驳回 needs a reason
      await page.getByRole('button', { name: '驳回' }).click();
      await fieldError(page, 'reason').getByText('驳回时请填写原因').waitFor();

      await page.getByRole('button', { name: '通过' }).click();
      await page.locator('#result').getByText('已通过').waitFor();
      assert.ok(!(await page.getByRole('button', { name: '通过' }).isVisible()), 'no buttons once decided');
      assert.ok(!(await page.getByRole('button', { name: '驳回' }).isVisible()));
      await shot(page, 'review-approved');

      const sms = JSON.parse(w.onecert('admin', 'outbox', '--dir', w.H, '--to', CONTACT_PHONE, '--json')).items;
      assert.ok(sms.some((m) => m.purpose === 'application.approved'), 'the contact is told by SMS');

      // reopened later: the decision, no buttons; the queue keeps the other one
      await page.reload();
      await page.locator('#result').getByText('已通过').waitFor();
      assert.ok(!(await page.getByRole('button', { name: '通过' }).isVisible()));
      await page.getByRole('link', { name: '返回列表' }).click();
      await page.locator('table.queue tbody tr', { hasText: NAME_B }).waitFor();
      assert.equal(await rows.count(), 1, 'the approved one left the queue');

      // the overdue one: 驳回 with a reason
      await rows.nth(0).click();
      await page.waitForURL(`${w.url}/review.html#${overdueId}`);
      await page.locator('#d-state').getByText('已超期').waitFor();
      await page.getByLabel('驳回原因').fill(REJECT_REASON);
      await page.getByRole('button', { name: '驳回' }).click();
      await page.locator('#result').getByText('已驳回').waitFor();
      assert.match(await page.locator('#result').textContent(), new RegExp(REJECT_REASON));
      assert.ok(!(await page.getByRole('button', { name: '驳回' }).isVisible()), 'no buttons once decided');
      await shot(page, 'review-rejected');
      await page.getByRole('link', { name: '返回列表' }).click();
      await page.getByText('暂无待审核的申请').waitFor();
    });
  });

  step('the registration form fits a phone', { timeout: 120000 }, async () => {
    await onPage(company, PHONE, 'register-phone', async (page) => {
      await login(page);
      await page.getByText(MAIN_NOTICE).waitFor();
      await page.getByRole('link', { name: '下一步' }).tap();
      await page.getByRole('button', { name: /本市企业（机构）/ }).tap();
      await page.getByRole('heading', { name: '附加信息' }).waitFor();
      await fitsPhone(page, 'the registration form');
      const send = await page.getByRole('button', { name: '获取验证码' }).boundingBox();
      assert.ok(send && send.x + send.width <= 390 && send.height >= 32, `a tappable 获取验证码: ${JSON.stringify(send)}`);
      await shot(page, 'register-phone');
    });
  });

  step('the company logs in again, registers with an SMS code and sees 当前证书信息（主）', { timeout: 180000 }, async () => {
    await onPage(company, DESKTOP, 'register', async (page) => {
      await login(page);
      await page.getByText(MAIN_NOTICE).waitFor();
      await shot(page, 'home-main-active');
      await page.getByRole('link', { name: '下一步' }).click();
      await page.waitForURL(/\/register\.html/);
      await page.getByRole('button', { name: /本市企业（机构）/ }).waitFor();
      await shot(page, 'register-region');

      // 外省市: province select, city and district text
      await page.getByRole('button', { name: /外省市企业/ }).click();
      await page.getByRole('heading', { name: '企业基本信息' }).waitFor();
      assert.ok(await page.locator('#province').isVisible() && await page.locator('#city').isVisible() &&
        await page.locator('#district_other').isVisible(), '省 + 市 + 区 for 外省市');
      assert.ok(!(await page.locator('#district_local').isVisible()));
      assert.ok((await page.locator('#province option').allTextContents()).includes('浙江省'));
      await shot(page, 'register-other');
      await page.getByRole('button', { name: '上一步' }).click();

      // 本市企业（机构）
      await page.getByRole('button', { name: /本市企业（机构）/ }).click();
      await page.getByRole('heading', { name: '附加信息' }).waitFor();
      assert.ok(await page.locator('#district_local').isVisible() && !(await page.locator('#province').isVisible()), '区 for 本市');
      assert.equal(await page.locator('#company_name').inputValue(), NAME);
      assert.equal(await page.locator('#org_code').inputValue(), USCC);
      assert.ok(await page.locator('#company_name').evaluate((e) => e.readOnly) &&
        await page.locator('#org_code').evaluate((e) => e.readOnly), 'from the certificate, locked');
      assert.equal(await page.locator('#license_no').inputValue(), USCC, 'from the application');
      await page.getByLabel('经济类型').selectOption('有限责任公司');
      await page.locator('#district_local').selectOption('浦东新区');
      await page.getByLabel('证书昵称').fill('法人主证书');
      await page.locator('#holder').fill('张三');
      await page.getByText('请使用本市手机接收手机验证码').waitFor();

      // a non-local mobile: refused by the server, said next to the field
      const mobileErr = fieldError(page, 'holder_mobile');
      await page.getByLabel('证书持有人手机').fill(FAR);
      await page.getByRole('button', { name: '获取验证码' }).click();
      await mobileErr.getByText('请使用本市手机接收手机验证码').waitFor();
      assert.equal(JSON.parse(w.onecert('admin', 'outbox', '--dir', w.H, '--to', FAR, '--json')).items.length, 0,
        'nothing sent to it');
      await shot(page, 'register-far-mobile');

      // a local one: a code, and a visible cooldown
      await page.getByLabel('证书持有人手机').fill(LOCAL);
      await page.getByRole('button', { name: '获取验证码' }).click();
      await page.getByText(/验证码已发送至 138\*\*\*\*1234/).waitFor();
      const btn = page.locator('#send-code');
      assert.match(await btn.textContent(), /^\d+秒后重新获取$/);
      assert.ok(await btn.isDisabled(), 'no second code during the cooldown');
      assert.ok(!(await mobileErr.isVisible()), 'the refusal is gone');
      const before = await btn.textContent();
      await page.waitForFunction((b) => document.getElementById('send-code').textContent !== b, before, { timeout: 5000 });
      const sms = JSON.parse(w.onecert('admin', 'outbox', '--dir', w.H, '--to', LOCAL, '--json')).items
        .filter((m) => m.purpose === 'sms_code');
      assert.equal(sms.length, 1, 'one code sent');
      const code = /(\d{6})/.exec(sms[0].text)[1];
      await page.getByLabel('验证码').fill(code);
      await shot(page, 'register-filled');

      await page.getByRole('button', { name: '提交注册' }).click();
      await page.waitForURL(`${w.url}/home.html`);
      await page.getByRole('heading', { name: '当前证书信息（主）' }).waitFor();
      await page.getByText('开通成功').waitFor();
      await page.getByText(REMINDER).waitFor();
      assert.ok((await page.locator('#profile').textContent()).includes('法人主证书'), 'the registration data');
      await shot(page, 'home-registered');
    });
  });

  step('the other company sees why it was refused; 重新申请 starts from its earlier form; 继续填写 and 撤回', { timeout: 120000 }, async () => {
    await onPage(companyB, DESKTOP, 'rejected', async (page) => {
      await login(page);
      await page.getByText('主数字证书开通申请未通过审核').waitFor();
      assert.equal(await page.locator('#reject-reason').textContent(), REJECT_REASON);
      await shot(page, 'home-rejected');
      await page.getByRole('link', { name: '重新申请' }).click();
      await page.waitForURL(`${w.url}/activate.html`);
      await page.locator('#rejected').getByText(REJECT_REASON).waitFor();
      assert.equal(await page.locator('#legal_rep').inputValue(), '王五', 'the earlier fields');
      assert.equal(await page.locator('#license_no').inputValue(), USCC_B);
      assert.ok(await page.locator('#scan').isDisabled(), 'a new application: save first');
      await shot(page, 'activate-again');

      // a new draft: home offers 继续填写, which comes back to it
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: '保存并下载申请表' }).click(),
      ]);
      const pdf = path.join(w.T, 'form-b2.pdf');
      await download.saveAs(pdf);
      await page.goto(`${w.url}/home.html`);
      await page.getByText('主数字证书开通申请填写中').waitFor();
      await page.getByRole('link', { name: '继续填写' }).click();
      await page.waitForURL(`${w.url}/activate.html`);
      await page.locator('#form-card').waitFor();
      assert.equal(await page.locator('#legal_rep').inputValue(), '王五', 'the draft');
      assert.ok(!(await page.locator('#rejected').isVisible()), 'the refusal was the old application\'s');

      // scanned, submitted, then 撤回 (confirmed in the page)
      await page.locator('#scan').setInputFiles(scanPdf(w, pdf, 'scan-b2'));
      await page.locator('#qr').getByText('二维码核验通过').waitFor();
      await page.getByRole('button', { name: '保存提交' }).click();
      await page.locator('#status').getByText(SUBMITTED).waitFor();
      await page.getByRole('button', { name: '撤回' }).click();
      await page.getByText('撤回后需重新填写并提交申请，确定撤回吗？').waitFor();
      await shot(page, 'activate-withdraw-confirm');
      await page.getByRole('button', { name: '确定撤回' }).click();
      await page.waitForURL(`${w.url}/home.html`);
      await page.getByText('贵企业未在本市建筑建材业网上办事大厅开通主数字证书').waitFor();
      assert.ok(await page.getByRole('link', { name: '开通', exact: true }).isVisible(), '开通 again after 撤回');
    });
  });

  step('after registration the second certificate is told the company has a main certificate', { timeout: 120000 }, async () => {
    await onPage(company2, PHONE, 'second-cert-after', async (page) => {
      await login(page);
      await page.getByText('贵企业已开通主数字证书').waitFor();
      assert.ok(!(await page.getByText('当前证书信息（主）').isVisible()), 'not the main certificate');
      await fitsPhone(page, 'home of a non-main certificate');
      await shot(page, 'home-second-cert-phone');
    });
  });
});
