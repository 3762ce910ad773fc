#!/usr/bin/python3
"""State checks for tests/integration/faults.sh, made directly against a
registry (never through the fault proxy) or on disk.

  faultcheck.py tag HOST:PORT REPO TAG [DIGEST]
      "absent" when REPO:TAG does not exist; "complete" when it exists, its
      bytes hash to DIGEST (when given), and every child manifest and every
      config and layer blob it references exists with bytes that hash to
      its digest and the size its descriptor says.  Anything else: "BAD: why"
      and exit 1.
  faultcheck.py layout DIR NAME [BASELINE_DIR]
      Every blobs/ALG/HEX file hashes to its name (no partial blob under a
      final name).  "absent" when index.json has no entry NAME; else every
      blob it reaches must be there: "complete"; with BASELINE_DIR, the
      index.json and the blobs reached must equal the baseline's:
      "identical".  Anything else: "BAD: why", exit 1.
  faultcheck.py storage DIR
      Every blob a docker-registry stores under DIR (filesystem driver)
      hashes to its name.
"""
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


class Bad(Exception):
    pass


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def children(doc):
    """(manifests, blobs) descriptors a manifest or index references."""
    if "manifests" in doc:
        return doc["manifests"], []
    return [], [doc["config"]] + doc.get("layers", [])


def check_tag(host, repo, tag, want):
    base = "http://%s/v2/%s" % (host, repo)
    st, body = get("%s/manifests/%s" % (base, tag), ACCEPT)
    if st == 404:
        return "absent"
    if st != 200:
        raise Bad("GET manifests/%s: HTTP %d" % (tag, st))
    if want and sha(body) != want:
        raise Bad("%s:%s holds %s, expected %s" % (repo, tag, sha(body), want))
    todo, seen = [json.loads(body)], set()
    while todo:
        ms, bs = children(todo.pop())
        for d in ms:
            st, b = get("%s/manifests/%s" % (base, d["digest"]), ACCEPT)
            if st != 200:
                raise Bad("child manifest %s: HTTP %d" % (d["digest"], st))
            if sha(b) != d["digest"] or len(b) != d["size"]:
                raise Bad("child manifest %s: bytes do not match" % d["digest"])
            todo.append(json.loads(b))
        for d in bs:
            if d["digest"] in seen:
                continue
            seen.add(d["digest"])
            st, b = get("%s/blobs/%s" % (base, d["digest"]))
            if st != 200:
                raise Bad("blob %s: HTTP %d" % (d["digest"], st))
            if sha(b) != d["digest"] or len(b) != d["size"]:
                raise Bad("blob %s: stored bytes hash to %s (%d bytes)" %
                          (d["digest"], sha(b), len(b)))
    return "complete"


def layout_blob(dir, digest):
    alg, _, hx = digest.partition(":")
    with open(os.path.join(dir, "blobs", alg, hx), "rb") as f:
        return f.read()


def check_layout(dir, name, baseline=None):
    bdir = os.path.join(dir, "blobs", "sha256")
    for fn in os.listdir(bdir) if os.path.isdir(bdir) else []:
        if len(fn) != 64 or not all(c in "0123456789abcdef" for c in fn):
            continue  # a temporary name, never a final one
        with open(os.path.join(bdir, fn), "rb") as f:
            if sha(f.read()) != "sha256:" + fn:
                raise Bad("blobs/sha256/%s does not hash to its name" % fn)
    try:
        with open(os.path.join(dir, "index.json"), "rb") as f:
            index_bytes = f.read()
    except FileNotFoundError:
        return "absent"
    index = json.loads(index_bytes)
    top = [m for m in index.get("manifests", [])
           if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == name]
    if not top:
        return "absent"
    reached, todo = set(), list(top)
    while todo:
        d = todo.pop()
        if d["digest"] in reached:
            continue
        reached.add(d["digest"])
        try:
            b = layout_blob(dir, d["digest"])
        except FileNotFoundError:
            raise Bad("index.json names %s but %s is missing" % (name, d["digest"]))
        if len(b) != d["size"]:
            raise Bad("%s: size %d, descriptor says %d" % (d["digest"], len(b), d["size"]))
        if "manifest" in d.get("mediaType", ""):
            ms, bs = children(json.loads(b))
            todo.extend(ms + bs)
    if baseline is None:
        return "complete"
    with open(os.path.join(baseline, "index.json"), "rb") as f:
        if f.read() != index_bytes:
            raise Bad("index.json differs from the fault-free pull's")
    for dg in reached:
        if layout_blob(dir, dg) != layout_blob(baseline, dg):
            raise Bad("%s differs from the fault-free pull's" % dg)
    return "identical"


def check_storage(root):
    blobs = os.path.join(root, "docker", "registry", "v2", "blobs")
    n = 0
    for dp, _, files in os.walk(blobs):
        if "data" in files:
            hx = os.path.basename(dp)
            alg = os.path.basename(os.path.dirname(os.path.dirname(dp)))
            h = hashlib.new(alg)
            with open(os.path.join(dp, "data"), "rb") as f:
                for piece in iter(lambda: f.read(1 << 20), b""):
                    h.update(piece)
            if h.hexdigest() != hx:
                raise Bad("stored blob %s:%s hashes to %s" % (alg, hx, h.hexdigest()))
            n += 1
    return "%d blobs intact" % n


def main():
    a = sys.argv[1:]
    try:
        if a[0] == "tag":
            print(check_tag(a[1], a[2], a[3], a[4] if len(a) > 4 else None))
        elif a[0] == "layout":
            print(check_layout(a[1], a[2], a[3] if len(a) > 3 else None))
        elif a[0] == "storage":
            print(check_storage(a[1]))
        else:
            sys.exit(__doc__)
    except (Bad, ValueError, KeyError, OSError) as e:
        print("BAD: %s" % e)
        sys.exit(1)


main()
