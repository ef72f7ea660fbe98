#!/usr/bin/env python3
"""hall_authz.py — the service hall's authorization matrix (issue 6).

Every hall endpoint (each real method + path, prefix routes enumerated)
is called by every kind of caller, for real, against `onecert hall serve`
with `onecert ca serve` behind it.  The world is built through the API as
a person would: company A is walked through 开通 (form, PDF, scan made by
pdftoppm, review, SMS code, registration), its certificates ask to become
sub certificates and the main certificate approves them, a clerk files a
matter application with an attachment, the main certificate is renewed
at the CA and replaced through 主数字证书更新 (paper path, reviewed), and
one clerk's certificate is revoked at the CA after it logged in.
Company B is registered the same way; its main certificate is "another
company".

Each cell's answer is judged by one rule (RULE below) as allowed, refused
or refused-as-not-found, and compared with the expected matrix in
hall_authz.matrix next to this file: any difference fails, naming the
cells.  The requests are benign: each is valid as far as the
authorization decision and is then stopped by content or state (a 400 or
a 409), so the world is the same afterwards (checked at the end).
docs/authorization.md is generated from the observed answers; the test
fails when the committed one differs (ONECERT_AUTHZ_WRITE=1 rewrites it).

Standard library only.  Environment as for every e2e test: ONECERT,
ONECERT_SOURCE_DIR, ONECERT_TEST_TMP.
"""
import base64
import difflib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ONECERT = os.environ.get("ONECERT") or sys.exit("ONECERT must point at the onecert binary")
SRC = os.environ.get("ONECERT_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TMP = os.environ.get("ONECERT_TEST_TMP") or "/tmp"
WRITE = os.environ.get("ONECERT_AUTHZ_WRITE") == "1"
MATRIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hall_authz.matrix")
DOC = os.path.join(SRC, "docs", "authorization.md")
os.environ["ONECERT_LOG_LEVEL"] = "error"

NAME_A, USCC_A = "上海浦江建筑工程有限公司", "91310115MA1FL8XY7N"
NAME_B, USCC_B = "北京燕山建材有限公司", "91110000600037341L"
MOBILE_A, MOBILE_B = "13816001234", "13817005678"
MEDIUM = "SH-KEY-0001"

PASSED = 0


def ok(msg):
    global PASSED
    PASSED += 1
    print("ok - " + msg, flush=True)


def fail(msg):
    # the services' last words first: a failure should explain itself
    for log in ("ca.log", "hall.log"):
        path = os.path.join(getattr(W, "t", "") or "/nonexistent", log)
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                tail = f.read()[-3000:]
            if tail.strip():
                sys.stderr.write("--- %s (end)\n%s\n" % (log, tail))
    print("FAIL - " + msg, file=sys.stderr, flush=True)
    print("%d passed, 1 failed" % PASSED)
    raise SystemExit(1)


# --- the callers -------------------------------------------------------------

# (key, column heading, who it is)
CALLERS = [
    ("anon", "anonymous", "匿名：no certificate, no session"),
    ("reviewer", "reviewer", "审核员：a staff (personal) certificate with the reviewer role"),
    ("admin", "admin", "管理员：a staff certificate with the admin role"),
    ("main", "main", "主数字证书 of company A (the one that replaced the first main by 主数字证书更新)"),
    ("cert_admin", "cert_admin", "证书管理员 of company A: a sub certificate with role cert_admin,"
     " granted a matter other than the one the rows use"),
    ("clerk+", "clerk+", "办事员 of company A granted the matter the rows use (建筑施工企业安全生产许可证)"),
    ("clerk-", "clerk−", "办事员 of company A granted another matter only"),
    ("pending", "pending", "a certificate of company A whose request to become a sub certificate is pending"),
    ("retired", "retired", "company A's first main certificate, retired (注销) by the approved"
     " 主数字证书更新; it logged in before, and uses that session (or its key, for the logins)"),
    ("other", "other co.", "the main certificate of company B, registered: full powers in its own company"),
    ("revoked", "revoked", "a clerk of company A granted the matter, revoked at the CA after it"
     " logged in; it uses that session (or its key, for the logins)"),
]
KEYS = [c[0] for c in CALLERS]
CERT_OF = {"reviewer": "rev", "admin": "adm", "main": "a1n", "cert_admin": "cadm",
           "clerk+": "clk1", "clerk-": "clk2", "pending": "pend", "retired": "a1",
           "other": "b1", "revoked": "revk"}

RULE = """\
A cell is **allowed** (✓) when the answer is 2xx, or 400, 409, 413 or 415: the
handler got past every authorization check and judged the request on its
content or on the state of its target.  The requests are built to stop
there: a body missing required fields, a target in a state the action does
not apply to (suspending a suspended certificate, withdrawing a withdrawn
application), so that allowed cells change nothing.  A cell is **refused**
(✗) when the answer is 401 (no session, an ended session: logged out,
retired, revoked) or 403 (the caller may not do this), and **hidden** (✗,
404) when the target belongs to another company: its existence is not
revealed.  Any other answer (405, 5xx) fails the test.  The requests carry
a valid CSRF token whenever they carry a session, so a 403 is always the
permission's."""


def judge(status):
    if 200 <= status < 300 or status in (400, 409, 413, 415):
        return "A"
    if status in (401, 403):
        return "R"
    if status == 404:
        return "N"
    return "?"


# --- processes and HTTP ----------------------------------------------------

class World:
    pass


W = World()
PROCS = []


def run(*args, input=None):
    r = subprocess.run(list(args), input=input, capture_output=True)
    if r.returncode != 0:
        fail("%s: exit %d: %s" % (" ".join(str(a) for a in args[:4]), r.returncode,
                                  (r.stderr or r.stdout).decode(errors="replace")[-800:]))
    return r.stdout


def start(logname, *args):
    log = open(os.path.join(W.t, logname), "ab")
    p = subprocess.Popen(list(args), stdout=log, stderr=log)
    PROCS.append(p)
    return p


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
    for p in PROCS:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


class Hall:
    """HTTPS to the hall: one kept-alive connection for the session calls
    (no client certificate: the cookie is what counts), a fresh one with
    the certificate for each TLS login."""

    def __init__(self, port, cafile):
        self.port, self.cafile, self.conn = port, cafile, None

    def _ctx(self, cert=None):
        ctx = ssl.create_default_context(cafile=self.cafile)
        if cert:
            ctx.load_cert_chain(os.path.join(W.t, cert + ".pem"), os.path.join(W.t, cert + ".key"))
        return ctx

    def request(self, method, path, body=None, headers=None, cert=None):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        for attempt in (0, 1):
            if cert:
                c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self._ctx(cert), timeout=60)
            else:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self._ctx(),
                                                            timeout=60)
                c = self.conn
            try:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if cert or r.will_close:
                    c.close()
                return r.status, data, hdrs
            except (http.client.HTTPException, OSError) as e:
                c.close()
                if not cert:
                    self.conn = None
                # the hall closed an idle kept-alive connection before
                # reading the request: nothing was done, send it again
                if attempt or not isinstance(e, (http.client.RemoteDisconnected,
                                                 ConnectionResetError, BrokenPipeError,
                                                 ssl.SSLEOFError)):
                    raise


class Caller:
    def __init__(self, name, cookie="", csrf=""):
        self.name, self.cookie, self.csrf = name, cookie, csrf


def api(who, method, path, body=None, ctype=None):
    """A session call by who (a Caller, or None for anonymous): status,
    parsed JSON (or raw bytes), raw bytes."""
    h = {}
    if who is not None and who.cookie:
        h["Cookie"] = "oc_session=" + who.cookie
        h["X-CSRF-Token"] = who.csrf
    if ctype:
        h["Content-Type"] = ctype
    st, data, _ = W.hall.request(method, "/api/v1/" + path, body, h)
    try:
        j = json.loads(data)
    except ValueError:
        j = None
    return st, j, data


def expect(st, j, want, what):
    if st != want:
        fail("%s: %d (wanted %d): %s" % (what, st, want, json.dumps(j, ensure_ascii=False)[:600]))
    return j


def login_tls(cert):
    st, data, hdrs = W.hall.request("POST", "/api/v1/login/tls", cert=cert)
    return st, data, hdrs


def login(cert):
    """A session of cert's certificate (a new Caller)."""
    st, data, hdrs = login_tls(cert)
    m = re.match(r"oc_session=([^;]*)", hdrs.get("set-cookie", ""))
    if st != 200 or not m:
        fail("login %s: %d %s" % (cert, st, data[:300]))
    return Caller(cert, m.group(1), json.loads(data)["csrf"])


def sign(key, text):
    sig = run("openssl", "dgst", "-sha256", "-sign", os.path.join(W.t, key + ".key"), input=text.encode())
    return base64.b64encode(sig).decode()


def login_signed(cert):
    st, j, _ = api(None, "POST", "login/challenge")
    ch = expect(st, j, 200, "a challenge")["challenge"]
    with open(os.path.join(W.t, cert + ".pem")) as f:
        pem = f.read()
    return api(None, "POST", "login", {"certificate": pem, "signature": sign(cert, ch), "challenge": ch})


# --- building the world ------------------------------------------------------

def new_key_csr(name):
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", os.path.join(W.t, name + ".key"), "-subj", "/CN=ignored by the CA",
        "-out", os.path.join(W.t, name + ".csr"))


def issue(name, company=None, person=None, medium=None):
    new_key_csr(name)
    args = [ONECERT, "ca", "issue", "--dir", W.ca, "--csr", os.path.join(W.t, name + ".csr"),
            "--out", os.path.join(W.t, name + ".pem")]
    if person:
        args += ["--profile", "personal", "--name", person[0], "--id-number", person[1]]
    else:
        args += ["--name", company[0], "--uscc", company[1]]
    if medium:
        args += ["--medium", medium]
    run(*args)


def serial_of(name):
    out = run("openssl", "x509", "-in", os.path.join(W.t, name + ".pem"), "-noout", "-serial").decode()
    return out.strip().split("=", 1)[1]


def wait_up(port, tls):
    for _ in range(100):
        try:
            if tls:
                st, _, _ = W.hall.request("GET", "/healthz")
            else:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/healthz")
                st = c.getresponse().status
                c.close()
            if st == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    for f in ("ca.log", "hall.log"):
        with open(os.path.join(W.t, f), errors="replace") as fh:
            sys.stderr.write(fh.read()[-2000:])
    fail("a service on port %d is up" % port)


def scan_of(who, app_id, name):
    """The application's PDF, downloaded, printed and scanned (pdftoppm)."""
    st, _, data = api(who, "GET", "applications/%d/form.pdf" % app_id)
    if st != 200 or not data.startswith(b"%PDF"):
        fail("the PDF of application %d: %d" % (app_id, st))
    pdf = os.path.join(W.t, name + ".pdf")
    with open(pdf, "wb") as f:
        f.write(data)
    run("pdftoppm", "-jpeg", "-r", "100", "-jpegopt", "quality=75", "-singlefile", pdf,
        os.path.join(W.t, name))
    with open(os.path.join(W.t, name + ".jpg"), "rb") as f:
        return f.read()


def file_scan_submit(who, app_id, name):
    jpeg = scan_of(who, app_id, name)
    st, j, _ = api(who, "PUT", "applications/%d/scan" % app_id, jpeg, "image/jpeg")
    if expect(st, j, 200, name + ": the scan")["qr"] != "match":
        fail(name + ": the scan's QR code matches")
    st, j, _ = api(who, "POST", "applications/%d/submit" % app_id)
    expect(st, j, 200, name + ": submitted")
    st, j, _ = api(W.c["reviewer"], "POST", "review/applications/%d/decision" % app_id,
                   {"decision": "approve"})
    expect(st, j, 200, name + ": approved by the reviewer")
    return jpeg


def sms_code(mobile):
    st, j, _ = api(W.c["admin"], "GET", "admin/outbox?to=" + mobile)
    codes = re.findall(r"验证码为(\d{6})", " ".join(m["text"] for m in expect(st, j, 200, "outbox")["items"]))
    if not codes:
        fail("an SMS code to %s in the outbox" % mobile)
    return codes[-1]


def activate_and_register(who, uscc, mobile, name):
    """开通 → review → 注册, as hall_activation.sh walks it; the scan's JPEG."""
    st, j, _ = api(who, "POST", "applications", {"legal_rep": "张三", "license_no": uscc,
                                                  "contact": "李四", "phone": mobile, "medium": MEDIUM})
    app = expect(st, j, 201, name + ": the 开通 draft")["id"]
    jpeg = file_scan_submit(who, app, name)
    st, j, _ = api(who, "POST", "registration/sms", {"mobile": mobile})
    expect(st, j, 200, name + ": an SMS code")
    st, j, _ = api(who, "POST", "registration", {
        "region": "local", "economic_type": "有限责任公司", "district": "浦东新区", "license_no": uscc,
        "nickname": "主证书", "holder": "张三", "holder_mobile": mobile, "code": sms_code(mobile)})
    j = expect(st, j, 200, name + ": registration")
    if j.get("company_state") != "registered" or not j.get("is_main"):
        fail(name + ": registered with its main certificate")
    return app, jpeg


def account_id(serial):
    st, j, _ = api(W.c["main0"], "GET", "subs")
    for it in expect(st, j, 200, "GET subs")["items"]:
        if it["serial"].upper().lstrip("0") == serial.upper().lstrip("0"):
            return it["id"]
    fail("the main certificate's list names %s" % serial)


def free_ports(n):
    """n ports the kernel has free now (other tests run at the same time:
    a random pick could collide)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def build():
    W.t = tempfile.mkdtemp(prefix="e2e.", dir=TMP)
    W.ca, W.hd = os.path.join(W.t, "ca"), os.path.join(W.t, "hall")
    W.port, W.hport, W.cport = free_ports(3)
    port = W.port
    base = "http://127.0.0.1:%d" % port
    with open(os.path.join(SRC, "data", "matters.json")) as f:
        cat = json.load(f)
    cat = cat["matters"] if isinstance(cat, dict) else cat
    W.c1, W.c2, W.c3 = cat[0]["code"], cat[1]["code"], cat[2]["code"]
    W.guide = sorted(f[:-3] for f in os.listdir(os.path.join(SRC, "data", "guides")) if f.endswith(".md"))[0]

    run(ONECERT, "ca", "init", "--dir", W.ca, "--algo", "ec", "--base-url", base)
    # revocations reach OCSP within a second
    with open(os.path.join(W.ca, "ca.ini"), "a") as f:
        f.write("\n[serve]\nrevocation_interval = 1\nocsp_validity = 120\nocsp_refresh_before = 60\n")
    # every certificate before the CA service starts: it knows them all
    issue("a1", (NAME_A, USCC_A), medium=MEDIUM)
    for n in ("cadm", "clk1", "clk2", "pend", "revk", "tclerk", "tpend", "tsusp"):
        issue(n, (NAME_A, USCC_A))
    issue("b1", (NAME_B, USCC_B))
    issue("rev", person=("赵审核", "110101199003074514"))
    issue("adm", person=("钱管理", "11010519491231002X"))
    new_key_csr("a1n")
    run(ONECERT, "ca", "renew", "--dir", W.ca, "--serial", serial_of("a1"),
        "--csr", os.path.join(W.t, "a1n.csr"), "--out", os.path.join(W.t, "a1n.pem"))
    run(ONECERT, "ca", "issue-tls", "--dir", W.ca, "--name", "127.0.0.1",
        "--out", os.path.join(W.t, "tls.pem"), "--key-out", os.path.join(W.t, "tls.key"))
    start("ca.log", ONECERT, "ca", "serve", "--dir", W.ca, "--listen", "127.0.0.1:%d" % port,
          "--tls-listen", "127.0.0.1:%d" % W.cport)
    run(ONECERT, "hall", "init", "--dir", W.hd, "--trust", os.path.join(W.ca, "ca.pem"),
        "--tls-cert", os.path.join(W.t, "tls.pem"), "--tls-key", os.path.join(W.t, "tls.key"),
        "--tls-listen", "127.0.0.1:%d" % W.hport)
    ini = os.path.join(W.hd, "hall.ini")
    with open(ini) as f:
        text = f.read()
    # a revoked certificate's session must end within the test's time
    text = text.replace("session_recheck = 5m", "session_recheck = 1s")
    # the signed main-certificate update is configured, so that its
    # endpoint judges requests instead of answering 503
    text += ("\n[update]\nlineage_url = https://127.0.0.1:%d/api/v1/public/lineage/\nlineage_ca = %s\n"
             "lineage_timeout = 5s\n" % (W.cport, os.path.join(W.ca, "ca.pem")))
    with open(ini, "w") as f:
        f.write(text)
    run(ONECERT, "admin", "import-segments", "--dir", W.hd, "--file",
        os.path.join(SRC, "tests", "unit", "data", "segments_fixture.csv"))
    run(ONECERT, "hall", "grant-role", "--dir", W.hd, "--serial", serial_of("rev"), "--role", "reviewer")
    run(ONECERT, "hall", "grant-role", "--dir", W.hd, "--serial", serial_of("adm"), "--role", "admin")
    W.hall = Hall(W.hport, os.path.join(W.ca, "ca.pem"))
    start("hall.log", ONECERT, "hall", "serve", "--dir", W.hd)
    wait_up(port, False)
    wait_up(W.hport, True)
    ok("CA service (HTTP and HTTPS) and hall are up")

    # sessions: each caller's, and a spare one for POST /logout
    W.c, W.spare = {"anon": None}, {"anon": None}
    for k, cert in CERT_OF.items():
        W.c[k] = login(cert)
        W.spare[k] = login(cert)
    W.c["main0"] = W.c["retired"]     # a1 is the main certificate until the update
    for n in ("tclerk", "tpend", "tsusp"):
        W.c[n] = login(n)
    ok("every certificate logs in (twice: a spare session for logout)")

    W.app_open, jpeg = activate_and_register(W.c["main0"], USCC_A, MOBILE_A, "company A")
    activate_and_register(W.c["other"], USCC_B, MOBILE_B, "company B")
    ok("companies A and B: 开通 → review → 注册, registered")

    # sub certificates of A
    mobiles = {"cadm": "13816002222", "clk1": "13816003333", "clk2": "13816004444",
               "pend": "13816005555", "revk": "13816006666", "tclerk": "13816007777",
               "tpend": "13816008888", "tsusp": "13816009999"}
    who = {"cadm": "cert_admin", "clk1": "clerk+", "clk2": "clerk-", "pend": "pending", "revk": "revoked"}
    W.acc = {}
    for n, m in mobiles.items():
        st, j, _ = api(W.c[who.get(n, n)], "POST", "subs/request", {"holder": "持证人" + n, "mobile": m})
        expect(st, j, 200, n + " asks to become a sub certificate")
        W.acc[n] = account_id(serial_of(n))
    for n, role, codes in (("cadm", "cert_admin", [W.c3]), ("clk1", "clerk", [W.c1]),
                           ("clk2", "clerk", [W.c2]), ("revk", "clerk", [W.c1]),
                           ("tclerk", "clerk", [W.c1]), ("tsusp", "clerk", [W.c1])):
        st, j, _ = api(W.c["main0"], "POST", "subs/%d/approve" % W.acc[n], {"role": role, "matters": codes})
        expect(st, j, 200, "the main certificate approves %s as %s" % (n, role))
    st, j, _ = api(W.c["main0"], "POST", "subs/%d/suspend" % W.acc["tsusp"])
    expect(st, j, 200, "tsusp suspended")
    ok("company A: a 证书管理员, three clerks and two targets approved, one suspended, two pending")

    # a matter application of A: a draft by the clerk, one attachment, withdrawn
    m = "matters/%s/applications" % W.c1
    st, j, _ = api(W.c["clerk+"], "POST", m, {
        "apply_type": "首次申请", "qualification_no": "D231000001", "legal_rep": "张三", "safety_head": "王五",
        "safety_staff": 12, "contact": "李四", "phone": MOBILE_A})
    W.app_matter = expect(st, j, 201, "the clerk's matter draft")["id"]
    W.att = "license"
    st, j, _ = api(W.c["clerk+"], "PUT", "%s/%d/attachments/%s" % (m, W.app_matter, W.att), jpeg, "image/jpeg")
    expect(st, j, 200, "an attachment")
    st, j, _ = api(W.c["clerk+"], "POST", "%s/%d/withdraw" % (m, W.app_matter))
    expect(st, j, 200, "the matter application withdrawn")
    ok("a clerk's matter application with an attachment, withdrawn")

    # 主数字证书更新: a1n (renewed a1 on the same medium) replaces a1
    st, j, _ = api(W.c["main"], "POST", "main-update", {
        "license_no": USCC_A, "old_serial": serial_of("a1"), "medium": MEDIUM, "reason": "续费",
        "contact": "李四", "phone": MOBILE_A})
    W.app_update = expect(st, j, 201, "the update draft")["id"]
    file_scan_submit(W.c["main"], W.app_update, "update")
    st, j, _ = api(W.c["main"], "GET", "me")
    if not expect(st, j, 200, "GET me as the new main").get("is_main"):
        fail("the new certificate is the main certificate")
    st, _, _ = login_tls("a1")
    if st != 403:
        fail("the retired certificate's login is refused (%d)" % st)
    ok("主数字证书更新 approved: a1n is the main certificate, a1 retired (its login → 403)")

    # each caller is what its column says
    want = {"main": ("main", "active", True), "cert_admin": ("cert_admin", "active", False),
            "clerk+": ("clerk", "active", False), "clerk-": ("clerk", "active", False),
            "pending": ("", "pending", False), "other": ("main", "active", True),
            "revoked": ("clerk", "active", False)}
    for k, (role, status, is_main) in want.items():
        st, j, _ = api(W.c[k], "GET", "me")
        j = expect(st, j, 200, "GET me as " + k)
        if (j["role"], j["status"], j["is_main"]) != (role, status, is_main):
            fail("%s is %s" % (k, (j["role"], j["status"], j["is_main"])))
    for k, role in (("reviewer", "reviewer"), ("admin", "admin")):
        st, j, _ = api(W.c[k], "GET", "me")
        if expect(st, j, 200, "GET me as " + k)["role"] != role:
            fail("%s has the %s role" % (k, role))
    ok("each caller has the standing its column names")

    # revoked at the CA after it logged in: its session ends at the next
    # request that re-checks the certificate
    run(ONECERT, "ca", "revoke", "--dir", W.ca, "--serial", serial_of("revk"), "--reason", "keyCompromise")
    for _ in range(60):
        time.sleep(0.5)
        st, j, _ = api(W.c["revoked"], "GET", "me")
        if st != 200:
            break
    if st != 401:
        fail("the revoked certificate's session ends (%d)" % st)
    ok("revoked at the CA: the certificate's session ends at its next request (401)")
    W.snapshot = snapshot()


def snapshot():
    """What the matrix's requests must not change."""
    st, j, _ = api(W.c["main"], "GET", "subs")
    subs = sorted((it["id"], it["role"], it["status"], it["holder"], it["mobile"],
                   tuple(m["code"] for m in it["matters"])) for it in expect(st, j, 200, "GET subs")["items"])
    apps = []
    for a in (W.app_open, W.app_update):
        st, j, _ = api(W.c["main"], "GET", "applications/%d" % a)
        apps.append((a, expect(st, j, 200, "GET application")["state"]))
    st, j, _ = api(W.c["clerk+"], "GET", "matters/%s/applications" % W.c1)
    apps += sorted((it["id"], it["state"]) for it in expect(st, j, 200, "GET matter applications")["items"])
    st, j, _ = api(W.c["reviewer"], "GET", "review/queue")
    queue = [it["id"] for it in expect(st, j, 200, "GET review queue")["items"]]
    return subs, apps, queue


# --- the rows: every endpoint, with a target and a benign request -------------

class Row:
    def __init__(self, section, key, target, how, path=None, body=None, ctype=None, note=""):
        self.section, self.key, self.target, self.how = section, key, target, how
        self.path, self.body, self.ctype, self.note = path, body, ctype, note
        self.method, self.route = key.split(" ", 1)
        self.route = self.route.split("@", 1)[0]


def rows():
    c1, mx, upd, att = W.c1, W.app_matter, W.app_update, W.att
    ma = "matters/%s/applications/%d" % (c1, mx)
    acc = W.acc
    main_id = account_id_of_main()
    junk = b"\xff\xd8\xff\xe0 not really a JPEG"
    S, A, RV, RG, AD, SB, MT, UP, GD = ("Login and session", "开通 and the main certificate's applications",
                                        "Review (staff)", "Registration", "Admin", "Sub certificates",
                                        "Matters (事项)", "Main-certificate update", "Guides (public)")
    return [
        Row(S, "POST /api/v1/login/tls", "—", "login_tls", note="the caller's certificate on the TLS connection"),
        Row(S, "GET /api/v1/login/options", "—", "session", "login/options",
            note="where the login page looks for the local agent"),
        Row(S, "POST /api/v1/login/challenge", "—", "session", "login/challenge"),
        Row(S, "POST /api/v1/login", "—", "login_signed",
            note="a fresh challenge signed with the caller's key; anonymous: `{}`"),
        Row(S, "GET /api/v1/me", "—", "session", "me"),
        Row(S, "POST /api/v1/logout", "—", "logout", note="the caller's spare session"),
        Row(A, "GET /api/v1/activation", "—", "session", "activation"),
        Row(A, "POST /api/v1/applications", "—", "session", "applications", {}, note="`{}`"),
        Row(A, "GET /api/v1/applications/{id}", "A's approved 主数字证书更新 application (filed by main)",
            "session", "applications/%d" % upd),
        Row(A, "PUT /api/v1/applications/{id}", "the same", "session", "applications/%d" % upd, {},
            note="`{}`"),
        Row(A, "GET /api/v1/applications/{id}/form.pdf", "the same", "session",
            "applications/%d/form.pdf" % upd),
        Row(A, "GET /api/v1/applications/{id}/scan", "the same", "session", "applications/%d/scan" % upd),
        Row(A, "PUT /api/v1/applications/{id}/scan", "the same", "session", "applications/%d/scan" % upd,
            junk, "image/jpeg", note="not a JPEG"),
        Row(A, "POST /api/v1/applications/{id}/submit", "the same", "session",
            "applications/%d/submit" % upd, {}),
        Row(A, "POST /api/v1/applications/{id}/withdraw", "the same", "session",
            "applications/%d/withdraw" % upd),
        Row(RV, "GET /api/v1/review/queue", "—", "session", "review/queue"),
        Row(RV, "GET /api/v1/review/applications/{id}", "A's withdrawn matter application", "session",
            "review/applications/%d" % mx),
        Row(RV, "GET /api/v1/review/applications/{id}/scan", "A's 主数字证书更新 application", "session",
            "review/applications/%d/scan" % upd),
        Row(RV, "GET /api/v1/review/applications/{id}/attachments/{name}", "A's matter application",
            "session", "review/applications/%d/attachments/%s" % (mx, att)),
        Row(RV, "POST /api/v1/review/applications/{id}/decision", "A's matter application", "session",
            "review/applications/%d/decision" % mx, {"decision": "maybe"}, note='`{"decision":"maybe"}`'),
        Row(RG, "GET /api/v1/registration", "—", "session", "registration"),
        Row(RG, "POST /api/v1/registration/sms", "—", "session", "registration/sms", {"mobile": MOBILE_A}),
        Row(RG, "POST /api/v1/registration", "—", "session", "registration", {}, note="`{}`"),
        Row(AD, "GET /api/v1/admin/outbox", "—", "session", "admin/outbox"),
        Row(SB, "POST /api/v1/subs/request", "—", "session", "subs/request",
            {"holder": "某人", "mobile": "13816001111"}),
        Row(SB, "GET /api/v1/subs", "—", "session", "subs"),
        Row(SB, "GET /api/v1/subs/me", "—", "session", "subs/me"),
        Row(SB, "GET /api/v1/subs/{id}", "a clerk of A", "session", "subs/%d" % acc["tclerk"]),
        Row(SB, "GET /api/v1/subs/{id}@main", "A's main certificate", "session", "subs/%d" % main_id),
        Row(SB, "POST /api/v1/subs/{id}/approve", "a pending request in A", "session",
            "subs/%d/approve" % acc["tpend"], {"role": "bogus", "matters": []}, note='`{"role":"bogus"}`'),
        Row(SB, "POST /api/v1/subs/{id}/refuse", "a pending request in A", "session",
            "subs/%d/refuse" % acc["tpend"], {}, note="no reason"),
        Row(SB, "PUT /api/v1/subs/{id}/matters", "a clerk of A", "session",
            "subs/%d/matters" % acc["tclerk"], {"matters": "x"}, note='`{"matters":"x"}`'),
        Row(SB, "PUT /api/v1/subs/{id}/role", "a clerk of A", "session",
            "subs/%d/role" % acc["tclerk"], {"role": "bogus"}, note='`{"role":"bogus"}`'),
        Row(SB, "POST /api/v1/subs/{id}/suspend", "a suspended clerk of A", "session",
            "subs/%d/suspend" % acc["tsusp"]),
        Row(SB, "POST /api/v1/subs/{id}/suspend@main", "A's main certificate", "session",
            "subs/%d/suspend" % main_id),
        Row(SB, "POST /api/v1/subs/{id}/resume", "an active clerk of A", "session",
            "subs/%d/resume" % acc["tclerk"]),
        Row(SB, "POST /api/v1/subs/{id}/remove", "a pending request in A", "session",
            "subs/%d/remove" % acc["tpend"]),
        Row(SB, "PUT /api/v1/subs/{id}/holder", "a clerk of A", "session",
            "subs/%d/holder" % acc["tclerk"], {"name": "", "mobile": ""}, note="an empty name"),
        Row(SB, "PUT /api/v1/subs/{id}/holder@main", "A's main certificate", "session",
            "subs/%d/holder" % main_id, {"name": "", "mobile": ""}, note="an empty name"),
        Row(MT, "GET /api/v1/matters", "—", "session", "matters"),
        Row(MT, "POST /api/v1/matters/{code}/applications", "the matter", "session",
            "matters/%s/applications" % c1, {}, note="`{}`"),
        Row(MT, "GET /api/v1/matters/{code}/applications", "the matter", "session",
            "matters/%s/applications" % c1),
        Row(MT, "GET /api/v1/matters/{code}/applications/{id}", "A's application of it (filed by clerk+)",
            "session", ma),
        Row(MT, "PUT /api/v1/matters/{code}/applications/{id}", "the same", "session", ma, {}, note="`{}`"),
        Row(MT, "GET /api/v1/matters/{code}/applications/{id}/attachments/{name}", "the same", "session",
            "%s/attachments/%s" % (ma, att)),
        Row(MT, "PUT /api/v1/matters/{code}/applications/{id}/attachments/{name}", "the same", "session",
            "%s/attachments/%s" % (ma, att), junk, "image/jpeg", note="not a JPEG"),
        Row(MT, "POST /api/v1/matters/{code}/applications/{id}/submit", "the same", "session",
            ma + "/submit", {}),
        Row(MT, "POST /api/v1/matters/{code}/applications/{id}/withdraw", "the same", "session",
            ma + "/withdraw"),
        Row(UP, "GET /api/v1/main-update", "—", "session", "main-update"),
        Row(UP, "POST /api/v1/main-update", "—", "session", "main-update", {}, note="`{}`"),
        Row(UP, "POST /api/v1/main-update/signed", "—", "session", "main-update/signed", {}, note="`{}`"),
        Row(GD, "GET /api/v1/guides", "—", "session", "guides"),
        Row(GD, "GET /api/v1/guides/{id}", "the first guide", "session", "guides/" + W.guide),
    ]


def account_id_of_main():
    st, j, _ = api(W.c["main"], "GET", "subs")
    for it in expect(st, j, 200, "GET subs")["items"]:
        if it["is_main"]:
            return it["id"]
    fail("A's main certificate in the list")


def call(row, key):
    """One cell: the status of row's request made by the caller key."""
    if row.how == "login_tls":
        return login_tls(CERT_OF[key] if key != "anon" else None)[0]
    if row.how == "login_signed":
        if key == "anon":
            return api(None, "POST", "login", {})[0]
        return login_signed(CERT_OF[key])[0]
    who = W.spare[key] if row.how == "logout" else W.c[key]
    if row.how == "logout":
        return api(who, "POST", "logout")[0]
    return api(who, row.method, row.path, row.body, row.ctype)[0]


# --- every route has a row ------------------------------------------------

def routes():
    """(method or None, path, prefix) of every route in the hall's tables
    (src/hall/*.c): serve.c's and the feature files' *_routes()."""
    out = set()
    d = os.path.join(SRC, "src", "hall")
    for f in sorted(os.listdir(d)):
        if not f.endswith(".c"):
            continue
        with open(os.path.join(d, f)) as fh:
            for m in re.finditer(r'\{\s*(NULL|"([A-Z]+)")\s*,\s*"(/api/v1/[^"]*)"', fh.read()):
                out.add((m.group(2), m.group(3), m.group(3).endswith("/")))
    return out


def check_coverage(rs):
    rt = routes()
    if len(rt) < 20:
        fail("the route tables were found in src/hall (%d routes)" % len(rt))
    missing = []
    for method, path, prefix in sorted(rt, key=lambda r: (r[1], r[0] or "")):
        hit = [r for r in rs if (method is None or r.method == method) and
               (r.route.startswith(path) and r.route != path if prefix else r.route == path)]
        if not hit:
            missing.append("%s %s%s" % (method or "*", path, "…" if prefix else ""))
    stray = [r.key for r in rs if not any(
        (m is None or r.method == m) and (r.route.startswith(p) if pre else r.route == p)
        for m, p, pre in rt)]
    if missing or stray:
        fail("the rows and the hall's routes disagree: routes without a row: %s; rows without a"
             " route: %s" % (missing or "none", stray or "none"))
    ok("every route of the hall (%d, prefix routes enumerated) has rows (%d)" % (len(rt), len(rs)))


# --- the expected matrix ---------------------------------------------------

def load_matrix():
    exp = {}
    with open(MATRIX) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            t = line.split()
            if len(t) != 2 + len(KEYS) or any(x not in ("A", "R", "N") for x in t[2:]):
                fail("%s:%d: METHOD PATH and %d cells of A, R or N" % (MATRIX, n, len(KEYS)))
            exp[t[0] + " " + t[1]] = dict(zip(KEYS, t[2:]))
    return exp


# --- the document ----------------------------------------------------------

def doc(rs, seen):
    sym = {"A": "✓", "R": "✗", "N": "✗"}
    out = ["# Authorization matrix of the service hall", "",
           "<!-- Generated by tests/e2e/hall_authz.sh from a real hall's answers; do not edit.",
           "     Regenerate: ONECERT_AUTHZ_WRITE=1 ONECERT=build/onecert ONECERT_SOURCE_DIR=$PWD"
           " bash tests/e2e/hall_authz.sh -->", "",
           "Every endpoint of `onecert hall serve` × every kind of caller (issue 6).  Each cell is",
           "a real request made by `tests/e2e/hall_authz.sh` to a hall with a CA service behind it;",
           "the expected answers are in `tests/e2e/hall_authz.matrix`, and the test fails on any",
           "difference, and when this file is not what the answers generate.", "",
           "## How a cell is judged", "", RULE, "",
           "## The callers", "", "| column | who |", "|---|---|"]
    for k, head, desc in CALLERS:
        out.append("| %s | %s |" % (head, desc))
    out += ["", "## The world", "",
            "Company A (上海浦江建筑工程有限公司) and company B (北京燕山建材有限公司) are both registered",
            "through 开通 → review → 注册.  A's main certificate approved the 证书管理员 and the clerks;",
            "three more certificates of A serve as targets: an active clerk, a suspended clerk and a",
            "pending request.  The clerk granted the matter filed an application of it (建筑施工企业安全",
            "生产许可证) with an attachment and withdrew it.  A's first main certificate was then renewed",
            "at the CA and replaced through 主数字证书更新 (form, PDF, scan, review): that application",
            "is the target of the `/applications/{id}` rows.  `{id}@main` rows target A's main",
            "certificate itself.  The signed update is configured (`[update] lineage_url`), so its",
            "endpoint judges requests.", "",
            "What the matrix shows, in words:", "",
            "- **Staff** certificates review (`/review/*`; the outbox only for admins) and act in no",
            "  company: every company endpoint refuses them (403).",
            "- **The main certificate** manages the sub certificates (not itself: only its holder) and",
            "  may do every matter; it reads the company's applications, but only the certificate that",
            "  filed an application changes it (403 for the main on a clerk's matter application).",
            "- **A 证书管理员** manages the clerks, never the main certificate, another administrator, or",
            "  itself (except its holder), never roles; it does only the matters granted to it.",
            "  It may grant a clerk any matter of the catalogue, one it does not hold included: it",
            "  manages the sub certificates and their matters on the main certificate's behalf",
            "  (SPEC §4.3), and the main certificate may do every matter.  What it grants is the",
            "  main certificate's delegated authority (only the main certificate makes and unmakes",
            "  administrators); its own grants say which matters it files itself, as a clerk's do.",
            "  Bounding it by its own grants would make the main certificate grant the administrator",
            "  every matter it is to hand on, letting it file them all — the opposite of least",
            "  privilege.  The trust is the main certificate's choice: an administrator who approves",
            "  a second certificate it holds can file any matter through it, and every grant, with",
            "  who made it, is in 副证书管理 for the main certificate to see and undo.",
            "- **A clerk** does its granted matters, reads its own entry, and manages nothing.",
            "- **A pending** certificate has no standing: it sees its own entry, the catalogue and",
            "  the guides, and does no matter.",
            "- Any certificate of a company other than its main one may file a 主数字证书更新 (the new",
            "  certificate has no standing yet): reviewers decide it on the signed, sealed form, and",
            "  the signed path needs the old main certificate's key and the CA's word.  Not a sub",
            "  certificate the company suspended or removed (403, a removed one also while it asks",
            "  again): the company has said it does not trust it.  Suspending or removing one",
            "  withdraws its open update in the same transaction, and an update whose applicant was",
            "  suspended or removed cannot be approved (409).",
            "- The logins, the challenge and the guides are public: a login's answer depends on the",
            "  certificate presented or signed with, not on a session.",
            "- The main certificate's own applications (开通, 主数字证书更新: form, PDF, scan) are read",
            "  by the certificate that filed them and by the main certificate only, once the company",
            "  has one; before that, every certificate of the company sees the 开通 application.",
            "- **Another company**'s certificate, however powerful in its own company, gets 404 for",
            "  every object of A; its own-company requests are allowed as usual.",
            "- **Retired** and **revoked** certificates: their sessions end (401) and they cannot log",
            "  in again (403), whichever way.", "",
            "## The matrix"]
    heads = [h for _, h, _ in CALLERS]
    section = None
    for r in rs:
        if r.section != section:
            section = r.section
            out += ["", "### " + section, "",
                    "| endpoint | target | " + " | ".join(heads) + " |",
                    "|---|---|" + "---|" * len(heads)]
        ep = "`%s`" % r.key.replace("@main", "")
        if r.note:
            ep += " (%s)" % r.note
        cells = []
        for k in KEYS:
            st = seen[(r.key, k)]
            cells.append("%s %d" % (sym.get(judge(st), "?"), st))
        out.append("| %s | %s | %s |" % (ep, r.target, " | ".join(cells)))
    n_allowed = sum(1 for v in seen.values() if judge(v) == "A")
    out += ["", "%d endpoints and targets × %d callers = %d cells: %d allowed, %d refused." %
            (len(rs), len(KEYS), len(seen), n_allowed, len(seen) - n_allowed), ""]
    return "\n".join(out)


def check_forms():
    """The pages' view of the main certificate's applications: those who
    may not read one (403 in the matrix) still see that it exists, not
    its form."""
    for k in ("main", "cert_admin", "clerk+", "pending", "other"):
        for path, kind in (("activation", "main_open"), ("main-update", "main_update")):
            st, j, _ = api(W.c[k], "GET", path)
            app = expect(st, j, 200, "GET %s as %s" % (path, k))["application"]
            if k == "other":
                # B's own 开通 application; B has no update
                want = path == "activation"
                if (app is not None and bool(app["form"])) != want:
                    fail("GET %s as another company's main shows its own company only" % path)
                continue
            if app is None or app["kind"] != kind:
                fail("GET %s as %s names A's %s application" % (path, k, kind))
            if bool(app["form"]) != (k == "main"):
                fail("GET %s as %s: the form is %s" % (path, k, "shown" if app["form"] else "hidden"))
    ok("GET /activation and GET /main-update: the main certificate sees A's applications' forms;"
       " 证书管理员, clerk and pending certificates see only that they exist")


# --- main ------------------------------------------------------------------

def main():
    t0 = time.monotonic()
    try:
        build()
        rs = rows()
        check_coverage(rs)
        exp = load_matrix()
        keys = [r.key for r in rs]
        if sorted(exp) != sorted(keys) or len(set(keys)) != len(keys):
            fail("hall_authz.matrix and the rows disagree: only in the matrix: %s; only in the rows: %s"
                 % (sorted(set(exp) - set(keys)) or "none", sorted(set(keys) - set(exp)) or "none"))
        seen = {}
        for r in rs:
            for k in KEYS:
                seen[(r.key, k)] = call(r, k)
        ok("%d cells called" % len(seen))
        diffs = []
        for r in rs:
            for k in KEYS:
                got = judge(seen[(r.key, k)])
                if got != exp[r.key][k]:
                    diffs.append("  %-62s %-10s expected %s, got %s (%d)" % (
                        r.key, k, exp[r.key][k], got, seen[(r.key, k)]))
        if diffs:
            print("the observed matrix differs from hall_authz.matrix (A allowed, R refused,"
                  " N not found):\n" + "\n".join(diffs), file=sys.stderr)
            fail("%d cells differ from the expected matrix" % len(diffs))
        ok("every cell is as hall_authz.matrix expects (%d allowed, %d refused)" % (
            sum(1 for v in seen.values() if judge(v) == "A"),
            sum(1 for v in seen.values() if judge(v) != "A")))
        if snapshot() != W.snapshot:
            fail("the matrix's requests changed the world:\n%s\n%s" % (W.snapshot, snapshot()))
        ok("…and the requests changed nothing (sub certificates, grants, applications, queue)")
        check_forms()
        text = doc(rs, seen)
        gen = os.path.join(W.t, "authorization.md")
        with open(gen, "w") as f:
            f.write(text)
        if WRITE:
            with open(DOC, "w") as f:
                f.write(text)
            ok("docs/authorization.md written")
        else:
            try:
                with open(DOC) as f:
                    old = f.read()
            except FileNotFoundError:
                old = ""
            if old != text:
                sys.stderr.writelines(list(difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), "docs/authorization.md",
                    "generated"))[:80])
                fail("docs/authorization.md is not what the answers generate; regenerate it with"
                     " ONECERT_AUTHZ_WRITE=1 bash tests/e2e/hall_authz.sh (ONECERT,"
                     " ONECERT_SOURCE_DIR set as for ctest)")
            ok("docs/authorization.md is what the answers generate")
        stop_all()
        # in the sanitizer build: the services' own reports, at exit too
        for log in ("ca.log", "hall.log"):
            with open(os.path.join(W.t, log), errors="replace") as f:
                text = f.read()
            m = re.search(r"(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:)", text)
            if m:
                sys.stderr.write(text[max(0, m.start() - 200):m.start() + 3000])
                fail("%s reports %s" % (log, m.group(1)))
        ok("the CA service and the hall stopped without a sanitizer report")
        print("# %.1f s" % (time.monotonic() - t0))
        print("%d passed, 0 failed" % PASSED)
    finally:
        stop_all()
        if getattr(W, "t", None):
            shutil.rmtree(W.t, ignore_errors=True)


if __name__ == "__main__":
    main()
