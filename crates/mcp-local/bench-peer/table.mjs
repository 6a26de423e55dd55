// Prints the side-by-side table of scripts/bench-model.sh from the two JSON-lines files:
//   node table.mjs OURS.jsonl PEER.jsonl
import { readFileSync } from "node:fs";

const read = (f) => readFileSync(f, "utf8").split("\n").filter((l) => l.trim().startsWith("{")).map((l) => JSON.parse(l));
const [ours, peer] = process.argv.slice(2).map(read);
const ourName = ours.find((r) => r.impl)?.impl ?? "ours";
const runs = (rows) => Object.fromEntries(rows.filter((r) => r.prompt).map((r) => [r.prompt, r]));
const load = (rows) => rows.find((r) => r.load_ms !== undefined) ?? {};
const [a, b] = [runs(ours), runs(peer)];
const f = (v, d = 1) => (v === undefined ? "-" : v.toFixed(d));
const ratio = (x, y, higherIsBetter = true) =>
  x === undefined || y === undefined ? "-" : (higherIsBetter ? x / y : y / x).toFixed(2);

const rows = [["prompt", "figure", `ours (${ourName})`, "llama.cpp", "ratio (>1: ours better)"]];
for (const name of Object.keys(a)) {
  const [o, p] = [a[name], b[name]];
  const label = `${name} (${o.prompt_tokens} tok${o.reused ? `, ${o.reused} reused` : ""})`;
  rows.push([label, "prompt tok/s", f(o.prompt_tok_s), f(p?.prompt_tok_s), ratio(o.prompt_tok_s, p?.prompt_tok_s)]);
  rows.push(["", "gen tok/s", f(o.gen_tok_s), f(p?.gen_tok_s), ratio(o.gen_tok_s, p?.gen_tok_s)]);
  rows.push(["", "TTFT ms", f(o.ttft_ms), f(p?.ttft_ms), ratio(o.ttft_ms, p?.ttft_ms, false)]);
}
const [lo, lp] = [load(ours), load(peer)];
rows.push(["process", "load ms", f(lo.load_ms), f(lp.load_ms), ratio(lo.load_ms, lp.load_ms, false)]);
rows.push(["", "peak RSS MB", f(lo.peak_rss_mb), f(lp.peak_rss_mb), ratio(lo.peak_rss_mb, lp.peak_rss_mb, false)]);
rows.push(["", "RSS before load MB", f(lo.rss_before_mb), f(lp.rss_before_mb), ""]);
const width = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(width[i])).join("  ").trimEnd());
console.log(`(best of the repeats per prompt; threads: ours ${lo.threads ?? "?"}, llama.cpp ${lp.threads ?? "?"}; llama.cpp is node-llama-cpp 3.21.1's prebuilt CPU build; RSS includes each runtime: node's own is the 'before' figure)`);
