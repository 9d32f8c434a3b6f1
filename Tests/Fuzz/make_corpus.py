#!/usr/bin/env python3
"""Writes the committed seed corpus of tools/fuzz.sh: Tests/Fuzz/corpus/<target>/<name>. Re-run to regenerate.

The checkpoint seeds come from a real `eta train --checkpoint` run when ETA points at an eta binary (else they
are kept as committed); everything else is written here.
"""
import gzip, hashlib, json, os, shutil, struct, subprocess, sys, tempfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)

specs = {
    "optimizer-spec": ["adam", "adam:lr=1e-3,beta1=0.8,beta2=0.99,eps=1e-6,amsgrad=true", "adamw:lr=0.01",
                       "sgd:lr=0.1,momentum=0.9,nesterov=true", "adam:betas=0.9/0.999"],
    "schedule-spec": ["cosine:t_max=100,eta_min=1e-5", "multistep:milestones=30/80,gamma=0.1", "onecycle:max_lr=0.01,total_steps=10",
                      "cyclic:base_lr=0.001,max_lr=0.1,step_size_up=4", "plateau:mode=min,factor=0.5,patience=2"],
    "model-spec": ["mlp", "mlp:hidden=128/64,act=tanh", "mlp:hidden=16,act=relu,init=xavier"],
    "param-group-spec": ["*.bias:weight_decay=0", "layer0.*:lr_scale=0.5,weight_decay=0", "layer[01].weight"],
}
for target, values in specs.items():
    for index, value in enumerate(values):
        put(target, f"seed{index}", value)

# CSV: the first byte picks the task (0 auto, 1 classification, 2 regression).
put("csv", "plain", "\0a,b,label\n1,2,0\n3.5,-4e2,1\n5,6,1\n")
put("csv", "rfc4180", "\1\"x, one\",\"say \"\"hi\"\"\",label\r\n\"1.5\", 2 ,0\r\n3,4,1\r\n")
put("csv", "regression", "\2 1 2 0.5\n3 4 1.5\n")

def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)

# IDX input: flags (bit 0: images gzipped), 16-bit big-endian labels length, labels file, images file.
labels = idx(0x0801, [3], [7, 0, 9])
images = idx(0x0803, [3, 2, 2], range(0, 240, 20))
put("idx", "raw", b"\0" + struct.pack(">H", len(labels)) + labels + images)
put("idx", "gzipped", b"\1" + struct.pack(">H", len(labels)) + labels + gzip.compress(images, mtime=0))
put("idx", "with-test", b"\2" + struct.pack(">H", len(labels)) + labels + images)

# CIFAR-10 input: data_batch_1.bin, records of a label byte and 3,072 pixel bytes (the test batch is fixed).
put("cifar", "two-records", bytes([3] + [i % 256 for i in range(3072)] + [9] + [255 - i % 256 for i in range(3072)]))
put("cifar", "truncated", bytes([1] + [7] * 3000))

# Text input: the first byte is the context - 1 (mod 32), the rest the file: UTF-8 with CRLF, a BOM, multi-byte
# characters; one too short for its context; one with invalid UTF-8.
put("text", "lines", b"\3" + "\ufeffTo be, or not to be, that is the question:\r\nWhether 'tis nobler in the mind\r\n".encode() * 4)
put("text", "unicode", b"\1" + "héllo wörld — ünïcödé ✓ 𝄞 ".encode() * 8)
put("text", "short", b"\31" + b"too short for a context of 32\n")
put("text", "invalid", b"\0" + b"abc\xff\xfe\xc3(def" * 3)

# Program cache entry: magic, key bytes, payload length (little-endian), SHA-256 of the payload, payload.
key = hashlib.sha256(b"eta-fuzz").digest()
payload = b"\x7fELF fake device binary"
put("program-cache", "valid", b"ETAPROG1" + key + struct.pack("<Q", len(payload)) + hashlib.sha256(payload).digest() + payload)

# Checkpoint headers whose shapes overflow Int when multiplied: Checkpoint.read trapped on these (found by fuzzing).
for name, shape in [("shape-overflow", [2**62, 4]), ("shape-product-overflow", [2**40, 2**30])]:
    data = bytes(16)
    header = json.dumps({"__metadata__": {"format": "eta-checkpoint", "sha256": hashlib.sha256(data).hexdigest()},
                         "t": {"dtype": "F32", "shape": shape, "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    put("checkpoint", name, struct.pack("<Q", len(header)) + header + data)

eta = os.environ.get("ETA")
if eta:
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([eta, "train", "--dataset", "iris", "--model", "mlp:hidden=4", "--epochs", "1", "--device", "cpu",
                        "--checkpoint", work, "--quiet"], check=True, cwd=work, stdout=subprocess.DEVNULL)
        put("checkpoint", "iris-mlp4", open(os.path.join(work, "checkpoint-latest.safetensors"), "rb").read())
print("corpus written to", root)
