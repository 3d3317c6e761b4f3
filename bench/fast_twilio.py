"""A fast Twilio-compatible Messages API for benchmarks (asyncio, one process).

fakes/twilio.py is a ThreadingHTTPServer: right for tests, but at 200 ms of provider latency
and >= 1,000 msg/s it would need hundreds of threads. This server holds any number of
requests in flight with ``asyncio.sleep``. It speaks the same protocol (Basic auth, form
body, 201 with a message resource) and adds ``/_bench/*`` endpoints the harness reads.

    python -m bench.fast_twilio --port 8123 --latency 0.2
"""
import argparse
import asyncio
import base64
import time
import uuid

from aiohttp import web

DEFAULT_SID = "AC" + "b" * 32
DEFAULT_TOKEN = "bench-token"


def make_app(*, sid: str, token: str, latency: float) -> web.Application:
    expected = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
    path = f"/2010-04-01/Accounts/{sid}/Messages.json"
    state = {"requests": 0, "messages": 0, "received": {}}

    async def create_message(request: web.Request) -> web.Response:
        state["requests"] += 1
        if request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate",
                                      "status": 401}, status=401)
        form = await request.post()
        to, body = form.get("To"), form.get("Body")
        if not to or not body:
            return web.json_response({"code": 21602, "message": "Message body is required",
                                      "status": 400}, status=400)
        state["received"].setdefault(to, time.time())  # when the provider got it
        if latency:
            await asyncio.sleep(latency)
        state["messages"] += 1
        message_sid = "SM" + uuid.uuid4().hex
        return web.json_response(
            {"sid": message_sid, "account_sid": sid, "to": to, "from": form.get("From"),
             "body": body, "status": "queued", "num_segments": "1",
             "direction": "outbound-api", "api_version": "2010-04-01",
             "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json"}, status=201)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"requests": state["requests"], "messages": state["messages"]})

    async def received(request: web.Request) -> web.Response:
        wanted = (await request.json())["to"]
        return web.json_response({to: state["received"].get(to) for to in wanted})

    async def reset(request: web.Request) -> web.Response:
        state.update(requests=0, messages=0, received={})
        return web.json_response({})

    app = web.Application()
    app.router.add_post(path, create_message)
    app.router.add_get("/_bench/stats", stats)
    app.router.add_post("/_bench/received", received)
    app.router.add_post("/_bench/reset", reset)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--sid", default=DEFAULT_SID)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args()
    web.run_app(make_app(sid=args.sid, token=args.token, latency=args.latency),
                host="127.0.0.1", port=args.port, access_log=None, print=None,
                backlog=4096)


if __name__ == "__main__":
    main()
