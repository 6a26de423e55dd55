"""MCP server over stdio (official Python SDK, mcp 2.3.0) whose tools sample from the client.

mcp 2.3 serves both eras on one stdio connection: the client's first request decides
(`initialize` -> legacy handshake era, `server/discover` or any request carrying
`_meta["io.modelcontextprotocol/protocolVersion"]` -> 2026-07-28 era).

Tools:
  legacy_sample {prompt}   ctx.session.create_message(..): a server-to-client
                           `sampling/createMessage` request (legacy era only).
  resolve_sample {prompt}  an `Annotated[..., Resolve(fn)]` parameter whose resolver returns
                           `Sample(..)`: legacy era -> standalone `sampling/createMessage`;
                           2026-07-28 -> `input_required` result, client retries with
                           `inputResponses` + `requestState`.
  resolve_two {prompt}     two such resolvers; on 2026-07-28 both are asked in ONE round.
  resolve_elicit {prompt}  `Resolve(Elicit(.., Booking))`: a form (name, guests = 2) ->
                           "elicited: NAME xGUESTS", or "elicited: decline|cancel".
  resolve_sample_elicit {prompt}  a Sample and an Elicit resolver: on 2026-07-28 both in one
                           round -> "REPLY / elicited: NAME xGUESTS".
  resolve_roots {prompt}   `Resolve(ListRoots)` -> "roots: URI URI ...".
Each sampling tool returns "sampled: <reply text>" (resolve_two: both texts joined with " | ").

Run: tests/peers/python/.venv/bin/python tests/peers/python/sampling_server.py
     ... sampling_server.py --http PORT   (Streamable HTTP on 127.0.0.1:PORT/mcp, both eras)
"""

import warnings
from typing import Annotated

from mcp import MCPDeprecationWarning
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, Elicit, ListRoots, MCPServer, Resolve, Sample
from mcp.types import CreateMessageResult, ListRootsResult, SamplingMessage, TextContent
from pydantic import BaseModel, Field

# ctx.session.create_message is deprecated for the 2026-07-28 era; we use it on purpose.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

server = MCPServer("py-sampling-server", log_level="WARNING")


def _user(text: str) -> list[SamplingMessage]:
    return [SamplingMessage(role="user", content=TextContent(type="text", text=text))]


def _text(result: CreateMessageResult) -> str:
    content = result.content
    return content.text if isinstance(content, TextContent) else repr(content)


@server.tool()
async def legacy_sample(prompt: str, ctx: Context) -> str:
    """Samples via the legacy server-to-client sampling/createMessage request."""
    result = await ctx.session.create_message(
        _user(prompt), max_tokens=64, related_request_id=ctx.request_context.request_id
    )
    return f"sampled: {_text(result)}"


def ask(prompt: str) -> Sample:
    return Sample(_user(prompt), max_tokens=64)


def ask_second(prompt: str) -> Sample:
    return Sample(_user(f"{prompt} (second)"), max_tokens=64)


@server.tool()
async def resolve_sample(prompt: str, reply: Annotated[CreateMessageResult, Resolve(ask)]) -> str:
    """Samples via Resolve(Sample): works on both eras."""
    return f"sampled: {_text(reply)}"


@server.tool()
async def resolve_two(
    prompt: str,
    first: Annotated[CreateMessageResult, Resolve(ask)],
    second: Annotated[CreateMessageResult, Resolve(ask_second)],
) -> str:
    """Two Resolve(Sample) parameters; batched into one input_required round on 2026-07-28."""
    return f"{_text(first)} | {_text(second)}"


class Booking(BaseModel):
    name: str = Field(description="Who books")
    guests: int = Field(default=2, ge=1, le=12)


def ask_booking(prompt: str) -> Elicit[Booking]:
    return Elicit(f"Book a table for {prompt}?", Booking)


def _booked(b: ElicitationResult[Booking]) -> str:
    if isinstance(b, AcceptedElicitation):
        return f"elicited: {b.data.name} x{b.data.guests}"
    return f"elicited: {b.action}"


@server.tool()
async def resolve_elicit(
    prompt: str, booking: Annotated[ElicitationResult[Booking], Resolve(ask_booking)]
) -> str:
    """Elicits a booking via Resolve(Elicit): works on both eras."""
    return _booked(booking)


@server.tool()
async def resolve_sample_elicit(
    prompt: str,
    reply: Annotated[CreateMessageResult, Resolve(ask)],
    booking: Annotated[ElicitationResult[Booking], Resolve(ask_booking)],
) -> str:
    """A Sample and an Elicit resolver; one input_required round on 2026-07-28."""
    return f"{_text(reply)} / {_booked(booking)}"


def get_roots() -> ListRoots:
    return ListRoots()


@server.tool()
async def resolve_roots(prompt: str, roots: Annotated[ListRootsResult, Resolve(get_roots)]) -> str:
    """Lists the client's roots via Resolve(ListRoots)."""
    return "roots: " + " ".join(str(r.uri) for r in roots.roots)


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        # What server.run("streamable-http") does, with the socket bound first so that the
        # server can say when it listens: tests wait for that line on stderr.
        import socket

        import anyio
        import uvicorn

        port = int(sys.argv[2])
        sock = socket.create_server(("127.0.0.1", port))
        app = server.streamable_http_app(host="127.0.0.1")
        print(f"listening on http://127.0.0.1:{port}/mcp", file=sys.stderr, flush=True)
        config = uvicorn.Config(app, log_level="warning")
        anyio.run(uvicorn.Server(config).serve, [sock])
    else:
        server.run()
