#!/usr/bin/env python3
"""Checks the rules of ARCHITECTURE.md that the compiler does not:

1. No module cycles inside any crate: module A uses module B (a `crate::`, `super::` or
   `self::` path that resolves to B, or an item B defines re-exported at the crate root)
   and B uses A. A module using its own ancestors is not counted (a child reading its
   parent's items is ordinary Rust); test modules (`#[cfg(test)]` onwards) are ignored.
2. No MCP method name spelled as a string literal outside mcp-proto (tests and benches,
   which drive the wire by hand, aside). A string that is not a method but reads like one
   (a conformance scenario called `initialize`) carries the comment `arch: not a method`.
3. No file of the project reaches for the reference folder that sits beside the repository
   on the developers' machines (a clone of the repository has none).

Usage: scripts/check-architecture.py [REPO]   Exit 1 and a list of findings on failure.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)(::\{([^}]*)\})?")
REEXPORT_RE = re.compile(r"pub(?:\(crate\))?\s+use\s+([a-z_:]+)::\{?([A-Za-z_,\s]+)\}?;")
# The reference folder's name, spelled so that this file does not match its own search.
SHARED = "sh" + "ared"
OUTSIDE = r"\.\./" + SHARED + "|" + SHARED + "/(spec|peers|seeds)"
METHOD_RE = re.compile(
    r'"(initialize|ping|tools/(call|list)|resources/(list|read|subscribe|unsubscribe|templates/list)'
    r'|prompts/(list|get)|completion/complete|logging/setLevel|sampling/createMessage'
    r'|elicitation/create|roots/list|server/discover|notifications/[a-z_/]+)"'
)


def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    return text.split("#[cfg(test)]")[0]


def modules(src):
    found = {}
    for d, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(d, f)
            parts = os.path.relpath(path, src)[:-3].split(os.sep)
            if parts[-1] in ("lib", "main", "mod"):
                parts = parts[:-1]
            with open(path, encoding="utf-8") as fh:
                found[tuple(parts)] = strip(fh.read())
    return found


def edges(files):
    mods = set(files)
    root_reexports = {}
    for m in REEXPORT_RE.finditer(files.get((), "")):
        for name in re.split(r"[,\s]+", m.group(2)):
            if name:
                root_reexports[name] = tuple(m.group(1).split("::"))

    def resolve(path):
        for i in range(len(path), 0, -1):
            if tuple(path[:i]) in mods:
                return tuple(path[:i])
        if path and path[0] in root_reexports:
            return resolve(root_reexports[path[0]])
        return None

    out = {}
    for m, text in files.items():
        refs = set()
        for hit in PATH_RE.finditer(text):
            kind, segs = hit.group(1), [s for s in hit.group(2).split("::") if s]
            base = [] if kind == "crate" else list(m)
            if kind == "super":
                base = base[:-1]
                while segs and segs[0] == "super":
                    base, segs = base[:-1], segs[1:]
            targets = [base + segs]
            if hit.group(4):
                targets = [base + segs + p.strip().split(" as ")[0].split("::")
                           for p in hit.group(4).split(",") if p.strip() not in ("", "self")]
            for t in targets:
                r = resolve(t)
                if r is not None and r != m and not (len(r) < len(m) and m[:len(r)] == r):
                    refs.add(r)
        out[m] = refs
    return out


def cycles(graph):
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def name(m):
    return "::".join(m) or "(root)"


def main():
    problems = []
    crates = os.path.join(ROOT, "crates")
    for crate in sorted(os.listdir(crates)):
        src = os.path.join(crates, crate, "src")
        if not os.path.isdir(src):
            continue
        graph = edges(modules(src))
        for comp in cycles(graph):
            arrows = [f"{name(a)} -> {name(b)}" for a in comp for b in graph[a] if b in comp]
            problems.append(f"{crate}: module cycle: " + ", ".join(sorted(arrows)))
    for d, _, files in os.walk(crates):
        rel = os.path.relpath(d, ROOT)
        if rel.startswith(os.path.join("crates", "mcp-proto")) or "/tests" in rel or "/benches" in rel:
            continue
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(d, f)
                with open(path, encoding="utf-8") as fh:
                    body = fh.read().split("#[cfg(test)]")[0]
                for n, line in enumerate(body.splitlines(), 1):
                    allowed = line.strip().startswith("//") or "arch: not a method" in line
                    if METHOD_RE.search(line) and not allowed:
                        problems.append(f"{os.path.relpath(path, ROOT)}:{n}: MCP method name outside mcp-proto: {line.strip()}")
    tracked = subprocess.run(
        ["git", "-C", ROOT, "grep", "-l", "-E", OUTSIDE, "--", ".", ":!*.lock",
         ":!scripts/check-architecture.py"],
        capture_output=True, text=True)
    for f in tracked.stdout.split():
        problems.append(f"{f}: refers to the folder beside the repository, which a clone does not have")
    if problems:
        print("architecture check failed:")
        for p in problems:
            print("  " + p)
        return 1
    print("architecture check: no module cycles, no method names outside mcp-proto, nothing outside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
