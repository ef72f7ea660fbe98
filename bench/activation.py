#!/usr/bin/env python3
"""bench/activation.py — N companies through 开通 → review → registration,
concurrently, over the hall's HTTPS API (issue 5's "Measure").

Sets up a real CA service and hall in a temporary directory (the CA issues
one enterprise certificate per company, a reviewer and an admin
certificate), then runs every company as a person would, each with its own
TLS client certificate and session:

  login/tls → POST applications → GET form.pdf → PUT scan → submit
  … a reviewer thread works the queue (GET queue, GET detail, approve) …
  poll /me until main_active → POST registration/sms → (admin reads the
  code from GET admin/outbox) → POST registration

and checks at the end that nothing was lost: every company registered with
its own main certificate, every application approved exactly once, the queue
empty, one code and one notice per state change in the outbox.

The scan: by default one JPEG rendered once from a real form (its QR code
names another application, so the hall flags it "other"); the server still
decodes the whole JPEG and searches it for QR codes at upload, which is its
real cost (submission judges the QR payloads stored with the scan, and must
give the upload's verdict: the fields did not change in between).
--real-scans renders each company's own PDF with pdftoppm (QR "match"),
which adds client CPU on the same cores.

Prints throughput (companies per second, end to end) and per-request
latency (p50, p99) per endpoint.  Timings are for comparison between runs
on the same machine; nothing here asserts a time.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def uscc_for(i):
    """A valid 18-character USCC with organization code derived from i."""
    alpha = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    # organization code: 8 digits + GB 11714 check character
    body = "%08d" % (30000000 + i)
    w = [3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * x for c, x in zip(body, w))
    c9 = 11 - s % 11
    org = body + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
    first17 = "91310115" + org
    s = sum(alpha.index(ch) * pow(3, k, 31) for k, ch in enumerate(first17))
    return first17 + alpha[(31 - s % 31) % 31]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.t = {}

    def add(self, name, dt):
        with self.lock:
            self.t.setdefault(name, []).append(dt)


class Client:
    """One identity's HTTPS connection (keep-alive) and session."""

    def __init__(self, host, port, cafile, cert, key, stats):
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.ctx.load_cert_chain(cert, key)
        self.host, self.port, self.stats = host, port, stats
        self.conn = None
        self.cookie = ""
        self.csrf = ""

    def req(self, method, path, body=None, ctype="application/json", name=None):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
        h = {"Cookie": self.cookie, "X-CSRF-Token": self.csrf}
        if body is not None:
            if ctype == "application/json":
                body = json.dumps(body).encode()
            h["Content-Type"] = ctype
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
            data = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = None
            raise
        self.stats.add(name or f"{method} {path}", time.perf_counter() - t0)
        sc = r.getheader("Set-Cookie")
        if sc and sc.startswith("oc_session="):
            self.cookie = sc.split(";")[0]
        if r.getheader("Content-Type", "").startswith("application/json"):
            data = json.loads(data)
        return r.status, data

    def login(self):
        st, me = self.req("POST", "/api/v1/login/tls", b"", "application/octet-stream", "POST login/tls")
        if st != 200:
            raise RuntimeError(f"login: {st} {me}")
        self.csrf = me["csrf"]
        return me


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onecert", default=os.environ.get("ONECERT", os.path.join(ROOT, "build-bench", "onecert")))
    ap.add_argument("-n", type=int, default=int(os.environ.get("BENCH_COMPANIES", 200)))
    ap.add_argument("-c", type=int, default=int(os.environ.get("BENCH_CONCURRENCY", 16)), help="companies at a time")
    ap.add_argument("--real-scans", action="store_true")
    a = ap.parse_args()
    oc = a.onecert
    tmp = tempfile.mkdtemp(prefix="onecert-bench-act.")
    procs = []
    try:
        return bench(a, oc, tmp, procs)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def bench(a, oc, tmp, procs):
    env = dict(os.environ, ONECERT_LOG_LEVEL="error")
    D, H = os.path.join(tmp, "ca"), os.path.join(tmp, "hall")
    port, hport = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    say = lambda *x: print(*x, file=sys.stderr, flush=True)
    say(f"bench: CA and {a.n} company certificates …")
    run(oc, "ca", "init", "--dir", D, "--algo", "ec", "--base-url", base, env=env)
    certs = os.path.join(tmp, "certs")
    os.makedirs(certs)

    def issue(tag, *args):
        key, csr, pem = (os.path.join(certs, f"{tag}.{x}") for x in ("key", "csr", "pem"))
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-subj", "/CN=x", "-out", csr)
        run(oc, "ca", "issue", "--dir", D, "--csr", csr, *args, "--out", pem, env=env)
        serial = run("openssl", "x509", "-in", pem, "-noout", "-serial").strip().split("=")[1]
        return pem, key, serial

    companies = []
    for i in range(a.n):
        u = uscc_for(i)
        pem, key, _ = issue(f"c{i}", "--name", f"上海测试建设工程有限公司{i:04d}", "--uscc", u)
        companies.append({"i": i, "uscc": u, "pem": pem, "key": key, "mobile": "1381600%04d" % i})
    rev = issue("rev", "--profile", "personal", "--name", "赵审核", "--id-number", "110101199003074514")
    adm = issue("adm", "--profile", "personal", "--name", "钱管理", "--id-number", "110101199003077870")
    run(oc, "ca", "issue-tls", "--dir", D, "--name", "127.0.0.1", "--out", os.path.join(tmp, "tls.pem"),
        "--key-out", os.path.join(tmp, "tls.key"), env=env)
    procs.append(subprocess.Popen([oc, "ca", "serve", "--dir", D, "--listen", f"127.0.0.1:{port}"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "ca.log"), "w")))
    # the hall checks revocation with this service at every login: wait
    # until it answers (it pre-signs an OCSP response per certificate first)
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    run(oc, "hall", "init", "--dir", H, "--trust", os.path.join(D, "ca.pem"), "--tls-cert", os.path.join(tmp, "tls.pem"),
        "--tls-key", os.path.join(tmp, "tls.key"), "--tls-listen", f"127.0.0.1:{hport}", env=env)
    run(oc, "admin", "import-segments", "--dir", H, "--file",
        os.path.join(ROOT, "tests", "unit", "data", "segments_fixture.csv"), env=env)
    run(oc, "hall", "grant-role", "--dir", H, "--serial", rev[2], "--role", "reviewer", env=env)
    run(oc, "hall", "grant-role", "--dir", H, "--serial", adm[2], "--role", "admin", env=env)
    procs.append(subprocess.Popen([oc, "hall", "serve", "--dir", H], env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(tmp, "hall.log"), "w")))
    cafile = os.path.join(D, "ca.pem")
    for _ in range(100):
        try:
            ctx = ssl.create_default_context(cafile=cafile)
            c = http.client.HTTPSConnection("127.0.0.1", hport, context=ctx, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.1)
    stats = Stats()

    # one scan rendered once (unless --real-scans)
    fixed_scan = None
    if not a.real_scans:
        c0 = Client("127.0.0.1", hport, cafile, rev[0], rev[1], stats)
        x = Client("127.0.0.1", hport, cafile, companies[0]["pem"], companies[0]["key"], Stats())
        x.login()
        st, app = x.req("POST", "/api/v1/applications", form(companies[0]))
        st, pdf = x.req("GET", f"/api/v1/applications/{app['id']}/form.pdf")
        fixed_scan = render(pdf, tmp, "fixed")
        x.req("POST", f"/api/v1/applications/{app['id']}/withdraw", b"", "application/octet-stream")
        del c0

    errors = []
    approved = set()
    alock = threading.Lock()
    admin = Client("127.0.0.1", hport, cafile, adm[0], adm[1], stats)
    admin.login()
    done = threading.Event()

    def reviewer():
        r = Client("127.0.0.1", hport, cafile, rev[0], rev[1], stats)
        r.login()
        while not done.is_set():
            st, q = r.req("GET", "/api/v1/review/queue", name="GET review/queue")
            if st != 200:
                errors.append(("queue", st, q))
                return
            if not q["items"]:
                time.sleep(0.05)
                continue
            for it in q["items"]:
                st, d = r.req("GET", f"/api/v1/review/applications/{it['id']}", name="GET review/applications/{id}")
                st, d = r.req("POST", f"/api/v1/review/applications/{it['id']}/decision", {"decision": "approve"},
                              name="POST review/…/decision")
                if st != 200:
                    errors.append(("decision", it["id"], st, d))
                with alock:
                    if it["id"] in approved:
                        errors.append(("approved twice", it["id"]))
                    approved.add(it["id"])

    def company(co):
        c = Client("127.0.0.1", hport, cafile, co["pem"], co["key"], stats)
        c.login()
        st, app = c.req("POST", "/api/v1/applications", form(co), name="POST applications")
        if st != 201:
            raise RuntimeError(f"create {st} {app}")
        aid = app["id"]
        st, pdf = c.req("GET", f"/api/v1/applications/{aid}/form.pdf", name="GET …/form.pdf")
        scan = render(pdf, tmp, f"s{co['i']}") if a.real_scans else fixed_scan
        st, app = c.req("PUT", f"/api/v1/applications/{aid}/scan", scan, "image/jpeg", name="PUT …/scan")
        if st != 200:
            raise RuntimeError(f"scan {st} {app}")
        uploaded = app["qr"]
        st, app = c.req("POST", f"/api/v1/applications/{aid}/submit", b"", "application/octet-stream",
                        name="POST …/submit")
        if st != 200 or app["state"] != "submitted":
            raise RuntimeError(f"submit {st} {app}")
        if app["qr"] != uploaded:
            errors.append(("verdict at submit differs from upload", aid, uploaded, app["qr"]))
        for _ in range(6000):
            st, me = c.req("GET", "/api/v1/me", name="GET me (polling)")
            if me.get("company_state") == "main_active":
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("never approved")
        st, r = c.req("POST", "/api/v1/registration/sms", {"mobile": co["mobile"]}, name="POST registration/sms")
        if st != 200:
            raise RuntimeError(f"sms {st} {r}")
        st, ob = admin_outbox(co["mobile"])
        code = None
        for m in reversed(ob["items"]):
            if m["purpose"] == "sms_code":
                code = m["text"].split("验证码为")[1][:6]
                break
        st, me = c.req("POST", "/api/v1/registration", {
            "region": "local", "economic_type": "有限责任公司", "district": "浦东新区", "license_no": co["uscc"],
            "nickname": "主证书", "holder": "张三", "holder_mobile": co["mobile"], "code": code},
            name="POST registration")
        if st != 200 or me.get("company_state") != "registered" or not me.get("is_main"):
            raise RuntimeError(f"register {st} {me}")

    olock = threading.Lock()

    def admin_outbox(mobile):
        with olock:
            return admin.req("GET", f"/api/v1/admin/outbox?to={mobile}", name="GET admin/outbox")

    work = list(companies)
    wlock = threading.Lock()

    def worker():
        while True:
            with wlock:
                if not work:
                    return
                co = work.pop()
            try:
                company(co)
            except Exception as e:  # noqa: BLE001 — every failure is reported
                errors.append((co["i"], repr(e)))

    say(f"bench: {a.n} companies, {a.c} at a time …")
    t0 = time.perf_counter()
    rt = threading.Thread(target=reviewer)
    rt.start()
    ws = [threading.Thread(target=worker) for _ in range(a.c)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    wall = time.perf_counter() - t0
    done.set()
    rt.join()

    # nothing lost: the database agrees with what the clients saw
    q = lambda sql: subprocess.run(["sqlite3", os.path.join(H, "hall.db"), sql], capture_output=True,
                                   text=True, check=True).stdout.strip()
    registered = int(q("SELECT count(*) FROM companies WHERE state = 'registered' AND main_account_id <> 0"))
    n_approved = int(q("SELECT count(*) FROM applications WHERE state = 'approved'"))
    open_apps = int(q("SELECT count(*) FROM applications WHERE state IN ('draft','submitted')"))
    codes = int(q("SELECT count(*) FROM outbox WHERE purpose = 'sms_code'"))
    mains = int(q("SELECT count(*) FROM accounts WHERE role = 'main'"))
    ok = (not errors and registered == a.n and n_approved == a.n and open_apps == 0 and codes == a.n
          and mains == a.n and len(approved) == a.n)
    print(f"\n## Activation: {a.n} companies, {a.c} concurrent, scans {'per company' if a.real_scans else 'fixed'}\n")
    print(f"end to end: {wall:.1f} s, {a.n / wall:.1f} companies/s "
          f"(each: 11+ requests, one PDF, one JPEG decode + QR search, two SMS)\n")
    print("| request | n | p50 ms | p99 ms |\n|---|---|---|---|")
    for name, ts in sorted(stats.t.items()):
        ts.sort()
        p99 = ts[min(len(ts) - 1, int(len(ts) * 0.99))]
        print(f"| {name} | {len(ts)} | {statistics.median(ts) * 1000:.1f} | {p99 * 1000:.1f} |")
    print(f"\nstate check: registered {registered}/{a.n}, approved {n_approved}, approved once each "
          f"{len(approved)}, open {open_apps}, codes {codes}, main certificates {mains}: "
          f"{'OK' if ok else 'WRONG'}")
    for e in errors[:10]:
        print("error:", e)
    return 0 if ok else 1


def form(co):
    return {"legal_rep": "张三", "license_no": co["uscc"], "contact": "李四", "phone": co["mobile"],
            "medium": "SH-%06d" % co["i"]}


def render(pdf, tmp, tag):
    p = os.path.join(tmp, tag + ".pdf")
    with open(p, "wb") as f:
        f.write(pdf)
    subprocess.run(["pdftoppm", "-jpeg", "-r", "100", "-jpegopt", "quality=75", "-singlefile", p,
                    os.path.join(tmp, tag)], check=True)
    with open(os.path.join(tmp, tag + ".jpg"), "rb") as f:
        return f.read()


if __name__ == "__main__":
    sys.exit(main())
