// 一证通 service hall: small helpers shared by the pages. Plain JS, no build.
//
// hall.api talks to /api/v1 (JSON, the session cookie, X-CSRF-Token on every
// state change); the checks below mirror the server's (src/core/ident.c) so
// that a person sees what is wrong next to the field before anything is
// sent — the server checks again and its message is always shown too.
'use strict';
const hall = {
  csrf: sessionStorage.getItem('csrf') || '',

  // One JSON call.  Throws an Error carrying the server's message (Chinese
  // part), status, code and, when the server names it, field.
  async api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: {} };
    if (method !== 'GET') opts.headers['X-CSRF-Token'] = hall.csrf;
    if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return hall.send(path, opts);
  },
  // A raw upload (the scan): the body as it is, with its Content-Type.
  async upload(method, path, blob, type) {
    return hall.send(path, {
      method, credentials: 'same-origin', body: blob,
      headers: { 'X-CSRF-Token': hall.csrf, 'Content-Type': type },
    });
  },
  async send(path, opts) {
    let r;
    try {
      r = await fetch('/api/v1/' + path, opts);
    } catch (e) {
      const err = new Error('无法连接网上办事大厅，请检查网络后重试'); err.status = 0; throw err;
    }
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const e = data && data.error;
      const err = new Error(e && e.message ? hall.zh(e.message) : hall.statusText(r.status));
      err.status = r.status; err.code = e && e.code; err.field = e && e.field; err.full = e && e.message;
      err.retryAfter = e && e.retry_after;
      throw err;
    }
    return data;
  },
  statusText(status) {
    if (status === 413) return '文件过大，图片最大不超过200KB';
    if (status === 401) return '登录已失效，请重新登录';
    return '请求失败（' + status + '），请稍后重试';
  },
  // The server's messages are "中文 / English": the page shows the Chinese.
  zh(msg) {
    const i = String(msg).indexOf(' / ');
    return i > 0 ? msg.slice(0, i) : String(msg);
  },

  // The logged-in certificate (GET /api/v1/me); keeps the CSRF token.
  // Sends the browser to the login page when the session is gone.
  async me() {
    try {
      const me = await hall.api('GET', 'me');
      hall.csrf = me.csrf; sessionStorage.setItem('csrf', me.csrf);
      return me;
    } catch (e) {
      if (e.status === 401) { location.href = '/'; return new Promise(() => {}); }
      throw e;
    }
  },
  async logout() {
    try { await hall.api('POST', 'logout'); } catch (e) { /* ended anyway */ }
    sessionStorage.removeItem('csrf');
    location.href = '/';
  },

  // The local 证书助手 (`onecert agent`, SPEC §5) at base (login/options'
  // agent_url): plain HTTP on this computer's loopback, which it answers
  // only for this hall's origin (CORS).  One JSON call; throws an Error
  // with the agent's message (Chinese part), status and code — status 0
  // when it did not answer within ms (not running, not installed).
  async agent(base, method, path, body, ms) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), ms || 15000);
    const opts = { method, mode: 'cors', credentials: 'omit', cache: 'no-store', signal: ctl.signal, headers: {} };
    if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    let r, data = null;
    try {
      r = await fetch(base + '/api/v1/' + path, opts);
      try { data = await r.json(); } catch (e) { data = null; }
    } catch (e) {
      const err = new Error('无法连接证书助手，请确认证书助手正在运行'); err.status = 0; throw err;
    } finally { clearTimeout(timer); }
    if (!r.ok) {
      const e = data && data.error;
      const err = new Error(e && e.message ? hall.zh(e.message) : '证书助手出错（' + r.status + '），请稍后重试');
      err.status = r.status; err.code = e && e.code; err.retryAfter = e && e.retry_after;
      throw err;
    }
    return data;
  },

  // The 介质号 (the token's serial, SPEC §3.3) of the USB key that holds
  // the certificate with this serial, read through the 证书助手; '' when
  // this hall names no agent, none answers, or no key plugged in holds that
  // certificate.  Never throws: without it the holder types the number.
  async agentMedium(serial) {
    const key = (s) => String(s || '').replace(/:/g, '').replace(/^0+/, '').toUpperCase();
    const want = key(serial);
    if (!want) return '';
    try {
      const opts = await hall.api('GET', 'login/options');
      if (!opts || !opts.agent_url) return '';
      const r = await hall.agent(opts.agent_url, 'GET', 'tokens', undefined, 1500);
      const t = (r.tokens || []).find((tok) => (tok.certificates || []).some((c) => key(c.serial) === want));
      return t && !hall.mediumCheck(t.serial) ? t.serial : '';
    } catch (e) {
      return '';
    }
  },

  // --- DOM ------------------------------------------------------------
  $(id) { return document.getElementById(id); },
  showError(el, msg) { el.textContent = hall.zh(msg); el.hidden = false; },
  hide(el) { el.hidden = true; },
  text(id, v) { const el = document.getElementById(id); if (el) el.textContent = v || '—'; },
  // el('div', {class: 'x', onclick: f}, 'text', child, …)
  el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, v);
    }
    for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false) e.append(k);
    return e;
  },
  // The message under a form field (its .field-error), and the field marked.
  fieldError(input, msg) {
    const box = input.closest('.field');
    const out = box && box.querySelector('.field-error');
    if (out) { out.textContent = msg ? hall.zh(msg) : ''; out.hidden = !msg; }
    input.classList.toggle('invalid', !!msg);
    if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  },

  // A field's message when the person leaves it (blur) — except when they
  // leave it for a button: the message would push the button down between
  // mousedown and mouseup and the click would be lost; the button's own
  // check shows the message anyway.
  checkOnBlur(input, check) {
    input.addEventListener('blur', (ev) => {
      const to = ev.relatedTarget;
      if (to && (to.tagName === 'BUTTON' || to.classList.contains('button'))) return;
      if (input.value.trim()) hall.fieldError(input, check(input.value.trim()));
    });
  },

  // --- dates (China Standard Time, whatever the browser's zone) -----------
  cst(iso) {
    if (!iso) return null;
    const d = new Date(iso);
    if (isNaN(d.getTime())) return null;
    return new Date(d.getTime() + 8 * 3600 * 1000);
  },
  dateCN(iso) {
    const t = hall.cst(iso);
    if (!t) return '—';
    const p = (n) => String(n).padStart(2, '0');
    return t.getUTCFullYear() + '年' + p(t.getUTCMonth() + 1) + '月' + p(t.getUTCDate()) + '日';
  },
  timeCN(iso) {
    const t = hall.cst(iso);
    if (!t) return '—';
    const p = (n) => String(n).padStart(2, '0');
    return hall.dateCN(iso) + ' ' + p(t.getUTCHours()) + ':' + p(t.getUTCMinutes());
  },

  // --- identity numbers: the server's checks (src/core/ident.c) -----------
  USCC_ALPHA: '0123456789ABCDEFGHJKLMNPQRTUWXY',
  usccCheckChar(first17) {
    let sum = 0, w = 1;
    for (let i = 0; i < 17; i++) {
      const v = hall.USCC_ALPHA.indexOf(first17[i]);
      if (v < 0) return '';
      sum += v * w; w = (w * 3) % 31;
    }
    return hall.USCC_ALPHA[(31 - sum % 31) % 31];
  },
  orgcodeCheckChar(first8) {
    const weights = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum = 0;
    for (let i = 0; i < 8; i++) {
      const c = first8[i];
      let v = -1;
      if (c >= '0' && c <= '9') v = c.charCodeAt(0) - 48;
      else if (c >= 'A' && c <= 'Z') v = c.charCodeAt(0) - 55;
      if (v < 0) return '';
      sum += v * weights[i];
    }
    const c9 = 11 - sum % 11;
    return c9 === 10 ? 'X' : c9 === 11 ? '0' : String(c9);
  },
  // '' when s is a well-formed USCC (GB 32100-2015), else what is wrong.
  usccCheck(s) {
    if (!s) return '请填写统一社会信用代码';
    if (s.length !== 18) return '统一社会信用代码应为18位，实际为' + s.length + '位';
    for (let i = 0; i < 18; i++) {
      if (hall.USCC_ALPHA.indexOf(s[i]) < 0) {
        if (s[i] >= 'a' && s[i] <= 'z') return '统一社会信用代码第' + (i + 1) + '位 “' + s[i] + '” 是小写字母，请使用大写';
        return '统一社会信用代码第' + (i + 1) + '位字符 “' + s[i] + '” 无效，只允许数字和除 I、O、S、V、Z 外的大写字母';
      }
    }
    const want = hall.usccCheckChar(s);
    if (s[17] !== want) return '统一社会信用代码校验位错误：第18位应为 ' + want + '（或前17位有误）';
    const org = hall.orgcodeCheckChar(s.slice(8, 16));
    if (s[16] !== org) return '统一社会信用代码中的组织机构代码校验位错误：第17位应为 ' + org;
    return '';
  },
  // The 9-character organization code of a USCC or organization code.
  orgCodeOf(s) {
    s = String(s || '').replace('-', '');
    return s.length === 18 ? s.slice(8, 17) : s;
  },
  // 营业执照注册号（或事业单位证书号、社团编号）: 18 characters must be a USCC
  // of this company (orgCode: the certificate's); other numbers are taken
  // as they are (old 15-digit registrations, 事业单位/社团 numbers).
  licenseCheck(s, orgCode) {
    if (!s) return '请填写营业执照注册号（或事业单位证书号、社团编号）';
    if (s.length === 18) {
      const m = hall.usccCheck(s);
      if (m) return m;
      if (orgCode && hall.orgCodeOf(s) !== hall.orgCodeOf(orgCode))
        return '统一社会信用代码中的组织机构代码（第9–17位 ' + hall.orgCodeOf(s) + '）与本证书的机构代码 ' + hall.orgCodeOf(orgCode) + ' 不一致';
      return '';
    }
    if (s.length > 32) return '营业执照注册号最长32位';
    if (!/^[0-9A-Za-z\-]+$/.test(s)) return '营业执照注册号只能包含字母、数字和“-”';
    if (s.length < 6) return '营业执照注册号过短（至少6位）';
    return '';
  },
  mobileCheck(s) {
    if (!s) return '请填写手机号码';
    if (!/^\d*$/.test(s)) return '手机号码只能包含数字';
    if (s.length !== 11) return '手机号码应为11位数字，实际为' + s.length + '位';
    if (s[0] !== '1') return '手机号码第1位应为 1';
    if (s[1] < '3') return '手机号码第2位应为 3–9';
    return '';
  },
  // 联系电话: an 11-digit mobile or a fixed line such as 021-12345678.
  phoneCheck(s) {
    if (!s) return '请填写联系电话';
    if (/^0\d{2,3}-\d{7,8}(-\d{1,6})?$/.test(s) || /^0\d{9,11}(-\d{1,6})?$/.test(s)) return '';
    if (/^1\d*$/.test(s)) return hall.mobileCheck(s);
    return '联系电话应为11位手机号码或带区号的固定电话（如 021-12345678）';
  },
  mediumCheck(s) {
    if (!s) return '请填写介质单号（印在USB key背面）';
    if (s.length > 64 || !/^[0-9A-Za-z-]+$/.test(s)) return '介质单号为1–64位字母、数字或连字符“-”';
    return '';
  },

  // --- words for states ------------------------------------------------
  // The scan's QR verdict: {cls, text} for a badge and a sentence.
  qr(verdict) {
    switch (verdict) {
      case 'match': return { cls: 'ok', text: '二维码核验通过', long: '二维码核验通过：扫描件是本申请下载的申请表。' };
      case 'stale': return { cls: 'warn', text: '二维码与填写内容不一致', long: '二维码属于本申请，但申请表下载后填写内容又有修改。请重新“保存并下载申请表”，签字盖章后重新上传。' };
      case 'other': return { cls: 'warn', text: '二维码属于其他申请', long: '扫描件上的二维码属于另一份申请，请上传本申请下载的申请表。' };
      case 'forged': return { cls: 'err', text: '二维码无法核验', long: '扫描件上的二维码不是本网站生成的，请上传本申请下载的申请表。' };
      case 'none': return { cls: 'warn', text: '未识别到二维码', long: '未能在扫描件中识别到二维码。请确认扫描清晰、二维码完整未被遮挡；仍可提交，审核员将人工核对。' };
      default: return { cls: 'muted', text: '尚未上传', long: '' };
    }
  },
  appState(state) {
    switch (state) {
      case 'draft': return { cls: 'info', text: '填写中' };
      case 'submitted': return { cls: 'warn', text: '待审核' };
      case 'approved': return { cls: 'ok', text: '已通过' };
      case 'rejected': return { cls: 'err', text: '已驳回' };
      case 'withdrawn': return { cls: 'muted', text: '已撤回' };
      default: return { cls: 'muted', text: state || '—' };
    }
  },
  badge(b) { return hall.el('span', { class: 'badge ' + b.cls }, b.text); },
  SUBMITTED: '已提交主证书开通申请，网站将于1个工作日内处理',
};

// --- 主数字证书更新 (update.html) ------------------------------------------
hall.UPDATE_REASONS = ['信息变更', '续费', '遗失办证', '其他'];
hall.UPDATE_SUBMITTED = '已提交主数字证书更新申请，网站将于1个工作日内处理';
// What the old main certificate's key signs for the signed update.
hall.updateSignText = (oldSerial, newSerial, challenge) =>
  'main-update:' + oldSerial + ':' + newSerial + ':' + challenge;
// Download a file of this site (the session cookie goes with it).
hall.download = (href, name) => {
  const a = hall.el('a', { href, download: name, hidden: true });
  document.body.append(a); a.click(); a.remove();
};

// --- 事项 (matters.html) and 办事指南 (guides.html) ---------------------------
// A query parameter of this page's address, or null.
hall.query = (k) => new URLSearchParams(location.search).get(k);
// 1.2MB / 35KB, for file sizes.
hall.sizeText = (n) => n >= 1048576 ? (n / 1048576).toFixed(1) + 'MB' : Math.max(1, Math.round(n / 1024)) + 'KB';
// ["image/jpeg", "application/pdf"] → "JPG或PDF"
hall.typesText = (types) => types.map((t) => t === 'application/pdf' ? 'PDF' : 'JPG').join('或');
// The content type to upload a chosen file as (by its type, else its
// name); null for anything but JPEG and PDF.  The server checks the bytes.
hall.fileType = (file) => {
  if (file.type === 'image/jpeg' || file.type === 'application/pdf') return file.type;
  if (/\.jpe?g$/i.test(file.name)) return 'image/jpeg';
  if (/\.pdf$/i.test(file.name)) return 'application/pdf';
  return null;
};

// --- a paper application form on screen (activate.html, update.html) ------
// What 主数字证书开通申请表 and 主数字证书更新申请表 share: the fields checked
// as they are typed and all at once, ① 保存 (the draft made or updated, then
// its PDF downloaded), ② the signed, sealed scan, ③ 保存提交, and 撤回 with a
// confirmation in the page.  Both pages use the same element ids; the page
// gives what differs:
//   fields, checks[k](value) → '' or a message, value() → the fields to send,
//   setForm(form), serverError(e, box), title ('主数字证书开通申请'),
//   create (the API path that makes a new draft), submitted (the default
//   status message), onSubmitted() (more to lock once submitted),
//   onInput(k) (after a field changed), withdrawn() (after 撤回).
// f.app is the application being filled in (null: none yet).
hall.MAX_SCAN = 200 * 1024;
hall.appForm = (p) => {
  const f = { app: null, pdfForm: null };

  // Every field checked; the first bad one focused.  true when all good.
  f.checkAll = () => {
    let first = null;
    for (const k of p.fields) {
      const msg = p.checks[k](hall.$(k).value.trim());
      hall.fieldError(hall.$(k), msg);
      if (msg && !first) first = hall.$(k);
    }
    if (first) first.focus();
    return !first;
  };
  // The PDF on paper no longer matches the fields on screen.
  f.showStale = () => {
    hall.$('stale').hidden = !(f.pdfForm && JSON.stringify(p.value()) !== f.pdfForm);
  };
  f.showApp = () => {
    const app = f.app, draft = app && app.state === 'draft';
    hall.$('step1').classList.toggle('done', !!(draft && f.pdfForm));
    for (const id of ['step2', 'step3']) hall.$(id).classList.toggle('locked', !draft);
    hall.$('upload-locked').hidden = !!draft;
    hall.$('scan').disabled = !draft;
    hall.$('submit').disabled = !draft;
    if (app && app.has_scan) {
      const q = hall.qr(app.qr);
      hall.$('qr-badge').replaceChildren(hall.badge(q));
      hall.$('qr-text').textContent = q.cls === 'ok' ? '' : q.long;
      hall.$('qr').hidden = false;
      hall.$('step2').classList.add('done');
      const img = hall.$('scan-preview');
      img.src = '/api/v1/applications/' + app.id + '/scan?v=' + encodeURIComponent(app.scan_size + '-' + Date.now());
      img.hidden = false;
    }
  };
  // Submitted: the status and the form, read only.
  f.showSubmitted = (message) => {
    const app = f.app;
    hall.$('status-msg').textContent = message || p.submitted;
    hall.text('submitted-at', hall.timeCN(app.submitted_at));
    hall.text('deadline', hall.timeCN(app.deadline));
    hall.$('status').hidden = false;
    hall.$('fields').disabled = true;
    if (p.onSubmitted) p.onSubmitted();
    hall.$('steps').hidden = true;
    hall.$('intro').hidden = true;
    hall.$('form-card').querySelector('h2').textContent = '申请内容';
    hall.$('form-card').classList.add('readonly');
    hall.$('form-card').hidden = false;
    if (app.has_scan) {
      hall.$('form-card').append(hall.el('div', { class: 'step' },
        hall.el('h3', {}, '申请表扫描件 ', hall.badge(hall.qr(app.qr))),
        hall.el('img', { class: 'scan-preview', alt: '已上传的申请表扫描件', src: '/api/v1/applications/' + app.id + '/scan' })));
    }
  };
  // The medium field filled from the USB key through the 证书助手, when
  // it is empty and stays so until the agent answers (a number typed or
  // saved meanwhile wins).  The holder can still correct it.
  f.prefillMedium = async (serial) => {
    const input = hall.$('medium');
    if (input.value.trim() || input.matches(':disabled')) return;
    const m = await hall.agentMedium(serial);
    if (!m || input.value.trim()) return;
    input.value = m;
    input.dispatchEvent(new Event('input'));
    const note = hall.$('medium-agent');
    note.hidden = false;
    input.addEventListener('input', () => { note.hidden = input.value.trim() !== m; });
  };
  f.blocked = (msg) => {
    hall.$('blocked-msg').textContent = msg;
    hall.$('blocked').hidden = false;
  };
  // The application the server last had for this company: true when the
  // form is to be filled in (a draft of ours, or a new one starting from a
  // rejected or withdrawn application's fields); otherwise the page says why
  // not, or shows the submitted application read only.
  f.resume = (app) => {
    f.app = app;
    if (app && (app.state === 'draft' || app.state === 'submitted') && !app.mine) {
      f.blocked(app.state === 'submitted'
        ? '贵企业已有一份' + p.title + '正在审核（由另一张数字证书提交，处理期限 ' + hall.timeCN(app.deadline) + '），请勿重复申请。'
        : '贵企业的另一张数字证书正在填写' + p.title + '，请勿重复申请；如需由本证书申请，请先由该证书撤回。');
      return false;
    }
    if (app) p.setForm(app.form);
    if (app && app.state === 'submitted') { f.showSubmitted(); return false; }
    if (app && app.state !== 'draft') {
      if (app.state === 'rejected') {
        hall.$('rejected-reason').textContent = app.reason || '（未填写）';
        hall.$('rejected').hidden = false;
      }
      f.app = null;
    }
    return true;
  };

  for (const k of p.fields) {
    const input = hall.$(k);
    hall.checkOnBlur(input, p.checks[k]);
    input.addEventListener(input.tagName === 'SELECT' ? 'change' : 'input', () => {
      if (k === 'license_no' && /[a-z]/.test(input.value)) {
        const at = input.selectionStart; input.value = input.value.toUpperCase(); input.setSelectionRange(at, at);
      }
      if (p.onInput) p.onInput(k);
      if (input.classList.contains('invalid')) hall.fieldError(input, p.checks[k](input.value.trim()));
      f.showStale();
    });
  }

  // ① save the draft (create or update), then download its PDF
  hall.$('save').addEventListener('click', async () => {
    const btn = hall.$('save'), box = hall.$('save-error');
    hall.hide(box);
    if (!f.checkAll()) { hall.showError(box, '请按提示修改填写内容'); return; }
    const form = p.value();
    btn.disabled = true;
    try {
      const app = f.app;
      if (app && app.state === 'draft') f.app = await hall.api('PUT', 'applications/' + app.id, form);
      else f.app = await hall.api('POST', p.create, form);
      hall.download('/api/v1/applications/' + f.app.id + '/form.pdf', p.title + '表-' + f.app.id + '.pdf');
      f.pdfForm = JSON.stringify(form);
      hall.$('saved').textContent = '已保存，申请表正在下载';
      hall.$('saved').hidden = false;
      f.showStale();
      f.showApp();
    } catch (e) {
      p.serverError(e, box);
    } finally { btn.disabled = false; }
  });

  // ② the scan: JPEG, at most 200 KB, checked here and by the server
  hall.$('scan').addEventListener('change', async () => {
    const input = hall.$('scan');
    const file = input.files[0];
    hall.fieldError(input, '');
    if (!file) return;
    hall.$('scan-name').textContent = file.name + '（' + Math.max(1, Math.round(file.size / 1024)) + 'KB）';
    if (file.type && file.type !== 'image/jpeg') { hall.fieldError(input, '请上传JPG格式的扫描件（' + file.name + ' 不是JPG图片）'); input.value = ''; return; }
    if (file.size > hall.MAX_SCAN) { hall.fieldError(input, '图片最大不超过200KB（该文件 ' + Math.ceil(file.size / 1024) + 'KB），请降低扫描分辨率或画质后重试'); input.value = ''; return; }
    if (file.size === 0) { hall.fieldError(input, '文件为空，请重新选择'); input.value = ''; return; }
    input.disabled = true;
    hall.$('qr-badge').replaceChildren(hall.badge({ cls: 'info', text: '正在上传并核验…' }));
    hall.$('qr-text').textContent = ''; hall.$('qr').hidden = false;
    try {
      f.app = await hall.upload('PUT', 'applications/' + f.app.id + '/scan', file, 'image/jpeg');
      hall.$('scan-name').textContent = '已上传：' + file.name + '（' + Math.max(1, Math.round(file.size / 1024)) + 'KB）';
      f.showApp();
    } catch (e) {
      const app = f.app;
      hall.$('qr').hidden = !(app && app.has_scan);
      if (app && app.has_scan) f.showApp();
      hall.fieldError(input, e.status === 0 ? '上传中断：请确认图片为JPG格式、不超过200KB，然后重试' : e.message);
    } finally { input.disabled = false; input.value = ''; }
  });

  // ③ 保存提交: the fields and the submission in one request
  hall.$('submit').addEventListener('click', async () => {
    const btn = hall.$('submit'), box = hall.$('submit-error');
    hall.hide(box);
    if (!f.checkAll()) { hall.showError(box, '请按提示修改填写内容'); return; }
    if (!f.app || !f.app.has_scan) { hall.showError(box, '请先上传签字盖章后的申请表扫描件'); return; }
    btn.disabled = true;
    try {
      f.app = await hall.api('POST', 'applications/' + f.app.id + '/submit', p.value());
      window.scrollTo(0, 0);
      f.showSubmitted(f.app.message);
    } catch (e) {
      p.serverError(e, box);
      btn.disabled = false;
    }
  });

  hall.confirmWithdraw('withdraw-actions', 'withdraw-error',
    () => 'applications/' + f.app.id + '/withdraw', () => p.withdrawn());
  return f;
};

// 撤回 with a confirmation in the page (no browser dialog): #withdraw hides
// the buttons in #actions and shows #withdraw-confirm; 确定撤回 posts to
// path() and gives the answer to done(answer) (which may put the buttons
// back); 取消 puts them back; a refusal shows in #errorId.
hall.confirmWithdraw = (actions, errorId, path, done) => {
  const ask = (yes) => { hall.$(actions).hidden = yes; hall.$('withdraw-confirm').hidden = !yes; };
  hall.$('withdraw').addEventListener('click', () => ask(true));
  hall.$('withdraw-no').addEventListener('click', () => ask(false));
  hall.$('withdraw-yes').addEventListener('click', async () => {
    const btn = hall.$('withdraw-yes');
    btn.disabled = true;
    try {
      await done(await hall.api('POST', path()), () => ask(false));
    } catch (e) {
      hall.showError(hall.$(errorId), e.message);
    } finally { btn.disabled = false; }
  });
};
