"""Counts the lines a live consumer prints (one per event) and when they arrived.

    counter.py OUT.json idle-seconds max-seconds consumer-command...

Stops once events came and then none for idle-seconds (default 5), or after max-seconds
(default 300), and writes {"events", "first", "last"} (Unix times) to OUT.json.
"""
import json
import os
import select
import subprocess
import sys
import time

out = sys.argv[1]
idle = float(sys.argv[2])
limit = float(sys.argv[3])
consumer = subprocess.Popen(sys.argv[4:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
start = time.time()
count, first, last = 0, None, None
fd = consumer.stdout.fileno()
while True:
    now = time.time()
    if now - start > limit or (last is not None and now - last > idle):
        break
    ready, _, _ = select.select([fd], [], [], 0.1)
    if not ready:
        continue
    chunk = os.read(fd, 1 << 16)
    if not chunk:
        break
    lines = chunk.count(b"\n")
    if lines:
        now = time.time()
        first = first or now
        last = now
        count += lines
consumer.kill()
consumer.wait()
json.dump({"events": count, "first": first, "last": last}, open(out, "w"))
