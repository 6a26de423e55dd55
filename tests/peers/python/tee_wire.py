"""Stdio tee: run a server command, pass stdin/stdout through, and log every line to a file.

Usage: WIRE_LOG=/tmp/wire.log python3 tee_wire.py SERVER_CMD ARGS...
Each log line is "<ms since start>ms C->S <json>" (client to server) or "S->C <json>" (server to client),
appended to $WIRE_LOG (or stderr when unset). Stdlib only; works with any python3.
"""

import os
import subprocess
import sys
import threading
import time

log_path = os.environ.get("WIRE_LOG")
log = open(log_path, "a", buffering=1, encoding="utf-8") if log_path else sys.stderr
lock = threading.Lock()
start = time.monotonic()


def pump(src, dst, tag: str) -> None:
    for line in iter(src.readline, b""):
        with lock:
            ms = (time.monotonic() - start) * 1000
            log.write(f"{ms:8.1f}ms {tag} {line.decode('utf-8', 'replace').rstrip()}\n")
        dst.write(line)
        dst.flush()
    dst.close()


child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
threading.Thread(target=pump, args=(sys.stdin.buffer, child.stdin, "C->S"), daemon=True).start()
pump(child.stdout, sys.stdout.buffer, "S->C")
code = child.wait()
with lock:
    log.write(f"{(time.monotonic() - start) * 1000:8.1f}ms server exited with {code}\n")
sys.exit(code)
