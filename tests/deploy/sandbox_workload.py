"""What the daemon does with its libraries, run by test_unit_sandbox.py inside the unit's restrictions.

Prints one line per step; any failure raises (non-zero exit). argv[1]: a writable scratch directory.
"""

import os
import sqlite3
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
scratch = Path(sys.argv[1])

print(f"/proc/cpuinfo visible: {Path('/proc/cpuinfo').exists()}", flush=True)

import numpy as np  # noqa: E402

a = np.random.default_rng(1).standard_normal((256, 256)).astype(np.float32)
assert np.isfinite(a @ a.T).all()
print("numpy: matmul ok", flush=True)

import cv2  # noqa: E402

frame = (np.random.default_rng(2).random((480, 640, 3)) * 255).astype(np.uint8)
gray = cv2.cvtColor(cv2.resize(frame, (320, 240)), cv2.COLOR_BGR2GRAY)
cv2.equalizeHist(gray)
cascade_dir = Path(cv2.data.haarcascades) if hasattr(cv2, "data") else None
if cascade_dir and (cascade_dir / "haarcascade_frontalface_default.xml").exists():
    cv2.CascadeClassifier(str(cascade_dir / "haarcascade_frontalface_default.xml")).detectMultiScale(gray)
print(f"opencv {cv2.__version__}: resize, colour, equalise ok", flush=True)

import onnxruntime as ort  # noqa: E402
from tiny_onnx import tiny_model  # noqa: E402

models = [("tiny", tiny_model())]
models_dir = os.environ.get("ECHANNEL_SANDBOX_MODELS")
if models_dir:
    models += [(p.name, p.read_bytes()) for p in sorted(Path(models_dir).glob("*.onnx"))]
for name, model in models:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    feeds = {}
    for spec in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in spec.shape]
        feeds[spec.name] = np.random.default_rng(3).random(shape).astype(np.float32)
    outputs = session.run(None, feeds)
    assert all(np.isfinite(o).all() for o in outputs)
    print(f"onnxruntime {ort.__version__}: {name} inference ok", flush=True)

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

key = ec.generate_private_key(ec.SECP256R1())
key.public_key().verify(key.sign(b"record", ec.ECDSA(hashes.SHA256())), b"record", ec.ECDSA(hashes.SHA256()))
print("cryptography: ECDSA ok", flush=True)

db = sqlite3.connect(scratch / "outbox.sqlite3")
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, body BLOB)")
with db:
    db.execute("INSERT INTO outbox (body) VALUES (?)", (b"x" * 100,))
db.close()
print("sqlite: WAL outbox ok", flush=True)

import paho.mqtt.client as mqtt  # noqa: E402
import serial  # noqa: E402, F401
import smartcard.System  # noqa: E402

mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sandbox")
print("paho, pyserial, pyscard: import ok", flush=True)
if Path("/run/pcscd/pcscd.comm").exists():  # a pcscd is up (the card tests run one): talk to it
    print(f"pyscard: {len(smartcard.System.readers())} reader(s) through pcscd", flush=True)

import socket  # noqa: E402

try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)
except OSError:
    print("netlink: refused (as the unit says)", flush=True)
else:
    raise SystemExit("netlink socket was allowed")

results = []
threads = [threading.Thread(target=lambda: results.append(sum(range(1000)))) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert len(results) == 4
print("threads ok", flush=True)
