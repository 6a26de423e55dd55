"""MCP client peer (official Python SDK, mcp 2.3.0): spawn a stdio server, call one tool, print one JSON line.

Usage:
  .venv/bin/python client.py --mode legacy|auto --tool NAME --args JSON [--reply TEXT] \
      [--max-rounds N] -- SERVER_CMD ARGS...
  .venv/bin/python client.py --mode ... --tool NAME --url http://127.0.0.1:PORT/mcp   (Streamable HTTP)

--mode legacy  forces the initialize handshake (2025-11-25).
--mode auto    the SDK default: probes `server/discover` at 2026-07-28 (10 s timeout) and
               falls back to `initialize` on any JSON-RPC error or on the timeout.
--mode 2026-07-28  (extra) adopts 2026-07-28 directly: no `server/discover`, no `initialize`.
Every sampling request (legacy server->client request, or one embedded in an
`input_required` result) is answered with role "assistant", text REPLY (default
"py-client-reply"), model "py-test", stopReason "endTurn".
--elicit JSON   answers elicitation/create with action "accept" and this content (the
                requests seen are counted in "elicitationRequests", the last one kept).
--root URI      offered to roots/list (repeatable).
--repeat N      calls the tool N times in the same session ("completed": how many returned
                a result that is not an error).

stdout: one JSON line {"result", "protocolVersion", "samplingRequests", "lastSamplingRequest"},
exit 0; or {"error": "...", ...} and exit 1. Logs go to stderr.
"""

import argparse
import json
import os
import sys
from typing import Any

import anyio
from mcp import Client, StdioServerParameters, types
from mcp.client.session import ClientRequestContext


def _dump(model: Any) -> Any:
    # exclude_unset: only fields the peer sent (a legacy result gets no SDK-default "resultType").
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True) if model is not None else None


async def run(opts: argparse.Namespace) -> dict[str, Any]:
    seen: dict[str, Any] = {"count": 0, "last": None, "elicit": 0, "lastElicit": None}

    async def on_elicit(_ctx: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen["elicit"] += 1
        seen["lastElicit"] = _dump(params)
        return types.ElicitResult(action="accept", content=opts.elicit)

    async def on_roots(_ctx: ClientRequestContext) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=u) for u in opts.root])

    async def on_sampling(
        _ctx: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        seen["count"] += 1
        seen["last"] = _dump(params)
        print(f"client.py: sampling request #{seen['count']}", file=sys.stderr)
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=opts.reply),
            model="py-test",
            stop_reason="endTurn",
        )

    # env: the SDK passes only a safe subset (HOME, PATH, ...) unless told; pass ours through.
    server: Any = opts.url or StdioServerParameters(
        command=opts.server[0], args=opts.server[1:], env=dict(os.environ)
    )
    out: dict[str, Any] = {"protocolVersion": None}
    try:
        async with Client(
            server,
            mode=opts.mode,
            sampling_callback=on_sampling,
            elicitation_callback=on_elicit if opts.elicit is not None else None,
            list_roots_callback=on_roots if opts.root else None,
            client_info=types.Implementation(name="py-test-client", version="1.0.0"),
            input_required_max_rounds=opts.max_rounds,
            read_timeout_seconds=opts.timeout,
        ) as client:
            out["protocolVersion"] = client.protocol_version
            out["completed"] = 0
            for _ in range(opts.repeat):
                result = await client.call_tool(opts.tool, opts.args)
                out["result"] = _dump(result)
                if not result.is_error:
                    out["completed"] += 1
    except Exception as e:  # noqa: BLE001 - reported as a JSON line
        while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
            e = e.exceptions[0]  # anyio task groups wrap the real error
        out["error"] = f"{type(e).__name__}: {e}"
        print(f"client.py: {out['error']}", file=sys.stderr)
    out["samplingRequests"] = seen["count"]
    out["lastSamplingRequest"] = seen["last"]
    out["elicitationRequests"] = seen["elicit"]
    out["lastElicitationRequest"] = seen["lastElicit"]
    return out


def _fail(message: str) -> None:
    print(json.dumps({"error": message}), flush=True)
    sys.exit(1)


def main() -> int:
    argv = sys.argv[1:]
    if "--" not in argv:
        argv = argv + ["--"]
    split = argv.index("--")
    parser = argparse.ArgumentParser(description="MCP sampling client peer")
    parser.error = _fail  # usage errors are JSON lines too
    parser.add_argument("--mode", choices=["legacy", "auto", "2026-07-28"], default="auto")
    parser.add_argument("--tool", required=True)
    parser.add_argument("--args", default="{}")
    parser.add_argument("--reply", default="py-client-reply")
    parser.add_argument("--max-rounds", type=int, default=10, help="input_required rounds before giving up")
    parser.add_argument("--elicit", default=None, help="accept elicitations with this JSON content")
    parser.add_argument("--root", action="append", default=[], help="a root URI (repeatable)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request read timeout, seconds")
    parser.add_argument("--repeat", type=int, default=1, help="calls of the tool in one session")
    parser.add_argument("--url", default=None, help="a Streamable HTTP endpoint instead of a command")
    opts = parser.parse_args(argv[:split])
    opts.server = argv[split + 1 :]
    if not opts.server and not opts.url:
        _fail("missing SERVER_CMD after -- (or --url)")
    try:
        opts.args = json.loads(opts.args)
        if opts.elicit is not None:
            opts.elicit = json.loads(opts.elicit)
    except json.JSONDecodeError as e:
        _fail(f"--args or --elicit is not JSON: {e}")
    out = anyio.run(run, opts)
    print(json.dumps(out), flush=True)
    return 1 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
