# bench/lib.sh: helpers shared by the bench/ scripts (source it after tests/lib.sh).
#
#   gen_layer SEED MB OUT.tar        a deterministic, realistic layer tar (see below)
#   oci_layout OUT TAG LAYER.tar...  an OCI layout of one image with these layers
#   (verify_catalog, which makes a catalog of many tags, is in tests/lib.sh)
#   median                           the median of the numbers on stdin, one a line

# gen_layer SEED MB OUT.tar: a tar of about MB megabytes in files of
# Pareto-distributed sizes: 85% text pieces, 15% random bytes (seeded, so the
# same arguments give the same bytes; pigz -6 makes it about 1.75x smaller).
gen_layer()
{
	$PY - "$1" "$2" >"$3" <<'EOF'
import os, random, sys, tarfile, io
seed, mb = int(sys.argv[1]), int(sys.argv[2])
random.seed(seed)
rnd = random.Random(seed)
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rnd.randint(2, 10)))
	 for _ in range(5000)]
pool = (" ".join(rnd.choices(words, k=3_000_000)) + "\n").encode()
noise = rnd.randbytes(16 << 20)
tf = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
total, n, target = 0, 0, mb * 1000000
while total < target:
	if n % 50 == 0:
		d = tarfile.TarInfo("d%04d" % (n // 50)); d.type = tarfile.DIRTYPE; d.mode = 0o755
		tf.addfile(d)
	size = min(int(rnd.paretovariate(1.2) * 8000), 8 << 20)
	parts, left = [], size
	while left > 0:
		k = min(left, rnd.randint(4096, 262144))
		src = noise if rnd.random() < 0.15 else pool
		off = rnd.randrange(0, len(src) - k)
		parts.append(src[off:off + k])
		left -= k
	data = b"".join(parts)
	ti = tarfile.TarInfo("d%04d/f%06d" % (n // 50, n)); ti.size = len(data); ti.mode = 0o644
	tf.addfile(ti, io.BytesIO(data))
	total += len(data); n += 1
tf.close()
EOF
}

# oci_layout OUT TAG LAYER.tar...: an OCI layout of one image with these layers
# (each gzipped next to it as LAYER.tar.gz).
oci_layout()
{
	local out=$1 tag=$2
	shift 2
	$PY - "$out" "$tag" "$@" <<'EOF'
import hashlib, json, os, shutil, sys
out, tag, tars = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(out + "/blobs/sha256")
def digest_file(p):
	h = hashlib.sha256()
	with open(p, "rb") as f:
		for b in iter(lambda: f.read(1 << 20), b""):
			h.update(b)
	return "sha256:" + h.hexdigest()
def put(data):
	d = "sha256:" + hashlib.sha256(data).hexdigest()
	open(out + "/blobs/sha256/" + d[7:], "wb").write(data)
	return d
dumps = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":")).encode()
layers, diffs = [], []
for t in tars:
	diffs.append(digest_file(t))
	d = digest_file(t + ".gz")
	os.link(t + ".gz", out + "/blobs/sha256/" + d[7:])
	layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d,
		       "size": os.path.getsize(t + ".gz")})
cfg = dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diffs}})
man = dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
	     "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg),
			"size": len(cfg)}, "layers": layers})
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
	"digest": put(man), "size": len(man), "annotations": {"org.opencontainers.image.ref.name": tag}}]},
	open(out + "/index.json", "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
EOF
}

median()
{
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
