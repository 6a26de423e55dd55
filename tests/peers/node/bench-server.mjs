// The TypeScript SDK peer of the side-by-side benchmark (crates/mcp-bench): the official
// @modelcontextprotocol/sdk (pinned in package-lock.json) serving the tool
// `bench_sampling {n, concurrency}`, which makes n sampling requests tied to the tool call,
// at most `concurrency` in flight, and reports how many completed.
//
//   node bench-server.mjs              stdio (StdioServerTransport)
//   node bench-server.mjs --http PORT  Streamable HTTP at 127.0.0.1:PORT/mcp: one stateful
//                                      StreamableHTTPServerTransport per session, on node:http
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const PROMPT =
  'Benchmark sampling round trip: please reply with the single word ok. This text pads to 100 bytes.';

function makeServer() {
  const mcp = new McpServer({ name: 'bench-ts', version: '0.1.0' });
  mcp.registerTool(
    'bench_sampling',
    {
      description: 'Performs n sampling round trips, at most `concurrency` in flight',
      inputSchema: { n: z.number().int().min(0), concurrency: z.number().int().min(1) },
    },
    async ({ n, concurrency }, extra) => {
      const request = {
        messages: [{ role: 'user', content: { type: 'text', text: PROMPT } }],
        maxTokens: 16,
      };
      let next = 0;
      let completed = 0;
      async function lane() {
        for (; next < n; completed++) {
          next++;
          await mcp.server.createMessage(request, { relatedRequestId: extra.requestId });
        }
      }
      const lanes = [];
      for (let i = 0; i < Math.min(concurrency, n); i++) lanes.push(lane());
      await Promise.all(lanes);
      return { content: [{ type: 'text', text: `completed ${completed} sampling round trips` }] };
    },
  );
  return mcp;
}

async function serveHttp(port) {
  const sessions = new Map();
  const server = http.createServer(async (req, res) => {
    try {
      const id = req.headers['mcp-session-id'];
      let transport = typeof id === 'string' ? sessions.get(id) : undefined;
      if (transport === undefined && id !== undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('unknown session\n');
        return;
      }
      if (transport === undefined) {
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: randomUUID,
          onsessioninitialized: (sid) => sessions.set(sid, transport),
        });
        transport.onclose = () => sessions.delete(transport.sessionId);
        await makeServer().connect(transport);
      }
      await transport.handleRequest(req, res);
    } catch (err) {
      console.error(err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('server error\n');
    }
  });
  server.on('connection', (socket) => socket.setNoDelay(true));
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
}

const at = process.argv.indexOf('--http');
if (at >= 0) {
  await serveHttp(Number(process.argv[at + 1]));
} else {
  await makeServer().connect(new StdioServerTransport());
}
