// steps.mjs — what the page-level browser tests share: one browser per
// certificate, a fresh context per step (a screenshot and the servers'
// logs go with any failure), certificate login through the login page,
// the phone check, numbered screenshots, and steps that build on each
// other (after a failed one the rest are skipped instead of timing out
// one by one).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS, browserWith, screenshot } from './world.mjs';

// navigator.language and Accept-Language zh-CN, as the hall's users have (the
// browser itself runs in zh-CN too, see browserWith: date fields read 年/月/日)
export const DESKTOP = { viewport: { width: 1280, height: 800 }, locale: 'zh-CN' };
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' };

// prefix: the screenshots' names (PREFIX-NN-name.png); getWorld: () => w,
// the world of the running file (made in its before()).
export function pages(prefix, getWorld) {
  const browsers = new Map();
  let shotNo = 0, failed = null;
  const browserFor = async (cert) => {
    if (!browsers.has(cert.tag)) browsers.set(cert.tag, await browserWith(getWorld(), cert));
    return browsers.get(cert.tag);
  };
  const h = {
    // this run's screens only (the numbering moves when steps change)
    clearShots() {
      if (fs.existsSync(ARTIFACTS))
        for (const f of fs.readdirSync(ARTIFACTS))
          if (f.startsWith(prefix + '-') && /-\d+-.*\.png$/.test(f)) fs.rmSync(path.join(ARTIFACTS, f));
    },
    shot: (page, name) => screenshot(page, `${prefix}-${String(++shotNo).padStart(2, '0')}-${name}.png`),
    async onPage(cert, ctxOpts, name, fn) {
      const w = getWorld();
      const ctx = await (await browserFor(cert)).newContext({ acceptDownloads: true, ...ctxOpts });
      const page = await ctx.newPage();
      try {
        await fn(page, ctx);
      } catch (e) {
        let file = '';
        try { file = await screenshot(page, `FAIL-${prefix}-${name}.png`); } catch { /* page gone */ }
        e.message += `\n(page ${page.url()}; screenshot ${file || 'none'})\n${w.logs()}`;
        throw e;
      } finally {
        await ctx.close();
      }
    },
    // 证书登录 on the login page, then 当前证书信息
    async login(page) {
      const w = getWorld();
      await page.goto(`${w.url}/`);
      await page.getByRole('button', { name: '证书登录' }).click();
      await page.waitForURL(`${w.url}/home.html`);
      await page.locator('#cert').waitFor();
    },
    // nothing wider than the phone's screen
    async fitsPhone(page, what) {
      const o = await page.evaluate(() => {
        const wide = [...document.querySelectorAll('body *')]
          .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 0.5)
          .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : e.className ? '.' + e.className : ''));
        return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, wide };
      });
      assert.ok(o.scrollWidth <= o.innerWidth && o.wide.length === 0, `${what} overflows a phone: ${JSON.stringify(o)}`);
    },
    // a button a thumb can hit on the phone (390 px wide)
    async tappable(locator) {
      const box = await locator.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390 && box.height >= 32, `a tappable button: ${JSON.stringify(box)}`);
    },
    // an <img> that has loaded (fails with "WHAT did not load")
    loaded: (img, what) => img.evaluate((e, what) => e.complete && e.naturalWidth > 0 ||
      new Promise((ok, ko) => { e.onload = ok; e.onerror = () => ko(new Error(`${what} did not load`)); }), what),
    // the titles of the visible link tiles in a container (home's navigation)
    tiles: (page, sel) => page.locator(`${sel} a.tile:visible strong`).allTextContents(),
    step: (name, opts, fn) => test(name, opts, async (t) => {
      if (failed) { t.skip(`skipped: "${failed}" failed`); return; }
      try { await fn(t); } catch (e) { failed = name; throw e; }
    }),
    // the message under a form field
    fieldError: (page, id) => page.locator(`#${id}`).locator('xpath=ancestor::div[contains(@class,"field")][1]')
      .locator('.field-error'),
  };
  return h;
}

// A reviewer: a personal certificate with the hall's reviewer role.
export function issueReviewer(w) {
  const reviewer = w.issue('reviewer', '赵审核', null, { idNumber: '110101199003074514' });
  w.onecert('hall', 'grant-role', '--dir', w.H, '--serial', reviewer.serial, '--role', 'reviewer');
  return reviewer;
}
