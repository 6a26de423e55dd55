"""Runs a command in a pseudo-terminal and answers its prompts, like a person would.

Usage: python3 drive.py STEPS_JSON -- COMMAND ARGS...
STEPS_JSON is a list of [text to wait for, line to type]. Each wait is at most 30 s.
Prints everything the terminal showed (with DRIVE_TEE=1 also to stderr as it comes), then
exits with the command's exit code (or 124 if a prompt never came, 125 if the command did not
exit).
"""

import json
import os
import pty
import select
import sys
import time

# DRIVE_TEE=1: also copy what the terminal shows to stderr as it comes (for a test that must
# read something, such as a URL, while the command runs).
TEE = os.environ.get("DRIVE_TEE") == "1"


def read_until(fd, seen, needle, deadline):
    while needle not in seen[0]:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return needle in seen[0]
        if not chunk:
            return needle in seen[0]
        text = chunk.decode("utf-8", "replace")
        seen[0] += text
        if TEE:
            sys.stderr.write(text)
            sys.stderr.flush()
    return True


def main():
    sep = sys.argv.index("--")
    steps = json.loads(sys.argv[1])
    cmd = sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    seen = [""]
    for wait_for, answer in steps:
        if not read_until(fd, seen, wait_for, time.monotonic() + 30):
            sys.stdout.write(seen[0])
            sys.stdout.write(f"\n[drive.py] never saw {wait_for!r}\n")
            os.kill(pid, 9)
            sys.exit(124)
        seen[0] = seen[0].replace(wait_for, "<" + wait_for + ">", 1)
        os.write(fd, (answer + "\n").encode())
    read_until(fd, seen, "\0never\0", time.monotonic() + 30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            sys.stdout.write(seen[0])
            sys.exit(os.waitstatus_to_exitcode(status))
        time.sleep(0.05)
    sys.stdout.write(seen[0])
    os.kill(pid, 9)
    sys.exit(125)


if __name__ == "__main__":
    main()
