# Loads one scope with COUNT records of SIZE bytes, then times three fresh devices pulling it all.
# Usage: python3 bench/large_pulls.py BASE_URL ADMIN_PASSWORD SIZE COUNT (see bench/large-pulls)
import base64, os, json, sys, time, urllib.request, uuid, statistics
base, pw, size, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tag = uuid.uuid4().hex[:6]
def call(method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None: req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
st, b = call("POST", "/api/v1/auth/login", {"username": "admin", "password": pw})
admin = json.loads(b)["access_token"]
def register(d):
    st, b = call("POST", "/api/v1/devices", {"device_id": d, "type": "PiBook", "group": "bench"}, admin)
    assert st == 201, b
    return json.loads(b)["api_key"]
scope = "class:" + tag
def grant(d):
    st, b = call("PUT", "/api/v1/sync/devices/%s/scopes/%s" % (d, scope), None, admin)
    assert st in (200, 201), b
w = "w-" + tag; wk = register(w); grant(w)
filler = "x" * size
per = max(1, min(1000, 800_000 // (size + 200)))
t = time.time()
for start in range(0, count, per):
    muts = [{"mutation_id": str(uuid.uuid4()), "collection": "notes", "scope": scope,
             "record_id": "r%06d" % i, "op": "upsert", "base_version": 0,
             "data": {"text": (base64.b64encode(os.urandom(size * 3 // 4)).decode() if size > 1000 else filler), "i": i}} for i in range(start, min(count, start + per))]
    st, b = call("POST", "/api/v1/sync/push", {"mutations": muts}, wk)
    assert st == 200, b[:300]
print("loaded %d records of %d bytes in %.1f s" % (count, size, time.time() - t), flush=True)
times = []
for n in range(3):
    d = "p%d-%s" % (n, tag); k = register(d); grant(d)
    cursor = None; got = 0; pages = 0; t = time.time()
    while True:
        st, b = call("GET", "/api/v1/sync/pull?limit=1000" + ("&cursor=" + cursor if cursor else ""), None, k)
        assert st == 200, b[:300]
        page = json.loads(b); got += len(page["changes"]); pages += 1
        cursor = page["cursor"]
        if not page["has_more"]: break
    el = time.time() - t; times.append(el)
    assert got == count, (got, count)
    print("pull %d: %d records in %d pages, %.2f s" % (n, got, pages, el), flush=True)
print("RESULT size=%d count=%d median=%.2f s" % (size, count, statistics.median(times)))
