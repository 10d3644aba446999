#!/usr/bin/python3
"""Scale-out: two pushpipe instances share broadcast channels through Redis,
behind haproxy, all on loopback.

redis-server (own config: loopback port, a password, no persistence), two
pushpipe instances running the stock broadcast handler (one configured with
REDIS_URL, the other with REDIS_HOST/REDIS_PORT/REDIS_PASSWORD, both passed
with --passenv), and haproxy (own config, round robin over both).  Clients
connect to each instance directly and through haproxy; every message sent
on one instance must reach the clients of every instance, in one order."""

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile

from handlerlib import (HANDLERS, SSE, Daemon, recv, recv_until, quiet, redis_cli, start_redis,
                        ws_connect)
from pplib import Results, free_port, pushpipe, pids_of_children, wait_until

R = Results("scaleout")
PASSWORD = "s3cret/pw"          # a '/' to exercise URL decoding (%2F)
ROOM = "room"


def need(prog):
    if not shutil.which(prog):
        print("SKIP: %s is not installed (tools/deps.sh test installs it)" % prog)
        print("scaleout: 0 passed, 0 failed")
        sys.exit(77)


for prog in ("redis-server", "redis-cli", "haproxy"):
    need(prog)

tmp = tempfile.mkdtemp(prefix="pp-scaleout-")


def start_haproxy(backends):
    port = free_port()
    cfg = os.path.join(tmp, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write("""global
    maxconn 2000
defaults
    mode http
    option http-no-delay
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
frontend web
    bind 127.0.0.1:%d
    default_backend pushpipe
backend pushpipe
    balance roundrobin
%s""" % (port, "".join("    server s%d 127.0.0.1:%d\n" % (i + 1, p) for i, p in enumerate(backends))))
    return Daemon([shutil.which("haproxy"), "-db", "-f", cfg], port, cwd=tmp)


async def join(url, name):
    """A client whose subscription is live: its own hello came back."""
    ws = await ws_connect(url)
    hello = "hello from " + name
    await ws.send(hello)
    await recv_until(ws, hello, 10)
    ws.name = name
    return ws


async def everyone_hears(clients, sender, msg):
    await sender.send(msg)
    for ws in clients:
        got = await recv_until(ws, msg, 10)
        assert got[-1] == msg, (ws.name, got)


async def scenario(p1, p2, hp, redis_port):
    direct1 = "ws://127.0.0.1:%d/broadcast/%s" % (p1.port, ROOM)
    direct2 = "ws://127.0.0.1:%d/broadcast/%s" % (p2.port, ROOM)
    via = "ws://127.0.0.1:%d/broadcast/%s" % (hp.port, ROOM)
    clients = [await join(direct1, "d1"), await join(direct2, "d2")]
    for i in range(4):
        clients.append(await join(via, "h%d" % (i + 1)))
    other = await join("ws://127.0.0.1:%d/broadcast/elsewhere" % hp.port, "other")

    async def step(what, fn):
        try:
            await fn()
        except Exception as e:
            import traceback
            traceback.print_exc()
            R.check(what, False, "%s: %s" % (type(e).__name__, e))
        else:
            R.check(what, True)

    async def cross():
        await everyone_hears(clients, clients[0], "instance 1 speaks")
        await everyone_hears(clients, clients[1], "instance 2 speaks")
    await step("a message sent on one instance reaches the clients of the other (direct)", cross)

    async def through():
        for ws in clients[2:]:
            await everyone_hears(clients, ws, "via haproxy: " + ws.name)
    await step("messages sent through haproxy reach every client of both instances", through)

    async def storm():
        n = 40

        async def send_all(ws):
            for j in range(n):
                await ws.send("%s #%d" % (ws.name, j))

        async def receive_all(ws):
            got = []
            while len(got) < n * len(clients):
                m = await recv(ws, 20)
                if "#" in m:
                    got.append(m)
            return got
        receivers = [asyncio.ensure_future(receive_all(ws)) for ws in clients]
        await asyncio.gather(*(send_all(ws) for ws in clients))
        results = await asyncio.gather(*receivers)
        want = sorted("%s #%d" % (ws.name, j) for ws in clients for j in range(n))
        for ws, got in zip(clients, results):
            assert sorted(got) == want, "%s lost or gained messages" % ws.name
            assert got == results[0], "%s saw another order" % ws.name
    await step("6 clients on 2 instances send 40 messages each at once: none lost, one order", storm)

    async def isolation():
        assert await quiet(other, 0.3)
        await other.send("only elsewhere")
        assert await recv(other) == "only elsewhere"
        for ws in clients:
            assert await quiet(ws, 0.1)
    await step("other channels hear nothing", isolation)

    async def eventsource():
        streams = [await SSE.open(p2.port, "/broadcast/" + ROOM), await SSE.open(hp.port, "/broadcast/" + ROOM)]
        # Subscribed once Redis counts them (no message tells an EventSource).
        assert wait_until(lambda: redis_cli(redis_port, "PUBSUB", "NUMSUB", "pushpipe:" + ROOM)
                          .split()[-1] == str(len(clients) + 2), 5)
        await clients[0].send("to the event streams")
        for s in streams:
            e = await s.event(10)
            assert e["data"] == "to the event streams", e
            s.close()
    await step("EventSource clients (direct and through haproxy) hear instance 1", eventsource)

    async def from_redis():
        out = redis_cli(redis_port, "PUBLISH", "pushpipe:" + ROOM, "pushed by redis-cli")
        assert out == str(len(clients)) or out.isdigit(), out
        for ws in clients:
            await recv_until(ws, "pushed by redis-cli", 10)
    await step("redis-cli PUBLISH pushpipe:CHANNEL reaches every browser", from_redis)

    for ws in clients + [other]:
        await ws.close()

    def unsubscribed():
        return redis_cli(redis_port, "PUBSUB", "NUMSUB", "pushpipe:" + ROOM).split()[-1] == "0"
    ok = wait_until(unsubscribed, 8)
    if not ok:
        print(redis_cli(redis_port, "CLIENT", "LIST"))
        print(p2.log_text())
        print(p1.log_text())
    R.check("after the clients leave, no subscription is left in Redis", ok,
            redis_cli(redis_port, "PUBSUB", "NUMSUB", "pushpipe:" + ROOM))
    R.check("and no handler process is left on either instance",
            wait_until(lambda: not pids_of_children(p1.proc.pid) and not pids_of_children(p2.proc.pid), 8),
            "%s %s" % (pids_of_children(p1.proc.pid), pids_of_children(p2.proc.pid)))


async def redis_gone(p1, redis):
    ws = await join("ws://127.0.0.1:%d/broadcast/%s" % (p1.port, ROOM), "late")
    redis.stop()
    try:
        await recv(ws, 10)
    except Exception:
        pass
    assert ws.close_code == 1011, ws.close_code
    assert "Redis closed the" in p1.log_text(), p1.log_text()[-3000:]


def main():
    redis = None
    try:
        redis = start_redis(tmp, 'requirepass "%s"\n' % PASSWORD)
        os.environ["REDISCLI_AUTH"] = PASSWORD
        env1 = dict(os.environ, REDIS_URL="redis://:%s@127.0.0.1:%d/0" % (PASSWORD.replace("/", "%2F"), redis.port))
        env2 = dict(os.environ, REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis.port), REDIS_PASSWORD=PASSWORD)
        for e in (env1, env2):
            e.pop("REDISCLI_AUTH", None)
        # --heartbeat 1: behind haproxy an idle event stream whose client left
        # is noticed at the next write, so write often.
        common = ["--dir", HANDLERS, "--close-grace", "300", "--heartbeat", "1"]
        with pushpipe(*common, "--passenv", "REDIS_URL", env=env1) as p1, \
                pushpipe(*common, "--passenv", "REDIS_HOST,REDIS_PORT,REDIS_PASSWORD", env=env2) as p2:
            hp = start_haproxy([p1.port, p2.port])
            try:
                asyncio.run(scenario(p1, p2, hp, redis.port))
            finally:
                hp.stop()
            # Round robin: both instances served connections that came through haproxy.
            n1 = len(re.findall(r"websocket/13\S* /broadcast", p1.log_text()))
            n2 = len(re.findall(r"websocket/13\S* /broadcast", p2.log_text()))
            R.check("haproxy spread the clients over both instances (%d and %d connections)" % (n1, n2),
                    n1 >= 3 and n2 >= 3)
            R.check("a wrong Redis password is refused", subprocess.run(
                [os.path.join(HANDLERS, "broadcast"), ROOM], input=b"", capture_output=True, timeout=10,
                env=dict(env2, REDIS_PASSWORD="wrong")).returncode == 1)
            R.run("when Redis goes away, clients are closed with 1011 (browsers then reconnect)",
                  asyncio.run, redis_gone(p1, redis))
    finally:
        if redis:
            redis.stop()
        subprocess.run(["rm", "-rf", tmp])
    R.finish()


if __name__ == "__main__":
    main()
