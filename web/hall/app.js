// 一证通 service hall: small helpers shared by the pages. Plain JS, no build.
'use strict';
const hall = {
  csrf: sessionStorage.getItem('csrf') || '',
  async api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: {} };
    if (method !== 'GET') opts.headers['X-CSRF-Token'] = hall.csrf;
    if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    const r = await fetch('/api/v1/' + path, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const msg = data && data.error ? data.error.message : ('请求失败（' + r.status + '）');
      const err = new Error(msg); err.status = r.status; err.code = data && data.error && data.error.code; throw err;
    }
    return data;
  },
  showError(el, msg) { el.textContent = msg; el.hidden = false; },
  text(id, v) { const el = document.getElementById(id); if (el) el.textContent = v || '—'; },
  dateCN(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    // China Standard Time, whatever the browser's zone
    const t = new Date(d.getTime() + 8 * 3600 * 1000);
    const p = (n) => String(n).padStart(2, '0');
    return t.getUTCFullYear() + '年' + p(t.getUTCMonth() + 1) + '月' + p(t.getUTCDate()) + '日';
  },
};
