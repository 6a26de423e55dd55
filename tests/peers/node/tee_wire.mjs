// Transparent stdio tee for debugging MCP sessions: sits between a client and a stdio server and logs
// every line in both directions to the file named by $MCP_WIRE_LOG (JSON lines: {t, dir, msg}).
// dir is "c2s" (client -> server) or "s2c" (server -> client); t is ms since start; msg is the parsed
// JSON-RPC message (or {"raw": line} if not JSON). Without MCP_WIRE_LOG it only passes bytes through.
// Run:   MCP_WIRE_LOG=/tmp/wire.jsonl node tee_wire.mjs SERVER_CMD ARGS...
// e.g.   node client.mjs --tool echo --args '{"message":"x"}' -- node tee_wire.mjs node server.js
import { spawn } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) { console.error("usage: MCP_WIRE_LOG=FILE node tee_wire.mjs SERVER_CMD ARGS..."); process.exit(2); }
const logFile = process.env.MCP_WIRE_LOG;
const t0 = Date.now();
if (logFile) writeFileSync(logFile, "");

function tap(dir) {
  let buf = "";
  return (chunk) => {
    if (!logFile) return;
    buf += chunk.toString("utf8");
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, "");
      buf = buf.slice(i + 1);
      if (!line) continue;
      let msg;
      try { msg = JSON.parse(line); } catch { msg = { raw: line }; }
      appendFileSync(logFile, JSON.stringify({ t: Date.now() - t0, dir, msg }) + "\n");
    }
  };
}

const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
const c2s = tap("c2s"), s2c = tap("s2c");
process.stdin.on("data", (d) => { c2s(d); child.stdin.write(d); });
process.stdin.on("end", () => child.stdin.end());
child.stdin.on("error", () => {}); // server gone; its exit ends us
child.stdout.on("data", (d) => { s2c(d); process.stdout.write(d); });
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => child.kill(sig));
child.on("error", (e) => { console.error(`tee_wire: ${e.message}`); process.exit(127); });
child.on("exit", (code, sig) => process.exit(code ?? (sig ? 128 : 1)));
