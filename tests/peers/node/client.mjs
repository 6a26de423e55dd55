// MCP client peer on the official TypeScript SDK: spawns a stdio server, answers sampling, calls one tool.
// Run:   node client.mjs --tool NAME --args JSON [--reply TEXT] [--timeout-ms N] -- SERVER_CMD ARGS...
//   or:  node client.mjs --tool NAME --args JSON [...] --url http://127.0.0.1:3001/mcp   (Streamable HTTP)
// Example: node client.mjs --tool trigger-sampling-request --args '{"prompt":"hi"}' \
//            -- node node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio
// --list-tools lists the tools first, so that the SDK checks structuredContent against their outputSchema.
// --repeat N calls the tool N times in the same session (completed: how many returned a result).
// --no-sampling declares no sampling capability (and answers none); --progress asks for progress and
// counts the notifications (progressCount in the output).
// Prints ONE JSON line on stdout: {"result","protocolVersion","samplingRequests","lastSamplingRequest"} (exit 0)
// or {"error": "..."} (exit 1). The server's stderr is passed through to ours.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";

function parseArgs(argv) {
  const opts = { tool: null, args: "{}", reply: "ts-client-reply", timeoutMs: 60000, server: [], url: null, listTools: false, sampling: true, progress: false, repeat: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") { opts.server = argv.slice(i + 1); break; }
    if (a === "--list-tools") { opts.listTools = true; continue; }
    if (a === "--no-sampling") { opts.sampling = false; continue; }
    if (a === "--progress") { opts.progress = true; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value for ${a}`);
    if (a === "--tool") opts.tool = v;
    else if (a === "--args") opts.args = v;
    else if (a === "--reply") opts.reply = v;
    else if (a === "--url") opts.url = v;
    else if (a === "--timeout-ms") opts.timeoutMs = Number(v);
    else if (a === "--repeat") opts.repeat = Number(v);
    else throw new Error(`unknown option ${a}`);
  }
  if (!opts.tool) throw new Error("--tool is required");
  if (!opts.url && opts.server.length === 0) throw new Error("server command after -- (or --url) required");
  if (!(opts.timeoutMs > 0)) throw new Error("--timeout-ms must be a positive number");
  if (!(Number.isInteger(opts.repeat) && opts.repeat > 0)) throw new Error("--repeat must be a positive integer");
  opts.args = JSON.parse(opts.args);
  return opts;
}

function finish(obj, code) {
  process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(code));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const transport = opts.url
    ? new StreamableHTTPClientTransport(new URL(opts.url))
    : new StdioClientTransport({
        command: opts.server[0],
        args: opts.server.slice(1),
        env: { ...process.env }, // the SDK default passes only a few vars; tee_wire.mjs needs its env var
      });
  // The SDK calls transport.setProtocolVersion(negotiated) after initialize if the method exists
  // (HTTP has it, stdio does not); wrap/define it to learn the negotiated version.
  let protocolVersion = null;
  const setVersion = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (v) => { protocolVersion = v; setVersion?.(v); };

  const client = new Client({ name: "mcp-sampling-ts-client", version: "0.1.0" }, { capabilities: opts.sampling ? { sampling: {} } : {} });
  let samplingRequests = 0;
  let lastSamplingRequest = null;
  let progressCount = 0;
  if (opts.sampling) client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    samplingRequests++;
    lastSamplingRequest = request.params;
    return {
      role: "assistant",
      content: { type: "text", text: opts.reply },
      model: "ts-test",
      stopReason: "endTurn",
    };
  });

  try {
    await client.connect(transport, { timeout: opts.timeoutMs });
    const tools = opts.listTools ? (await client.listTools(undefined, { timeout: opts.timeoutMs })).tools : undefined;
    const callOpts = { timeout: opts.timeoutMs };
    if (opts.progress) callOpts.onprogress = () => { progressCount++; };
    let result = null;
    let completed = 0;
    for (let i = 0; i < opts.repeat; i++) {
      result = await client.callTool({ name: opts.tool, arguments: opts.args }, undefined, callOpts);
      if (!result.isError) completed++;
    }
    await client.close().catch(() => {});
    finish({ result, completed, protocolVersion, samplingRequests, lastSamplingRequest, tools, progressCount }, 0);
  } catch (err) {
    await client.close().catch(() => {});
    finish({ error: String(err?.message ?? err), code: err?.code ?? null, samplingRequests }, 1);
  }
}

main().catch((err) => finish({ error: String(err?.message ?? err) }, 1));
